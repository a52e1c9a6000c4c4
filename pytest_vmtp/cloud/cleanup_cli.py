"""vmtp-cleanup: remove what a crashed or --vmtp-keep run left on a cloud and on this machine.

    vmtp-cleanup [--cloud NAME | --local-only] (--run-id ID | --all-runs) [--dry-run]

The cloud resources first, then the runs' directories here (`<temp dir>/vmtp-<run id>-*`,
see rundirs.py): those of the named run, or with --all-runs those whose run is over.
Exit status: 0 done, 1 some resources could not be deleted, 2 a usage or connection mistake.
"""

from __future__ import annotations

import argparse
import logging
import sys

from pytest_vmtp import rundirs
from pytest_vmtp.cloud import naming
from pytest_vmtp.cloud.cleanup import CleanupError, cleanup
from pytest_vmtp.cloud.connect import connect
from pytest_vmtp.cloud.errors import CloudError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vmtp-cleanup",
        description="Delete the cloud resources pytest-vmtp made (servers, floating IPs, routers, networks, "
                    "security groups, keypairs, server groups), found by their vmtp-<run id> mark.")
    p.add_argument("--cloud", metavar="NAME",
                   help="clouds.yaml entry (default: OS_CLOUD, else the OS_* variables of an openrc)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--run-id", metavar="ID", help="the 7-hex-digit run id (in the JSON report and resource names)")
    which.add_argument("--all-runs", action="store_true", help="every pytest-vmtp run's resources in the project")
    p.add_argument("--local-only", action="store_true",
                   help="only the run directories on this machine (e.g. after a killed run of native hosts)")
    p.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.run_id is not None and not naming.RUN_ID_RE.match(args.run_id):
        print(f"vmtp-cleanup: error: --run-id {args.run_id!r}: expected 7 hex digits, e.g. 3fa2b9c", file=sys.stderr)
        return 2
    if args.local_only and args.cloud:
        print("vmtp-cleanup: error: --local-only and --cloud exclude each other", file=sys.stderr)
        return 2
    which = "every vmtp run" if args.all_runs else f"run {args.run_id}"
    summary = ""
    if not args.local_only:
        outcome = _clean_cloud(args, which)
        if isinstance(outcome, int):
            return outcome
        summary = outcome + "; "
    dirs = rundirs.sweep(args.run_id, dry_run=args.dry_run)
    gone = 0
    for run_dir, what in dirs:
        done = what in ("removed", "would remove")
        gone += done
        if not (args.quiet and what == "removed"):
            print(f"{what} run directory {run_dir}" if done else f"run directory {run_dir}: {what}")
    verb = "would remove" if args.dry_run else "removed"
    print(f"{summary}{verb} {gone} run director{'y' if gone == 1 else 'ies'} on this machine"
          + ("" if summary else f" ({which})"))
    return 0


def _clean_cloud(args: argparse.Namespace, which: str) -> int | str:
    """Delete (or list) the cloud resources: an exit status when that failed, else a summary."""
    # keystoneauth/openstacksdk log discovery retries as warnings; the errors below say it once.
    logging.getLogger("keystoneauth").setLevel(logging.ERROR)
    logging.getLogger("openstack").setLevel(logging.ERROR)
    try:
        conn = connect(args.cloud)
    except CloudError as exc:
        print(f"vmtp-cleanup: error: {exc} (only this machine's run directories: --local-only)", file=sys.stderr)
        return 2
    progress = (lambda msg: None) if args.quiet or args.dry_run else (lambda msg: print(msg, flush=True))
    try:
        deleted = cleanup(conn, args.run_id, all_runs=args.all_runs, dry_run=args.dry_run, progress=progress)
    except CleanupError as exc:
        print(f"vmtp-cleanup: error: {exc}", file=sys.stderr)
        print(f"deleted {len(exc.deleted)} resource(s) before the failure")
        return 1
    except CloudError as exc:
        print(f"vmtp-cleanup: error: {exc}", file=sys.stderr)
        return 2
    finally:
        conn.close()
    if args.dry_run:
        for item in deleted:
            print(f"would delete {item}")
        return f"dry run: {len(deleted)} resource(s) of {which} would be deleted"
    return f"deleted {len(deleted)} resource(s) of {which}"


if __name__ == "__main__":
    sys.exit(main())
