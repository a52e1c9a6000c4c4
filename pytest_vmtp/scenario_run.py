"""Run one scenario row on two endpoints and record it in a FlowResult.

The scenario tests stay one line long: fixtures give them FlowEndpoints, this module does
the measuring (through measure/) and the bookkeeping VMTP's reports need.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from pytest_vmtp.catalogue import Scenario
from pytest_vmtp.measure import deadlines
from pytest_vmtp.measure import flows as measure
from pytest_vmtp.measure.errors import MeasureError
from pytest_vmtp.measure.runner import Runner
from pytest_vmtp.measure.settings import MeasureSettings
from pytest_vmtp.results import ErrorResult, FlowResult, IcmpResult


@dataclass
class FlowEndpoints:
    """Who sends to whom, and what VMTP's JSON says about it."""

    client: Runner
    server: Runner
    dest_ip: str
    desc: str
    ip_from: str | None = None
    ip_to: str | None = None
    az_from: str | None = None
    az_to: str | None = None
    reverse: bool = False  # server sends (download), as nuttcp -F -r
    # Names of the machines involved: measurements sharing one are serialised across
    # xdist workers so that they do not disturb each other.
    locks: tuple[str, ...] = ()


_TOOL_OF = {"icmp": "ping"}


def run_scenario(scenario: Scenario, ends: FlowEndpoints, settings: MeasureSettings,
                 flow: FlowResult, lock_dir: Path | None = None) -> None:
    """Measure scenario.protocol from ends.client to ends.dest_ip; raise MeasureError on error."""
    flow.desc, flow.ip_from, flow.ip_to = ends.desc, ends.ip_from, ends.ip_to
    flow.az_from, flow.az_to = ends.az_from, ends.az_to
    started = time.monotonic()
    with ExitStack() as stack:
        try:
            if lock_dir is not None:
                _lock_machines(stack, lock_dir, ends.locks, deadlines.machine_lock(settings))
            _measure(scenario, ends, settings, flow)
        except MeasureError as exc:
            flow.results.append(ErrorResult(
                protocol=scenario.protocol.upper() if scenario.protocol != "multicast" else "Multicast",
                tool=_TOOL_OF.get(scenario.protocol, settings.tool), error=str(exc)))
            raise
        finally:
            flow.duration_s = round(time.monotonic() - started, 3)


def _lock_machines(stack: ExitStack, lock_dir: Path, names: tuple[str, ...], timeout: float) -> None:
    """Hold the lock of every machine of the row (other xdist workers' rows through them wait),
    in one order everywhere (no deadlock), waiting at most timeout seconds in all."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    for name in sorted(set(names)):
        try:
            stack.enter_context(FileLock(str(lock_dir / f"{name}.lock"),
                                         timeout=max(0.0, deadline - time.monotonic())))
        except Timeout:
            raise MeasureError(f"timed out after {timeout:.0f} s waiting for {name}, which other rows were "
                               "measuring through: is a measurement stuck?") from None


def _measure(scenario: Scenario, ends: FlowEndpoints, settings: MeasureSettings, flow: FlowResult) -> None:
    proto = scenario.protocol
    measure.check_tools(ends.client, settings, (proto,))
    if proto != "icmp":
        measure.check_tools(ends.server, settings, (proto,))
    flow.distro_id, flow.distro_version = measure.host_distro(ends.client)
    if proto == "icmp":
        icmp = measure.measure_icmp(ends.client, ends.dest_ip, settings)
        flow.results.append(icmp)
        _check_ping(icmp, ends)
    elif proto == "tcp":
        flow.results.extend(measure.measure_tcp(ends.client, ends.server, ends.dest_ip, settings,
                                                reverse=ends.reverse))
    elif proto == "udp":
        flow.results.extend(measure.measure_udp(ends.client, ends.server, ends.dest_ip, settings,
                                                reverse=ends.reverse))
    elif proto == "multicast":
        flow.results.extend(measure.measure_multicast(ends.client, ends.server, settings, dest_ip=ends.dest_ip))
    else:  # pragma: no cover - the catalogue has no other protocol
        raise MeasureError(f"unknown protocol {proto}")


def _check_ping(icmp: IcmpResult, ends: FlowEndpoints) -> None:
    """No reply at all means the data path is broken: that is a FAILED row, not a number."""
    dead = [r for r in icmp.results if r.rx_packets == 0]
    if dead:
        sizes = ", ".join(f"{r.packet_size} B: {r.tx_packets} of {r.tx_packets} lost" for r in dead)
        raise MeasureError(
            f"100 % loss: no ping reply from {ends.dest_ip} ({sizes}): "
            "check security group ICMP rules and the path"
        )
