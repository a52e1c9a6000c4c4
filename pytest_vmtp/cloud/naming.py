"""Run ids, resource names and tags: the vmtp mark that cleanup relies on.

Every resource is named `vmtp-<run_id>-<role>` and, where the API allows, tagged `vmtp` and
`vmtp-run-<run_id>`. Keypairs and server groups cannot be tagged: their name is their mark.
Cleanup touches only resources carrying this mark.
"""

from __future__ import annotations

import re
import secrets

PREFIX = "vmtp"
RUN_TAG = PREFIX  # every run
RUN_ID_RE = re.compile(r"^[0-9a-f]{7}$")
_ANY_RUN_NAME = re.compile(rf"^{PREFIX}-[0-9a-f]{{7}}-")
SERVER_META_KEY = "vmtp_run_id"


def new_run_id() -> str:
    """7 hex characters, like VMTP's run ids."""
    return secrets.token_hex(4)[:7]


def check_run_id(run_id: str) -> str:
    if not RUN_ID_RE.match(run_id or ""):
        raise ValueError(f"run id {run_id!r}: expected 7 lower-case hex characters")
    return run_id


def name(run_id: str, role: str) -> str:
    return f"{PREFIX}-{run_id}-{role}"


def run_tag(run_id: str) -> str:
    return f"{PREFIX}-run-{run_id}"


def tags(run_id: str) -> list[str]:
    return [RUN_TAG, run_tag(run_id)]


def run_id_of(text: str | None) -> str | None:
    """The run id in a vmtp name (or FIP description), None when it carries no mark."""
    if text and _ANY_RUN_NAME.match(text):
        return text.split("-")[1]
    return None


def is_marked(label: str | None, resource_tags: list[str] | None, run_id: str | None) -> bool:
    """True when a resource carries the vmtp mark of run_id (of any run when run_id is None)."""
    resource_tags = list(resource_tags or [])
    if run_id is None:
        return RUN_TAG in resource_tags or run_id_of(label) is not None
    return run_tag(run_id) in resource_tags or (label or "").startswith(name(run_id, ""))
