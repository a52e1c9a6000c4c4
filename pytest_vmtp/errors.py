"""The exceptions that carry a user-facing one-line message (no traceback is shown for them)."""

from __future__ import annotations

from typing import NoReturn

from pytest_vmtp.user_error import UserError

# Every user error (measure's MeasureError, cloud's CloudError, the local cloud's CloudError)
# derives from UserError, so this module loads none of them.
USER_ERRORS: tuple[type[Exception], ...] = (UserError,)


def fail_in_one_line(exc: BaseException) -> NoReturn:
    """Fail the current test with the error's own line: no traceback, no exception chain."""
    import pytest

    raise pytest.fail.Exception(str(exc), pytrace=False) from None
