"""Worker threads keyed by resource id: what runs behind the API after it has answered 202."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Workers:
    """At most one current thread per key (a later one for the same key replaces it);
    all are joined when the server stops."""

    def __init__(self) -> None:
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, key: str, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=f"nova-{key}", daemon=True)
        with self._lock:
            self._threads[key] = thread
        thread.start()

    def current(self, key: str) -> threading.Thread | None:
        with self._lock:
            return self._threads.get(key)

    def forget(self, key: str) -> None:
        """Drop key's entry when the calling thread is its current one (its last job ends)."""
        with self._lock:
            if self._threads.get(key) is threading.current_thread():
                del self._threads[key]

    def wait_idle(self, timeout: float) -> None:
        """Join every worker (server shutdown), at most `timeout` seconds in all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
