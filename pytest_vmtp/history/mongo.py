"""VMTP's MongoDB option: the run's results document inserted with pymongo into VMTP's database
and collection (client_db.pns_web_entry by default), as `vmtp --mongod-server` does.

The server is HOST[:PORT] (VMTP's form; port 27017 by default), a mongod Unix socket path
(`/tmp/mongodb-27017.sock`), or a mongodb:// URI. A short server-selection timeout keeps an
unreachable server to one error line a few seconds after the run.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from pytest_vmtp.history.errors import HistoryError
from pytest_vmtp.history.location import mask

DEFAULT_PORT = 27017
_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+)(?::(\d{1,5}))?$")


@dataclass(frozen=True)
class MongoTarget:
    host: str  # host name, IP, [IPv6], a socket path or a mongodb:// URI
    port: int | None  # None: given in the URI or a socket path
    database: str
    collection: str
    timeout_s: float

    @property
    def shown(self) -> str:
        if self.port is None:
            return mask(self.host)
        return f"{self.host}:{self.port}"


def parse_server(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int | None]:
    """'db1' -> ('db1', 27017); 'db1:27018'; '[::1]:27017'; '/tmp/mongodb-27017.sock';
    'mongodb://...' kept whole. A bad one raises HistoryError."""
    text = str(text).strip()
    if text.startswith(("mongodb://", "mongodb+srv://")):
        return text, None
    if text.startswith("/"):
        if not text.endswith(".sock"):
            raise HistoryError(f"--vmtp-mongod-server {text}: a Unix socket path must end in .sock")
        return text, None
    m = _HOST_PORT.match(text)
    if not m:
        raise HistoryError(f"--vmtp-mongod-server {mask(text)!r}: give HOST[:PORT], e.g. db1:27017")
    port = int(m.group(2)) if m.group(2) else default_port
    if not 0 < port < 65536:
        raise HistoryError(f"--vmtp-mongod-server {text!r}: port {port} is out of range")
    return m.group(1), port


def insert_document(doc: dict[str, Any], target: MongoTarget) -> str:
    """Insert a copy of doc (pymongo adds an _id to what it inserts); the new document's id."""
    import pymongo
    from pymongo.errors import PyMongoError, ServerSelectionTimeoutError

    ms = max(1, int(target.timeout_s * 1000))
    options: dict[str, Any] = {"serverSelectionTimeoutMS": ms, "connectTimeoutMS": ms, "socketTimeoutMS": ms,
                               "appname": "pytest-vmtp"}
    client: Any = None
    try:
        # pymongo takes a socket path only inside a URI, percent-encoded.
        host = f"mongodb://{quote_plus(target.host)}" if target.host.startswith("/") else target.host
        client = pymongo.MongoClient(host, target.port, **options)
        result = client[target.database][target.collection].insert_one(copy.deepcopy(doc))
        return str(result.inserted_id)
    except ServerSelectionTimeoutError:
        raise HistoryError(f"MongoDB {target.shown}: no server answered within {target.timeout_s:g} s "
                           "(is mongod running there and reachable?)") from None
    except PyMongoError as exc:
        first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise HistoryError(f"MongoDB {target.shown}: {mask(first)}") from None
    finally:
        if client is not None:
            client.close()
