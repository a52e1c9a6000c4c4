from __future__ import annotations

import pytest

from pytest_vmtp.measure.hostspec import SshTarget, parse_host_spec


def test_minimal() -> None:
    assert parse_host_spec("root@203.0.113.5") == SshTarget("root", "203.0.113.5")


def test_full() -> None:
    t = parse_host_spec("ubuntu@10.0.0.5:2222,key=/tmp/k,jump=admin@gw.example:2200")
    assert (t.user, t.host, t.port, t.key_file) == ("ubuntu", "10.0.0.5", 2222, "/tmp/k")
    assert t.jump == SshTarget("admin", "gw.example", 2200, "/tmp/k")
    assert t.label == "ubuntu@10.0.0.5:2222"


def test_ipv6() -> None:
    t = parse_host_spec("root@[2001:db8::1]:22")
    assert t.host == "2001:db8::1" and t.label == "root@[2001:db8::1]"
    assert parse_host_spec("root@2001:db8::1").host == "2001:db8::1"


@pytest.mark.parametrize("spec", [
    "", "203.0.113.5", "@host", "root@", "root@h:port", "root@h:0", "root@h:70000",
    "root@h,key", "root@h,key=", "root@h,color=red", "root@h,jump=gw", "root@[::1",
])
def test_malformed(spec: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_host_spec(spec)
    message = str(info.value)
    assert "\n" not in message
    assert message.endswith("expected user@host[:port][,key=PATH][,jump=user@host[:port]][,known_hosts=PATH]"
                            "[,hostkey=accept-new]")


def test_host_key_options() -> None:
    t = parse_host_spec("root@10.0.0.5,known_hosts=/etc/kh,hostkey=accept-new,jump=gw@10.0.0.1")
    assert (t.known_hosts, t.host_key_policy) == ("/etc/kh", "accept-new")
    assert (t.jump.known_hosts, t.jump.host_key_policy) == ("/etc/kh", "accept-new")
    assert parse_host_spec("root@10.0.0.5").host_key_policy == "strict"
    assert parse_host_spec("root@10.0.0.5", host_key_policy="accept-new").host_key_policy == "accept-new"
    assert parse_host_spec("root@10.0.0.5,hostkey=strict", host_key_policy="accept-new").host_key_policy == "strict"
    with pytest.raises(ValueError, match="hostkey='yes': choose strict or accept-new"):
        parse_host_spec("root@10.0.0.5,hostkey=yes")


@pytest.mark.parametrize("spec", [
    "root@$(reboot)", "root@1.2.3.4;id", "ro;ot@1.2.3.4", "root@`id`", "root@-oProxyCommand=id",
    "root@host_name", "root@a..b", "root@1.2.3.4,jump=gw@$(id)", "root@fe80::1%eth0",
])
def test_hostile_hosts_and_users_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="is not a login name|neither an IP address nor a DNS name"):
        parse_host_spec(spec)
