"""Deadlines of a measurement, derived from its settings: no fault may hang a run.

Every command run for a row ends within its own length (the run's duration, a UDP probe,
the pings) plus `command_grace_s` (connecting, reporting); an SSH connection that gets no
answer for `command_grace_s` is lost (keepalives every `ssh_keepalive_s` make sure something
is waiting for an answer while a command runs); a row waits for the machines it shares with
other rows (xdist) at most as long as all rows could take. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import replace

from .hostspec import SshTarget
from .settings import MeasureSettings

SHORT_COMMAND_S = 15.0  # a probe, a version, a listing: no measurement in it
ROWS = 23  # VMTP's summary rows: the most that can queue for one machine


def command(settings: MeasureSettings, length_s: float) -> float:
    """The deadline of a command that measures for length_s seconds."""
    return length_s + settings.command_grace_s


def ping(settings: MeasureSettings) -> float:
    """ping -c N -i I ends after N x I s, plus up to 10 s for a last reply (busybox)."""
    return command(settings, settings.ping_count * settings.ping_interval_s + 10)


def row(settings: MeasureSettings, protocol: str) -> float:
    """The longest one row can take, every command at its deadline."""
    checks = 6 * (SHORT_COMMAND_S + settings.command_grace_s)  # tools, versions, distro, listening
    if protocol == "icmp":
        return checks + len(settings.icmp_pkt_sizes) * ping(settings)
    if protocol == "tcp":
        return checks + len(settings.tcp_pkt_sizes) * max(1, settings.tcp_runs) * command(settings, settings.duration_s)
    probes = settings.udp_search_max_probes * command(settings, settings.udp_probe_s) \
        if settings.bandwidth_kbps is None else 0.0
    return checks + len(settings.udp_pkt_sizes) * (probes + command(settings, settings.duration_s))


def machine_lock(settings: MeasureSettings) -> float:
    """How long a row waits for a machine other rows are measuring through."""
    return ROWS * max(row(settings, p) for p in ("tcp", "udp", "icmp"))


def ssh(target: SshTarget, settings: MeasureSettings) -> SshTarget:
    """target with the settings' keepalive and dead-link bound (its jump host too); a
    connection attempt gives up as soon (but never waits longer than the target says)."""
    jump = ssh(target.jump, settings) if target.jump is not None else None
    return replace(target, keepalive_s=settings.ssh_keepalive_s, dead_after_s=settings.command_grace_s,
                   connect_timeout=min(target.connect_timeout, settings.command_grace_s), jump=jump)
