"""Where the history lives: a path or URL given by the user -> a SQLAlchemy URL, and the text
shown for it (passwords masked). Pure: no SQLAlchemy, so the configuration can check a location
at start-up for free.

Accepted: nothing (the per-user default file), a file path (SQLite), `sqlite:///PATH`, and
`postgresql://` (or `postgres://`, `postgresql+psycopg://`) URLs for a team server.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pytest_vmtp.history.errors import HistoryError

APP_DIR = "pytest-vmtp"
DEFAULT_FILE = "history.sqlite"
POSTGRES_DRIVER = "postgresql+psycopg"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_URL_PASSWORD = re.compile(r"(://[^/@:\s]*:)[^@\s]*@")
_QUERY_PASSWORD = re.compile(r"((?:\?|&)password=)[^&\s]*", re.I)
MASK = "***"


def default_path() -> Path:
    """$XDG_DATA_HOME/pytest-vmtp/history.sqlite (~/.local/share/... when unset): the XDG place
    for a user's data that outlives runs, as opposed to caches or the run's temp directory."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / APP_DIR / DEFAULT_FILE


def mask(text: str) -> str:
    """Hide the password of any URL in text (user:PASSWORD@host, ?password=...)."""
    return _QUERY_PASSWORD.sub(rf"\g<1>{MASK}", _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text))


@dataclass(frozen=True)
class Location:
    url: str  # what SQLAlchemy is given (may hold a password: never print it)
    shown: str  # what the user is shown: the path, or the URL with its password masked
    sqlite_path: Path | None = None  # the file, for SQLite
    default: bool = False  # the per-user default file (no --history needed to name it)

    @property
    def is_sqlite(self) -> bool:
        return self.sqlite_path is not None

    @property
    def option(self) -> str:
        """How vmtp-history is told this location: '' for the default file."""
        return "" if self.default else f" --history {self.shown}"


def locate(spec: str | None) -> Location:
    """A user's --vmtp-history / --history value -> Location; a bad one raises HistoryError."""
    if spec is None or not str(spec).strip():
        return _sqlite(default_path(), default=True)
    spec = str(spec).strip()
    m = _SCHEME.match(spec)
    if not m:
        return _sqlite(Path(spec).expanduser())
    scheme = m.group(1).lower()
    rest = spec[m.end():]
    if scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            raise HistoryError(f"history {mask(spec)}: write sqlite:///PATH (three slashes, then the file's path)")
        return _sqlite(Path(rest[1:]).expanduser())
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        if not rest or rest.startswith("?"):
            raise HistoryError(f"history {mask(spec)}: write postgresql://USER:PASSWORD@HOST[:PORT]/DATABASE")
        return Location(url=f"{POSTGRES_DRIVER}://{rest}", shown=mask(spec))
    raise HistoryError(
        f"history {mask(spec)}: unsupported kind of database {scheme!r}; give a file path (SQLite) "
        "or postgresql://USER:PASSWORD@HOST[:PORT]/DATABASE"
    )


def _sqlite(path: Path, default: bool = False) -> Location:
    path = path.absolute()
    return Location(url=f"sqlite:///{path}", shown=str(path), sqlite_path=path, default=default)
