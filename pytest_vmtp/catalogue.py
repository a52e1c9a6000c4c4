"""VMTP's scenario table: the one place that names scenarios, their flows and markers.

Rows and titles are VMTP's summary table (`1.1 Same Network, Fixed IP, Intra-node, TCP` ...
`8.2 VM to Host Downloading`); multicast rows (`x.4`) exist only when multicast is selected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal, cast, get_args

Kind = Literal["vm", "native", "external"]  # a scenario module's VMTP_KIND
Protocol = Literal["tcp", "udp", "icmp", "multicast"]
Tool = Literal["nuttcp", "iperf3", "iperf"]
TOOLS: tuple[Tool, ...] = get_args(Tool)  # the throughput tools, VMTP's two and iperf3
VNIC_TYPES = ("normal", "direct", "macvtap")  # --vmtp-vnic-type (VMTP's --vnic-type)
FOOTPRINTS = ("fast", "minimal")  # --vmtp-footprint
IPV6_MODES = ("slaac", "dhcpv6-stateless", "dhcpv6-stateful")  # VMTP's ipv6_mode values
MULTICAST_TOOLS = ("auto", "nuttcp", "iperf")  # multicast: which tool (measure/multicast.py)
Network = Literal["net1", "net2"]  # net1: the server's; net2: behind the router
Side = Literal["A", "B"]  # A: the server VM's compute host; B: another host
Direction = Literal["upload", "download"]
Role = Literal["server", "same_intra", "same_inter", "diff_intra", "diff_inter"]  # the VM-role table's names
# A VM's role: one of the table's, or in scale mode a pair's ("server_p2", see pair_role).
VmName = str
NetworkChoice = Literal["same_network", "different_network"]
Address = Literal["fixed_ip", "floating_ip"]
PlacementChoice = Literal["intra_node", "inter_node"]

KINDS: tuple[Kind, ...] = get_args(Kind)
PROTOCOLS: dict[str, Protocol] = {"T": "tcp", "U": "udp", "I": "icmp", "M": "multicast"}
_PROTO_TITLE = {"tcp": "TCP", "udp": "UDP", "icmp": "ICMP", "multicast": "Multicast"}
_PROTO_ROW = {"tcp": 1, "udp": 2, "icmp": 3, "multicast": 4}

# Every marker a scenario can carry, with its help text (registered by the plugin).
MARKERS = {
    "tcp": "TCP throughput scenarios",
    "udp": "UDP throughput/loss scenarios",
    "icmp": "ping latency scenarios",
    "multicast": "multicast scenarios (only with --vmtp-protocols ...M)",
    "intra_node": "both VMs on one compute host",
    "inter_node": "VMs on two compute hosts",
    "same_network": "VM to VM on the same network",
    "different_network": "VM to VM on two networks through a router",
    "fixed_ip": "traffic to the fixed (private) IP",
    "floating_ip": "traffic to a floating IP (NAT)",
    "native": "host to host over SSH, no cloud",
    "external": "an external host to/from a VM",
    "cloud": "needs an OpenStack cloud (VMs)",
}


# VMTP's wording of each group attribute, as its summary table spells it.
_WORDS = {
    "same_network": "Same Network", "different_network": "Different Network",
    "fixed_ip": "Fixed IP", "floating_ip": "Floating IP",
    "intra_node": "Intra-node", "inter_node": "Inter-node",
}


def _lower(words: str) -> str:
    """VMTP's flow descriptions: lower case but for 'IP' ("fixed IP", "intra-node")."""
    return " ".join(w if w == "IP" else w.lower() for w in words.split())


@dataclass(frozen=True)
class VmRole:
    """A test VM: which network it sits on and which compute host it shares. Scale mode
    (--vmtp-pairs) makes a VM of each role per pair: pair 1 is the role itself."""

    name: VmName
    network: Network
    side: Side
    pair: int = 1

    @property
    def inter_node(self) -> bool:
        return self.side == "B"

    @property
    def base(self) -> Role:
        """The role of the table this VM plays (its name without the pair)."""
        return cast(Role, self.name if self.pair == 1 else self.name.rpartition(PAIR_MARK)[0])


# The one table of VM roles: the server VM, and a client per VMTP placement.
ROLES: dict[Role, VmRole] = {cast(Role, r.name): r for r in (
    VmRole("server", "net1", "A"),
    VmRole("same_intra", "net1", "A"),
    VmRole("same_inter", "net1", "B"),
    VmRole("diff_intra", "net2", "A"),
    VmRole("diff_inter", "net2", "B"),
)}
SERVER_ROLE: Role = "server"
PAIR_MARK = "_p"  # "server_p2": the server VM of pair 2 ("vmtp-<run>-server-p2")


