"""Impaired links: loss, delay and jitter, a rate limit and carrier loss on one veth.

A leg is one veth: its device end (a VM's ethN, a router's qr-/qg-, a host's mgmt0) and its
far end (the tap on a bridge, the root-side leg). Per direction:
  out (device -> far):  tbf on the device end; loss and delay by iptables in the device's
                        namespace (filter OUTPUT/FORWARD -o dev)
  in  (far -> device):  tbf on the far end; loss and delay in the device's namespace
                        (filter INPUT/FORWARD -i dev)
  down:                 every IP packet dropped at both hooks: a link down in the fabric.
                        The VM keeps its carrier and its ARP entries, as a VM behind a dead
                        switch port does (carrier loss would make the kernel queue packets
                        for ARP and deliver them late when the link returns)

Why not netem: many kernels ship without sch_netem (the one this project is tested on
does); tbf and netfilter are everywhere. tbf alone rate-limits, and bounds its queue in
bytes (50 ms), so a shaped TCP flow gets the rate without seconds of bufferbloat. Loss is
netfilter's statistic match (random, in the kernel); delay and jitter are NFQUEUE verdicts
held back by nfqueue.Delayer. One qdisc per end, never a stack.
The filter table is used because routers rewrite their mangle and nat tables whole.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .model import NORMAL, Effect, End, Leg, LegState
from .nfqueue import Delayer
from .nl import DataplaneError, run_in

TBF_LATENCY = "50ms"
CHAIN_PREFIX = "vf"  # vfo-<dev> (out), vfi-<dev> (in)


@dataclass(frozen=True)
class Hook:
    """Where one direction's loss and delay rules live: a chain and the jumps to it."""

    netns: str | None
    table: str
    chain: str
    jumps: tuple[str, ...]


def hooks(leg: Leg) -> tuple[Hook, Hook]:
    """(out, in) hooks of a leg. Both sit where the packet has not yet reached the namespace
    it is for: a receiver's clock (ping's kernel timestamp) starts when the packet enters its
    last namespace, so a delay after that would not show. Packets towards a VM are held at
    the host's tap (bridged: br_netfilter's POSTROUTING with physdev), the others at the
    device end (its namespace forwards them on: a router, a host's VXLAN)."""
    dev = leg.device.ifname
    out = Hook(leg.device.netns, "filter", f"{CHAIN_PREFIX}o-{dev}",
               (f"OUTPUT -o {dev}", f"FORWARD -o {dev}"))
    if leg.far_bridged:
        far = leg.far.ifname
        into = Hook(leg.far.netns, "mangle", f"{CHAIN_PREFIX}i-{far}",
                    (f"POSTROUTING -m physdev --physdev-out {far} --physdev-is-bridged",))
    else:
        into = Hook(leg.device.netns, "filter", f"{CHAIN_PREFIX}i-{dev}",
                    (f"INPUT -i {dev}", f"FORWARD -i {dev}"))
    return out, into


def render_hook(hook: Hook, effect: Effect, queue: int | None, new: bool,
                down: bool = False) -> str:
    """iptables-restore --noflush input (re)defining the hook's chain (and its jumps if new)."""
    lines = [f"*{hook.table}", f":{hook.chain} - [0:0]"]
    if new:
        lines += [f"-A {jump} -j {hook.chain}" for jump in hook.jumps]
    if down:
        lines.append(f"-A {hook.chain} -j DROP")
    if effect.loss_pct:
        lines.append(f"-A {hook.chain} -m statistic --mode random --probability "
                     f"{min(1.0, effect.loss_pct / 100):.6f} -j DROP")
    if queue is not None:
        lines.append(f"-A {hook.chain} -j NFQUEUE --queue-num {queue} --queue-bypass")
    return "\n".join(lines + ["COMMIT"]) + "\n"


def render_unhook(hook: Hook) -> str:
    lines = [f"*{hook.table}"] + [f"-D {jump} -j {hook.chain}" for jump in hook.jumps]
    lines += [f"-F {hook.chain}", f"-X {hook.chain}", "COMMIT"]
    return "\n".join(lines) + "\n"


def tbf_args(rate_bps: int) -> list[str]:
    """tbf arguments: burst of 5 ms at the rate (at least 16 KB, more than any frame)."""
    burst = max(int(rate_bps / 8 * 0.005), 16 * 1024)
    return ["tbf", "rate", f"{rate_bps}bit", "burst", str(burst), "latency", TBF_LATENCY]


