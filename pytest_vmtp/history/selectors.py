"""Tags and run selectors, as users write them (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pytest_vmtp.history.errors import HistoryError

TAG_PREFIX = "tag:"
LAST = "last"
_TAG = re.compile(r"^[A-Za-z0-9_.@+-][A-Za-z0-9_.@+:-]{0,63}$")
TAG_RULE = "a tag is 1-64 letters, digits and . _ - + @ : (no spaces)"


def check_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """The tags, checked and without duplicates (first occurrence kept)."""
    out: list[str] = []
    for tag in tags:
        text = str(tag).strip()
        if not _TAG.match(text):
            raise HistoryError(f"tag {tag!r}: {TAG_RULE}")
        if text not in out:
            out.append(text)
    return tuple(out)


@dataclass(frozen=True)
class Selector:
    """`last`, `tag:NAME` or a run id."""

    kind: str  # "last" | "tag" | "run"
    value: str = ""

    def __str__(self) -> str:
        return {"last": LAST, "tag": f"{TAG_PREFIX}{self.value}"}.get(self.kind, self.value)


def parse_selector(text: str) -> Selector:
    text = str(text).strip()
    if text == LAST:
        return Selector("last")
    if text.startswith(TAG_PREFIX):
        (tag,) = check_tags([text[len(TAG_PREFIX):]])
        return Selector("tag", tag)
    if not text or any(c.isspace() for c in text):
        raise HistoryError(f"run {text!r}: give 'last', a run id (7 hex digits) or tag:NAME")
    return Selector("run", text)
