"""The client options iperf 2 and iperf3 spell alike (-u -b, -l, -w, -R)."""

from __future__ import annotations

import shlex

from .probe import RunSpec


def shared_client_options(spec: RunSpec, udp_default_kbps: int) -> list[str]:
    """udp_default_kbps: the rate when none is set (iperf3 takes 0 as 'as fast as possible';
    iperf 2 needs a number, else it sends 1 Mbit/s). spec: checked by validate.run_spec."""
    # Rates go in plain bit/s: iperf 2 reads an upper-case K as 1024 (lower-case k as 1000),
    # iperf3 reads both as 1000; a bare number means the same to both.
    opts = []
    if spec.protocol in ("UDP", "Multicast"):
        opts.append(f"-u -b {(spec.rate_kbps or udp_default_kbps) * 1000}")
    elif spec.rate_kbps:
        opts.append(f"-b {spec.rate_kbps * 1000}")
    if spec.pkt_size:
        opts.append(f"-l {spec.pkt_size}")
    if spec.buffer:
        opts.append(f"-w {shlex.quote(spec.buffer)}")
    if spec.reverse:
        opts.append("-R")
    return opts
