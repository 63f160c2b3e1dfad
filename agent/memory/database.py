"""One SQLite file for conversations and the question log: opened per thread, written in WAL mode so
readers never wait for a writer, with a busy timeout so two writers queue instead of failing."""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

FILE_NAME = "memory.sqlite"
BUSY_TIMEOUT_S = 5.0


class MemoryUnavailable(Exception):
    """The database cannot be opened or written (locked for too long, corrupt, no space); answers go on
    without it and the status says so."""


class MemoryDatabase:
    """The data folder's SQLite file. Each module creates its own tables with `ensure_schema`."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / FILE_NAME
        self._local = threading.local()
        self._schema_lock = threading.Lock()
        self._schemas: set[str] = set()

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
                connection.row_factory = sqlite3.Row
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA foreign_keys=ON")
            except (sqlite3.Error, OSError) as exc:
                raise MemoryUnavailable(f"{self.path}: {exc}") from exc
            self._local.connection = connection
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE: it takes the write lock at once, so read-then-write
        sequences of two writers never interleave); any SQLite failure becomes MemoryUnavailable."""
        connection = self._connection()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            raise MemoryUnavailable(f"{self.path}: {exc}") from exc

    def read(self, sql: str, parameters: tuple | dict = ()) -> list[sqlite3.Row]:
        try:
            return self._connection().execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            raise MemoryUnavailable(f"{self.path}: {exc}") from exc

    def ensure_schema(self, name: str, statements: str) -> None:
        """Create a module's tables once per process (`CREATE TABLE IF NOT EXISTS ...` statements)."""
        with self._schema_lock:
            if name in self._schemas:
                return
            try:
                self._connection().executescript(statements)
            except sqlite3.Error as exc:
                raise MemoryUnavailable(f"{self.path}: {exc}") from exc
            self._schemas.add(name)
