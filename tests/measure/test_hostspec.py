from __future__ import annotations

import pytest

from pytest_vmtp.measure.hostspec import SshTarget, parse_host_spec, parse_native_host


def test_minimal() -> None:
    # No key and no password: the SSH agent is offered, as ssh does.
    assert parse_host_spec("root@203.0.113.5") == SshTarget("root", "203.0.113.5", agent=True)


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
    assert message.endswith("expected user@host[:port][,key=PATH][,password_env=VAR][,agent=yes|no]"
                            "[,jump=user@host[:port]][,known_hosts=PATH][,hostkey=accept-new]")


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


def test_agent_and_password_env() -> None:
    assert parse_host_spec("root@10.0.0.5,key=/k").agent is False
    t = parse_host_spec("root@10.0.0.5,password_env=VMTP_HOST_PW")
    assert (t.password_env, t.agent) == ("VMTP_HOST_PW", False)
    assert parse_host_spec("root@10.0.0.5,key=/k,agent=yes").agent is True
    assert parse_host_spec("root@10.0.0.5,agent=no").agent is False
    jump = parse_host_spec("root@10.0.0.5,password_env=PW,jump=gw@10.0.0.1").jump
    assert jump is not None and jump.password_env == "PW"
    with pytest.raises(ValueError, match="agent='maybe': choose yes or no"):
        parse_host_spec("root@10.0.0.5,agent=maybe")
    with pytest.raises(ValueError, match="give the name of an environment variable"):
        parse_host_spec("root@10.0.0.5,password_env=$(id)")


@pytest.mark.parametrize("spec", [
    "root@10.0.0.5:hunter2", "root@10.0.0.5:hunter2:eth0", "root@10.0.0.5:hun:ter2:eth0",
    "root@10.0.0.5,password=hunter2", "root@10.0.0.5,key=/k,password=hunter2,agent=no",
])
def test_a_password_in_the_spec_is_refused_and_never_shown(spec: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_native_host(spec)
    message = str(info.value)
    assert "password_env=NAME" in message and "<MASKED>" in message
    assert "hunter2" not in message and "ter2" not in message and "\n" not in message


def test_vmtp_ifname_form_and_listen() -> None:
    """VMTP's --host user@ip:password:ifname, with the password left empty; or listen=."""
    native = parse_native_host("root@10.0.0.5::eth1,key=/k")
    assert (native.target.host, native.target.port, native.listen) == ("10.0.0.5", 22, "eth1")
    assert parse_native_host("root@10.0.0.5,listen=192.0.2.7").listen == "192.0.2.7"
    assert parse_native_host("root@10.0.0.5:2222").listen is None
    assert parse_native_host("root@2001:db8::5").target.host == "2001:db8::5"  # IPv6, not VMTP's form
    with pytest.raises(ValueError, match="for native hosts"):
        parse_host_spec("root@10.0.0.5,listen=eth1")
    with pytest.raises(ValueError, match="not an interface name"):
        parse_native_host("root@10.0.0.5::eth/1")
    with pytest.raises(ValueError, match="interface name or an IP address"):
        parse_native_host("root@10.0.0.5,listen=a;b")
