"""`python -m agent ingest|ask|eval`: small subcommands over the library. With --json each prints exactly
one JSON object on stdout; logs and progress go to stderr."""
from __future__ import annotations

import argparse
import json
import logging
import sys

from agent.kb.ingest import IngestReport, ingest
from agent.settings import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent", description="Enterprise knowledge assistant")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("ingest", "bring the index up to date with the knowledge folder"),):
        command = commands.add_parser(name, help=help_text)
        _common_options(command)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.json else logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("faiss", "bm25s", "jieba", "sentence_transformers", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = Settings.from_env(args.knowledge, args.index)
        if args.command == "ingest":
            return _ingest(settings, args.json)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1


def _common_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--knowledge", help="knowledge folder (default: KB_KNOWLEDGE_DIR or knowledge/)")
    command.add_argument("--index", help="index folder (default: KB_INDEX_DIR or .index/ beside the knowledge)")
    command.add_argument("--json", action="store_true", help="print one JSON object")


def _ingest(settings: Settings, as_json: bool) -> int:
    if not settings.knowledge_dir.is_dir():
        print(f"error: knowledge folder {settings.knowledge_dir} does not exist", file=sys.stderr)
        return 2
    report = ingest(settings, show_progress=not as_json)
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(format_ingest_table(report))
    all_failed = report.files and all(f.status == "error" for f in report.files)
    return 1 if all_failed else 0


def format_ingest_table(report: IngestReport) -> str:
    lines = [f"{'status':7} {'kind':8} {'terms':>6} {'faq':>5} {'chunks':>6}  file"]
    for f in report.files:
        lines.append(f"{f.status:7} {f.kind:8} {f.terms:6} {f.faq:5} {f.chunks:6}  {f.path}")
        lines.extend(f"{'':30}  ! {w}" for w in f.warnings)
        if f.error:
            lines.append(f"{'':30}  error: {f.error}")
    totals = report.totals
    state = "index updated" if report.changed else "index already up to date"
    lines.append(f"{state}: {totals['terms']} terms, {totals['faq']} FAQ entries, {totals['chunks']} passages")
    return "\n".join(lines)
