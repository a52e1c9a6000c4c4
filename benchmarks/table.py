"""One row of the benchmark table, and the table itself (text and JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from tabulate import tabulate


@dataclass(frozen=True)
class Row:
    bench: str  # which benchmark ("plugin cost", "local cloud", ...)
    figure: str  # what was measured
    value: str  # the figure with its unit, as printed
    target: str = ""  # the goal it is held to, and whether it is met ("<= 50 ms: met")
    number: float | None = None  # the value as a number, for the JSON
    unit: str = ""


def render(rows: list[Row]) -> str:
    return tabulate([[r.bench, r.figure, r.value, r.target] for r in rows],
                    headers=["benchmark", "figure", "value", "target"], tablefmt="github",
                    disable_numparse=True, colalign=("left", "left", "right", "left"))


def write_json(rows: list[Row], path: Path, machine: dict[str, str]) -> None:
    path.write_text(json.dumps({"machine": machine, "figures": [asdict(r) for r in rows]}, indent=2) + "\n")
