"""Bounded retries of transient cloud API failures: 429, 502-504, reset connections, timeouts.

Two layers share one RetryPolicy (attempts, a time budget, a cap on Retry-After):

- Every HTTP call (install()): urllib3's Retry, mounted on openstacksdk's requests session.
  Not keystoneauth's own retries (`connect_retries`, `status_code_retries`): those resend every
  method alike, so a POST whose connection was reset after the server acted on it would be sent
  again (a second server), they sleep whatever Retry-After says, and they have no time bound.
  urllib3's Retry (requests' own, already installed) resends a request that reached the server
  (its answer lost to a reset or a timeout, or a 429/502/503/504) only for the methods named
  idempotent, GET, HEAD, OPTIONS and DELETE here; a request that never left (connection refused)
  for any method; caps Retry-After (`retry_after_max`) and the backoff (`backoff_max`). The
  subclass below adds the time budget and tells the user of each retry.
- Creates and non-idempotent updates (create(), call()): tenacity, around the call. After a
  transient failure, the resource is first looked up by its run mark (resources.py: its name,
  tag or description), and made again only when it is not there, so nothing is made twice.

A failure that is not transient (400, 401, 403, 404, 409, a quota) is never retried here; a
transient one that outlasts the policy is one line saying how long it was tried.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypeVar

import tenacity
from keystoneauth1 import exceptions as ksa_exc
from openstack import exceptions as sdk_exc
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from pytest_vmtp.defaults import value

if TYPE_CHECKING:
    from openstack.connection import Connection

T = TypeVar("T")
TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
BACKOFF_START_S = 0.5  # then 1, 2, 4 ... s, up to backoff_max_s
Notify = Callable[[str], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How long a transient failure is retried; defaults from defaults.yaml."""

    api_retries: int = value("api_retries")  # retries after the first try, per call
    api_retry_budget_s: float = value("api_retry_budget_s")  # from the first failure on
    api_retry_after_max_s: float = value("api_retry_after_max_s")  # a longer Retry-After is cut
    api_timeout_s: float = value("api_timeout_s")  # one call's longest wait for its answer
    backoff_max_s: float = 8.0

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RetryPolicy:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known and v is not None})

    def describe(self) -> str:
        return f"{self.api_retries} retries within {self.api_retry_budget_s:g} s"


# ---------------------------------------------------------------------------- the HTTP layer
class _BudgetRetry(Retry):
    """urllib3's Retry with a time budget (counted from a call's first failure) and a note
    to the user before each retry."""

    budget_s: float = 60.0
    started: float | None = None
    notify: Notify | None = None
    policy_retries: int = 0  # for the note: "retry 2 of 4"

    def new(self, **kw: Any) -> _BudgetRetry:
        fresh = super().new(**kw)
        fresh.budget_s, fresh.notify, fresh.policy_retries = self.budget_s, self.notify, self.policy_retries
        fresh.started = self.started if self.started is not None else time.monotonic()
        return fresh

    def is_exhausted(self) -> bool:
        if self.started is not None and time.monotonic() - self.started > self.budget_s:
            return True
        return bool(super().is_exhausted())

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> _BudgetRetry:
        fresh = super().increment(method, url, response, error, _pool, _stacktrace)
        assert isinstance(fresh, _BudgetRetry)
        if fresh.notify is not None:
            delay = (fresh.get_retry_after(response) if response is not None else None)
            if delay is None:
                delay = fresh.get_backoff_time()
            what = f"HTTP {response.status}" if response is not None else _error_text(error)
            path = (url or "").split("?", 1)[0]
            fresh.notify(f"cloud API: {method} {path}: {what}; retry {len(fresh.history)} of "
                         f"{self.policy_retries} in {delay:.1f} s")
        return fresh


_SEEN = (("reset by peer", "connection reset"), ("connection aborted", "connection reset"),
         ("read timed out", "no answer (timeout)"), ("refused", "connection refused"),
         ("timed out", "no answer (timeout)"), ("remote end closed", "connection closed"))


def _error_text(error: BaseException | None) -> str:
    """What a failed call saw, in a few words (urllib3's and keystoneauth's texts nest reprs)."""
    text = str(error or "error").lower()
    return next((seen for needle, seen in _SEEN if needle in text), type(error).__name__ if error else "error")


def http_retry(policy: RetryPolicy, notify: Notify | None = None) -> Retry:
    """The urllib3 Retry for every call of a connection (see the module's doc)."""
    retry = _BudgetRetry(
        total=policy.api_retries, connect=policy.api_retries, read=policy.api_retries,
        status=policy.api_retries, other=0, redirect=False, allowed_methods=IDEMPOTENT,
        status_forcelist=TRANSIENT_STATUS, backoff_factor=BACKOFF_START_S,
        backoff_max=policy.backoff_max_s, raise_on_status=False, respect_retry_after_header=True,
        retry_after_max=int(policy.api_retry_after_max_s),
    )
    retry.budget_s, retry.notify, retry.policy_retries = policy.api_retry_budget_s, notify, policy.api_retries
    return retry


