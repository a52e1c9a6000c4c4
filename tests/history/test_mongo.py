"""VMTP's MongoDB export: the run's document inserted into client_db.pns_web_entry over the
MongoDB wire protocol (pymongo against a wire-protocol server on TCP and a Unix socket)."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest

from pytest_vmtp.history import HistoryError
from pytest_vmtp.history.mongo import MongoTarget, insert_document, parse_server
from tests.history.docs import make_doc
from tests.history.mongo_wire import wire_server


def _target(host: str, port: int | None = None, timeout_s: float = 3) -> MongoTarget:
    return MongoTarget(host=host, port=port, database="client_db", collection="pns_web_entry", timeout_s=timeout_s)


@pytest.mark.parametrize("text, parsed", [
    ("db1", ("db1", 27017)),
    ("db1:27018", ("db1", 27018)),
    ("10.0.0.5", ("10.0.0.5", 27017)),
    ("[::1]:27019", ("[::1]", 27019)),
    ("/tmp/mongodb-27017.sock", ("/tmp/mongodb-27017.sock", None)),
    ("mongodb://u:p@db1,db2/?replicaSet=rs", ("mongodb://u:p@db1,db2/?replicaSet=rs", None)),
])
def test_server_forms(text, parsed):
    assert parse_server(text) == parsed


@pytest.mark.parametrize("text, message", [
    ("db1:notaport", "give HOST[:PORT], e.g. db1:27017"),
    ("db1:99999", "port 99999 is out of range"),
    ("/tmp/mongod", "a Unix socket path must end in .sock"),
])
def test_bad_server_forms(text, message):
    with pytest.raises(HistoryError, match=re.escape(message)):
        parse_server(text)


def test_the_document_lands_in_vmtps_database_and_collection():
    doc = make_doc("0000ccc")
    before = json.dumps(doc, sort_keys=True)
    with wire_server() as server:
        host, port = parse_server(server.address)
        inserted = insert_document(doc, _target(host, port))
    (insert,) = server.inserts
    assert (insert["db"], insert["collection"]) == ("client_db", "pns_web_entry")
    (stored,) = insert["documents"]
    assert str(stored.pop("_id")) == inserted
    assert json.dumps(stored, sort_keys=True) == before
    assert json.dumps(doc, sort_keys=True) == before  # the run's own document is not touched


def test_a_mongod_unix_socket(tmp_path):
    with wire_server(uds_path=str(tmp_path / "mongodb-27017.sock")) as server:
        insert_document(make_doc("0000ddd"), _target(*parse_server(server.address)))
    assert server.inserts[0]["documents"][0]["run_id"] == "0000ddd"


def test_an_unreachable_server_is_one_line_after_the_timeout():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(HistoryError) as exc:
        insert_document(make_doc("0000eee"), _target("127.0.0.1", port, timeout_s=1))
    assert time.monotonic() - started < 5
    assert str(exc.value) == (f"MongoDB 127.0.0.1:{port}: no server answered within 1 s "
                              "(is mongod running there and reachable?)")


def test_a_refused_insert_is_one_line():
    with wire_server() as server:
        server.fail_with = "not authorized on client_db to execute command insert"
        with pytest.raises(HistoryError) as exc:
            insert_document(make_doc("0000fff"), _target(*parse_server(server.address)))
    assert str(exc.value).startswith(f"MongoDB {server.address}: not authorized on client_db")
    assert "\n" not in str(exc.value)


def test_a_uri_password_is_never_shown():
    target = _target("mongodb://vmtp:hunter2@127.0.0.1:1/?connectTimeoutMS=500", timeout_s=0.5)
    with pytest.raises(HistoryError) as exc:
        insert_document(make_doc("0000abc"), target)
    assert "hunter2" not in str(exc.value) and "mongodb://vmtp:***@127.0.0.1:1/" in str(exc.value)
