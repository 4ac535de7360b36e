"""Opening a workspace: one SQLite file (the default) or a PostgreSQL server, same models.

A workspace given as a folder keeps `workspace.db`, content-addressed `media/` and a
`cache/` for derived data (peak pyramids). A PostgreSQL workspace is a URL; its media
folder is a setting shared by the team (a shared path, files named by sha256).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import platformdirs
from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from labeldesk.storage.catalog import ENV_WORKSPACE, Contents, connect_existing, database_contents, sqlite_contents, sqlite_paths
from labeldesk.storage.models import Setting
from labeldesk.storage.vocabulary import SCHEMA_HEAD  # noqa: F401 - callers and tests read the code's revision here


class WorkspaceError(Exception):
    """A workspace that cannot be opened; the message says which and why."""


def _json_dumps(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _set_sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _begin), instead of pysqlite's implicit transactions.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    # NORMAL under WAL survives a process crash; only power loss can drop the last commits.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _begin(conn) -> None:
    """Writers that read before they write take the lock first, so they never fail to upgrade it."""
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("immediate") else "BEGIN")


@dataclass(frozen=True)
class Location:
    url: str
    folder: Path | None  # the workspace folder of an SQLite workspace

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def url_for_display(self) -> str:
        """The URL with its password masked, for messages and logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def database_file(self) -> Path:
        """The file of an SQLite workspace."""
        return Path(make_url(self.url).database)

    @property
    def name_for_display(self) -> str:
        """The database file, or the server URL with its password masked."""
        return str(self.database_file) if self.is_sqlite else self.url_for_display


def resolve_location(spec: str | os.PathLike | None) -> Location:
    """Turn `--workspace PATH|URL` (or LABELDESK_WORKSPACE) into a database URL."""
    spec = str(spec) if spec else os.environ.get(ENV_WORKSPACE, "")
    if not spec:
        raise WorkspaceError("no workspace given: pass --workspace PATH|URL or set LABELDESK_WORKSPACE")
    if "://" in spec:
        url = make_url(spec)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return Location(url.render_as_string(hide_password=False), None)
    db_path, folder = sqlite_paths(spec)
    return Location(f"sqlite:///{db_path}", folder)


def make_engine(location: Location) -> Engine:
    if location.is_sqlite:
        engine = create_engine(
            location.url,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            connect_args={"timeout": 10, "check_same_thread": False},
        )
        event.listen(engine, "connect", _set_sqlite_pragmas)
        event.listen(engine, "begin", _begin)
        return engine
    try:
        return create_engine(
            location.url,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            pool_pre_ping=True,
        )
    except ModuleNotFoundError as exc:  # psycopg is the `postgres` extra
        raise WorkspaceError(f"{location.url_for_display}: a PostgreSQL workspace needs its driver: "
                             f"pip install 'labeldesk[postgres]' ({exc})") from None


def read_contents(conn: Connection) -> Contents:
    """What the database holds and the schema revision it records, read without loading Alembic."""
    return database_contents(lambda sql, _params: conn.exec_driver_sql(sql), conn.dialect.name)


def refuse_unless_ours(contents: Contents, location: Location, create: bool) -> None:
    """Let through a workspace, or (to create one) an empty database; refuse anything else, before changing it."""
    if contents.is_workspace or (contents.is_empty and create):
        return
    where = location.name_for_display
    if contents.is_empty:
        raise WorkspaceError(f"no workspace in {where}: create it with `labeldesk init`")
    if contents.has_our_tables:
        raise WorkspaceError(
            f"workspace {where} has LabelDesk's tables but no schema revision (its alembic_version row is missing), "
            "so it cannot be upgraded safely: restore it from a backup, or record the revision its tables are at in alembic_version"
        )
    names = sorted(contents.tables)
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    raise WorkspaceError(
        f"{where} is not a LabelDesk workspace: it holds tables of its own ({shown}), so LabelDesk leaves it as it is; "
        "create a workspace in a new folder or an empty database with `labeldesk init`"
    )


def _check_sqlite_file(location: Location, create: bool) -> None:
    """Look at an SQLite file with plain sqlite3 before the engine connects: the engine's first
    connection switches the file to WAL, a change a foreign file must never see."""
    db_path = location.database_file
    if not db_path.exists():
        if not create:
            raise WorkspaceError(f"no workspace at {location.folder}: create it with `labeldesk init`")
        db_path.parent.mkdir(parents=True, exist_ok=True)
        return
    try:
        conn = connect_existing(db_path)
        try:
            contents = sqlite_contents(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise WorkspaceError(f"cannot open {db_path} as a workspace: {exc}") from None
    refuse_unless_ours(contents, location, create)


def upgrade(engine: Engine, location: Location, create: bool = False) -> None:
    """Bring a workspace to the code's schema, or with `create` make one in an empty database.

    A current workspace (the common case) costs two queries and never loads Alembic.
    """
    with engine.connect() as conn:
        contents = read_contents(conn)
    refuse_unless_ours(contents, location, create)
    if contents.is_current:
        return
    from labeldesk.storage import migrate  # Alembic loads only when there is something to migrate

    migrate.upgrade(engine, location, create)


class Workspace:
    """An open workspace: the engine, a session factory and the media/cache folders."""

    def __init__(self, location: Location, engine: Engine):
        self.location = location
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, spec: str | os.PathLike | None, create: bool = False) -> Workspace:
        """Open a workspace, upgrading its schema if it is older than the code.

        Only `create` makes a workspace, and only in a new file or an empty database. Anything
        that is not a workspace is refused before a byte of it (or a folder beside it) is written.
        """
        location = resolve_location(spec)
        if location.is_sqlite:
            _check_sqlite_file(location, create)
        engine = make_engine(location)
        try:
            upgrade(engine, location, create)
        except BaseException:
            engine.dispose()
            raise
        ws = cls(location, engine)
        if location.folder is not None:
            ws.media_root.mkdir(parents=True, exist_ok=True)
            ws.cache_root.mkdir(parents=True, exist_ok=True)
        return ws

    @property
    def media_root(self) -> Path:
        configured = self.setting("media_root")
        if configured:
            return Path(configured)
        if self.location.folder is None:
            raise WorkspaceError("this server workspace has no media_root setting: set it with `labeldesk config media_root PATH`")
        return self.location.folder / "media"

    @property
    def cache_root(self) -> Path:
        """Derived data (peak pyramids): the workspace's own cache/, or the user's cache folder for a server workspace."""
        if self.location.folder is not None:
            return self.location.folder / "cache"
        return platformdirs.user_cache_path("labeldesk")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work, committed as a whole or not at all.

        On SQLite it takes the write lock when it begins: a transaction that reads and
        then writes could otherwise fail to upgrade its lock under concurrent writers.
        """
        with self.engine.connect().execution_options(immediate=True) as conn, Session(bind=conn, expire_on_commit=False) as session:
            with conn.begin():
                yield session
                session.flush()

    def setting(self, key: str) -> object:
        with self.sessions() as session:
            return session.scalar(select(Setting.value).where(Setting.key == key))

    def set_setting(self, key: str, value: object) -> None:
        with self.transaction() as session:
            session.merge(Setting(key=key, value=value))

    def close(self) -> None:
        self.engine.dispose()
