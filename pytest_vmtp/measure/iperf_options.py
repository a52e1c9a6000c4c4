"""The client options iperf 2 and iperf3 spell alike (-u -b, -l, -w, -R)."""

from __future__ import annotations

import shlex

from .probe import RunSpec


def shared_client_options(spec: RunSpec, udp_default_kbps: int) -> list[str]:
    """udp_default_kbps: the rate when none is set (iperf3 takes 0 as 'as fast as possible';
    iperf 2 needs a number, else it sends 1 Mbit/s). spec: checked by validate.run_spec."""
    opts = []
    if spec.protocol == "UDP":
        opts.append(f"-u -b {spec.rate_kbps or udp_default_kbps}K")
    elif spec.rate_kbps:
        opts.append(f"-b {spec.rate_kbps}K")
    if spec.pkt_size:
        opts.append(f"-l {spec.pkt_size}")
    if spec.buffer:
        opts.append(f"-w {shlex.quote(spec.buffer)}")
    if spec.reverse:
        opts.append("-R")
    return opts
