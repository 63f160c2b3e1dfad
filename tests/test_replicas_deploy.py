"""deploy/docker-compose.yml as an operator starts it (Docker could not run where it was written, so its shape is
checked here and its roles run as processes in tests/test_replicas_nginx.py): PostgreSQL, exactly one indexer,
two replicas that follow its generations on that database, nginx serving deploy/nginx.conf, and Milvus only as
an option; the settings the replicas get are ones the app accepts."""
from __future__ import annotations

import pytest
import yaml

from agent.memory.database import MemoryDatabase
from agent.settings import REPO_ROOT, Settings
from tests.replica_cluster import nginx_site

pytestmark = pytest.mark.usefixtures("no_kb_env")

DEPLOY = REPO_ROOT / "deploy"


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))["services"]


def test_one_indexer_and_two_replicas_that_follow_it(services):
    app, ingest = services["app"], services["ingest"]
    assert ingest["command"] == ["python", "-m", "agent", "ingest", "--watch"]
    assert "deploy" not in ingest and ingest["environment"].get("KB_INDEX_MODE", "build") == "build"
    assert app["deploy"]["replicas"] == 2 and app["environment"]["KB_INDEX_MODE"] == "follow"
    assert app["command"][:2] == ["python", "app.py"]
    assert app["volumes"] == ingest["volumes"]  # one knowledge folder and one index for all
    assert app["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_every_replica_writes_to_the_one_postgresql_database(services, monkeypatch, tmp_path):
    url = services["app"]["environment"]["KB_DATABASE_URL"]
    assert url == services["ingest"]["environment"]["KB_DATABASE_URL"]
    assert url.startswith("postgresql://kb:${POSTGRES_PASSWORD:?") and url.endswith("@postgres:5432/kb")
    postgres = services["postgres"]["environment"]
    assert (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"]) == ("kb", "kb")

    filled = url.replace(url[url.index("${"):url.index("}") + 1], "a-long-db-password-0123")
    monkeypatch.setenv("KB_DATABASE_URL", filled)  # as compose fills it in from deploy/.env
    monkeypatch.setenv("KB_INDEX_MODE", services["app"]["environment"]["KB_INDEX_MODE"])
    settings = Settings.from_env(tmp_path / "knowledge", tmp_path / "index")
    database = MemoryDatabase.from_settings(settings)
    assert settings.index_mode == "follow" and database.dialect == "postgresql"
    assert database.url.host == "postgres" and "a-long-db-password-0123" not in database.where


def test_the_proxy_serves_the_tested_nginx_conf_and_milvus_is_an_option(services):
    assert "./nginx.conf:/etc/nginx/conf.d/default.conf:ro" in services["proxy"]["volumes"]
    assert "server 127.0.0.1:7001;" in nginx_site(["127.0.0.1:7001", "127.0.0.1:7002"], 8080)
    optional = {name for name, service in services.items() if "milvus" in service.get("profiles", [])}
    assert optional == {"milvus", "etcd", "minio"}
    assert all("profiles" not in services[name] for name in ("postgres", "ingest", "app", "proxy"))
