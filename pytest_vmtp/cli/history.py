"""vmtp-history: see and manage the stored runs (argument parsing only; pytest_vmtp.history
does the work). Every mistake or failure is one line on stderr and exit status 1."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pytest_vmtp.history.errors import HistoryError

PROG = "vmtp-history"


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--history", metavar="PATH|URL",
                        help="SQLite file or postgresql://USER:PASSWORD@HOST[:PORT]/DB "
                             "(default: $XDG_DATA_HOME/pytest-vmtp/history.sqlite)")
    p = argparse.ArgumentParser(prog=PROG, description="See and manage pytest-vmtp's stored runs.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ls = sub.add_parser("list", parents=[common], help="stored runs, newest first")
    ls.add_argument("--cloud", help="only runs of this cloud")
    ls.add_argument("--tag", help="only runs with this tag")
    ls.add_argument("-n", "--limit", type=int, default=20, help="at most N runs (0: all; default 20)")

    show = sub.add_parser("show", parents=[common], help="a stored run's JSON document (or its summary table)")
    show.add_argument("selector", metavar="RUN", help="last, a run id, or tag:NAME (every run with the tag)")
    show.add_argument("--cloud", help="with last or tag:NAME: only runs of this cloud")
    show.add_argument("--table", action="store_true", help="VMTP's summary table instead of the JSON")

    tag = sub.add_parser("tag", parents=[common], help="add (or --remove) tags of a stored run")
    tag.add_argument("run_id", metavar="RUN_ID")
    tag.add_argument("tags", metavar="TAG", nargs="+")
    tag.add_argument("--remove", action="store_true", help="remove these tags instead")

    rm = sub.add_parser("delete", parents=[common], help="remove stored runs")
    rm.add_argument("run_ids", metavar="RUN_ID", nargs="+")

    add = sub.add_parser("add", parents=[common],
                         help="store a results JSON file (a run without history, or VMTP's own)")
    add.add_argument("file", metavar="FILE", type=Path)
    add.add_argument("--tag", dest="tags", action="append", default=[], metavar="TAG", help="tag it (repeatable)")
    add.add_argument("--cloud", help="its cloud, when the document's metadata names none")

    sub.add_parser("upgrade", parents=[common], help="bring the store to this pytest-vmtp's schema version")
    return p


def _run(args: argparse.Namespace) -> str:
    from pytest_vmtp.history import store as hstore
    from pytest_vmtp.history.location import locate

    if args.command == "upgrade":
        before, now = hstore.upgrade_store(args.history)
        where = locate(args.history).shown
        if before == now:
            return f"history {where}: already at schema version {now}"
        if before is None:
            return f"history {where}: created at schema version {now}"
        return f"history {where}: upgraded from schema version {before} to {now}"
    with hstore.open_store(args.history, create=args.command == "add") as store:
        if args.command == "list":
            from pytest_vmtp.history.views import runs_table

            runs = store.list_runs(cloud=args.cloud, tag=args.tag, limit=args.limit or None)
            return runs_table(runs) if runs else f"history {store.shown}: no runs stored"
        if args.command == "show":
            from pytest_vmtp.history import views

            docs = store.find(args.selector, cloud=args.cloud)
            if not args.table:
                return views.documents_json(docs)
            return "\n\n".join(views.summary(d, store.tags_of(str(d["run_id"]))) for d in docs)
        if args.command == "tag":
            now_tags = store.untag(args.run_id, *args.tags) if args.remove else store.tag(args.run_id, *args.tags)
            return f"{args.run_id}: tags {', '.join(now_tags) or 'none'}"
        if args.command == "delete":
            for run_id in args.run_ids:  # all known, or none deleted
                store.tags_of(run_id)
            for run_id in args.run_ids:
                store.delete(run_id)
            return f"history {store.shown}: deleted {', '.join(args.run_ids)}"
        if args.command == "add":
            doc = _read_json(args.file)
            store.add(doc, args.tags, cloud=args.cloud)
            return f"history {store.shown}: stored run {doc['run_id']}"
    raise AssertionError(args.command)


def _read_json(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise HistoryError(f"{path}: {exc.strerror}") from None
    except ValueError as exc:
        raise HistoryError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise HistoryError(f"{path}: not a results document (a JSON object)")
    return doc


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        out = _run(args)
    except HistoryError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
