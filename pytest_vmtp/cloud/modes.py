"""The run's network mode: which router it makes or uses, how SSH reaches the VMs, and why the
rows that need a second network or floating IPs cannot run (then they skip with that reason,
or fail when the reason is a mistake, such as a named external network that does not exist).

Pure: the topology gathers the facts from the cloud, decide() turns them into a NetworkPlan,
recorded in the run's shared state so that every process skips the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

NEED_SSH = "ssh"  # every VM row: a way for SSH to reach the VMs
NEED_NET2 = "net2"  # the different-network rows (3.x-6.x): a second network
NEED_FLOATING_IP = "floating_ip"  # the NAT rows (5.x, 6.x) and the external host's (8.x)
NEED_IPV4_FLOWS = "ipv4_flows"  # the same rows: their flows can only be IPv4 (floating IPs are)
NEEDS = (NEED_SSH, NEED_NET2, NEED_FLOATING_IP, NEED_IPV4_FLOWS)
Ssh = Literal["floating", "fixed", "jump"]
RouterUse = Literal["create", "reuse", "none"]


@dataclass(frozen=True)
class Unavailable:
    reason: str
    fail: bool = False  # a mistake of the user's (a named resource is missing): rows fail

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "fail": self.fail}


@dataclass(frozen=True)
class Facts:
    """What the settings ask and what the cloud has, as the topology found them."""

    reused_networks: tuple[str, ...] = ()  # --vmtp-network names (network 1, network 2)
    reused_router: str | None = None
    floating_ips_off: bool = False  # --vmtp-no-floating-ip
    ssh_jump: str | None = None  # --vmtp-ssh-jump
    ssh_to_floating_ip: bool = True  # SSH through the floating IPs when the VMs have them
    external_problem: Unavailable | None = None  # no usable external network, why
    router_problem: str | None = None  # an external network, but network 1 cannot reach it
    ipv6_mode: str | None = None  # --vmtp-ipv6-mode: the VM flows go over IPv6


@dataclass(frozen=True)
class NetworkPlan:
    ssh: Ssh  # floating: to the floating IPs; fixed: to the fixed IPs; jump: those via a host
    router: RouterUse  # create one, use the named one, or none (networks reused as they are)
    gateway: bool  # the router this run creates gets a gateway on the external network
    missing: dict[str, Unavailable] = field(default_factory=dict)  # need -> why not

    def unavailable(self, need: str) -> Unavailable | None:
        return self.missing.get(need)

    def to_json(self) -> dict[str, Any]:
        return {"ssh": self.ssh, "router": self.router, "gateway": self.gateway,
                "missing": {k: v.to_json() for k, v in self.missing.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NetworkPlan:
        missing = {k: Unavailable(**v) for k, v in data.get("missing", {}).items()}
        return cls(ssh=data["ssh"], router=data["router"], gateway=data["gateway"], missing=missing)


def decide(facts: Facts) -> NetworkPlan:
    missing: dict[str, Unavailable] = {}
    if len(facts.reused_networks) == 1:
        missing[NEED_NET2] = Unavailable(
            f"--vmtp-network {facts.reused_networks[0]} gives one network: the different-network "
            "rows need a second one (give --vmtp-network twice)")
    if facts.floating_ips_off:
        missing[NEED_FLOATING_IP] = Unavailable("floating IPs are off (--vmtp-no-floating-ip)")
    elif facts.external_problem is not None:
        missing[NEED_FLOATING_IP] = facts.external_problem
    elif facts.router_problem:
        missing[NEED_FLOATING_IP] = Unavailable(facts.router_problem)
    floating = NEED_FLOATING_IP not in missing
    if not floating and not (facts.ssh_jump or facts.reused_networks or facts.floating_ips_off):
        # The run's own networks, unreachable from here but through floating IPs: every VM row
        # needs them. A named network that is missing is that mistake, in its own words.
        gone = missing[NEED_FLOATING_IP]
        missing[NEED_SSH] = gone if gone.fail else Unavailable(
            f"{gone.reason}; SSH reaches the run's VMs through floating IPs, unless --vmtp-ssh-jump "
            "or --vmtp-network (a network this machine reaches) is given")
    if facts.ipv6_mode:
        # As VMTP's ipv6_mode, which measured no floating-IP flow: Neutron's floating IPs are
        # IPv4 (it has no NAT for IPv6), so these rows could only measure IPv4.
        missing[NEED_IPV4_FLOWS] = Unavailable(
            f"IPv6 mode (--vmtp-ipv6-mode {facts.ipv6_mode}): floating IPs are IPv4 (Neutron has no IPv6 "
            "NAT), so the floating-IP and external-host rows would measure IPv4 only")
    router: RouterUse = "reuse" if facts.reused_router else ("none" if facts.reused_networks else "create")
    ssh: Ssh = "jump" if facts.ssh_jump else (
        "floating" if floating and facts.ssh_to_floating_ip else "fixed")
    return NetworkPlan(ssh=ssh, router=router, gateway=router == "create" and floating,
                       missing=missing)
