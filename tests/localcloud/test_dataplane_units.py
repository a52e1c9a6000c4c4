"""Pure pieces of the dataplane: names, firewall and NAT rendering (no kernel needed)."""

from __future__ import annotations

import threading

import pytest

from pytest_vmtp.localcloud.dataplane.model import PortSpec, SecurityRule
from pytest_vmtp.localcloud.dataplane.names import IFNAMSIZ, Names, check_prefix
from pytest_vmtp.localcloud.dataplane.routers import Gateway, Router, render_nat
from pytest_vmtp.localcloud.dataplane.security import render

UUID = "0123abcd-4567-89ef-0123-456789abcdef"


def test_names_fit_ifnamsiz_and_carry_the_prefix() -> None:
    names = Names("vlcxy")
    root = [names.mgmt_bridge, names.ex_bridge, names.host_mgmt_leg("compute12"),
            names.host_mgmt_leg("network"), names.gateway_leg(UUID), names.external_tap(UUID)]
    inner = [Names.tap(UUID), Names.router_port(UUID), Names.router_gateway(UUID),
             Names.network_bridge(UUID), Names.vxlan(16777215)]
    assert all(n.startswith("vlcxy-") for n in root)
    assert all(len(n) <= IFNAMSIZ for n in root + inner)
    assert names.server_ns(UUID) == "vlcxy-vm-0123abcd"
    assert names.router_ns(UUID) == "vlcxy-qrouter-0123abcd"


@pytest.mark.parametrize("bad", ["", "toolong", "1ab", "a-b", "ABC"])
def test_bad_prefix_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        check_prefix(bad)


def test_security_render() -> None:
    rules = (SecurityRule("ingress", protocol="tcp", port_range_min=5001, port_range_max=5002,
                          remote_ip_prefix="10.0.0.0/8"),
             SecurityRule("ingress", protocol="icmp", port_range_min=8),
             SecurityRule("ingress", ethertype="IPv6"))
    text = render("tapx", UUID, rules, new=True)
    assert "-A FORWARD -m physdev --physdev-out tapx --physdev-is-bridged -j sg-i0123abcd45" \
        in text
    assert "-s 10.0.0.0/8 -p tcp -m tcp --dport 5001:5002 -j RETURN" in text
    assert "-p icmp --icmp-type 8 -j RETURN" in text
    assert text.count("-j DROP") == 2  # invalid + final; no egress chain body (all allowed)
    assert "FORWARD" not in render("tapx", UUID, rules, new=False)
    spoof = render("tapx", UUID, rules, new=False, source=("192.168.1.5", "fa:16:3e:00:00:05"))
    assert "-A sg-o0123abcd45 ! -s 192.168.1.5/32 -j DROP" in spoof
    assert "-A sg-o0123abcd45 -m mac ! --mac-source fa:16:3e:00:00:05 -j DROP" in spoof


def test_egress_rules_make_egress_enforced() -> None:
    text = render("tapx", UUID, (SecurityRule("egress", protocol="udp"),), new=False)
    assert "-A sg-o0123abcd45 -p udp -j RETURN" in text
    assert "-A sg-o0123abcd45 -j DROP" in text


def test_nat_render_follows_l3_agent_layout() -> None:
    router = Router(UUID, "ns", ns=None, lock=threading.Lock())  # type: ignore[arg-type]
    router.gateway = Gateway("203.0.113.10", 24, "203.0.113.1", snat=True)
    router.ports["p"] = PortSpec("p", "n", "fa:16:3e:00:00:01", "192.168.1.1", 24, None)
    router.floating["203.0.113.21"] = "192.168.1.11"
    text = render_nat(router)
    assert "-A PREROUTING -d 203.0.113.21/32 -j DNAT --to-destination 192.168.1.11" in text
    assert "-A POSTROUTING -s 192.168.1.11/32 -j SNAT --to-source 203.0.113.21" in text
    assert f"-A POSTROUTING -o qg-{UUID[:11]} -j SNAT --to-source 203.0.113.10" in text
    assert text.index("-j ACCEPT") < text.index("--to-source 203.0.113.21")


def test_multicast_relay_between_internal_legs_only_keeping_learned_groups() -> None:
    """Every internal leg learns its listeners; a group's datagrams go from each other
    internal leg to it (never with TTL 1, never the link-local block); the sets are added,
    never flushed (an interface change keeps what was learned), and a removed leg's set goes."""
    from pytest_vmtp.localcloud.dataplane import mcast_relay

    text = mcast_relay.render(["qr-b", "qr-a", "qr-c"], gone=["qr-a", "qr-old"])
    lines = text.splitlines()
    assert [x for x in lines if x.startswith("add set")] == [
        f"add set ip vmtp_mcast_relay m_{leg} {{ type ipv4_addr; flags dynamic,timeout; timeout 300s; }}"
        for leg in ("qr-a", "qr-b", "qr-c")]
    assert not any("flush set" in x or "flush table" in x for x in lines)
    assert [x for x in lines if x.startswith("delete")] == ["delete set ip vmtp_mcast_relay m_qr-old"]
    assert lines[-1].startswith("delete set")  # after the rules that used it are gone
    dups = [x.split(" relay ", 1)[1] for x in lines if " dup to " in x]
    assert dups == [f'iifname {{ {others} }} ip daddr @m_{leg} dup to ip daddr device "{leg}"'
                    for leg, others in (("qr-a", '"qr-b", "qr-c"'), ("qr-b", '"qr-a", "qr-c"'),
                                        ("qr-c", '"qr-a", "qr-b"'))]
    guards = [x.split(" relay ", 1)[1] for x in lines if " relay " in x and "dup" not in x
              and x.startswith("add rule")]
    assert guards == ["ip daddr != 224.0.0.0/4 return", "ip daddr 224.0.0.0/24 return",
                      "ip ttl <= 1 return"]
    snoop = [x for x in lines if x.startswith("add rule ip vmtp_mcast_relay snoop")]
    assert len(snoop) == 3 * 4 and all('iifname "qr-' in x for x in snoop)
    assert not any("qg-" in x for x in lines)
    # One leg: it learns, nothing to relay yet.
    one = mcast_relay.render(["qr-a"])
    assert " dup to " not in one and "update @m_qr-a" in one


def test_the_relay_is_on_unless_the_cloud_is_started_without_it() -> None:
    """vmtp-localcloud start's default models an ML2/OVN cloud with mcast_relay; the flag
    reaches the server process (and so the data path) only when asked."""
    from pytest_vmtp.localcloud.control import Networking
    from pytest_vmtp.localcloud.dataplane.linux import LinuxDataplane

    assert "--no-multicast-relay" not in Networking().arguments()
    assert Networking(multicast_relay=False).arguments()[-1] == "--no-multicast-relay"
    assert LinuxDataplane("vmr").multicast_relay and not LinuxDataplane("vmr", multicast_relay=False).multicast_relay
