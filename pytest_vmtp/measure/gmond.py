"""Host CPU load from Ganglia during a throughput test: a background sampler of gmond's XML.

As VMTP's monitor.py: a thread reads every gmond (TCP connect, read to EOF) at the start of the
test and then every interval, at most max_samples times, until the test ends; each host's
loads (parse_gmond.py) become the result's cpu_load, {host IP: [load, ...]}. Several gmonds
may be given (VMTP took one): a host reported by two of them is taken from the first. A gmond
that cannot be reached or read is a warning of the flow, never a failed measurement.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pytest_vmtp.defaults import value

from .hostspec import is_host
from .parse_gmond import GmondXmlError, cpu_loads

MAX_XML_BYTES = 64 << 20  # a gmetad of a large grid writes megabytes; a stream never ends
WARNING_PREFIX = "host CPU: "


@dataclass(frozen=True)
class GmondTarget:
    host: str
    port: int

    @property
    def label(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_target(text: str, default_port: int) -> GmondTarget:
    """'HOST', 'HOST:PORT', an IPv6 address, or '[V6]:PORT'; ValueError saying what is wrong."""
    spec = str(text).strip()
    host, port = spec, str(default_port)
    if spec.startswith("["):
        host, sep, rest = spec[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError("write an IPv6 address as [ADDRESS] or [ADDRESS]:PORT")
        port = rest[1:] if rest else port
    elif spec.count(":") == 1:
        host, port = spec.split(":")
    elif ":" in spec:
        try:
            ipaddress.IPv6Address(spec)
        except ValueError:
            raise ValueError("write an IPv6 address with a port as [ADDRESS]:PORT") from None
    if not is_host(host):
        raise ValueError(f"host {host!r} is neither an IP address nor a DNS name (e.g. 10.0.0.5 or 10.0.0.5:8649)")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"port {port!r} is not a number from 1 to 65535")
    return GmondTarget(host, int(port))


def read_xml(target: GmondTarget, timeout_s: float) -> bytes:
    """Connect and read until gmond closes the connection, all within timeout_s; OSError
    (TimeoutError included) when it cannot be done."""
    deadline = time.monotonic() + timeout_s
    chunks: list[bytes] = []
    size = 0
    try:
        sock = socket.create_connection((target.host, target.port), timeout=timeout_s)
    except TimeoutError:
        raise TimeoutError(f"no connection within {timeout_s:g} s") from None
    with sock:
        while True:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                sock.settimeout(left)
                chunk = sock.recv(1 << 16)
            except TimeoutError:
                raise TimeoutError(f"no end of the XML within {timeout_s:g} s") from None
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_XML_BYTES:
                raise OSError(f"more than {MAX_XML_BYTES >> 20} MiB of XML")


@dataclass(frozen=True)
class HostCpu:
    """Which gmonds to read and how often: the run's setting (config.py). Field defaults come
    from defaults.yaml."""

    targets: tuple[GmondTarget, ...] = ()
    interval_s: float = value("gmond_interval_s")
    max_samples: int = value("gmond_max_samples")
    timeout_s: float = value("gmond_timeout_s")

    def with_targets(self, more: list[GmondTarget]) -> HostCpu:
        known = list(self.targets)
        known += [t for t in more if t not in known]
        return HostCpu(tuple(known), self.interval_s, self.max_samples, self.timeout_s)


@dataclass
class Samples:
    """What one sampling collected: loads per host IP, in order; warnings, once each."""

    loads: dict[str, list[float]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def cpu_load(self) -> dict[str, list[float]] | None:
        """VMTP's cpu_load; None (left out of the result) when no host was sampled."""
        return {ip: list(values) for ip, values in self.loads.items()} or None


class CpuSampler:
    """The thread that reads the gmonds while a test runs. Use as a context manager around the
    test: it reads once at once, then every interval; leaving the block stops it and waits for
    it (at most one read's timeout), also when the test failed or was interrupted."""

    def __init__(self, settings: HostCpu) -> None:
        self.settings = settings
        self.samples = Samples()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._read: set[GmondTarget] = set()  # gave Ganglia XML at least once ...
        self._answered: set[GmondTarget] = set()  # ... with a host's CPU load in it
        self._thread = threading.Thread(target=self._run, name="vmtp-gmond", daemon=True)

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.settings.timeout_s + 1.0)
        with self._lock:
            for target in self.settings.targets:
                if target in self._read and target not in self._answered:
                    self._warn(target, "no host in its XML reports cpu_user, cpu_system and cpu_num")

    def _run(self) -> None:
        started = time.monotonic()
        for n in range(max(1, self.settings.max_samples)):
            self._sample_round()
            next_at = started + (n + 1) * self.settings.interval_s
            if self._stop.wait(max(0.0, next_at - time.monotonic())):
                return

    def _sample_round(self) -> None:
        seen: dict[str, float] = {}
        for target in self.settings.targets:
            try:
                loads = cpu_loads(read_xml(target, self.settings.timeout_s))
            except (OSError, GmondXmlError) as exc:
                with self._lock:
                    self._warn(target, _why(exc))
                continue
            with self._lock:
                self._read.add(target)
                if loads:
                    self._answered.add(target)
            for ip, load in loads.items():
                seen.setdefault(ip, load)  # a host two gmonds report: the first one's
        with self._lock:
            for ip, load in seen.items():
                self.samples.loads.setdefault(ip, []).append(load)

    def _warn(self, target: GmondTarget, why: str) -> None:
        line = f"{WARNING_PREFIX}gmond {target.label}: {why}"
        if not any(w.startswith(f"{WARNING_PREFIX}gmond {target.label}:") for w in self.samples.warnings):
            self.samples.warnings.append(line)


def _why(exc: OSError | GmondXmlError) -> str:
    if isinstance(exc, GmondXmlError):
        return str(exc)
    return f"cannot read it: {exc.strerror or str(exc) or type(exc).__name__}"


class CpuMonitor:
    """One flow's host CPU sampling: a sampler per test (each TCP run, each full-length UDP
    run) and the flow's warnings, each once."""

    def __init__(self, settings: HostCpu) -> None:
        self.settings = settings
        self.warnings: list[str] = []

    @contextmanager
    def sampling(self) -> Iterator[Samples]:
        """The block's samples, complete once the block is left (empty without a gmond)."""
        if not self.settings.targets:
            yield Samples()
            return
        sampler = CpuSampler(self.settings)
        try:
            with sampler:
                yield sampler.samples
        finally:
            self.warnings.extend(w for w in sampler.samples.warnings if w not in self.warnings)


@contextmanager
def sampling(monitor: CpuMonitor | None) -> Iterator[Samples]:
    """monitor.sampling(), or an empty Samples without a monitor."""
    if monitor is None:
        yield Samples()
        return
    with monitor.sampling() as samples:
        yield samples
