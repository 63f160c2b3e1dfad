"""`python -m bench [quality|speed|lead|startup]`: this project measured beside the alternatives; with no command, what each
one measures. With --json each prints exactly one JSON object on stdout; logs and progress bars go to stderr."""
from __future__ import annotations

import argparse
import logging

from bench import report

MEASURES = {
    "quality": ["document search on CMRC2018 (hit@1, hit@5, MRR) beside Qwen-Agent's keyword search and the "
                "LangChain recipe", "route and answer accuracy on the case sets in bench/cases",
                "--store milvus: the same with passages in Milvus Lite"],
    "speed": ["term and fact route latency as the glossary and the FAQ grow (synthetic, seeded)",
              "document search latency as the passages grow, each leg beside rank_bm25, numpy and its floor",
              "memory, index size on disk and load time per size", "ingest, embedding and re-ingest rates",
              "throughput with concurrent askers, and the cold start of `python -m agent ask`",
              "the machine's memory bandwidth and matrix-product rate, which bound the figures above"],
    "lead": ["how often a document answer's lead (the sentences shown first without an LLM) holds the CMRC2018 "
             "dev gold answer, beside the first sentence of the best passage",
             "--sweep: the lead's weights varied one at a time on the CMRC2018 trial set"],
    "startup": ["a fresh `python app.py` on the sample knowledge: until it serves and until every vector is in",
                "a restart on the up-to-date index: until it serves"],
}


SCRIPTS = {  # measured by modules of their own: python -m bench.NAME --help
    "heldout": "the test set written before the work, per knowledge and kind; --reliability: confidence per route",
    "calibrate": "fit the FAQ, tool and document models on tune (--only term: the glossary bands); --measure: confidence against accuracy",
    "guard": "the real local model on CMRC2018 questions: what the grounding guard keeps, first-text latency",
    "tool_calls": "the real local model calling the right tool with valid arguments through Qwen-Agent",
    "verifier_speed": "the question-pair verifier's time per question",
    "replicas": "chat p50/p95 through nginx with 1 and 2 replicas on PostgreSQL",
    "first_token": "time to a generated answer's first token and text: passage excerpts vs whole passages, with and without the kept prompt prefix",
}


def measures() -> str:
    lines = ["python -m bench COMMAND [--json] [--write-docs]  (speed --quick: tiny sizes, to check it runs)", ""]
    for command, items in MEASURES.items():
        lines += [f"{command}:", *(f"  - {item}" for item in items)]
    lines += ["", "python -m bench.NAME [--help]:", *(f"  {name}: {what}" for name, what in SCRIPTS.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    quality = commands.add_parser("quality", help="retrieval quality on CMRC2018 and routing quality on bench/cases")
    quality.add_argument("--limit", type=int, help="only the first N CMRC2018 articles (and their questions)")
    quality.add_argument("--no-end-to-end", action="store_true",
                         help="skip scoring the CMRC2018 questions through KnowledgeService.ask")
    quality.add_argument("--retrieval-only", action="store_true",
                         help="CMRC2018 document search and the dense-weight sweep only: no diagnostics, "
                              "end-to-end or routing")
    quality.add_argument("--store", choices=("faiss", "milvus"), default="faiss",
                         help="where passages live: FAISS (default, with every alternative) or Milvus Lite "
                              "(this project's rows only)")
    speed = commands.add_parser("speed", help="latency, throughput, memory, cold start and ingest speed")
    speed.add_argument("--quick", action="store_true", help="tiny sizes, seconds instead of minutes")
    lead = commands.add_parser("lead", help="how often the lead of a document answer holds the gold answer")
    lead.add_argument("--questions", type=int, help="a seeded sample of N dev questions (default: all)")
    lead.add_argument("--sweep", action="store_true", help="also vary the weights on the CMRC2018 trial set")
    lead.add_argument("--trial-questions", type=int, help="a seeded sample of N trial questions for --sweep")
    startup = commands.add_parser("startup", help="start-up and restart times of python app.py")
    startup.add_argument("--knowledge", help="knowledge folder (default knowledge/)")
    startup.add_argument("--timeout", type=float, default=600.0, help="seconds a start may take before it fails")
    for command in (quality, speed, lead, startup):
        command.add_argument("--json", action="store_true", help="print one JSON object")
        command.add_argument("--write-docs", action="store_true", help="write the results into the docs file")
        command.add_argument("--docs", default=str(report.DOCS_FILE), help="docs file (default docs/benchmarks.md)")
        command.add_argument("--work", default=str(report.WORK_DIR),
                             help="work folder for generated knowledge, indexes and caches (default bench/.work)")
    args = parser.parse_args(argv)
    if args.command is None:
        print(measures())
        return 0
    report.configure_logging(logging.WARNING if args.json else logging.INFO)
    for noisy in ("faiss", "jieba", "sentence_transformers", "httpx", "urllib3", "agent.index.build"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "quality":
        from bench import quality

        return quality.main(args)
    if args.command == "lead":
        from bench import lead

        return lead.main(args)
    if args.command == "startup":
        from bench import startup

        return startup.main(args)
    from bench import speed

    return speed.main(args)


if __name__ == "__main__":
    raise SystemExit(main())
