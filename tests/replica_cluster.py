"""Several app replicas behind nginx, as deploy/ runs them, on this machine: one indexer (`python -m agent ingest
--watch`), N `python app.py` with KB_INDEX_MODE=follow sharing its index folder and one database, and Debian's
nginx as a subprocess serving deploy/nginx.conf (its app servers and port replaced) from a temporary folder. For tests/test_replicas_nginx.py and
bench/replicas.py."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from agent.index import store
from agent.settings import REPO_ROOT
from tests.app_process import AppProcess, free_port, stop_process

ASK_TOKEN = "replica-ask-token-4f1c2e9a"  # may ask and rate
ADMIN_TOKEN = "replica-admin-token-8d3b7a61"  # may also add FAQ entries

DEPLOY_NGINX = REPO_ROOT / "deploy" / "nginx.conf"
NGINX_MAIN = """\
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{site}
}}
"""


def nginx_site(backends: list[str], port: int) -> str:
    """deploy/nginx.conf with each `server app:7860;` standing for `backends` and listening on 127.0.0.1:port."""
    site = DEPLOY_NGINX.read_text(encoding="utf-8")
    if "server app:7860;" not in site or "listen 80;" not in site:
        raise ValueError(f"{DEPLOY_NGINX} no longer names `server app:7860;` and `listen 80;`")
    servers = "\n    ".join(f"server {backend};" for backend in backends)
    return site.replace("server app:7860;", servers).replace("listen 80;", f"listen 127.0.0.1:{port};")


class Nginx:
    """Debian's nginx in the foreground on a free local port, balancing over `backends` (host:port)."""

    def __init__(self, folder: Path, backends: list[str]):
        binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if binary is None:
            raise FileNotFoundError("nginx not found (apt-get install nginx)")
        self.prefix = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        user = "user root;" if os.geteuid() == 0 else ""  # its workers write nothing but its own temp folders
        (folder / "nginx.conf").write_text(NGINX_MAIN.format(prefix=folder, user=user,
                                                             site=nginx_site(backends, self.port)))
        self.process = subprocess.Popen([binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g",
                                         "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: _answers(f"{self.url}/healthz"), 30,
                 lambda: f"nginx did not start: {self.error_log()}")

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process, 10)


class ReplicaCluster:
    """The indexer, `replicas` app processes and nginx in front of them; `url` is nginx's address."""

    def __init__(self, folder: Path, knowledge: Path, database_url: str, replicas: int = 2,
                 debounce_s: float = 0.5):
        self.folder, self.knowledge = folder, knowledge
        self.index = folder / "index"
        self.index.mkdir(parents=True, exist_ok=True)
        self.indexer_log = open(folder / "indexer.log", "w")
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("KB_", "DASHSCOPE_")) and k != "OPENAI_API_KEY"}
        common = {"KB_DATABASE_URL": database_url, "KB_WATCH_DEBOUNCE_S": str(debounce_s),
                  "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        self.indexer = subprocess.Popen(
            [sys.executable, "-m", "agent", "ingest", "--watch", "--knowledge", str(knowledge), "--index",
             str(self.index)], cwd=REPO_ROOT, env={**clean, **common}, stdout=self.indexer_log,
            stderr=subprocess.STDOUT)
        self.replicas: list[AppProcess] = []
        self.nginx: Nginx | None = None
        try:
            wait_for(self.published, 300, lambda: f"the indexer published nothing:\n{self.indexer_text()}")
            for number in range(replicas):
                home = folder / f"replica{number + 1}"
                home.mkdir()
                (home / "index").symlink_to(self.index, target_is_directory=True)  # one index, as on a shared volume
                self.replicas.append(AppProcess(home, knowledge, KB_INDEX_MODE="follow", KB_API_TOKENS=ASK_TOKEN,
                                                KB_ADMIN_TOKENS=ADMIN_TOKEN, **common))
            self.nginx = Nginx(folder / "nginx", [replica.url.removeprefix("http://") for replica in self.replicas])
        except BaseException:
            self.stop()
            raise
        self.url = self.nginx.url

    def published(self) -> str | None:
        """The name of the generation the indexer published last, None before the first."""
        try:
            return store.current_generation(self.index).name
        except store.IndexMissing:
            return None

    def published_manifest(self) -> dict:
        """The published generation's manifest ({} before the first)."""
        try:
            return json.loads((store.current_generation(self.index) / "manifest.json").read_text("utf-8"))
        except (store.IndexMissing, OSError, ValueError):
            return {}

    def published_file(self, relative: str) -> dict:
        """What the published generation recorded of one knowledge file ({} when it holds none)."""
        return self.published_manifest().get("files", {}).get(relative, {})

    def indexer_text(self) -> str:
        return (self.folder / "indexer.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        for replica in self.replicas:
            replica.stop()
        self.indexer.terminate()
        try:
            self.indexer.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.indexer.kill()
        self.indexer_log.close()


def call(url: str, path: str, body: dict | None = None, token: str = ASK_TOKEN, timeout: float = 120) -> tuple[int, dict]:
    """One HTTP request with a bearer token; (status, JSON body)."""
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    request = urllib.request.Request(f"{url}{path}", data=data, method="POST" if body is not None else "GET",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, {"detail": text.decode(errors="replace")[:500]}


def chat(url: str, question: str) -> tuple[int, dict]:
    return call(url, "/v1/chat/completions", {"model": "kb", "messages": [{"role": "user", "content": question}]})


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
        return True
    except OSError:
        return False


def wait_for(condition, seconds: float, why=lambda: ""):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {why()}")
