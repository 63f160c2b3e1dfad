"""How much `python -m bench speed` measures: the full run behind docs/benchmarks.md, or a quick one of
tiny sizes that checks every part still runs."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    glossary_sizes: tuple[int, ...]
    faq_sizes: tuple[int, ...]
    passage_sizes: tuple[int, ...]
    queries: int  # timed questions per size of the term and fact routes
    doc_queries: int  # questions that embed (hybrid search, embedding alone) per passage count, 0: none;
    # the other document measurements use `queries`
    asks: int  # questions through KnowledgeService.ask, per concurrency level
    cold_starts: int
    embedding_sample: int
    lexical_sample: int
    reingest_files: int  # synthetic articles of about 3,000 characters: about 12 passages each
    reingest_repeats: int
    bandwidth_mb: int
    full_path_queries: int  # distinct questions through Router.route and KnowledgeService.ask at each route's
    # largest size, each embedded by the real embedder
    cli_reingest: bool = True  # also time a fresh `python -m agent ingest` process (imports torch: slow)


FULL = Plan(glossary_sizes=(100, 5_000, 50_000), faq_sizes=(100, 2_000, 20_000),
            passage_sizes=(1_000, 10_000, 100_000), queries=300, doc_queries=100, asks=200, cold_starts=3,
            embedding_sample=64, lexical_sample=2_000, reingest_files=840, reingest_repeats=3, bandwidth_mb=1024,
            full_path_queries=200)

QUICK = Plan(glossary_sizes=(100, 500), faq_sizes=(200,), passage_sizes=(500,), queries=20, doc_queries=0, asks=24,
             cold_starts=1, embedding_sample=4, lexical_sample=50, reingest_files=3, reingest_repeats=1,
             bandwidth_mb=64, full_path_queries=8, cli_reingest=False)
