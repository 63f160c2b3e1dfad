"""The two databases the storage tests run on: the SQLite file in a test's data folder, and PostgreSQL.

PostgreSQL is KB_TEST_POSTGRES_URL's server when that is set (an admin's URL: each test gets a schema of its
own there), else a throwaway cluster this module starts once per test run with the installed initdb and pg_ctl
(Debian's postgresql package), in a temporary folder, listening on 127.0.0.1 only, stopped when the run ends.
PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user the package creates.

Where no server can be had the PostgreSQL cases are skipped with the reason, except with
KB_TEST_POSTGRES_REQUIRED=1 (CI sets it): then they fail, so CI never passes on SQLite alone."""
from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

# Read at import, before any test clears the KB_* variables (conftest's no_kb_env).
REQUIRED = os.environ.get("KB_TEST_POSTGRES_REQUIRED", "").strip() == "1"
EXTERNAL_URL = os.environ.get("KB_TEST_POSTGRES_URL", "").strip()
BACKENDS = ("sqlite", "postgresql")
SUPERUSER = "kb"


class PostgresServer:
    """A running server: `url` (its `postgres` database as superuser), and for a throwaway cluster stop()/start()."""

    def __init__(self, url: str, data: Path | None = None, port: int = 0, owner: str | None = None):
        self.url, self.data, self.port, self.owner = url, data, port, owner

    @property
    def stoppable(self) -> bool:
        return self.data is not None

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast")

    def start(self) -> None:
        self._pg_ctl("start", "-l", str(self.data.parent / "server.log"), "-o", _server_options(self.port,
                                                                                             self.data.parent))

    def _pg_ctl(self, *arguments: str) -> None:
        _run(self.owner, [_binary("pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *arguments])

    def new_schema_url(self) -> tuple[str, str]:
        """A fresh, empty schema and a URL whose connections see only it."""
        schema = f"test_{uuid.uuid4().hex[:12]}"
        _admin(self.url, f"CREATE SCHEMA {schema}")
        return f"{self.url}?options=-csearch_path%3D{schema}", schema

    def drop_schema(self, schema: str) -> None:
        _admin(self.url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


_server: PostgresServer | None = None
_reason = ""
_lock = threading.Lock()


def postgres_server() -> PostgresServer:
    """The run's server, started at the first call; skips (or fails, where required) when none can be had."""
    global _server, _reason
    with _lock:
        if _server is None and not _reason:
            try:
                _server = PostgresServer(EXTERNAL_URL) if EXTERNAL_URL else _start_throwaway()
            except Exception as exc:  # no initdb, no postgres user, a server that will not start
                _reason = f"no PostgreSQL server for the storage tests: {exc}"
    if _server is None:
        if REQUIRED:
            pytest.fail(f"{_reason} (KB_TEST_POSTGRES_REQUIRED=1)", pytrace=False)
        pytest.skip(_reason)
    return _server


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """"" for the SQLite file in the test's data folder, or a PostgreSQL URL to an empty schema of its own."""
    if request.param == "sqlite":
        yield ""
        return
    server = postgres_server()
    url, schema = server.new_schema_url()
    yield url
    try:
        server.drop_schema(schema)
    except Exception:  # a test that stopped the server has restarted it; a schema left behind harms nothing
        pass


def _start_throwaway() -> PostgresServer:
    initdb = _binary("initdb")
    owner = None
    root = Path(tempfile.mkdtemp(prefix="kb-postgres-"))
    if os.geteuid() == 0:  # "root" execution of the PostgreSQL server is not permitted
        owner = "postgres"
        pwd.getpwnam(owner)  # KeyError when the package that creates the user is not installed
        os.chmod(root, 0o755)
        shutil.chown(root, owner)
    atexit.register(shutil.rmtree, root, True)
    data = root / "data"
    _run(owner, [initdb, "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"])
    port = _free_port()
    server = PostgresServer(f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres", data, port, owner)
    server.start()
    atexit.register(_stop_quietly, server)
    return server


def _server_options(port: int, socket_dir: Path) -> str:
    # Durability is not what these tests check: no fsync keeps them quick on a shared machine.
    return (f"-p {port} -c listen_addresses=127.0.0.1 -k {socket_dir} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=300")


def _stop_quietly(server: PostgresServer) -> None:
    try:
        server.stop()
    except Exception:
        pass


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)),
                                       None)
    if not found:
        raise FileNotFoundError(f"{name} not found (apt-get install postgresql)")
    return found


def _run(owner: str | None, command: list[str]) -> None:
    if owner:
        command = ["runuser", "-u", owner, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/")
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])}… exited {done.returncode}: {done.stderr.strip()[-500:]}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
        connection.execute(sql)
