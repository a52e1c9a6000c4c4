"""Ganglia XML -> host CPU loads, on XML captured from Debian's gmond 3.7.2 (tests/data).

gmond_two_hosts.xml: two gmonds with Debian's default gmond.conf metrics, the second sending
unicast to the first, read from the first's tcp_accept_channel (so two HOST elements, 32
metrics each). gmond_localcloud.xml: a local-cloud compute host's gmond (its own config).
"""

from __future__ import annotations

import pytest

from pytest_vmtp.measure.parse_gmond import GmondXmlError, cpu_load, cpu_loads, parse_hosts

from .conftest import DATA

TWO_HOSTS = (DATA / "gmond_two_hosts.xml").read_bytes()
LOCAL_CLOUD = (DATA / "gmond_localcloud.xml").read_bytes()


def test_every_host_of_a_real_dump_is_keyed_by_its_ip() -> None:
    hosts = parse_hosts(TWO_HOSTS)
    assert [(h.name, h.ip) for h in hosts] == [("198.18.184.2", "198.18.184.2"), ("198.18.184.3", "198.18.184.3")]
    assert [len(h.metrics) for h in hosts] == [32, 32]  # Debian's default metrics, every one read
    assert hosts[0].metrics["cpu_user"] == "12.9" and hosts[0].metrics["os_name"] == "Linux"
    # (12.9 + 6.1) * 2 CPUs / 100 = 0.38 busy CPUs, as VMTP computed it
    assert cpu_loads(TWO_HOSTS) == {"198.18.184.2": 0.38, "198.18.184.3": 0.38}


def test_each_host_has_its_own_load_rounded_as_vmtp() -> None:
    # the second host's cpu_user made different: 45.5 + 6.1 = 51.6 % of 2 CPUs -> 1.032 -> 1.03
    second = TWO_HOSTS.index(b'<HOST NAME="198.18.184.3"')
    data = TWO_HOSTS[:second] + TWO_HOSTS[second:].replace(b'NAME="cpu_user" VAL="12.9"', b'NAME="cpu_user" VAL="45.5"')
    assert cpu_loads(data) == {"198.18.184.2": 0.38, "198.18.184.3": 1.03}


def test_the_local_clouds_gmond_reports_its_host() -> None:
    [host] = parse_hosts(LOCAL_CLOUD)
    assert host.ip.startswith("198.18.184.") and set(host.metrics) >= {"cpu_user", "cpu_system", "cpu_num", "cpu_idle"}
    load = cpu_load(host)
    assert load is not None and 0 <= load <= float(host.metrics["cpu_num"])


def test_a_host_without_its_cpu_metrics_has_no_load_rather_than_zero() -> None:
    first_user = TWO_HOSTS.index(b'<METRIC NAME="cpu_user"')
    end = TWO_HOSTS.index(b"</METRIC>", first_user) + len(b"</METRIC>")
    data = TWO_HOSTS[:first_user] + TWO_HOSTS[end:]  # the first host has not sent cpu_user yet
    assert cpu_loads(data) == {"198.18.184.3": 0.38}
    assert cpu_loads(TWO_HOSTS.replace(b'VAL="6.1"', b'VAL="n/a"')) == {}


def test_gmetad_nests_clusters_in_a_grid() -> None:
    start, end = TWO_HOSTS.index(b"<CLUSTER"), TWO_HOSTS.index(b"</CLUSTER>") + len(b"</CLUSTER>")
    grid = (TWO_HOSTS[:start] + b'<GRID NAME="dc1" AUTHORITY="http://gmetad/" LOCALTIME="1">'
            + TWO_HOSTS[start:end] + b"</GRID>" + TWO_HOSTS[end:])
    assert set(cpu_loads(grid)) == {"198.18.184.2", "198.18.184.3"}


@pytest.mark.parametrize("data, message", [
    (b"", "not XML"),
    (TWO_HOSTS[:5000], "not XML"),  # the connection dropped half-way
    (b"<html><body>gmond?</body></html>", "not Ganglia XML: the document is <html>"),
    (b'<?xml version="1.0"?><!DOCTYPE G [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
     b"<GANGLIA_XML>&b;</GANGLIA_XML>", "refused XML: EntitiesForbidden"),
    (b'<?xml version="1.0"?><!DOCTYPE G [<!ENTITY x SYSTEM "file:///etc/passwd">]><GANGLIA_XML>&x;</GANGLIA_XML>',
     "refused XML: EntitiesForbidden"),
])
def test_what_is_not_ganglia_xml_is_one_line(data: bytes, message: str) -> None:
    with pytest.raises(GmondXmlError) as exc:
        parse_hosts(data)
    assert str(exc.value).startswith(message) and "\n" not in str(exc.value)
