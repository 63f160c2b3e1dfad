"""`python -m agent ingest [--watch]|ask|explain|eval|learn|hash-password`: small subcommands over the library. With --json each prints
exactly one JSON object on stdout; logs and progress go to stderr."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from agent.answer import reasons
from agent.surfaces.evaluation import CaseFileError
from agent.index.build import IngestReport, ingest
from agent.settings import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent", description="Enterprise knowledge assistant")
    commands = parser.add_subparsers(dest="command", required=True)
    ingest_command = commands.add_parser("ingest", help="bring the index up to date with the knowledge folder")
    _common_options(ingest_command)
    ingest_command.add_argument("--watch", action="store_true",
                                help="then re-index whenever a knowledge file changes, until stopped: the one indexer "
                                     "whose generations app replicas with KB_INDEX_MODE=follow serve")
    ask = commands.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    _common_options(ask)
    explain = commands.add_parser("explain", help="show each stage of answering one question: understanding, "
                                                  "candidates, decision, answer")
    explain.add_argument("question")
    _common_options(explain)
    evaluate = commands.add_parser("eval", help="score the assistant on a JSONL file of cases")
    evaluate.add_argument("cases", type=Path)
    _common_options(evaluate)
    _common_options(commands.add_parser(
        "learn", help="teach this knowledge base's FAQ decision the question log's labels (是/不是, 👍/👎, "
                      "clicked suggestions) and say how the answers to the logged questions change"))
    commands.add_parser("hash-password", help="print a salted hash of a password for KB_USERS (name:HASH); the "
                                              "password is asked twice, or read as one line from a pipe")
    args = parser.parse_args(argv)
    if args.command == "hash-password":
        return _hash_password()
    logging.basicConfig(level=logging.WARNING if args.json else logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("faiss", "bm25s", "jieba", "sentence_transformers", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = Settings.from_env(args.knowledge, args.index)
        if args.command == "ingest":
            if args.watch:  # each generation is published with its vectors: replicas serve it whole
                return _ingest_and_watch(settings)
            return _ingest(settings, args.json, wait=not args.no_wait)
        if args.command == "ask":
            return _ask(settings, args.question, args.json, wait=not args.no_wait)
        if args.command == "explain":
            return _explain(settings, args.question, args.json, wait=not args.no_wait)
        if args.command == "learn":
            return _learn(settings, args.json, wait=not args.no_wait)
        return _eval(settings, args.cases, args.json, wait=not args.no_wait)
    except (ConfigError, CaseFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1


def _hash_password() -> int:
    """The hash of a password typed twice (or piped in as one line), for `KB_USERS=name:HASH`. A placeholder or a
    password under 12 characters is refused, as app.py would refuse it in plain text."""
    import getpass

    from agent.surfaces.exposure import is_placeholder
    from agent.surfaces.passwords import MIN_PASSWORD_CHARS, hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("error: the two passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD_CHARS or is_placeholder(password):
        print(f"error: a password needs at least {MIN_PASSWORD_CHARS} characters and must not be a placeholder",
              file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


def _common_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--knowledge", help="knowledge folder (default: KB_KNOWLEDGE_DIR or knowledge/)")
    command.add_argument("--index", help="index folder (default: KB_INDEX_DIR or .index/ beside the knowledge)")
    command.add_argument("--json", action="store_true", help="print one JSON object")
    command.add_argument("--no-wait", action="store_true",
                         help="do not wait for vectors still to be embedded: answer from the words alone meanwhile")


def _ingest(settings: Settings, as_json: bool, wait: bool = True) -> int:
    if not settings.knowledge_dir.is_dir():
        print(f"error: knowledge folder {settings.knowledge_dir} does not exist", file=sys.stderr)
        return 2
    report = ingest(settings, show_progress=not as_json, wait_for_vectors=wait)
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(format_ingest_table(report))
    all_failed = report.files and all(f.status == "error" for f in report.files)
    return 1 if all_failed else 0


def _ingest_and_watch(settings: Settings) -> int:
    """The indexer: index now, then again a moment (KB_WATCH_DEBOUNCE_S) after each burst of changes, publishing
    each generation atomically; a failed run is logged and the published generation keeps serving."""
    import threading

    from agent.ingest.watcher import KnowledgeWatcher

    status = _ingest(settings, as_json=False)
    if status == 2:
        return status
    log = logging.getLogger("agent.indexer")

    def reindex() -> None:
        try:
            report = ingest(settings)
            log.info("%s: %s", "published a new generation" if report.changed else "nothing changed", report.totals)
        except Exception:
            log.exception("re-indexing failed; the published generation keeps serving")

    watcher = KnowledgeWatcher(settings.knowledge_dir, reindex, settings.watch_debounce_s).start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
    return 0


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


def _service(settings: Settings, as_json: bool, wait: bool = True):
    from agent.answer.service import KnowledgeService

    if not settings.knowledge_dir.is_dir():
        raise ConfigError(f"knowledge folder {settings.knowledge_dir} does not exist (KB_KNOWLEDGE_DIR / --knowledge)")
    return KnowledgeService(settings, show_progress=not as_json, wait_for_vectors=wait)


def _ask(settings: Settings, question: str, as_json: bool, wait: bool = True) -> int:
    service = _service(settings, as_json, wait)
    answer = service.ask(question)
    if as_json:
        print(json.dumps({
            "answer": answer.text, "lead": answer.lead, "route": answer.route, "reason": answer.reason,
            "reasons": reasons.as_json(answer.reasons), "confidence": answer.confidence,
            "abstained": answer.abstained, "tentative": answer.tentative, "suggestions": answer.suggestions,
            "sources": [{"source": s.source, "location": s.location, "score": s.score} for s in answer.sources],
            "latency_ms": answer.latency_ms, "llm": answer.llm,
        }, ensure_ascii=False))
        return 0
    print(answer.text)
    for suggestion in answer.suggestions:
        print(f"  ? {suggestion}")
    # An abstention's figure is how sure the decision is that the knowledge lacks the answer, not an answer's chance.
    sure = f"sure the knowledge lacks it {answer.confidence:.2f}" if answer.abstained else \
        f"confidence {answer.confidence:.2f}"
    print(f"\n[{answer.route}{', abstained' if answer.abstained else ''}{', tentative' if answer.tentative else ''}] "
          f"{answer.reason} · {sure} · {answer.latency_ms:.0f} ms · LLM: {answer.llm}")
    for number, source in enumerate(answer.sources[:5], 1):
        print(f"  {number}. {source.source} ({source.location})")
    return 0


def _explain(settings: Settings, question: str, as_json: bool, wait: bool = True) -> int:
    from agent.surfaces.explain import explanation, explanation_text

    found = explanation(_service(settings, as_json, wait), question)
    print(json.dumps(found, ensure_ascii=False) if as_json else explanation_text(found))
    return 0


def _learn(settings: Settings, as_json: bool, wait: bool = True) -> int:
    from agent.answer.learning import learn
    from agent.memory.database import MemoryDatabase, MemoryUnavailable
    from agent.memory.question_log import QuestionLog

    service = _service(settings, as_json, wait)
    try:
        rows = QuestionLog(MemoryDatabase.from_settings(settings), settings).rows()
    except MemoryUnavailable as exc:
        print(f"error: the question log cannot be read: {exc}", file=sys.stderr)
        return 1
    report = learn(service.router, rows)
    right = sum(label.right for label in report.labels)
    if as_json:
        print(json.dumps({"logged": len(rows), "labels": len(report.labels), "right": right,
                          "wrong": len(report.labels) - right, "changes": report.changes}, ensure_ascii=False))
        return 0
    print(f"{len(report.labels)} labelled questions in the log of {len(rows)} ({right} confirmed, "
          f"{len(report.labels) - right} rejected), learned beside the index")
    print("answers to the logged questions that change:" if report.changes else "no answer to a logged question changes")
    for change, count in sorted(report.changes.items(), key=lambda item: -item[1]):
        print(f"  {change}: {count}")
    return 0


def _eval(settings: Settings, cases_path: Path, as_json: bool, wait: bool = True) -> int:
    from agent.surfaces.evaluation import evaluate, format_table, load_cases

    if not cases_path.is_file():
        raise ConfigError(f"case file {cases_path} does not exist")
    cases = load_cases(cases_path)
    service = _service(settings, as_json, wait)
    service.warm_up()  # latencies are per question, not counting start-up
    summary = evaluate(service.ask, cases)
    print(json.dumps(summary, ensure_ascii=False) if as_json else format_table(summary))
    return 0
