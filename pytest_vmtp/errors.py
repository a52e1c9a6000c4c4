"""The exceptions that carry a user-facing one-line message (no traceback is shown for them)."""

from __future__ import annotations

from pytest_vmtp.measure.errors import MeasureError

try:  # cloud/ is optional at import time for the native-only use
    from pytest_vmtp.cloud.errors import CloudError
except ImportError:  # pragma: no cover
    class CloudError(RuntimeError):  # type: ignore[no-redef]
        pass

USER_ERRORS: tuple[type[Exception], ...] = (MeasureError, CloudError)
