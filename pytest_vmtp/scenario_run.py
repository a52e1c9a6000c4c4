"""Run one scenario row on two endpoints and record it in a FlowResult.

The scenario tests stay one line long: fixtures give them FlowEndpoints, this module does
the measuring (through measure/) and the bookkeeping VMTP's reports need.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from pytest_vmtp.catalogue import SCALED_PROTOCOLS, Protocol, Scenario, scaled, selected_measures
from pytest_vmtp.endpoints import FlowEndpoints
from pytest_vmtp.measure import deadlines
from pytest_vmtp.measure import flows as measure
from pytest_vmtp.measure.errors import MeasureError
from pytest_vmtp.measure.gmond import CpuMonitor, HostCpu
from pytest_vmtp.measure.settings import MeasureSettings
from pytest_vmtp.results import ErrorResult, FlowResult, IcmpResult
from pytest_vmtp.scale.settings import ScaleSettings

_TITLE = {"tcp": "TCP", "udp": "UDP", "icmp": "ICMP", "multicast": "Multicast"}
Breach = Callable[[list[dict[str, Any]]], str | None]  # scale/runner.py's


def run_scenario(scenario: Scenario, ends: FlowEndpoints, settings: MeasureSettings,
                 flow: FlowResult, lock_dir: Path | None = None,
                 protocols: tuple[Protocol, ...] | None = None, scale: ScaleSettings | None = None,
                 breach: Breach | None = None, host_cpu: HostCpu | None = None) -> None:
    """Measure the row's protocols (those of `protocols`, --vmtp-protocols, that it measures)
    from ends.client to ends.dest_ip; raise MeasureError on the first error, recorded as the
    failing protocol's error item. With scale mode on a scaled row, every pair of ends at once
    (breach: a progression's stop). host_cpu: the gmonds whose hosts' CPU load goes with each
    throughput result of a single pair; what went wrong reading them is the flow's warnings,
    never an error."""
    flow.desc, flow.ip_from, flow.ip_to = ends.desc, ends.ip_from, ends.ip_to
    flow.ip_version = _family(ends.dest_ip)
    flow.az_from, flow.az_to = ends.az_from, ends.az_to
    wanted = selected_measures(scenario, protocols) if protocols is not None else scenario.measures
    # VMTP pinged first, then measured throughput (instance.py run_client).
    order = sorted(wanted, key=lambda p: p != "icmp")
    monitor = CpuMonitor(host_cpu) if host_cpu is not None and host_cpu.targets else None
    started = time.monotonic()
    with ExitStack() as stack:
        if lock_dir is not None:
            _lock_machines(stack, lock_dir, tuple(n for pair in ends.pairs for n in pair.locks),
                           deadlines.machine_lock(settings))
        try:
            flow.distro_id, flow.distro_version = measure.host_distro(ends.client)
            pairs = scale is not None and scale.active and scaled(scenario)
            for proto in order:
                try:
                    if pairs and proto in SCALED_PROTOCOLS:
                        assert scale is not None
                        _measure_scaled(proto, ends, settings, flow, scale, breach)
                    else:
                        _measure(proto, ends, settings, flow, monitor)
                except MeasureError as exc:
                    tool = "ping" if proto == "icmp" else (
                        settings.multicast_tool if proto == "multicast" else settings.tool)
                    flow.results.append(ErrorResult(protocol=_TITLE[proto], tool=tool, error=str(exc)))
                    raise
        finally:
            flow.duration_s = round(time.monotonic() - started, 3)
            if monitor is not None:
                flow.warn(monitor.warnings)


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


def _measure_scaled(proto: str, ends: FlowEndpoints, settings: MeasureSettings, flow: FlowResult,
                    scale: ScaleSettings, breach: Breach | None) -> None:
    from pytest_vmtp.scale.runner import run_scaled

    hosts = [runner for pair in ends.pairs for runner in (pair.client, pair.server)]
    with ThreadPoolExecutor(max_workers=min(32, len(hosts))) as pool:  # SSH to every VM at once
        list(pool.map(lambda runner: measure.check_tools(runner, settings, (proto,)), hosts))
    run_scaled(proto, ends.pairs, settings, scale, flow, breach)


def _family(address: str) -> int | None:
    """4 or 6: the address family the flow measured (its destination's)."""
    try:
        return ipaddress.ip_address(address.partition("%")[0]).version
    except ValueError:
        return None


def _measure(proto: Protocol, ends: FlowEndpoints, settings: MeasureSettings, flow: FlowResult,
             host_cpu: CpuMonitor | None) -> None:
    measure.check_tools(ends.client, settings, (proto,))
    if proto != "icmp":
        measure.check_tools(ends.server, settings, (proto,))
    if proto == "icmp":
        icmp = measure.measure_icmp(ends.client, ends.dest_ip, settings)
        flow.results.append(icmp)
        _check_ping(icmp, ends)
    elif proto == "tcp":
        flow.results.extend(measure.measure_tcp(ends.client, ends.server, ends.dest_ip, settings,
                                                reverse=ends.reverse, host_cpu=host_cpu))
    elif proto == "udp":
        flow.results.extend(measure.measure_udp(ends.client, ends.server, ends.dest_ip, settings,
                                                reverse=ends.reverse, host_cpu=host_cpu))
    elif proto == "multicast":
        flow.multicast_address = settings.multicast_group
        flow.results.extend(measure.measure_multicast(ends.client, ends.server, settings,
                                                      dest_ip=ends.dest_ip, peer_ip=ends.ip_from,
                                                      host_cpu=host_cpu))
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
