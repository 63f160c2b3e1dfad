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

from agent.index import store
from agent.index.dense import DenseIndex
from agent.index.embedding import load_embedder
from agent.index.fusion import CANDIDATES, fuse_rankings

from agent.index.lexical import LexicalIndex, Tokenizer, glossary_words
from agent.text.normalize import has_cjk, readable
from agent.records import FaqEntry, Passage, SearchHit, Term
from agent.settings import Settings

log = logging.getLogger(__name__)



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
        self._milvus = None
        if settings.vector_store == "milvus":
            from agent.index.milvus_store import MilvusPassageStore

            self._milvus = MilvusPassageStore(settings.milvus_uri, settings.knowledge_dir, settings.milvus_token)

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
        text = readable(" ".join((query, *expansions)))
        weight = self.dense_weight(query) if dense_weight is None else dense_weight
        if self._milvus is not None:
            vector = self._query_vector(text) if weight > 0 else None
            return self._milvus.search(self.tokenizer.tokens(text), vector, k=k, dense_weight=weight,
                                       lexical_weight=lexical_weight)
        lexical = self._lexical.search(self.tokenizer.tokens(text), CANDIDATES) if lexical_weight > 0 else []
        dense = self._dense.search(self._query_vector(text), CANDIDATES) if weight > 0 else []
        fused = fuse_rankings(lexical, dense, lexical_weight, weight)[:k]
        return [SearchHit(self.passages[n], score, lexical_score, dense_score)
                for n, score, lexical_score, dense_score in fused]

    def _query_vector(self, text: str):
        with self._lock:  # one model load even when several questions arrive at once
            embedder = load_embedder(self.settings.embedding_model)
        return embedder.encode([text])[0]
