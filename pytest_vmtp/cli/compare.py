"""`vmtp-compare OLD NEW`: the gate's verdicts on a stored run against a baseline, as a table.

OLD and NEW are results JSON files (pytest-vmtp's or VMTP's own) or history runs (`last`, a run
id, `tag:NAME`). Exit status: 0 no regression, 1 a row regressed or broke an SLA, 2 a usage
error. The verdicts come from the same code as the in-run gate (pytest_vmtp.gate).
"""

from __future__ import annotations

import argparse
import sys

from tabulate import tabulate

from pytest_vmtp.user_error import UserError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vmtp-compare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("old", metavar="OLD", help="baseline: results JSON file, or last / RUN_ID / tag:NAME")
    p.add_argument("new", metavar="NEW", help="the run to judge: results JSON file, or last / RUN_ID / tag:NAME")
    p.add_argument("--config", metavar="FILE", help="--vmtp-config file with gate thresholds and SLAs")
    p.add_argument("--history", metavar="PATH|URL", help="history store (default: the per-user SQLite file)")
    p.add_argument("--cloud", metavar="NAME", help="with 'last': the last run of this cloud")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from pytest_vmtp import config as vconfig
    from pytest_vmtp.gate import documents, run_gate

    try:
        cfg = vconfig.build({}, args.config)
        gate = run_gate.load(cfg.gate, args.old, args.history, args.cloud)
        new_docs = documents.load(args.new, args.history, args.cloud)
    except (UserError, vconfig.ConfigError) as exc:
        print(f"vmtp-compare: error: {exc}", file=sys.stderr)
        return 2
    assert gate.baseline is not None
    rows = run_gate.judge_document(gate, new_docs[0])
    table = [[flow.get("scenario"), flow.get("name") or flow.get("desc", ""), v.cell(),
              "; ".join(c.line() for c in v.failures())] for flow, v in rows]
    print(f"baseline: {gate.baseline.label}; judged: {args.new} (run {new_docs[0].get('run_id', '?')})")
    print(tabulate(table, headers=["Scenario", "Scenario Name", "Gate", "Why"], tablefmt="grid",
                   disable_numparse=True))
    failed = [flow.get("scenario") for flow, v in rows if v.failed]
    print(f"{len(rows)} rows judged, {len(failed)} failed" + (f": {', '.join(map(str, failed))}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
