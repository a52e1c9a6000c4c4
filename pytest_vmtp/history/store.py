"""The run history: a SQL store of results documents (SQLite file or PostgreSQL server).

    with open_store(None) as store:              # the per-user SQLite file
        store.add(doc, tags=["pre-upgrade"])
        baseline = store.find("tag:pre-upgrade", cloud="prod")[0]

Every failure (unreachable server, bad URL, wrong password, old schema, nothing found) raises
a HistoryError whose str() is one line, with any password masked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import create_engine, delete, event, func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from pytest_vmtp.history import migrate
from pytest_vmtp.history.errors import HistoryError, RunNotFound, SchemaOutdated
from pytest_vmtp.history.location import Location, locate, mask
from pytest_vmtp.history.rows import figure_rows, run_fields
from pytest_vmtp.history.schema import figures, runs
from pytest_vmtp.history.schema import tags as run_tags
from pytest_vmtp.history.selectors import Selector, check_tags, parse_selector

SQLITE_BUSY_TIMEOUT_S = 30  # another run writing the same file: wait, do not fail
HINT_RUNS = 5  # runs named in a "nothing found" line
HINT_TAGS = 10


@dataclass(frozen=True)
class StoredRun:
    """One line of `vmtp-history list`."""

    run_id: str
    date: datetime
    cloud: str | None
    tags: tuple[str, ...]
    description: str | None
    passed: int
    failed: int
    skipped: int


def _default_connect_timeout() -> float:
    from pytest_vmtp import defaults

    return float(defaults.value("history_connect_timeout_s"))


def _one_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return re.sub(r"\s+", " ", lines[0]) if lines else ""


def _reason(exc: BaseException, loc: Location) -> str:
    """The driver's own first line for exc (psycopg, sqlite3), with secrets masked."""
    orig = getattr(exc, "orig", None) or exc
    text = mask(_one_line(str(orig)))
    m = re.search(r"://[^/@:\s]*:([^@\s]+)@", loc.url)
    if m and len(m.group(1)) >= 3:
        text = text.replace(m.group(1), "***")
    return text.removeprefix("connection failed: ")


def _error(exc: BaseException, loc: Location, doing: str = "cannot use it") -> HistoryError:
    return HistoryError(f"history {loc.shown}: {doing}: {_reason(exc, loc)}")


