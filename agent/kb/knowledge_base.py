"""The loaded index: glossary, FAQ and passages, with hybrid passage search.

Heavy parts load on first use: jieba when a lexical query comes, the embedding model when a dense
query comes, so a glossary answer from a cold start never waits for either.
"""
from __future__ import annotations

import json
import logging
import threading
from functools import cached_property
from pathlib import Path

from agent.kb import store
from agent.kb.dense import DenseIndex
from agent.kb.embedding import load_embedder
from agent.kb.ingest import glossary_words
from agent.kb.lexical import LexicalIndex, Tokenizer
from agent.kb.normalize import has_cjk
from agent.records import FaqEntry, Passage, SearchHit, Term
from agent.settings import Settings

log = logging.getLogger(__name__)

RRF_K = 60  # the usual reciprocal-rank-fusion constant
CANDIDATES = 50  # per leg, before fusion


class KnowledgeBase:
    def __init__(self, settings: Settings, generation: Path):
        self.settings = settings
        self.generation = generation
        self.manifest: dict = json.loads((generation / "manifest.json").read_text())
        records = {name: store.read_records(generation / file, kind) for name, (file, kind) in store.RECORD_FILES.items()}
        self.terms: list[Term] = records["terms"]
        self.faq: list[FaqEntry] = records["faq"]
        self.passages: list[Passage] = records["passages"]
        self._lexical = LexicalIndex.load(generation / "lexical") if self.passages else None
        dense_path = generation / "dense.faiss"
        self._dense = DenseIndex.load(dense_path) if dense_path.is_file() else None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, settings: Settings) -> "KnowledgeBase":
        return cls(settings, store.current_generation(settings.index_dir))

    @property
    def updated(self) -> str:
        return self.manifest.get("created", "")

    @property
    def file_reports(self) -> dict[str, dict]:
        return self.manifest.get("files", {})

    @cached_property
    def tokenizer(self) -> Tokenizer:
        return Tokenizer(glossary_words(self.terms))

    def dense_weight(self, query: str) -> float:
        """How much the dense leg counts in fusion. `auto`: off for Chinese text with the default English
        model (it finds the right CMRC2018 article for 8% of questions, against 99% for BM25), half weight
        for other text with it, equal weight with a model chosen through KB_EMBEDDING_MODEL."""
        if self._dense is None or self._dense.size == 0:
            return 0.0
        configured = self.settings.dense_weight
        if configured != "auto":
            return max(0.0, float(configured))
        if self.settings.embedding_model_is_default:
            return 0.0 if has_cjk(query) else 0.5
        return 1.0

    def search(self, query: str, k: int = 5, expansions: tuple[str, ...] = (), dense_weight: float | None = None,
               lexical_weight: float = 1.0) -> list[SearchHit]:
        """Passages for a question, best first: BM25 and dense rankings fused by weighted reciprocal rank.
        `expansions` (glossary names of terms the question mentions) are added to the query text."""
        if not self.passages:
            return []
        text = " ".join((query, *expansions))
        weight = self.dense_weight(query) if dense_weight is None else dense_weight
        lexical = self._lexical.search(self.tokenizer.tokens(text), CANDIDATES) if lexical_weight > 0 else []
        dense = self._dense_search(text, CANDIDATES) if weight > 0 else []
        fused: dict[int, list[float]] = {}
        for rank, (number, score) in enumerate(lexical):
            fused.setdefault(number, [0.0, 0.0, 0.0])
            fused[number][0] += lexical_weight / (RRF_K + rank + 1)
            fused[number][1] = score
        for rank, (number, score) in enumerate(dense):
            fused.setdefault(number, [0.0, 0.0, 0.0])
            fused[number][0] += weight / (RRF_K + rank + 1)
            fused[number][2] = score
        ranked = sorted(fused.items(), key=lambda item: -item[1][0])[:k]
        return [SearchHit(self.passages[n], s[0], s[1], s[2]) for n, s in ranked]

    def _dense_search(self, text: str, k: int) -> list[tuple[int, float]]:
        with self._lock:  # one model load even when several questions arrive at once
            embedder = load_embedder(self.settings.embedding_model)
        return self._dense.search(embedder.encode([text])[0], k)
