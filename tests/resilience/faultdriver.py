"""A pytest plugin the fault suite loads into the runs it starts (-p faultdriver): it keeps
only the rows of its plan and, for each, sets the row's fault document on the local cloud just
before the row measures (its VMs are up, its SSH connections open: the fault hits the
measurement, as a link that fails mid-run) and clears it right after.

VMTP_FAULT_PLAN: JSON {row id: fault document}; VMTP_LOCALCLOUD_STATE_DIR: the cloud.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

PLAN: dict[str, dict[str, Any]] = json.loads(os.environ.get("VMTP_FAULT_PLAN", "{}"))
STATE = Path(os.environ.get("VMTP_LOCALCLOUD_STATE_DIR", "/nonexistent"))


def _row(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    scenario = callspec.params.get("vmtp_scenario") if callspec else None
    return getattr(scenario, "id", None)


def _set(doc: dict[str, Any]) -> None:
    """POST the document to /admin/faults, authenticated as the cloud's admin."""
    auth = yaml.safe_load((STATE / "clouds.yaml").read_text())["clouds"]["local"]["auth"]
    port = json.loads((STATE / "server.json").read_text())["port"]
    base = f"http://127.0.0.1:{port}"
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": auth["username"], "domain": {"name": auth.get("user_domain_name", "Default")},
        "password": auth["password"]}}},
        "scope": {"project": {"name": auth["project_name"],
                              "domain": {"name": auth.get("project_domain_name", "Default")}}}}}
    token = requests.post(f"{base}/identity/v3/auth/tokens", json=body, timeout=10).headers["X-Subject-Token"]
    answer = requests.post(f"{base}/admin/faults", json=doc, headers={"X-Auth-Token": token}, timeout=10)
    answer.raise_for_status()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep = [i for i in items if _row(i) in PLAN]
    config.hook.pytest_deselected(items=[i for i in items if i not in keep])
    items[:] = keep


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    doc = PLAN.get(_row(item) or "")
    if doc:
        _set(doc)
    try:
        return (yield)
    finally:
        if doc:
            _set({})
