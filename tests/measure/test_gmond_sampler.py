"""Host CPU sampling during throughput tests: a real gmond (Debian's, pytest_vmtp.gmond_daemon)
in a lab host's namespace, read by the sampler thread while real tools run; and gmonds that
cannot be read (a closed port, one that never answers, one that answers garbage), served by
real sockets here, which must only ever be warnings."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from pytest_vmtp.gmond_daemon import GmondHandle, start_gmond
from pytest_vmtp.measure.flows import measure_tcp, measure_udp
from pytest_vmtp.measure.gmond import CpuMonitor, CpuSampler, GmondTarget, HostCpu
from pytest_vmtp.measure.netns import entered_netns

from .conftest import DATA

XML = (DATA / "gmond_two_hosts.xml").read_bytes()


@pytest.fixture(scope="module")
def gmond(lab) -> Iterator[GmondHandle]:
    """gmond on the lab's first host, reached (as the sampler reaches it) from the controller."""
    host = lab.hosts[0]
    with entered_netns(lab.controller.netns):
        handle = start_gmond(lab.workdir / f"{host.netns}-gmond", host.ip, netns=host.netns)
    yield handle
    handle.stop()


def _serve(behaviour: str) -> tuple[GmondTarget, threading.Event]:
    """A TCP server on 127.0.0.1 that, per connection, sends the captured XML ('xml'), sends
    garbage ('garbage') or says nothing and keeps the connection open ('silent')."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        held = []
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            if behaviour == "silent":
                held.append(conn)
                continue
            with conn:
                conn.sendall(XML if behaviour == "xml" else b"HTTP/1.1 400 Bad Request\r\n\r\n")
        for conn in held:
            conn.close()
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return GmondTarget("127.0.0.1", listener.getsockname()[1]), done


def _closed_port() -> GmondTarget:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return GmondTarget("127.0.0.1", s.getsockname()[1])


def test_a_real_gmond_is_sampled_at_once_then_every_interval(lab, gmond) -> None:
    settings = HostCpu((GmondTarget(gmond.ip, gmond.port),), interval_s=0.5, max_samples=20, timeout_s=2)
    with entered_netns(lab.controller.netns), CpuSampler(settings) as sampler:
        time.sleep(1.2)  # samples at 0, 0.5 and 1.0 s
    loads = sampler.samples.cpu_load()
    assert loads is not None and list(loads) == [gmond.ip], loads  # keyed by the HOST's IP
    assert len(loads[gmond.ip]) == 3 and all(0 <= v <= 64 for v in loads[gmond.ip]), loads
    assert sampler.samples.warnings == []


def test_tcp_runs_carry_the_hosts_cpu_and_the_tools_own(lab, ctl, h1, gmond, fast) -> None:
    monitor = CpuMonitor(HostCpu((GmondTarget(gmond.ip, gmond.port),), interval_s=0.4, timeout_s=2))
    with entered_netns(lab.controller.netns):
        results = measure_tcp(ctl, h1, lab.hosts[0].ip, fast, host_cpu=monitor)
    assert [r.run for r in results] == [1, 2]
    for r in results:  # 1-s runs: samples at 0, 0.4 and 0.8 s, each run its own
        assert r.cpu_load and list(r.cpu_load) == [gmond.ip] and 2 <= len(r.cpu_load[gmond.ip]) <= 4, r
        assert r.tool_cpu_pct and set(r.tool_cpu_pct) == {"tx", "rx"}
        assert set(r.to_json()["cpu_load"]) == {gmond.ip}
    assert monitor.warnings == []


def test_udp_samples_the_full_length_run_not_the_search_probes(lab, ctl, h1, gmond, fast) -> None:
    monitor = CpuMonitor(HostCpu((GmondTarget(gmond.ip, gmond.port),), interval_s=0.25, timeout_s=2))
    searching = replace(fast, tool="iperf3", udp_search_max_probes=2)  # iperf3 -t 1 ends after 1 s
    with entered_netns(lab.controller.netns):
        [r] = measure_udp(ctl, h1, lab.hosts[0].ip, searching, host_cpu=monitor)
    assert r.rate_search and len(r.rate_search.probes) == 2
    # the 1-s full-length run gives about 5 samples; each 1-s probe would have added as many
    assert r.cpu_load and 3 <= len(r.cpu_load[gmond.ip]) <= 7, r.cpu_load


def test_gmonds_that_cannot_be_read_are_warnings_and_the_run_goes_on(lab, ctl, h1, fast) -> None:
    silent, stop_silent = _serve("silent")
    garbage, stop_garbage = _serve("garbage")
    closed = _closed_port()
    monitor = CpuMonitor(HostCpu((closed, silent, garbage), interval_s=0.5, timeout_s=0.5))
    try:
        started = time.monotonic()
        [r] = measure_tcp(ctl, h1, lab.hosts[0].ip, replace(fast, tcp_runs=1), host_cpu=monitor)
        took = time.monotonic() - started
    finally:
        stop_silent.set()
        stop_garbage.set()
    assert r.throughput_kbps > 0 and r.cpu_load is None  # no host sampled: left out, as VMTP
    assert monitor.warnings[:2] == [
        f"host CPU: gmond {closed.label}: cannot read it: Connection refused",
        f"host CPU: gmond {silent.label}: cannot read it: no end of the XML within 0.5 s",
    ]
    assert monitor.warnings[2].startswith(f"host CPU: gmond {garbage.label}: not XML: not well-formed")
    assert len(monitor.warnings) == 3  # each gmond once, whatever the number of samples
    assert took < 5, took  # the sampler's reads never hold the measurement up for long


def test_the_sampler_stops_when_the_test_fails_and_takes_each_host_once(lab, gmond) -> None:
    first, stop_first = _serve("xml")
    second, stop_second = _serve("xml")
    settings = HostCpu((first, second), interval_s=0.2, max_samples=3)
    try:
        with pytest.raises(RuntimeError), CpuSampler(settings) as sampler:
            time.sleep(1.0)
            raise RuntimeError("the tool failed")
    finally:
        stop_first.set()
        stop_second.set()
    assert not sampler._thread.is_alive()
    # two gmonds reporting the same hosts: each host once per round; at most max_samples rounds
    assert sampler.samples.cpu_load() == {"198.18.184.2": [0.38] * 3, "198.18.184.3": [0.38] * 3}


def test_a_gmond_whose_hosts_report_no_cpu_is_a_warning() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    target = GmondTarget("127.0.0.1", listener.getsockname()[1])
    without_cpu = XML.replace(b'NAME="cpu_num"', b'NAME="cpu_num_not"')

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, listener:
            conn.sendall(without_cpu)

    threading.Thread(target=serve, daemon=True).start()
    with CpuSampler(HostCpu((target,), interval_s=5, max_samples=1)) as sampler:
        time.sleep(0.3)
    assert sampler.samples.cpu_load() is None
    assert sampler.samples.warnings == [
        f"host CPU: gmond {target.label}: no host in its XML reports cpu_user, cpu_system and cpu_num"]
