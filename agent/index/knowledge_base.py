"""The loaded index: glossary, FAQ and passages, with hybrid passage search.

Heavy parts load on first use: jieba when a lexical query comes, the embedder when a vector is first
asked for, so a glossary answer from a cold start never waits for either. Stored vectors are used only
with the embedder that made them; a failing embedder turns the vectors off, never the answers.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from functools import cached_property
from pathlib import Path

import numpy as np

from agent.index import store
from agent.index.dense import DenseIndex
from agent.index.embedders import Embedder, create_embedder
from agent.index.fusion import CANDIDATES, fuse_rankings
from agent.index.lexical import LexicalIndex, Tokenizer, glossary_words
from agent.index.vectors import FAQ_FILE, PASSAGES_FILE, TERMS_FILE, faq_question_rows, read_vectors
from agent.text.normalize import readable
from agent.records import FaqEntry, Passage, SearchHit, Term
from agent.settings import Settings

log = logging.getLogger(__name__)

AUTO_DENSE_WEIGHT = 1.0  # KB_DENSE_WEIGHT=auto: the best MRR on CMRC2018 trial (docs/benchmarks.md)
RETRY_EMBEDDER_AFTER_S = 30.0  # a failed embedder is not asked again for this long: questions must not wait on it
QUERY_VECTORS_KEPT = 256  # recent question vectors, for the several lookups one question makes


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
        dense_path = generation / PASSAGES_FILE
        self._dense = DenseIndex.load(dense_path) if dense_path.is_file() else None
        self._faq_vectors = read_vectors(generation, FAQ_FILE)
        self._term_vectors = read_vectors(generation, TERMS_FILE)
        self.faq_vector_owners: list[int] = faq_question_rows(self.faq)[1]
        self.embedder_error: str | None = None  # why vectors are off, for the status; None when they work
        self._embedder: Embedder | None = None
        self._embedder_failed_at = float("-inf")
        self._query_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
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

    @property
    def vectors_complete(self) -> bool:
        """Whether this generation holds every vector it needs (see agent/index/build.PendingVectors)."""
        return bool(self.manifest.get("vectors", {}).get("complete"))

    @property
    def faq_vectors(self) -> np.ndarray | None:
        """One unit row per FAQ question and similar question (owners in faq_vector_owners), embedded as
        questions; None while not computed or when no embedder works."""
        return self._faq_vectors if self._faq_vectors is not None and self._vectors_usable() else None

    @property
    def term_vectors(self) -> np.ndarray | None:
        """One unit row per glossary term (its names joined), embedded as passages; None as faq_vectors."""
        return self._term_vectors if self._term_vectors is not None and self._vectors_usable() else None

    @property
    def embedder_name(self) -> str | None:
        """The working embedder's name, None while none works: classifiers and calibrations fitted on one
        embedder's vectors are kept under it."""
        embedder = self._working_embedder()
        return embedder.name if embedder is not None else None

    def query_vectors(self, texts: list[str]) -> np.ndarray | None:
        """Many questions at once (query side), e.g. to fit a classifier; None when no embedder works."""
        embedder = self._working_embedder()
        return embedder.encode_queries(texts) if embedder is not None else None

    def passage_vectors(self, texts: list[str]) -> np.ndarray | None:
        """Many texts at once (passage side); None when no embedder works."""
        embedder = self._working_embedder()
        return embedder.encode_passages(texts) if embedder is not None else None

    @cached_property
    def faq_answer_vectors(self) -> np.ndarray | None:
        """Per FAQ entry, the vector of its searchable passage (questions and answer, passage side), so a
        question can be compared with what the entry answers; None without passage vectors."""
        if self._dense is None or not self._vectors_usable():
            return None
        row_of = {(p.source, p.location): n for n, p in enumerate(self.passages)}
        rows = [row_of.get((e.source, e.location)) for e in self.faq]
        if any(row is None for row in rows) or self._dense.size != len(self.passages):
            return None
        return self._dense.vectors(rows)

    def query_vector(self, text: str) -> np.ndarray | None:
        """The question's unit vector (query side), or None when no embedder works; safe from any thread."""
        with self._lock:
            cached = self._query_vectors.get(text)
            if cached is not None:
                self._query_vectors.move_to_end(text)
                return cached
        embedder = self._working_embedder()
        if embedder is None:
            return None
        try:
            vector = embedder.encode_queries([text])[0]
        except Exception as exc:  # an endpoint gone down: answer lexically, say why in the status
            self._embedder_failed(f"{type(exc).__name__}: {exc}")
            return None
        with self._lock:
            self.embedder_error = None
            self._query_vectors[text] = vector
            if len(self._query_vectors) > QUERY_VECTORS_KEPT:
                self._query_vectors.popitem(last=False)
        return vector

    def dense_weight(self, query: str) -> float:
        """How much the dense leg counts in fusion: KB_DENSE_WEIGHT, or with `auto` the weight measured on
        CMRC2018 trial (AUTO_DENSE_WEIGHT); 0 while passage vectors are missing."""
        if self._dense is None or self._dense.size == 0:
            return 0.0
        configured = self.settings.dense_weight
        return AUTO_DENSE_WEIGHT if configured == "auto" else float(configured)

    def search(self, query: str, k: int = 5, expansions: tuple[str, ...] = (), dense_weight: float | None = None,
               lexical_weight: float = 1.0) -> list[SearchHit]:
        """Passages for a question, best first: BM25 and dense rankings fused by weighted standardised scores.
        `expansions` (glossary names of terms the question mentions) are added to the query text."""
        if not self.passages:
            return []
        text = readable(" ".join((query, *expansions)))
        weight = self.dense_weight(query) if dense_weight is None else dense_weight
        vector = self.query_vector(text) if weight > 0 and self._vectors_usable() else None
        if vector is None:
            weight = 0.0
        if self._milvus is not None:
            return self._milvus.search(self.tokenizer.question_tokens(text), vector, k=k, dense_weight=weight,
                                       lexical_weight=lexical_weight)
        lexical = self._lexical.search(self.tokenizer.question_tokens(text), CANDIDATES) if lexical_weight > 0 else []
        dense = self._dense.search(vector, CANDIDATES) if weight > 0 else []
        fused = fuse_rankings(lexical, dense, lexical_weight, weight)[:k]
        return [SearchHit(self.passages[n], score, lexical_score, dense_score)
                for n, score, lexical_score, dense_score in fused]

    def _working_embedder(self) -> Embedder | None:
        """The configured embedder, loaded on first use (once, however many questions arrive together);
        None for a while after it failed."""
        with self._lock:
            if self._embedder is not None:
                return self._embedder
            if time.monotonic() - self._embedder_failed_at < RETRY_EMBEDDER_AFTER_S:
                return None
            try:
                self._embedder = create_embedder(self.settings)
            except Exception as exc:
                self._embedder_failed_at = time.monotonic()
                self.embedder_error = str(exc)
                log.warning("vectors are off: %s", exc)
                return None
            return self._embedder

    def _embedder_failed(self, error: str) -> None:
        with self._lock:
            self._embedder_failed_at = time.monotonic()
            self._embedder = None  # made again after the pause: an endpoint may come back
            self.embedder_error = error
        log.warning("vectors are off for %.0f s: %s", RETRY_EMBEDDER_AFTER_S, error)

    def _vectors_usable(self) -> bool:
        """Stored vectors count only if the configured embedder made them: two embedders' vectors never meet."""
        made_by = self.manifest.get("vectors", {}).get("embedder")
        embedder = self._working_embedder()
        if embedder is None or made_by is None:
            return False
        if embedder.name != made_by:
            self.embedder_error = (f"the index's vectors were made by {made_by}, the configured embedder is "
                                   f"{embedder.name}; re-index to use them")
            return False
        return True
