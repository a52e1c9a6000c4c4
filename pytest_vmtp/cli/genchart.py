"""`vmtp-genchart RUN [RUN ...] -o chart.html`: column charts of stored runs, as VMTP's
genchart drew them, in one self-contained HTML file (no network needed to open it).

RUN is a results JSON file (pytest-vmtp's or VMTP's own) or a history run: `last`, a run id,
or `tag:NAME` (every run with the tag). One colour per run, in the order given: put the
baseline first. Exit status: 0 written, 2 a usage error (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pytest_vmtp.user_error import UserError

PROG = "vmtp-genchart"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", metavar="RUN", nargs="+", help="results JSON file, or last / RUN_ID / tag:NAME")
    p.add_argument("-o", "--output", metavar="FILE", type=Path, required=True, help="the HTML file to write")
    p.add_argument("--history", metavar="PATH|URL", help="history store (default: the per-user SQLite file)")
    p.add_argument("--cloud", metavar="NAME", help="with last or tag:NAME: only runs of this cloud")
    p.add_argument("--title", help="the page's title (default: the runs' ids and dates)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from pytest_vmtp.gate import documents
    from pytest_vmtp.report.chart_data import Run, run_label

    try:
        runs = [Run(run_label(doc), doc) for source in args.runs
                for doc in documents.load(source, args.history, args.cloud)]
        from pytest_vmtp.report import charts

        bars = charts.write_page(args.output, runs, args.title)
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{PROG}: error: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{PROG}: {len(runs)} run{'s' if len(runs) != 1 else ''}, {bars} bars -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
