"""The real `python app.py` in a subprocess, for the tests that talk to it over HTTP (test_api) or drive it in
a browser (test_app_browser): both need it started on a free port, waited for, and stopped the same way."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from agent.settings import REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppProcess:
    """`python app.py --knowledge KNOWLEDGE --index FOLDER/index` on a free local port, its log in FOLDER/app.log.

    Settings come from `env` alone: no KB_* variable or LLM key from the shell that runs pytest reaches it.
    Returns once /healthz answers; the API is mounted after the web app, so by then both are served."""

    def __init__(self, folder: Path, knowledge: Path, **env: str):
        self.knowledge, self.index = knowledge, folder / "index"
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log_path = folder / "app.log"
        self.log = open(self.log_path, "w")
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("KB_", "DASHSCOPE_")) and k != "OPENAI_API_KEY"}
        self.process = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "app.py"), "--knowledge", str(self.knowledge), "--index",
             str(self.index), "--port", self.url.rsplit(":", 1)[1]],
            env={**clean, **env}, stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        self._wait_until_healthy()

    def _wait_until_healthy(self, seconds: float = 240) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=2)
                return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"app.py did not answer /healthz within {seconds}s:\n{self.log_text()}")

    def client(self, token: str = "no-token"):
        """An `openai` client on the app's HTTP API."""
        import openai

        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=token, max_retries=0, timeout=60)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        stop_process(self.process, 20)
        self.log.close()


def stop_process(process: subprocess.Popen, timeout_s: float) -> None:
    """Ask a child process to end, and kill it if it has not within `timeout_s`."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
