"""`python -m bench startup`: how long a fresh `python app.py` takes on a knowledge folder (the sample one by
default) until it serves (/healthz answers) and until every vector is in (/v1/knowledge/status: vectors done
== total), with a fresh KB_INDEX_DIR and KB_DATA_DIR; then how long a restart on that up-to-date index takes
to serve. Each start also asks one question over the API, to show that serving means answering.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from agent.settings import REPO_ROOT
from bench import report
from bench.measure import load_average
from bench.quality import SAMPLE_KNOWLEDGE

log = logging.getLogger(__name__)

TARGETS_S = {"serving": 15.0, "vectors": 90.0, "restart": 10.0}
QUESTION = "AM是什么意思"
POLL_S = 0.25


class App:
    """`python app.py` in a subprocess on a free local port, with only the settings given (no KB_* variable
    or LLM key from the calling shell), its output in `log_path`."""

    def __init__(self, knowledge: Path, index: Path, data: Path, log_path: Path):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("KB_", "DASHSCOPE_")) and k != "OPENAI_API_KEY"}
        env = {**clean, "KB_KNOWLEDGE_DIR": str(knowledge), "KB_INDEX_DIR": str(index), "KB_DATA_DIR": str(data),
               "KB_PORT": str(port)}
        self._log = open(log_path, "a")
        self.started = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, str(REPO_ROOT / "app.py")], env=env, cwd=REPO_ROOT,
                                        stdout=self._log, stderr=subprocess.STDOUT)

    def elapsed(self) -> float:
        return round(time.perf_counter() - self.started, 2)

    def get(self, path: str) -> dict | None:
        """The JSON an endpoint answers, or None while nothing answers."""
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as response:
                return json.loads(response.read())
        except (OSError, ValueError):
            return None

    def ask(self, question: str) -> dict:
        body = json.dumps({"model": "kb", "messages": [{"role": "user", "content": question}]}).encode()
        request = urllib.request.Request(f"{self.url}/v1/chat/completions", data=body,
                                         headers={"Content-Type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            reply = json.loads(response.read())
        return {"route": reply.get("kb", {}).get("route"), "seconds": round(time.perf_counter() - started, 3)}

    def wait(self, ready, timeout_s: float) -> float:
        """Seconds from the start until `ready()` is true; raises when the app exits or time runs out."""
        deadline = self.started + timeout_s
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.process.returncode}; see {self.log_path}")
            if ready():
                return self.elapsed()
            time.sleep(POLL_S)
        raise TimeoutError(f"app.py was not ready within {timeout_s:g} s; see {self.log_path}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def vectors_done(app: App) -> bool:
    status = app.get("/v1/knowledge/status")
    vectors = (status or {}).get("vectors") or {}
    return bool(vectors) and vectors.get("done") == vectors.get("total")


def one_start(knowledge: Path, index: Path, data: Path, log_path: Path, timeout_s: float) -> dict:
    """Serving time, the first answer over the API, and the time until every vector is in."""
    app = App(knowledge, index, data, log_path)
    try:
        serving = app.wait(lambda: app.get("/healthz") is not None, timeout_s)
        answer = app.ask(QUESTION)
        vectors = app.wait(lambda: vectors_done(app), timeout_s)
        status = app.get("/v1/knowledge/status") or {}
    finally:
        app.stop()
    return {"serving_s": serving, "first_answer": answer, "vectors_s": vectors,
            "vectors": status.get("vectors"), "passages": status.get("passages"), "terms": status.get("terms"),
            "faq": status.get("faq"), "load_average": load_average()}


def run(knowledge: Path, work: Path, timeout_s: float) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work, prefix="startup-") as folder:
        index, data, log_path = Path(folder) / "index", Path(folder) / "data", Path(folder) / "app.log"
        load_before = load_average()
        try:
            fresh = one_start(knowledge, index, data, log_path, timeout_s)
            restart = one_start(knowledge, index, data, log_path, timeout_s)
        except (RuntimeError, TimeoutError):
            sys.stderr.write(log_path.read_text(errors="replace")[-3000:])
            raise
    result = {"environment": report.environment(), "knowledge": str(knowledge), "load_before": load_before,
              "fresh": fresh, "restart": restart}
    measured = {"serving": fresh["serving_s"], "vectors": fresh["vectors_s"], "restart": restart["serving_s"]}
    result["targets"] = [{"target": name, "limit_s": limit, "measured_s": measured[name],
                          "met": measured[name] <= limit} for name, limit in TARGETS_S.items()]
    return result


def markdown(result: dict) -> str:
    fresh, restart = result["fresh"], result["restart"]
    labels = {"serving": "fresh start, serving (/healthz answers)",
              "vectors": "fresh start, every vector in (status: vectors done == total)",
              "restart": "restart with the index up to date, serving"}
    try:
        knowledge = Path(result["knowledge"]).resolve().relative_to(REPO_ROOT)
    except ValueError:
        knowledge = Path(result["knowledge"])
    rows = [[labels[t["target"]], f"≤ {t['limit_s']:g} s", t["measured_s"], "yes" if t["met"] else "**no**"]
            for t in result["targets"]]
    return "\n".join([
        "## Start-up (`python -m bench startup`)",
        "",
        report.environment_markdown(result["environment"]),
        f"Load average (1, 5, 15 min) before: {result['load_before']}; after the fresh start: "
        f"{fresh['load_average']}; after the restart: {restart['load_average']}.",
        "",
        f"`python app.py` on `{knowledge}/` ({fresh['terms']} terms, {fresh['faq']} FAQ entries, "
        f"{fresh['passages']} passages) in a subprocess with a fresh KB_INDEX_DIR and KB_DATA_DIR, polled every "
        f"{POLL_S:g} s; then started again on the same folders. {fresh['vectors']['total']} texts are embedded on the "
        "fresh start, in the background while the app already answers.",
        "",
        report.markdown_table(["what", "target", "seconds", "met"], rows),
        "",
        f"First answer over the API after serving (`{QUESTION}`): {fresh['first_answer']['seconds']} s on the fresh "
        f"start (route `{fresh['first_answer']['route']}`), {restart['first_answer']['seconds']} s after the restart. "
        f"After the restart every vector was in at {restart['vectors_s']} s.",
    ])


def main(args) -> int:
    result = run(Path(args.knowledge or SAMPLE_KNOWLEDGE), Path(args.work), args.timeout)
    if args.write_docs:
        report.write_docs_section(Path(args.docs), "startup", markdown(result))
    print(json.dumps(result, ensure_ascii=False) if args.json else markdown(result))
    return 0