def pair_role(role: Role, pair: int) -> VmName:
    """The name of role's VM in pair `pair` (pair 1: the role itself, as without scale mode)."""
    if role not in ROLES or pair < 1:
        raise ValueError(f"no VM role {role!r} in pair {pair}")
    return role if pair == 1 else f"{role}{PAIR_MARK}{pair}"


def role_of(name: VmName) -> VmRole:
    """The VmRole of a role name, pair roles included ("diff_inter_p3"); KeyError if unknown."""
    if name in ROLES:
        return ROLES[name]
    base, mark, number = name.rpartition(PAIR_MARK)
    if mark and base in ROLES and number.isdigit() and int(number) >= 2 and str(int(number)) == number:
        return replace(ROLES[base], name=name, pair=int(number))
    raise KeyError(name)


@dataclass(frozen=True)
class VmGroup:
    """One of VMTP's VM-to-VM groups 1-6."""

    group: int
    network: NetworkChoice
    address: Address
    placement: PlacementChoice

    @property
    def title(self) -> str:
        return ", ".join(_WORDS[x] for x in (self.network, self.address, self.placement))

    @property
    def desc(self) -> str:
        net, addr, node = (_lower(_WORDS[x]) for x in (self.network, self.address, self.placement))
        return f"VM to VM {net} {addr} ({node})"

    @property
    def client_role(self) -> Role:
        """The client VM's role (the server VM is always SERVER_ROLE)."""
        network: Network = "net1" if self.network == "same_network" else "net2"
        side: Side = "A" if self.placement == "intra_node" else "B"
        return next(name for name, r in ROLES.items()
                    if name != SERVER_ROLE and (r.network, r.side) == (network, side))


VM_GROUPS = (
    VmGroup(1, "same_network", "fixed_ip", "intra_node"),
    VmGroup(2, "same_network", "fixed_ip", "inter_node"),
    VmGroup(3, "different_network", "fixed_ip", "intra_node"),
    VmGroup(4, "different_network", "fixed_ip", "inter_node"),
    VmGroup(5, "different_network", "floating_ip", "intra_node"),
    VmGroup(6, "different_network", "floating_ip", "inter_node"),
)


@dataclass(frozen=True)
class Scenario:
    """One row of VMTP's summary table, and one pytest test case."""

    id: str  # "2.1"
    name: str  # VMTP's row title without the id
    kind: Kind
    protocol: Protocol
    markers: tuple[str, ...]
    test_id: str  # pytest parameter id
    group: VmGroup | None = None
    direction: Direction | None = None  # external rows
    # What the row measures when selected by --vmtp-protocols, in order: its own protocol, or for
    # VMTP's external-host flow (8.x) TCP, UDP and ICMP as result items of one row.
    also: tuple[Protocol, ...] = ()

    @property
    def measures(self) -> tuple[Protocol, ...]:
        return (self.protocol, *self.also)

    @property
    def title(self) -> str:
        return f"{self.id} {self.name}"

    @property
    def sort_key(self) -> tuple[int, int]:
        major, minor = self.id.split(".")
        return int(major), int(minor)


def _vm_rows(protocols: tuple[Protocol, ...]) -> list[Scenario]:
    rows = []
    for g in VM_GROUPS:
        for proto in protocols:
            sid = f"{g.group}.{_PROTO_ROW[proto]}"
            rows.append(Scenario(
                id=sid,
                name=f"{g.title}, {_PROTO_TITLE[proto]}",
                kind="vm",
                protocol=proto,
                markers=(proto, g.network, g.address, g.placement, "cloud"),
                test_id=f"{sid}-{g.network}-{g.address}-{g.placement}-{proto}",
                group=g,
            ))
    return rows


def _native_rows(protocols: tuple[Protocol, ...]) -> list[Scenario]:
    return [
        Scenario(
            id=f"7.{_PROTO_ROW[p]}",
            name=f"Native Throughput, {_PROTO_TITLE[p]}",
            kind="native",
            protocol=p,
            markers=(p, "native"),
            test_id=f"7.{_PROTO_ROW[p]}-native-{p}",
        )
        for p in protocols
    ]


def _external_rows() -> list[Scenario]:
    """VMTP's external-host flow ran ping, then TCP and UDP both ways, in one flow whose summary
    rows it split by direction: the ping and the forward items are 8.1's, the reverse ones 8.2's.
    Here each row measures its share; the test ids keep their old names."""
    return [
        Scenario(id="8.1", name="VM to Host Uploading", kind="external", protocol="tcp",
                 markers=("tcp", "external", "floating_ip", "cloud"),
                 test_id="8.1-external-upload-tcp", direction="upload", also=("udp", "icmp")),
        Scenario(id="8.2", name="VM to Host Downloading", kind="external", protocol="tcp",
                 markers=("tcp", "external", "floating_ip", "cloud"),
                 test_id="8.2-external-download-tcp", direction="download", also=("udp",)),
    ]


