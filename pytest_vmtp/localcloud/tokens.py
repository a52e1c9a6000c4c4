"""Keystone tokens as Keystone's Fernet provider makes them: self-contained, encrypted and
signed with this cloud's key, so no token store is needed and a token survives a restart of
the server (recovery after kill -9) but means nothing to another local cloud (its key differs).

The payload names the user, the project the token is scoped to, the auth methods, its audit
id and expiry; the roles are not in it: they are looked up when the token is used, so a role
taken away, a user disabled or deleted ends the user's tokens at once (keystone.py). Revoked
tokens are listed by audit id in the cloud's state, as Keystone's revocation events.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

TOKEN_LIFETIME = 4 * 3600.0  # seconds; `vmtp-localcloud start --token-lifetime` changes it


@dataclass(frozen=True)
class Token:
    user_id: str
    project_id: str | None  # None: unscoped
    methods: tuple[str, ...]
    issued_at: float
    expires_at: float
    audit_id: str = field(default_factory=lambda: secrets.token_urlsafe(16))


def load_key(path: Path) -> bytes:
    """The cloud's Fernet key (made once, mode 0600, kept for a recovery, removed at stop)."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        key = Fernet.generate_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key + b"\n")
        return key


class TokenStore:
    """Issue and read tokens; `read` answers None for anything not a live token of ours."""

    def __init__(self, key: bytes, lifetime: float = TOKEN_LIFETIME) -> None:
        self._fernet = Fernet(key)
        self.lifetime = lifetime

    def issue(self, user_id: str, project_id: str | None, methods: tuple[str, ...],
              expires_at: float | None = None) -> tuple[str, Token]:
        """A new token; expires_at caps it (a token made from a token never outlives it)."""
        now = time.time()
        token = Token(user_id, project_id, methods, now,
                      min(now + self.lifetime, expires_at or float("inf")))
        payload = {"u": token.user_id, "p": token.project_id, "m": list(token.methods),
                   "i": token.issued_at, "e": token.expires_at, "a": token.audit_id}
        return self._fernet.encrypt(json.dumps(payload).encode()).decode(), token

    def read(self, value: str | None) -> Token | None:
        """The token value's content, or None: malformed, another cloud's, or expired."""
        if not value:
            return None
        try:
            doc = json.loads(self._fernet.decrypt(value.encode()))
            token = Token(str(doc["u"]), doc["p"], tuple(doc["m"]), float(doc["i"]),
                          float(doc["e"]), str(doc["a"]))
        except (InvalidToken, ValueError, KeyError, TypeError, UnicodeError):
            return None
        return token if token.expires_at > time.time() else None
