"""The one storage layer for what users write: conversations, the question log with its feedback, the fixes
owners make and so the labels the FAQ decision learns from. SQLAlchemy Core over either database:

- an SQLite file in the data folder, the embedded default: written in WAL mode so readers never wait for a
  writer, every write transaction taking the write lock at once (BEGIN IMMEDIATE) so read-then-write sequences
  of two writers never interleave, with a busy timeout so they queue instead of failing;
- PostgreSQL, chosen with KB_DATABASE_URL=postgresql://user:password@host/db, which several app replicas on
  several hosts share (SQLite's documentation warns against one file written from several hosts).

The schema comes from the versioned SQL files in migrations/<dialect>/ (NNNN_what.sql), applied in order once
per process, on first use, and recorded in the table schema_version; replicas starting together apply them one
at a time. Statements use named parameters (`:name`; a list or tuple value expands for `IN :names`).

A database that cannot be reached or refuses a statement raises MemoryUnavailable, naming the database without
its password and the driver's reason without the statement's parameters; answers go on without it."""
from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import bindparam, create_engine, event, inspect, text
from sqlalchemy.engine import URL, Connection, CursorResult, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

log = logging.getLogger(__name__)

FILE_NAME = "memory.sqlite"
BUSY_TIMEOUT_S = 5.0  # SQLite: how long a writer waits for another's lock
CONNECT_TIMEOUT_S = 5  # PostgreSQL: how long a connection attempt waits for the server
POOL_SIZE, POOL_OVERFLOW = 10, 20  # PostgreSQL connections kept per process, and how many more at a peak
MIGRATIONS = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock's key: replicas starting together apply the migrations one after the other.
MIGRATION_LOCK_KEY = 0x6B62_6D65  # "kbme"
DIALECTS = {"sqlite": "sqlite", "postgresql": "postgresql"}
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_SURROGATE = re.compile("[\ud800-\udfff]")


class MemoryUnavailable(Exception):
    """The database cannot be opened, reached or written (locked for too long, corrupt, no space, the server
    down or refusing); answers go on without it and the status says so."""


def database_url(url: str) -> URL:
    """KB_DATABASE_URL as SQLAlchemy's URL: postgresql:// (or postgres://) uses psycopg 3, sqlite:///FILE an SQLite
    file. ValueError, with the scheme alone, for anything else or a malformed address."""
    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        raise ValueError("is not a database address such as postgresql://user:password@host:5432/kb") from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if parsed.get_driver_name() not in ("psycopg", "postgresql", "postgres", ""):
            raise ValueError(f"uses the driver {parsed.get_driver_name()!r}; leave it out (psycopg 3 is used)")
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and parsed.database:
        return parsed.set(drivername="sqlite")
    raise ValueError(f"names {backend!r}: use postgresql://user:password@host:5432/kb or sqlite:///path/to/file")


class SchemaTooNew(MemoryUnavailable):
    """The database was migrated by a newer version of the app than this one."""


