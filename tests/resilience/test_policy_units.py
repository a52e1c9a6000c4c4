"""The pure parts: which failures are transient, the retry policy's defaults, the fault
document's new keys (after_commit, during) and their one-line errors. No processes."""

from __future__ import annotations

import dataclasses

import pytest
from keystoneauth1 import exceptions as ksa_exc
from openstack import exceptions as sdk_exc

from pytest_vmtp import defaults
from pytest_vmtp.cloud.retry import IDEMPOTENT, RetryPolicy, http_retry, transient
from pytest_vmtp.localcloud.faultspec import FaultSpecError, parse


class _Response:
    def __init__(self, status: int, retry_after: str | None = None) -> None:
        self.status_code = status
        self.headers = {"Retry-After": retry_after} if retry_after else {}


def _http(status: int) -> sdk_exc.HttpException:
    return sdk_exc.HttpException(message="x", response=_Response(status), http_status=status)  # type: ignore[arg-type]


@pytest.mark.parametrize("exc, retried", [
    (_http(429), True), (_http(502), True), (_http(503), True), (_http(504), True),
    (_http(500), False), (_http(400), False), (_http(401), False), (_http(403), False), (_http(404), False),
    (_http(409), False), (ksa_exc.ConnectFailure("reset"), True), (ksa_exc.ConnectTimeout("timed out"), True),
    (ValueError("no"), False),
])
def test_only_transient_failures_are_retried(exc: BaseException, retried: bool) -> None:
    assert transient(exc) is retried


def test_the_policy_reads_defaults_yaml() -> None:
    table = defaults.table()
    policy = RetryPolicy()
    for field in dataclasses.fields(RetryPolicy):
        if field.name in table:
            assert getattr(policy, field.name) == table[field.name], field.name
    assert RetryPolicy.from_dict({"api_retries": 1, "image": "x"}).api_retries == 1


def test_the_http_layer_resends_only_what_is_safe() -> None:
    retry = http_retry(RetryPolicy(api_retries=3, api_retry_after_max_s=7))
    assert IDEMPOTENT == {"GET", "HEAD", "OPTIONS", "DELETE"}
    assert retry.is_retry("GET", 503) and retry.is_retry("DELETE", 429)
    assert not retry.is_retry("POST", 503) and not retry.is_retry("PUT", 503)  # creates: reconciled first
    assert not retry.is_retry("GET", 500)
    assert retry.retry_after_max == 7 and retry.total == 3


@pytest.mark.parametrize("doc, message", [
    ({"api_errors": [{"path": "x", "delay_s": 1, "after_commit": True}]},
     "api_errors[0].after_commit: give the status or reset: true that replaces the answer"),
    ({"data_path": [{"server": "x", "rate": "1mbit", "during": "nuttcp"}]},
     "data_path[0].during: only a kill waits for a tool to run"),
    ({"data_path": [{"server": "x", "kill": "sshd", "during": "netperf"}]},
     "data_path[0].during: 'netperf' is not one of ['nuttcp', 'iperf3', 'iperf', 'ping']"),
])
def test_bad_fault_documents_name_the_entry_and_key(doc, message) -> None:
    with pytest.raises(FaultSpecError) as info:
        parse(doc)
    assert str(info.value) == message


def test_fault_documents_take_after_commit_and_during() -> None:
    doc = parse({"api_errors": [{"method": "post", "path": "/networks$", "reset": True, "after_commit": True}],
                 "data_path": [{"server": "-client$", "kill": "namespace", "during": "nuttcp"}]})
    assert doc.api_errors[0].after_commit and doc.api_errors[0].method == "POST"
    assert doc.data_path[0].during == "nuttcp" and doc.data_path[0].kill == "namespace"
