"""defaults.yaml, read once: the one table of defaults that options, config and settings read.

Settings dataclasses take their field defaults from here (`value`), so a default changed in
defaults.yaml changes everywhere; tests/test_defaults.py holds them to it.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def _table() -> dict[str, Any]:
    text = resources.files("pytest_vmtp").joinpath("defaults.yaml").read_text()
    return yaml.safe_load(text)


def table() -> dict[str, Any]:
    """A private copy of the whole table (callers merge into it)."""
    return copy.deepcopy(_table())


def value(key: str) -> Any:
    """One top-level default; lists become tuples (dataclass defaults must be immutable)."""
    found = _table()[key]
    return tuple(found) if isinstance(found, list) else copy.deepcopy(found)
