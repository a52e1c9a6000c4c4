"""A private PostgreSQL server for the tests: Debian's postgresql package, started in a temp
directory (data, Unix socket and log), on a free port of 127.0.0.1, as the `postgres` user when
running as root (initdb refuses root), and removed afterwards, also after failures.

The superuser `vmtp` authenticates with a password (scram-sha-256) over TCP and the socket,
so wrong passwords are real authentication failures.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER = "vmtp"
ADMIN_DB = "postgres"


@dataclass(frozen=True)
class PgServer:
    port: int
    password: str
    socket_dir: Path
    host: str = "127.0.0.1"

    def url(self, database: str, password: str | None = None) -> str:
        """postgresql:// URL over TCP."""
        pw = self.password if password is None else password
        return f"postgresql://{USER}:{pw}@{self.host}:{self.port}/{database}"

    def socket_url(self, database: str) -> str:
        """postgresql:// URL over the Unix socket (reachable from other network namespaces)."""
        return f"postgresql://{USER}:{self.password}@/{database}?host={self.socket_dir}&port={self.port}"

    def _admin(self):
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=USER, password=self.password,
                               dbname=ADMIN_DB, autocommit=True, connect_timeout=5)

    def create_database(self) -> str:
        name = f"vmtp_test_{secrets.token_hex(4)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise RuntimeError("the PostgreSQL server is not installed: run ./bin/setup (Debian package postgresql)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> dict:
    """subprocess arguments that drop root to the postgres (else nobody) user."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    raise RuntimeError("no postgres or nobody user to run initdb as")


@contextmanager
def pg_server() -> Iterator[PgServer]:
    bindir = _bin_dir()
    as_user = _run_as()
    base = Path(tempfile.mkdtemp(prefix="vmtp-pgtest-"))
    data, sock, log = base / "data", base / "sock", base / "server.log"
    password = secrets.token_urlsafe(12)
    started = False
    try:
        sock.mkdir()
        (base / "pw").write_text(password + "\n")
        if as_user:
            for p in (base, sock, base / "pw"):
                os.chown(p, as_user["user"], as_user["group"])
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={base / 'pw'}",
                        "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, text=True, env=env, cwd=base, **as_user)
        port = _free_port()
        opts = (f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off")
        res = subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                              "-o", opts, "start"], capture_output=True, text=True, env=env, cwd=base, **as_user)
        started = True
        if res.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {res.stdout}{res.stderr}{server_log}")
        yield PgServer(port=port, password=password, socket_dir=sock)
    finally:
        if started:
            subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, cwd=base, **as_user)
        shutil.rmtree(base, ignore_errors=True)
