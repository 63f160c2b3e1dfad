"""What every benchmark report states beside its figures (the machine, the date, the library versions),
latency percentiles, and writing a benchmark's own section of docs/benchmarks.md between its markers."""
from __future__ import annotations

import logging
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from agent.settings import REPO_ROOT

DOCS_FILE = REPO_ROOT / "docs" / "benchmarks.md"
WORK_DIR = REPO_ROOT / "bench" / ".work"  # git-ignored: generated knowledge folders, indexes, caches
DOCS_INTRO = """# Benchmarks

Measured figures for the knowledge assistant, each section written by the script named in it
(`python -m bench quality`, `python -m bench speed`), with the machine,
the date and the library versions it ran with.
"""
LIBRARIES = ("torch", "transformers", "faiss-cpu", "bm25s", "jieba", "qwen-agent", "langchain-community",
             "langchain-text-splitters", "sentence-transformers", "rank-bm25")


def configure_logging(level: int) -> None:
    """Logs to stderr at `level`, filtered at the handler: bm25s sets its own logger to DEBUG on import,
    which a level on its logger set before that import would not survive."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


def machine() -> dict:
    """CPU model, the cores this process may use, and the RAM, read from /proc where it exists."""
    cpu = platform.processor() or platform.machine()
    ram_gb = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gb = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores, "ram_gb": ram_gb}


def versions() -> dict:
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def environment() -> dict:
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": machine(), "versions": versions()}


def environment_markdown(env: dict) -> str:
    m = env["machine"]
    libraries = ", ".join(f"{name} {version}" for name, version in env["versions"].items() if version)
    return (f"Measured {env['date']} on {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, no GPU used.  \n"
            f"Versions: {libraries}.")


def percentiles(values_ms: list[float]) -> dict:
    if not values_ms:
        return {"p50": None, "p95": None}
    values = np.asarray(values_ms, dtype=np.float64)
    return {"p50": round(float(np.percentile(values, 50)), 3), "p95": round(float(np.percentile(values, 95)), 3)}


def write_docs_section(path: Path, name: str, body: str) -> None:
    """Replace what lies between `<!-- name:start -->` and `<!-- name:end -->`, leaving every other
    section alone; the markers are appended when missing, the file is created when absent."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.is_file() else DOCS_INTRO
    if start in text and end in text and text.index(start) < text.index(end):
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def add_local_model_arguments(parser, max_new_tokens: int, docs: bool = True) -> None:
    """The options every benchmark of the real local model takes: the model, how many tokens it may write, the
    work folder, JSON output and, with `docs`, writing its section of docs/benchmarks.md."""
    parser.add_argument("--model", default="gemma-3-270m", help="KB_LLM_LOCAL_PATH (default gemma-3-270m)")
    parser.add_argument("--max-new-tokens", type=int, default=max_new_tokens,
                        help=f"tokens the model may write per answer (default {max_new_tokens})")
    parser.add_argument("--work", default=str(WORK_DIR))
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout, with every question's row")
    if docs:
        parser.add_argument("--write-docs", action="store_true", help="write the section into docs/benchmarks.md")
        parser.add_argument("--docs", default=str(DOCS_FILE))


def markdown_table(header: list[str], rows: list[list]) -> str:
    def cell(value) -> str:
        if value is None:
            return "—"
        if isinstance(value, float):
            return f"{value:.3f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
