"""Remove every kernel object and process of a dataplane prefix, even after a kill -9.

Works from the state file and, because a crash can strike between a record write and the
next, also by scanning: namespaces and root-ns links named "<prefix>-*", and the root-ns
iptables rules tagged "<prefix>-dataplane". Safe to run any number of times.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

from pyroute2 import IPRoute

from pytest_vmtp.procgroup import cmdline, kill_groups

from .hosts import delete_root_rule, forward_rules
from .names import Names, check_prefix
from .nl import list_ns, ns_pids, remove_ns, run_in
from .record import Contents, load, record_path


def workdir_path(state_dir: Path, prefix: str) -> Path:
    """Where a dataplane keeps sshd directories and its shared host key."""
    return Path(state_dir) / f"{prefix}-dataplane"


def root_links(prefix: str) -> list[str]:
    with IPRoute() as ipr:
        names = [link.get("IFLA_IFNAME") for link in ipr.get_links()]
    return [n for n in names if n and n.startswith(prefix + "-")]


def tagged_rules(prefix: str) -> list[str]:
    """Root-ns filter rules (`iptables -S` lines) tagged with this prefix's comment."""
    tag = f"--comment {prefix}-dataplane "
    return [line for line in run_in(None, ["iptables", "-w", "-S"]).splitlines()
            if tag in line + " "]


def leftovers(prefix: str) -> dict[str, list[str]]:
    """What of this prefix still exists: namespaces, root links, root iptables rules."""
    return {"namespaces": list_ns(prefix + "-"), "root_links": root_links(prefix),
            "root_rules": tagged_rules(prefix)}


def _runs_from(pid: int, workdir: Path) -> bool:
    """Is pid still one of our sshds (its command line names our directory)? A recorded pid
    may belong to an unrelated process by now, after a crash and pid reuse."""
    return str(workdir) in cmdline(pid)


def clean(prefix: str, state_dir: Path | str) -> None:
    """Remove everything with this prefix: processes, namespaces, root links and rules."""
    names = Names(check_prefix(prefix))
    path = record_path(Path(state_dir), prefix)
    data = load(path) or Contents(prefix)
    namespaces = sorted(set(data.namespaces) | set(list_ns(prefix + "-")))
    workdir = workdir_path(Path(state_dir), prefix)
    kill_groups([pid for pid in data.pids if _runs_from(pid, workdir)])
    for netns in namespaces:
        kill_groups(ns_pids(netns))
    with IPRoute() as ipr:
        for ifname in sorted(set(data.root_links) | set(root_links(prefix))):
            for idx in ipr.link_lookup(ifname=ifname):
                try:
                    ipr.link("del", index=idx)
                except Exception:  # noqa: BLE001
                    pass  # went with its peer's namespace meanwhile
    for netns in namespaces:
        remove_ns(netns)
    for rule in data.root_rules + [r for r in forward_rules(names) if r not in data.root_rules]:
        delete_root_rule(rule)
    for line in tagged_rules(prefix):  # any other rule carrying our tag (older versions)
        delete_root_rule(shlex.split(line)[1:])
    shutil.rmtree(workdir_path(Path(state_dir), prefix), ignore_errors=True)
    path.unlink(missing_ok=True)