_POLICIES: weakref.WeakKeyDictionary[Any, tuple[RetryPolicy, Notify | None]] = weakref.WeakKeyDictionary()


def install(conn: Connection, policy: RetryPolicy, notify: Notify | None = None) -> None:
    """Retry this connection's transient failures by the policy; an API call waits at most
    api_timeout_s for an answer unless its clouds.yaml entry sets its own api_timeout."""
    session = conn.session
    if conn.config.config.get("api_timeout") is None:
        session.timeout = float(policy.api_timeout_s)
    retry = http_retry(policy, notify)
    for adapter in session.session.adapters.values():  # keystoneauth's, with its TLS settings
        if isinstance(adapter, HTTPAdapter):
            adapter.max_retries = retry
    _POLICIES[conn] = (policy, notify)


def policy_of(conn: Connection) -> tuple[RetryPolicy, Notify | None]:
    """The policy install() gave this connection (the defaults for one it was not given)."""
    return _POLICIES.get(conn, (RetryPolicy(), None))


# ------------------------------------------------------------------- creates and other calls
def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None) if isinstance(exc, sdk_exc.HttpException) else None
    if status is None and isinstance(exc, ksa_exc.HttpError):
        status = exc.http_status
    return int(status) if status else None


def transient(exc: BaseException) -> bool:
    """A failure worth another try: 429/502/503/504, a reset or refused connection, a timeout."""
    if isinstance(exc, (ksa_exc.ConnectFailure, ksa_exc.ConnectTimeout, ksa_exc.UnknownConnectionError)):
        return True
    status = status_of(exc)
    if status is not None:
        return status in TRANSIENT_STATUS
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and transient(cause)


def retry_after(exc: BaseException) -> float | None:
    """The seconds an HTTP error's Retry-After asks for (a number; a date is not used here)."""
    response = getattr(exc, "response", None)
    header = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(header)) if header is not None else None
    except ValueError:
        return None


def retries_made(exc: BaseException) -> int:
    """How many times the HTTP layer retried the call that ended in exc (0 if unknown)."""
    raw = getattr(getattr(exc, "response", None), "raw", None)
    history = getattr(getattr(raw, "retries", None), "history", None)
    return len(history) if history else 0


def _wait(policy: RetryPolicy) -> Callable[[tenacity.RetryCallState], float]:
    backoff = tenacity.wait_exponential(multiplier=BACKOFF_START_S, max=policy.backoff_max_s)

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after(exc) if exc is not None else None
        return min(asked, policy.api_retry_after_max_s) if asked is not None else float(backoff(state))

    return wait


class GaveUp(Exception):  # noqa: N818 - names what happened, as tenacity's RetryError
    """A transient failure outlasted the policy: the last error, with what was tried."""

    def __init__(self, last: BaseException, attempts: int, seconds: float) -> None:
        super().__init__(str(last))
        self.last, self.attempts, self.seconds = last, attempts, seconds

    def note(self) -> str:
        return f"still failing after {self.attempts} tries in {self.seconds:.0f} s"


def call(conn: Connection, what: str, fn: Callable[[], T], find: Callable[[], T | None] | None = None) -> T:
    """fn(), tried again after a transient failure as the connection's policy allows; with
    find, first look for what an earlier try may have made (its answer lost on the way back)
    and return that instead of calling fn again. Raises the last error when it is not
    transient, GaveUp when the policy is spent."""
    policy, notify = policy_of(conn)
    started = time.monotonic()

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if notify is not None and state.outcome is not None:
            exc = state.outcome.exception()
            seen = f"HTTP {status_of(exc)}" if exc is not None and status_of(exc) else \
                _error_text(getattr(exc, "__cause__", None) or exc)
            sleep = state.next_action.sleep if state.next_action else 0.0
            notify(f"cloud API: {what}: {seen}; try {state.attempt_number + 1} of "
                   f"{policy.api_retries + 1} in {sleep:.1f} s")

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.api_retries + 1)
        | tenacity.stop_after_delay(policy.api_retry_budget_s),
        wait=_wait(policy), retry=tenacity.retry_if_exception(transient), before_sleep=before_sleep,
        reraise=False)
    try:
        for attempt in retrying:
            with attempt:
                if find is not None and attempt.retry_state.attempt_number > 1:
                    found = find()
                    if found is not None:
                        if notify is not None:
                            notify(f"cloud API: {what}: found what the failed try had made; not made again")
                        return found
                return fn()
    except tenacity.RetryError as exc:
        last = exc.last_attempt.exception()
        assert last is not None
        raise GaveUp(last, exc.last_attempt.attempt_number, time.monotonic() - started) from last
    raise AssertionError("unreachable: tenacity either returns, raises or gives up")  # pragma: no cover
