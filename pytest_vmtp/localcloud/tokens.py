"""Keystone tokens: opaque random strings held only in the server's memory."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

TOKEN_LIFETIME = 4 * 3600.0


@dataclass
class Token:
    issued_at: float
    expires_at: float
    audit_id: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    roles: tuple[str, ...] = ("admin",)  # the one user of this cloud is an admin


class TokenStore:
    """Issue, validate and revoke tokens; expired ones are dropped on sight."""

    def __init__(self, lifetime: float = TOKEN_LIFETIME) -> None:
        self._lifetime = lifetime
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()

    def issue(self) -> tuple[str, Token]:
        value = "gAAAA" + secrets.token_urlsafe(48)
        now = time.time()
        token = Token(now, now + self._lifetime)
        with self._lock:
            self._tokens[value] = token
        return value, token

    def get(self, value: str | None) -> Token | None:
        if not value:
            return None
        with self._lock:
            token = self._tokens.get(value)
            if token and token.expires_at <= time.time():
                del self._tokens[value]
                return None
            return token

    def revoke(self, value: str) -> bool:
        with self._lock:
            return self._tokens.pop(value, None) is not None
