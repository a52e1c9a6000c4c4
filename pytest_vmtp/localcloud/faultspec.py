"""The fault document: its shape (a JSON schema) and its parsing into typed settings.

Pure: no I/O, no clock. faults.py keeps the parsed document and consumes its counters;
faultplane.py applies its `data_path` entries to the kernel. Every mistake is one
FaultSpecError line naming the entry and the key, e.g. `data_path[1].rate: 'fast' is not a
rate such as 100mbit`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .dataplane.model import Effect

TOOLS = ("nuttcp", "iperf3", "iperf", "ping")
KILLS = ("sshd", "namespace")
SELECTORS = ("server", "host", "network")
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)bit\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3}

_COUNT = {"oneOf": [{"type": "integer", "minimum": 0}, {"const": "all"}]}
_NUMBER = {"type": "number", "minimum": 0}
_BOOT_ERROR = {"type": "object", "additionalProperties": False, "properties": {
    "count": _COUNT, "name": {"type": "string"}, "message": {"type": "string"},
    "stuck": {"type": "boolean"}, "port_down": {"type": "boolean"}}}
_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "boot_delay": {"anyOf": [_NUMBER, {"type": "null"}]},
        "boot_errors": {"anyOf": [{"type": "null"}, _BOOT_ERROR,
                                  {"type": "array", "items": _BOOT_ERROR}]},
        "no_sshd": {"anyOf": [{"type": "null"}, {
            "type": "object", "additionalProperties": False,
            "properties": {"count": _COUNT, "name": {"type": ["string", "null"]}}}]},
        "api_errors": {"anyOf": [{"type": "null"}, {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["path"],
            "properties": {
                "method": {"type": "string"}, "path": {"type": "string"}, "count": _COUNT,
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "retry_after": {"type": "integer", "minimum": 0},
                "delay_s": {"type": "number", "minimum": 0, "maximum": 600},
                "reset": {"type": "boolean"}, "after_commit": {"type": "boolean"},
                "message": {"type": "string"}}}}]},
        "data_path": {"anyOf": [{"type": "null"}, {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "server": {"type": "string"}, "host": {"type": "string"},
                "network": {"type": "string"}, "rate": {"type": ["string", "integer"]},
                "delay_ms": {"type": "number", "minimum": 0, "maximum": 10000},
                "jitter_ms": {"type": "number", "minimum": 0, "maximum": 10000},
                "loss_pct": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
                "down_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
                "after_s": {"type": "number", "minimum": 0, "maximum": 3600},
                "kill": {"enum": list(KILLS)}, "crash": {"enum": list(TOOLS)},
                "during": {"enum": list(TOOLS)},
                "count": {"type": "integer", "minimum": 1}}}}]},
    },
}
_VALIDATOR = Draft202012Validator(_SCHEMA)


class FaultSpecError(ValueError):
    """The fault document is malformed; the message (one line) names the entry and the key."""


@dataclass(frozen=True)
class BootFault:
    """What the next `count` matching boots do instead of booting normally."""

    count: int | None  # None: every matching boot while the document stands
    name: re.Pattern[str] | None
    kind: str  # "error" (ERROR with message) | "stuck" (BUILD for ever) | "port_down"
    message: str = "No valid host was found. Injected fault."


@dataclass(frozen=True)
class ApiFault:
    """An answer forced on matching API calls: a delay, then an error status or a reset."""

    method: str  # "*" or an HTTP method
    path: re.Pattern[str]
    count: int | None
    status: int | None = None
    retry_after: int | None = None  # seconds, sent as the Retry-After header
    delay_s: float = 0.0
    reset: bool = False  # close the connection without an answer
    message: str = "Injected fault"
    # The call is carried out first (a create is committed), then its answer is replaced by
    # the status or the reset: what a client sees when a proxy or the link fails on the way back.
    after_commit: bool = False


@dataclass(frozen=True)
class DataPathFault:
    """One `data_path` entry: a selector and what happens to what it selects."""

    index: int
    selector: str  # "server" | "host" | "network"
    pattern: re.Pattern[str]  # a name regex (hosts: the exact name)
    impairment: Effect = field(default_factory=Effect)
    down_s: float = 0.0
    after_s: float = 0.0
    kill: str | None = None  # "sshd" | "namespace"
    crash: str | None = None  # a tool name
    count: int = 1  # crashes: how many times a running tool is killed
    during: str | None = None  # a kill waits (from after_s on) until this tool runs there

    def selects(self, name: str) -> bool:
        return bool(self.pattern.search(name or ""))


@dataclass(frozen=True)
class FaultDoc:
    boot_delay: float = 0.0
    boot_errors: tuple[BootFault, ...] = ()
    no_sshd: int | None = 0
    no_sshd_name: re.Pattern[str] | None = None
    api_errors: tuple[ApiFault, ...] = ()
    data_path: tuple[DataPathFault, ...] = ()


def parse_rate(text: str | int) -> int:
    """bits per second from `100mbit`, `1.5gbit`, `800kbit` or an integer (bit/s)."""
    if isinstance(text, int):
        if text <= 0:
            raise ValueError(f"{text} is not a positive rate")
        return text
    match = _RATE.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a rate such as 100mbit")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _where(path: Iterable[object]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "fault document"


def _schema_error(error: ValidationError) -> FaultSpecError:
    """The deepest, most telling error, as `where: what`."""
    best = error
    while best.context:  # anyOf/oneOf: the branch that got furthest
        best = max(best.context, key=lambda e: len(e.absolute_path))
    where = _where(best.absolute_path)
    instance: Any = best.instance
    if best.validator == "additionalProperties" and isinstance(best.schema, dict):
        known = sorted(best.schema.get("properties", {}))
        extra = sorted(set(instance) - set(known))
        return FaultSpecError(f"{where}: unknown key {', '.join(map(repr, extra))} "
                              f"(known: {', '.join(known)})")
    return FaultSpecError(f"{where}: {best.message}")


def _regex(text: str | None, where: str) -> re.Pattern[str] | None:
    if not text:
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        raise FaultSpecError(f"{where}: bad regular expression {text!r}: {exc}") from None


def _count(value: Any, default: int = 1) -> int | None:
    if value == "all":
        return None
    return default if value is None else int(value)


def parse(doc: Any, hosts: Iterable[str] = ()) -> FaultDoc:
    """A FaultDoc from a fault document (None or {} clears everything); FaultSpecError.

    hosts: the cloud's compute host names, which `host:` selectors must name."""
    doc = {} if doc is None else doc
    errors = sorted(_VALIDATOR.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise _schema_error(errors[0])
    no_sshd = doc.get("no_sshd") or {}
    return FaultDoc(
        boot_delay=float(doc.get("boot_delay") or 0),
        boot_errors=tuple(_boot_faults(doc.get("boot_errors"))),
        no_sshd=_count(no_sshd.get("count"), 1) if no_sshd else 0,
        no_sshd_name=_regex(no_sshd.get("name"), "no_sshd.name"),
        api_errors=tuple(_api_fault(i, e) for i, e in enumerate(doc.get("api_errors") or [])),
        data_path=tuple(_data_path_fault(i, e, list(hosts))
                        for i, e in enumerate(doc.get("data_path") or [])))


def _boot_faults(raw: Any) -> list[BootFault]:
    entries = [raw] if isinstance(raw, dict) else list(raw or [])
    out = []
    for i, entry in enumerate(entries):
        where = "boot_errors" if isinstance(raw, dict) else f"boot_errors[{i}]"
        if entry.get("stuck") and entry.get("port_down"):
            raise FaultSpecError(f"{where}: give stuck or port_down, not both")
        kind = "stuck" if entry.get("stuck") else "port_down" if entry.get("port_down") \
            else "error"
        if kind != "error" and "message" in entry:
            raise FaultSpecError(f"{where}.message: only an error (no stuck/port_down) has one")
        fault = BootFault(_count(entry.get("count")), _regex(entry.get("name"), f"{where}.name"),
                          kind)
        if "message" in entry:
            fault = BootFault(fault.count, fault.name, kind, str(entry["message"]))
        if fault.count != 0:
            out.append(fault)
    return out


def _api_fault(i: int, entry: dict[str, Any]) -> ApiFault:
    where = f"api_errors[{i}]"
    status, reset = entry.get("status"), bool(entry.get("reset"))
    delay = float(entry.get("delay_s") or 0)
    if status is None and not reset and not delay:
        if "status" not in entry and "reset" not in entry and "delay_s" not in entry:
            status = 500  # the original form: {method, path, count} fails with a 500
        else:
            raise FaultSpecError(f"{where}: give status, reset: true or delay_s")
    if status is not None and reset:
        raise FaultSpecError(f"{where}.reset: a reset sends no status; drop status or reset")
    if "retry_after" in entry and status is None:
        raise FaultSpecError(f"{where}.retry_after: only an error status carries Retry-After")
    after_commit = bool(entry.get("after_commit"))
    if after_commit and status is None and not reset:
        raise FaultSpecError(f"{where}.after_commit: give the status or reset: true that replaces "
                             "the answer")
    path = _regex(entry["path"], f"{where}.path")
    assert path is not None
    return ApiFault(str(entry.get("method", "*")).upper(), path, _count(entry.get("count")),
                    status, entry.get("retry_after"), delay, reset,
                    str(entry.get("message", "Injected fault")), after_commit)


def _data_path_fault(i: int, entry: dict[str, Any], hosts: list[str]) -> DataPathFault:
    where = f"data_path[{i}]"
    chosen = [s for s in SELECTORS if s in entry]
    if len(chosen) != 1:
        raise FaultSpecError(f"{where}: give exactly one of server, host or network "
                             f"(got {', '.join(chosen) or 'none'})")
    selector = chosen[0]
    effects = [k for k in ("rate", "delay_ms", "jitter_ms", "loss_pct", "down_s", "kill", "crash")
               if k in entry]
    if not effects:
        raise FaultSpecError(f"{where}: no effect; give rate, delay_ms, loss_pct, down_s, kill "
                             "or crash")
    for key in ("kill", "crash"):
        if key in entry:
            if selector != "server":
                raise FaultSpecError(f"{where}.{key}: only a server entry can {key} "
                                     f"(not a {selector})")
            others = [e for e in effects if e != key]
            if others:
                raise FaultSpecError(f"{where}.{others[0]}: a {key} entry has no other effect")
    if "during" in entry and "kill" not in entry:
        raise FaultSpecError(f"{where}.during: only a kill waits for a tool to run")
    if "count" in entry and "crash" not in entry:
        raise FaultSpecError(f"{where}.count: only a crash entry has a count")
    if "jitter_ms" in entry and not entry.get("delay_ms"):
        raise FaultSpecError(f"{where}.jitter_ms: jitter needs a delay_ms")
    if selector == "host":
        if hosts and entry["host"] not in hosts:
            raise FaultSpecError(f"{where}.host: no compute host {entry['host']!r} "
                                 f"(hosts: {', '.join(hosts)})")
        pattern = re.compile(f"^{re.escape(entry['host'])}$")
    else:
        found = _regex(entry[selector], f"{where}.{selector}")
        if found is None:
            raise FaultSpecError(f"{where}.{selector}: an empty name pattern")
        pattern = found
    rate = None
    if "rate" in entry:
        try:
            rate = parse_rate(entry["rate"])
        except ValueError as exc:
            raise FaultSpecError(f"{where}.rate: {exc}") from None
    return DataPathFault(
        index=i, selector=selector, pattern=pattern,
        impairment=Effect(rate, float(entry.get("delay_ms") or 0),
                              float(entry.get("jitter_ms") or 0),
                              float(entry.get("loss_pct") or 0)),
        down_s=float(entry.get("down_s") or 0), after_s=float(entry.get("after_s") or 0),
        kill=entry.get("kill"), crash=entry.get("crash"), count=int(entry.get("count") or 1),
        during=entry.get("during"))