class MemoryDatabase:
    """The database, opened on first use. `MemoryDatabase(data_dir)` is the SQLite file in the data folder;
    `MemoryDatabase(data_dir, url)` (or `from_settings`) the database KB_DATABASE_URL names."""

    def __init__(self, data_dir: Path | None = None, url: str = ""):
        if url:
            self.url = database_url(url)
        else:
            if data_dir is None:
                raise ValueError("MemoryDatabase needs a data folder or a database URL")
            self.url = URL.create("sqlite", database=str(Path(data_dir) / FILE_NAME))
        self.dialect = DIALECTS[self.url.get_backend_name()]
        # The SQLite file (None for a server): tests and the backup instructions read it.
        self.path: Path | None = Path(self.url.database) if self.dialect == "sqlite" else None
        self.where = str(self.path) if self.path else self.url.render_as_string(hide_password=True)
        self._busy_timeout_s = BUSY_TIMEOUT_S
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._migrated = False

    @classmethod
    def from_settings(cls, settings) -> "MemoryDatabase":
        """KB_DATABASE_URL's database, else the SQLite file in the data folder (KB_DATA_DIR)."""
        return cls(settings.data_dir, settings.database_url)

    # ---- statements -------------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator["Statements"]:
        """One write transaction, committed when the block ends and rolled back when it raises; a database
        failure in it becomes MemoryUnavailable (anything else the block raises goes through unchanged)."""
        self.migrate()
        with self._failures():
            with self._connect(write=True) as connection, connection.begin():
                yield Statements(connection, self.dialect)

    def read(self, sql: str, parameters: dict | None = None) -> list[dict[str, Any]]:
        """The rows a query returns, each as a dict by column name."""
        self.migrate()
        with self._failures(), self._connect(write=False) as connection:
            return [dict(row._mapping) for row in Statements(connection, self.dialect).execute(sql, parameters)]

    def migrate(self) -> list[str]:
        """Applies the migrations this database lacks, once per process; returns the names applied now."""
        if self._migrated:
            return []
        with self._lock:
            if self._migrated:
                return []
            with self._failures():
                with self._connect(write=False) as connection:  # up to date: nothing written (a read-only
                    missing = missing_migrations(connection, self.dialect)  # server serves as before)
                applied = []
                if missing:
                    with self._connect(write=True) as connection, connection.begin():
                        applied = apply_migrations(Statements(connection, self.dialect), self.dialect)
            self._migrated = True
        if applied:
            log.info("database %s: applied %s", self.where, ", ".join(applied))
        return applied

    def schema_versions(self) -> list[int]:
        """The migrations recorded in schema_version, in order."""
        return [row["version"] for row in self.read("SELECT version FROM schema_version ORDER BY version")]

    def close(self) -> None:
        """Closes the pooled connections (a later statement opens new ones)."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    # ---- connections ------------------------------------------------------------------------------------

    def _connect(self, write: bool) -> Connection:
        connection = self._get_engine().connect()
        return connection.execution_options(kb_write=write) if self.dialect == "sqlite" else connection

    def _get_engine(self) -> Engine:
        engine = self._engine
        if engine is not None:
            return engine
        if self.dialect == "sqlite":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(self.url, connect_args={"timeout": self._busy_timeout_s}, hide_parameters=True)
            event.listen(engine, "connect", _sqlite_connected)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(self.url, connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
                                   pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW,
                                   pool_timeout=CONNECT_TIMEOUT_S, hide_parameters=True)
        self._engine = engine
        return engine

    @contextmanager
    def _failures(self) -> Iterator[None]:
        try:
            yield
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            raise MemoryUnavailable(f"{self.where}: {_reason(exc)}") from exc


class Statements:
    """Runs statements on one connection: `execute(sql, {"name": value})`, with `:name` placeholders."""

    def __init__(self, connection: Connection, dialect: str):
        self._connection = connection
        self.dialect = dialect

    def execute(self, sql: str, parameters: dict | None = None) -> CursorResult:
        statement = text(sql)
        values = {name: _storable(value) for name, value in (parameters or {}).items()}
        expanding = [name for name, value in values.items() if isinstance(value, (list, tuple))]
        if expanding:
            statement = statement.bindparams(*(bindparam(name, expanding=True) for name in expanding))
        return self._connection.execute(statement, values)


def apply_migrations(statements: Statements, dialect: str) -> list[str]:
    """Runs, in one transaction, each migrations/<dialect>/NNNN_*.sql not yet in schema_version."""
    if dialect == "postgresql":
        statements.execute("SELECT pg_advisory_xact_lock(:key)", {"key": MIGRATION_LOCK_KEY})
    statements.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                       "applied_at DOUBLE PRECISION NOT NULL)")
    done = {row[0] for row in statements.execute("SELECT version FROM schema_version")}
    files = migration_files(dialect)
    _refuse_newer(done, [version for version, _ in files])
    applied = []
    for version, path in files:
        if version in done:
            continue
        for sql in split_statements(path.read_text(encoding="utf-8")):
            statements.execute(sql)
        statements.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (:version, :name, :now)",
                           {"version": version, "name": path.stem, "now": time.time()})
        applied.append(path.stem)
    return applied


def missing_migrations(connection: Connection, dialect: str) -> list[int]:
    """The migrations this database lacks, read without writing (all of them before the first);
    SchemaTooNew when it holds one this version does not know."""
    files = [version for version, _ in migration_files(dialect)]
    if not inspect(connection).has_table("schema_version"):
        return files
    done = {row[0] for row in connection.execute(text("SELECT version FROM schema_version"))}
    _refuse_newer(done, files)
    return [version for version in files if version not in done]


def _refuse_newer(done: set[int], known: list[int]) -> None:
    newer = sorted(done - set(known))
    if newer:
        raise SchemaTooNew(f"the database holds migration {newer[-1]}, which this version does not know: it was "
                           "upgraded by a newer version (run that one, or restore the backup taken before)")


def migration_files(dialect: str) -> list[tuple[int, Path]]:
    files = []
    for path in sorted((MIGRATIONS / dialect).glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise RuntimeError(f"{path}: a migration is named NNNN_what.sql")
        files.append((int(match.group(1)), path))
    return files


def split_statements(sql: str) -> list[str]:
    """A migration file's statements: `--` comments dropped, split at each `;` that ends a line."""
    lines = [line.split("--", 1)[0].rstrip() for line in sql.splitlines()]
    statements, current = [], []
    for line in lines:
        current.append(line)
        if line.endswith(";"):
            statements.append("\n".join(current).strip().rstrip(";"))
            current = []
    if "".join(current).strip():
        statements.append("\n".join(current).strip())
    return [s for s in statements if s]


def _storable(value):
    """Text either database can hold: PostgreSQL refuses NUL characters and neither driver encodes a lone
    surrogate, so both become U+FFFD (the rest of the text is kept)."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "\ufffd")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = _SURROGATE.sub("\ufffd", value)
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_storable(item) for item in value)
    return value


def _reason(exc: BaseException) -> str:
    """The driver's own message, first line, without SQLAlchemy's statement and parameters."""
    original = getattr(exc, "orig", None) or exc
    message = str(original).strip().splitlines()
    return message[0] if message else type(original).__name__


def _sqlite_connected(connection: sqlite3.Connection, _record) -> None:
    connection.isolation_level = None  # transactions are begun by _sqlite_begin, not by the driver
    _use_wal(connection)
    connection.execute("PRAGMA foreign_keys=ON")


def _use_wal(connection: sqlite3.Connection) -> None:
    """Switch the file to write-ahead logging (kept in the file, so only its first connection switches). The
    switch can fail with "database is locked" at once, without the busy timeout, while another connection is
    opening the same new file (replicas starting together, tests/test_storage.py): retried until the timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _sqlite_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get("kb_write", True)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