def _engine(loc: Location, connect_timeout_s: float | None) -> Engine:
    serializer = lambda obj: json.dumps(obj, default=str)  # noqa: E731
    try:
        if loc.is_sqlite:
            engine = create_engine(loc.url, json_serializer=serializer,
                                   connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
            event.listen(engine, "connect", _sqlite_foreign_keys)
            return engine
        timeout = connect_timeout_s if connect_timeout_s is not None else _default_connect_timeout()
        args = {} if "connect_timeout=" in loc.url else {"connect_timeout": max(1, round(timeout))}
        return create_engine(loc.url, json_serializer=serializer, connect_args=args)
    except (ArgumentError, ValueError) as exc:
        raise HistoryError(f"history {loc.shown}: not a valid database URL ({_reason(exc, loc)})") from None
    except (NoSuchModuleError, ImportError) as exc:
        raise HistoryError(f"history {loc.shown}: its database driver is missing ({_reason(exc, loc)}); "
                           "install pytest-vmtp's dependencies (pip install 'psycopg[binary]')") from None


def _sqlite_foreign_keys(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _prepare_sqlite(loc: Location, create: bool) -> None:
    path = loc.sqlite_path
    assert path is not None
    if path.is_dir():
        raise HistoryError(f"history {loc.shown}: is a directory; give a file path such as {path}/history.sqlite")
    if path.exists():
        return
    if not create:
        raise HistoryError(f"history {loc.shown}: no such file yet (a pytest-vmtp run creates it)")
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise HistoryError(f"history {loc.shown}: {blocker} is a file, not a directory")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise HistoryError(f"history {loc.shown}: cannot create its directory ({exc.strerror})") from None


def _connect(url: str | None, create: bool, connect_timeout_s: float | None) -> tuple[Location, Engine]:
    loc = locate(url)
    if loc.is_sqlite:
        _prepare_sqlite(loc, create)
    return loc, _engine(loc, connect_timeout_s)


def open_store(url: str | None, *, create: bool = True, connect_timeout_s: float | None = None) -> HistoryStore:
    """The store at url (None: the per-user SQLite file), made at the current schema version if
    it does not exist yet (unless create is False). A store of an older version is refused with
    the upgrade command to run."""
    loc, engine = _connect(url, create, connect_timeout_s)
    try:
        with engine.begin() as conn:
            _check_version(conn, loc, create)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise _error(exc, loc, "cannot open it") from None
    except BaseException:
        engine.dispose()
        raise
    return HistoryStore(engine, loc)


def _check_version(conn: Connection, loc: Location, create: bool) -> None:
    version, head = migrate.current(conn), migrate.head()
    if version == head:
        return
    if version is None:
        if migrate.has_tables(conn):
            raise HistoryError(f"history {loc.shown}: holds vmtp_ tables without a schema version: "
                               "not a pytest-vmtp history store")
        if not create:
            raise HistoryError(f"history {loc.shown}: holds no runs yet (a pytest-vmtp run creates the store)")
        migrate.upgrade(conn)
        return
    if migrate.known(version):
        raise SchemaOutdated(
            f"history {loc.shown}: schema version {version} is older than this pytest-vmtp's ({head}): "
            f"run `vmtp-history upgrade{loc.option}`"
        )
    raise HistoryError(f"history {loc.shown}: schema version {version} is newer than this pytest-vmtp "
                       f"knows ({head}): upgrade pytest-vmtp")


def upgrade_store(url: str | None) -> tuple[str | None, str]:
    """Bring the store at url to the current schema version (creating it if need be):
    (version before, version now)."""
    loc, engine = _connect(url, True, None)
    try:
        with engine.begin() as conn:
            before = migrate.current(conn)
            if before is None and migrate.has_tables(conn):
                raise HistoryError(f"history {loc.shown}: holds vmtp_ tables without a schema version: "
                                   "not a pytest-vmtp history store")
            if before is not None and not migrate.known(before):
                raise HistoryError(f"history {loc.shown}: schema version {before} is newer than this "
                                   f"pytest-vmtp knows ({migrate.head()}): upgrade pytest-vmtp")
            if before != migrate.head():
                migrate.upgrade(conn)
            return before, migrate.head()
    except SQLAlchemyError as exc:
        raise _error(exc, loc, "cannot upgrade it") from None
    finally:
        engine.dispose()


class HistoryStore:
    """Runs stored as their results documents, with the fields baselines and charts select by."""

    def __init__(self, engine: Engine, location: Location) -> None:
        self._engine = engine
        self.location = location

    @property
    def shown(self) -> str:
        """Where the store is, as the user may be shown it (password masked)."""
        return self.location.shown

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _begin(self, doing: str = "cannot use it") -> Iterator[Connection]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise _error(exc, self.location, doing) from None

    # -- writing ----------------------------------------------------------------------------
    def add(self, doc: dict, tags: Iterable[str] = (), *, cloud: str | None = None) -> None:
        """Store a run's results document with its tags. cloud: the run's cloud name, used when
        the document's metadata names none. A run id already stored is refused."""
        fields = run_fields(doc, cloud)
        names = check_tags(tags)
        with self._begin("cannot store the run") as conn:
            if conn.execute(select(runs.c.id).where(runs.c.run_id == fields["run_id"])).first():
                raise HistoryError(f"history {self.shown}: run {fields['run_id']} is already stored "
                                   f"(vmtp-history delete {fields['run_id']} first to replace it)")
            result = conn.execute(insert(runs).values(**fields, added_at=datetime.now(), document=doc))
            pk = result.inserted_primary_key[0]  # type: ignore[index]
            rows = figure_rows(doc, pk)
            if rows:
                conn.execute(insert(figures), rows)
            if names:
                conn.execute(insert(run_tags), [{"run_pk": pk, "tag": t} for t in names])

    def tag(self, run_id: str, *tags: str) -> tuple[str, ...]:
        """Add tags to a stored run; its tags afterwards."""
        wanted = check_tags(tags)
        with self._begin("cannot tag the run") as conn:
            pk = self._pk(conn, run_id)
            have = set(self._tags_of(conn, [pk]).get(pk, ()))
            new = [{"run_pk": pk, "tag": t} for t in wanted if t not in have]
            if new:
                conn.execute(insert(run_tags), new)
            return self._tags_of(conn, [pk]).get(pk, ())

    def untag(self, run_id: str, *tags: str) -> tuple[str, ...]:
        """Remove tags from a stored run (absent ones are ignored); its tags afterwards."""
        with self._begin("cannot untag the run") as conn:
            pk = self._pk(conn, run_id)
            conn.execute(delete(run_tags).where(run_tags.c.run_pk == pk, run_tags.c.tag.in_([str(t) for t in tags])))
            return self._tags_of(conn, [pk]).get(pk, ())

    def delete(self, run_id: str) -> None:
        """Remove a stored run, its tags and figures."""
        with self._begin("cannot delete the run") as conn:
            pk = self._pk(conn, run_id)
            conn.execute(delete(figures).where(figures.c.run_pk == pk))
            conn.execute(delete(run_tags).where(run_tags.c.run_pk == pk))
            conn.execute(delete(runs).where(runs.c.id == pk))

    # -- reading ----------------------------------------------------------------------------
    def find(self, selector: str, cloud: str | None = None) -> list[dict]:
        """Documents, newest first: `last` (the newest run, of cloud when given), a run id, or
        `tag:NAME` (every run with that tag, of cloud when given). Nothing found: RunNotFound,
        whose line says which runs and tags the store holds."""
        sel = parse_selector(selector)
        with self._begin("cannot read it") as conn:
            query = select(runs.c.document).order_by(runs.c.date.desc(), runs.c.id.desc())
            if sel.kind == "run":
                query = query.where(runs.c.run_id == sel.value)
            else:
                if cloud is not None:
                    query = query.where(runs.c.cloud == cloud)
                if sel.kind == "tag":
                    query = query.join(run_tags, run_tags.c.run_pk == runs.c.id).where(run_tags.c.tag == sel.value)
                else:
                    query = query.limit(1)
            docs = [row.document for row in conn.execute(query)]
            if not docs:
                raise RunNotFound(self._nothing_found(conn, sel, cloud))
            return docs

    def list_runs(self, cloud: str | None = None, tag: str | None = None, limit: int | None = 20) -> list[StoredRun]:
        """Stored runs, newest first (limit None: all)."""
        with self._begin("cannot read it") as conn:
            return self._list(conn, cloud, tag, limit)

    def tags_of(self, run_id: str) -> tuple[str, ...]:
        """A stored run's tags."""
        with self._begin("cannot read it") as conn:
            pk = self._pk(conn, run_id)
            return self._tags_of(conn, [pk]).get(pk, ())

    def schema_version(self) -> str | None:
        with self._begin("cannot read it") as conn:
            return migrate.current(conn)

    # -- helpers ----------------------------------------------------------------------------
    def _list(self, conn: Connection, cloud: str | None, tag: str | None, limit: int | None) -> list[StoredRun]:
        query = select(runs.c.id, runs.c.run_id, runs.c.date, runs.c.cloud, runs.c.description,
                       runs.c.passed, runs.c.failed, runs.c.skipped).order_by(runs.c.date.desc(), runs.c.id.desc())
        if cloud is not None:
            query = query.where(runs.c.cloud == cloud)
        if tag is not None:
            query = query.join(run_tags, run_tags.c.run_pk == runs.c.id).where(run_tags.c.tag == tag)
        if limit:
            query = query.limit(limit)
        rows = conn.execute(query).all()
        tag_map = self._tags_of(conn, [r.id for r in rows])
        return [StoredRun(r.run_id, r.date, r.cloud, tag_map.get(r.id, ()), r.description,
                          r.passed, r.failed, r.skipped) for r in rows]

    @staticmethod
    def _tags_of(conn: Connection, pks: list[int]) -> dict[int, tuple[str, ...]]:
        if not pks:
            return {}
        out: dict[int, list[str]] = {}
        for pk, name in conn.execute(select(run_tags.c.run_pk, run_tags.c.tag).where(run_tags.c.run_pk.in_(pks))
                                     .order_by(run_tags.c.tag)):
            out.setdefault(pk, []).append(name)
        return {pk: tuple(names) for pk, names in out.items()}

    def _pk(self, conn: Connection, run_id: str) -> int:
        pk = conn.execute(select(runs.c.id).where(runs.c.run_id == str(run_id).strip())).scalar()
        if pk is None:
            raise RunNotFound(self._nothing_found(conn, Selector("run", str(run_id).strip()), None))
        return int(pk)

    def _nothing_found(self, conn: Connection, sel: Selector, cloud: str | None) -> str:
        of_cloud = f" of cloud {cloud!r}" if cloud is not None and sel.kind != "run" else ""
        what = {"last": "no run" if of_cloud else "no run stored",
                "tag": f"no run tagged {sel.value!r}"}.get(sel.kind, f"no run {sel.value!r}")
        head = f"history {self.shown}: {what}{of_cloud}"
        newest = self._list(conn, None, None, HINT_RUNS)
        if not newest:
            return f"{head}; it is empty (each pytest-vmtp run adds itself at its end)"
        runs_text = ", ".join(f"{r.run_id} ({r.date:%Y-%m-%d %H:%M}, {r.cloud or '-'})" for r in newest)
        all_tags = list(conn.execute(select(run_tags.c.tag).group_by(run_tags.c.tag).order_by(run_tags.c.tag))
                        .scalars())
        tags_text = ", ".join(all_tags[:HINT_TAGS]) + (", ..." if len(all_tags) > HINT_TAGS else "")
        text = f"{head}; newest runs: {runs_text}; tags: {tags_text or 'none'}"
        if of_cloud:
            clouds = [c or "-" for (c,) in conn.execute(select(runs.c.cloud).group_by(runs.c.cloud)
                                                        .order_by(func.count().desc()))]
            text += f"; clouds: {', '.join(clouds)}"
        return text
