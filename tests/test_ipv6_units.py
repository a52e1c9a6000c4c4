"""IPv6's pure parts: the option and config keys, the tools' IPv6 flags, the rows the mode
skips, the local cloud's IPAM and the radvd / dnsmasq / ip6tables texts it writes (the
data path running them is tests/localcloud/test_ipv6.py; the runs, tests/e2e/test_ipv6.py)."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_vmtp import config
from pytest_vmtp.cloud.modes import NEED_FLOATING_IP, NEED_IPV4_FLOWS, NEED_SSH, Facts, decide
from pytest_vmtp.localcloud import ipam
from pytest_vmtp.localcloud.dataplane import ipv6, security
from pytest_vmtp.localcloud.dataplane.model import DhcpSpec, Ipv6Address, PortSpec, SecurityRule
from pytest_vmtp.measure.flows import measure_icmp, measure_tcp
from pytest_vmtp.measure.local_runner import LocalRunner
from pytest_vmtp.measure.probe import RunSpec
from pytest_vmtp.measure.settings import MeasureSettings
from pytest_vmtp.measure.tool_iperf2 import Iperf2
from pytest_vmtp.measure.tool_iperf3 import Iperf3
from pytest_vmtp.measure.tool_nuttcp import Nuttcp


def test_the_mode_and_its_subnets_are_checked_in_one_line() -> None:
    cfg = config.build({"ipv6_mode": "slaac"})
    assert cfg.cloud["ipv6_mode"] == "slaac" and len(cfg.cloud["ipv6_cidrs"]) == 2
    assert config.build({}).cloud["ipv6_mode"] is None
    with pytest.raises(config.ConfigError, match="--vmtp-ipv6-mode 'stateful': choose one of slaac, "
                       "dhcpv6-stateless, dhcpv6-stateful"):
        config.build({"ipv6_mode": "stateful"})
    with pytest.raises(config.ConfigError, match=r"ipv6_cidrs 'fd00::/80': give an IPv6 /64"):
        config.build({"ipv6_mode": "slaac", "ipv6_cidrs": ["fd00::/80", "fd01::/64"]})
    with pytest.raises(config.ConfigError, match="ipv6_cidrs '10.0.0.0/24': give an IPv6 /64"):
        config.build({"ipv6_cidrs": ["10.0.0.0/24", "fd01::/64"]})


@pytest.mark.parametrize(("tool", "server6", "client6"), [
    (Nuttcp, "nuttcp -S -6 -P5002 -p5001 --nofork", "-6"),
    (Iperf2, "iperf -s -V -p 5001 -y C", "-V"),
    (Iperf3, "iperf3 -s -p 5001", "-6"),  # its server takes both families
])
def test_the_tools_ipv6_flags_follow_the_destination(tool, server6, client6) -> None:
    t = tool(MeasureSettings())
    assert t.server_command("TCP", ipv6=True) == server6
    six = t.client_command(RunSpec("TCP", "fd5e:5:1::3", 1.0)).split()
    four = t.client_command(RunSpec("TCP", "10.0.0.3", 1.0)).split()
    assert client6 in six and client6 not in four
    assert "-6" not in t.server_command("TCP").split() and "-V" not in t.server_command("TCP").split()


@pytest.fixture
def lab() -> Iterator[str]:
    """A namespace of our own (prefix vm5) with loopback up: the tools' ports collide with no one's."""
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    name = "vm5-units"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)


@pytest.mark.parametrize("tool", ["nuttcp", "iperf3", "iperf"])
def test_tcp_and_ping_measure_over_ipv6(lab: str, tool: str) -> None:
    """The real tools on ::1: without its flags, nuttcp's or iperf's server refuses IPv6."""
    if not shutil.which(tool):
        pytest.skip(f"{tool} is not installed")
    settings = MeasureSettings(tool=tool, duration_s=1, tcp_runs=1, icmp_pkt_sizes=(64,), ping_count=2,
                               ping_interval_s=0.05)
    runner = LocalRunner(netns=lab)
    (tcp,) = measure_tcp(runner, runner, "::1", settings)
    assert tcp.throughput_kbps > 0
    assert measure_icmp(runner, "::1", settings).results[0].rx_packets == 2


def test_ipv6_mode_skips_the_rows_that_would_measure_ipv4_only() -> None:
    plan = decide(Facts(ipv6_mode="dhcpv6-stateful"))
    gone = plan.unavailable(NEED_IPV4_FLOWS)
    assert gone is not None and "floating IPs are IPv4 (Neutron has no IPv6 NAT)" in gone.reason
    assert plan.ssh == "floating"  # SSH still reaches the VMs through their IPv4 floating IPs
    assert plan.unavailable(NEED_FLOATING_IP) is None and plan.unavailable(NEED_SSH) is None
    assert decide(Facts()).unavailable(NEED_IPV4_FLOWS) is None


def test_ipam_of_an_ipv6_subnet() -> None:
    net = ipaddress.IPv6Network("fd5e:5:1::/64")
    assert ipam.default_pools(net, "fd5e:5:1::1") == [
        {"start": "fd5e:5:1::2", "end": "fd5e:5:1:0:ffff:ffff:ffff:ffff"}]
    assert ipam.default_pools(ipaddress.IPv4Network("10.0.0.0/24"), "10.0.0.1") == [
        {"start": "10.0.0.2", "end": "10.0.0.254"}]
    assert ipam.eui64("fd5e:5:1::/64", "fa:16:3e:aa:bb:cc") == "fd5e:5:1:0:f816:3eff:feaa:bbcc"
    subnet = {"allocation_pools": ipam.default_pools(net, "fd5e:5:1::1")}
    assert ipam.allocate(subnet, {"fd5e:5:1::2"}) == "fd5e:5:1::3"


def test_radvd_configuration_per_mode() -> None:
    def conf(mode: str | None) -> str:
        return ipv6.radvd_conf([("qr-x", 1450, (Ipv6Address("fd5e:5:1::1", "fd5e:5:1::/64", mode, mode),))])

    slaac, stateless, stateful = conf("slaac"), conf("dhcpv6-stateless"), conf("dhcpv6-stateful")
    assert "AdvAutonomous on;" in slaac and "Flag on" not in slaac
    assert "AdvOtherConfigFlag on;" in stateless and "AdvAutonomous on;" in stateless
    assert "AdvManagedFlag on;" in stateful and "AdvAutonomous off;" in stateful
    assert all("prefix fd5e:5:1::/64" in c and "AdvLinkMTU 1450;" in c for c in (slaac, stateless, stateful))
    assert "prefix" not in conf(None) and "interface qr-x" in conf(None)  # RAs from elsewhere
    assert ipv6.radvd_conf([("qr-y", 1450, ())]) == ""


def test_dnsmasq_files() -> None:
    port = PortSpec("p" * 36, "n", "fa:16:3e:00:00:02", "", 0, None,
                    ipv6=(Ipv6Address("fd5e:5:1::2", "fd5e:5:1::/64", None, "dhcpv6-stateful"),))
    spec = DhcpSpec(port=port, subnets=(("s1", "fd5e:5:1::/64", "dhcpv6-stateful"),),
                    hosts=(("fa:16:3e:00:00:03", "fd5e:5:1::3"),), dns_servers=("fd5e:5::53",))
    assert ipv6.dnsmasq_hosts(spec) == "fa:16:3e:00:00:03,host-fd5e-5-1--3,[fd5e:5:1::3]\n"
    assert ipv6.dnsmasq_opts(spec) == "tag:subnet-s1,option6:dns-server,[fd5e:5::53]\n"
    argv = ipv6.dnsmasq_argv(spec, "ns-x", Path("/d"))
    assert "--dhcp-range=set:subnet-s1,fd5e:5:1::,static,64,86400s" in argv and "--port=0" in argv


def test_ip6tables_chains_of_a_port() -> None:
    rules = (SecurityRule("ingress", "IPv6", "ipv6-icmp"), SecurityRule("ingress", "IPv4", "icmp"),
             SecurityRule("ingress", "IPv6", "tcp", 5001, 5002, "fd5e:5:2::/64"))
    text = security.render6("tapx", "0123456789abcdef", rules, True,
                            (("fd5e:5:1::3",), "fa:16:3e:00:00:03"))
    assert "-A sg-i0123456789 -p ipv6-icmp -j RETURN" in text
    assert "-A sg-i0123456789 -s fd5e:5:2::/64 -p tcp -m tcp --dport 5001:5002 -j RETURN" in text
    assert "-p icmp " not in text  # the IPv4 rule is iptables'
    assert "-A sg-i0123456789 -p ipv6-icmp -m icmp6 --icmpv6-type 134 -j RETURN" in text  # RAs in
    assert "-A sg-s0123456789 -s fe80::f816:3eff:fe00:3/128 -m mac --mac-source fa:16:3e:00:00:03 -j RETURN" in text
    assert "-A sg-s0123456789 -s fd5e:5:1::3/128" in text and "-A sg-s0123456789 -j DROP" in text
    assert "-A sg-o0123456789 -p ipv6-icmp -m icmp6 --icmpv6-type 134 -j DROP" in text  # no rogue RAs
    assert "--sport 547 --dport 546 -j DROP" in text  # no rogue DHCPv6 server
