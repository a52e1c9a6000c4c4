"""A MongoDB wire-protocol server for the tests: MongoDB's own driver-test server (mockupdb,
from PyPI) on a TCP port or a Unix socket. pymongo talks to it over a real socket; it answers
the handshake, acknowledges inserts and keeps what it received. (No mongod can be installed
here: Debian has no MongoDB server, and PyPI/npm packages that bring one download it from
MongoDB's site.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mockupdb import MockupDB

MAX_WIRE_VERSION = 21  # MongoDB 7.0, recent enough for any pymongo 4


@dataclass
class WireServer:
    server: MockupDB
    inserts: list[dict[str, Any]] = field(default_factory=list)  # {"db", "collection", "documents"}
    received: threading.Event = field(default_factory=threading.Event)
    fail_with: str | None = None  # answer inserts with this error instead

    @property
    def address(self) -> str:
        """--vmtp-mongod-server's value: HOST:PORT, or the socket path."""
        uds = self.server._uds_path  # mockupdb has no public getter
        return uds if uds else f"127.0.0.1:{self.server.port}"

    def _handle(self, request: Any) -> bool:
        name = str(request.command_name).lower()
        if name in ("hello", "ismaster"):
            return False  # the handshake: mockupdb's own responder
        if name != "insert":
            return request.ok()
        if self.fail_with:
            return request.command_err(code=13, errmsg=self.fail_with)
        doc = request.doc
        self.inserts.append({"db": doc["$db"], "collection": doc["insert"], "documents": list(doc["documents"])})
        self.received.set()
        return request.ok(n=len(doc["documents"]))


@contextmanager
def wire_server(uds_path: str | None = None) -> Iterator[WireServer]:
    server = MockupDB(auto_ismaster={"maxWireVersion": MAX_WIRE_VERSION, "minWireVersion": 0},
                      uds_path=uds_path)
    ws = WireServer(server)
    server.autoresponds(ws._handle)
    server.run()
    try:
        yield ws
    finally:
        server.stop()
