"""The exceptions that carry a user-facing one-line message (no traceback is shown for them)."""

from __future__ import annotations

from typing import NoReturn

from pytest_vmtp.cloud.errors import CloudError
from pytest_vmtp.localcloud.cli import CloudError as LocalCloudError
from pytest_vmtp.measure.errors import MeasureError

USER_ERRORS: tuple[type[Exception], ...] = (MeasureError, CloudError, LocalCloudError)


def fail_in_one_line(exc: BaseException) -> NoReturn:
    """Fail the current test with the error's own line: no traceback, no exception chain."""
    import pytest

    raise pytest.fail.Exception(str(exc), pytrace=False) from None