def catalogue(multicast: bool = False) -> list[Scenario]:
    """All rows in VMTP's order: 23 without multicast, 30 with it."""
    protocols: tuple[Protocol, ...] = ("tcp", "udp", "icmp", "multicast") if multicast else ("tcp", "udp", "icmp")
    rows = _vm_rows(protocols) + _native_rows(protocols) + _external_rows()
    return sorted(rows, key=lambda s: s.sort_key)


def by_kind(kind: Kind, multicast: bool = False) -> list[Scenario]:
    return [s for s in catalogue(multicast) if s.kind == kind]


# Every row's pytest id, multicast rows included: how a node id is known to be a VMTP row.
TEST_IDS = frozenset(s.test_id for s in catalogue(multicast=True))


def is_scenario_nodeid(nodeid: str) -> bool:
    """True for a node id such as 'scenarios/test_vm.py::test_flow[2.1-same_network-...]'."""
    return nodeid.endswith("]") and nodeid.rpartition("[")[2][:-1] in TEST_IDS


SCALED_PROTOCOLS = ("tcp", "udp")  # scale mode measures throughput; ping and multicast: one pair


def scaled(row: Scenario) -> bool:
    """Does scale mode (--vmtp-pairs) run several pairs of this row at once? VM-to-VM TCP
    and UDP rows only."""
    return row.kind == "vm" and row.protocol in SCALED_PROTOCOLS


def roles_needed(rows: Iterable[Scenario], pairs: int = 1) -> set[VmName]:
    """The VMs these rows measure between: the server VM for any VM or external row, and
    each VM row's client; with pairs > 1, the scaled rows' server and client of every pair."""
    roles: set[VmName] = set()
    for row in rows:
        if row.kind in ("vm", "external"):
            roles.add(SERVER_ROLE)
        if row.group is not None:
            roles.add(row.group.client_role)
            if scaled(row):
                for pair in range(2, pairs + 1):
                    roles |= {pair_role(SERVER_ROLE, pair), pair_role(row.group.client_role, pair)}
    return roles


def floating_roles_needed(rows: Iterable[Scenario]) -> set[Role]:
    """The VMs these rows reach through a floating IP: the server VM of the floating-IP and
    external rows, and the floating-IP rows' clients (their traffic leaves through theirs)."""
    roles: set[Role] = set()
    for row in rows:
        if row.kind == "external" or (row.group is not None and row.group.address == "floating_ip"):
            roles.add(SERVER_ROLE)
            if row.group is not None:
                roles.add(row.group.client_role)
    return roles


def footprint_sort_key(row: Scenario) -> tuple[int, int, int, int]:
    """VMTP's order, client by client, so that with --vmtp-footprint minimal each client VM
    boots once: the intra-node clients (same network 1.x; other network 3.x, 5.x), then the
    inter-node ones (2.x; 4.x, 6.x), then the rows of no client VM."""
    if row.group is None:
        return (2, *row.sort_key, 0)
    g = row.group
    return (int(g.placement == "inter_node"), int(g.network == "different_network"), g.group,
            row.sort_key[1])


def unselected_reason(row: Scenario, protocols: tuple[Protocol, ...]) -> str | None:
    """Why a row does not run under --vmtp-protocols (None: it runs). VMTP lists such rows
    as skipped; the multicast rows exist only when multicast is selected."""
    if selected_measures(row, protocols):
        return None
    letters = "".join(c for c, name in PROTOCOLS.items() if name in protocols)
    titles = [_PROTO_TITLE[p] for p in row.measures]
    what = " and ".join([", ".join(titles[:-1]), titles[-1]] if len(titles) > 1 else titles)
    return f"{what} not selected (--vmtp-protocols {letters})"


def selected_measures(row: Scenario, protocols: tuple[Protocol, ...]) -> tuple[Protocol, ...]:
    """What the row measures under --vmtp-protocols, in its own order."""
    return tuple(p for p in row.measures if p in protocols)


def parse_protocols(text: str) -> tuple[Protocol, ...]:
    """VMTP's --protocols letters (any of T, U, I, M) -> protocol names; ValueError if bad."""
    letters = text.strip().upper()
    bad = sorted(set(letters) - set(PROTOCOLS))
    if not letters or bad:
        raise ValueError(
            f"--vmtp-protocols {text!r}: use letters from T (TCP), U (UDP), I (ICMP), M (multicast)"
        )
    return tuple(PROTOCOLS[c] for c in PROTOCOLS if c in letters)