class Impairer:
    """Applies LegStates; remembers what it applied so that each change is a diff."""

    def __init__(self) -> None:
        self.delayer = Delayer()
        self._lock = threading.Lock()
        self._applied: dict[Leg, LegState] = {}
        self._queues: dict[tuple[str | None, str], int] = {}  # (ns, chain) -> queue

    def applied(self) -> dict[Leg, LegState]:
        with self._lock:
            return dict(self._applied)

    def apply(self, leg: Leg, state: LegState) -> None:
        """Bring the leg to state (NORMAL removes everything); DataplaneError."""
        with self._lock:
            old = self._applied.get(leg, NORMAL)
            if old == state:
                return
            if state.out.rate_bps != old.out.rate_bps:
                _qdisc(leg.device, state.out.rate_bps)
            if state.into.rate_bps != old.into.rate_bps:
                _qdisc(leg.far, state.into.rate_bps)
            if (state.out, state.into, state.down) != (old.out, old.into, old.down):
                self._filter(leg, old, state)
            if state == NORMAL:
                self._applied.pop(leg, None)
            else:
                self._applied[leg] = state

    def forget(self, leg: Leg) -> None:
        """The leg is gone with its namespace or peer: drop what was applied to it."""
        with self._lock:
            self._applied.pop(leg, None)
            for hook in hooks(leg):
                queue = self._queues.pop((hook.netns, hook.chain), None)
                if queue is not None:
                    self.delayer.remove(hook.netns, queue)

    def stop(self) -> None:
        self.delayer.stop()

    def _filter(self, leg: Leg, old: LegState, state: LegState) -> None:
        for hook, before, after in zip(hooks(leg), (old.out, old.into), (state.out, state.into),
                                       strict=True):
            had, wants = _filters(before, old.down), _filters(after, state.down)
            if had == wants:
                continue
            queue = self._queue(hook, after)
            if any(wants):
                run_in(hook.netns, ["iptables-restore", "-w", "--noflush"],
                       stdin=render_hook(hook, after, queue, new=not any(had),
                                         down=state.down))
            else:
                run_in(hook.netns, ["iptables-restore", "-w", "--noflush"],
                       stdin=render_unhook(hook))

    def _queue(self, hook: Hook, effect: Effect) -> int | None:
        """The NFQUEUE number delaying at this hook (bound to the delayer), or None."""
        key = (hook.netns, hook.chain)
        if not effect.delay_ms and not effect.jitter_ms:
            queue = self._queues.pop(key, None)
            if queue is not None:
                self.delayer.remove(hook.netns, queue)
            return None
        queue = self._queues.get(key)
        if queue is None:
            taken = {q for (ns, _c), q in self._queues.items() if ns == hook.netns}
            queue = next(q for q in range(1, 65536) if q not in taken)
            self._queues[key] = queue
        try:
            self.delayer.add(hook.netns, queue, effect.delay_ms, effect.jitter_ms)
        except OSError as exc:
            raise DataplaneError(f"delay at {hook.chain} in {hook.netns}: {exc}") from None
        return queue


def _filters(effect: Effect, down: bool) -> tuple[float, float, float, bool]:
    return effect.loss_pct, effect.delay_ms, effect.jitter_ms, down


def _qdisc(end: End, rate_bps: int | None) -> None:
    if rate_bps:
        run_in(end.netns, ["tc", "qdisc", "replace", "dev", end.ifname, "root",
                           *tbf_args(rate_bps)])
        return
    try:
        run_in(end.netns, ["tc", "qdisc", "del", "dev", end.ifname, "root"])
    except DataplaneError:
        pass  # no qdisc of ours there (or the link is gone)


def strip(netns: str | None, links: list[str]) -> None:
    """Remove every fault artefact of ours in a namespace (after a crash of the server):
    vfo-/vfi- chains and the jumps to them (filter and mangle), root qdiscs on the links."""
    for table in ("filter", "mangle"):
        try:
            listing = run_in(netns, ["iptables", "-w", "-t", table, "-S"])
        except DataplaneError:
            continue
        ours = [w[1] for w in (line.split() for line in listing.splitlines())
                if w[:1] == ["-N"] and _ours(w[1])]
        for line in listing.splitlines():
            words = line.split()
            if words[:1] == ["-A"] and words[-2:-1] == ["-j"] and _ours(words[-1]):
                run_in(netns, ["iptables", "-w", "-t", table, "-D", *words[1:]])
        for name in ours:
            run_in(netns, ["iptables", "-w", "-t", table, "-F", name])
            run_in(netns, ["iptables", "-w", "-t", table, "-X", name])
    for link in links:
        _qdisc(End(netns, link), None)


def _ours(chain_name: str) -> bool:
    return chain_name.startswith((f"{CHAIN_PREFIX}o-", f"{CHAIN_PREFIX}i-"))
