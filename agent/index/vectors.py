"""Which texts of an index are embedded, on which side, and where their vectors live in a generation.

Passages are embedded as passages (dense.faiss). FAQ questions and similar questions are embedded as
queries, so a question meets a stored question on the same side of an asymmetric model. A glossary term
is embedded as a passage of its names ("AM Account Manager 客户经理").
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from agent.index.dense import DenseIndex
from agent.index.embedders import Embedder
from agent.index.vector_cache import VectorCache, vector_key
from agent.records import FaqEntry, Passage, Term

log = logging.getLogger(__name__)

BATCH = 16  # texts per embedding call: batches embed faster (0.42 against 1.0 s a passage here), and are small enough that progress moves and a cancel is honoured soon
PASSAGES_FILE, FAQ_FILE, TERMS_FILE = "dense.faiss", "faq_vectors.npy", "term_vectors.npy"
KINDS = {"passages": "passage", "faq": "query", "terms": "passage"}  # part of the index -> embedding side


def faq_question_rows(faq: list[FaqEntry]) -> tuple[list[str], list[int]]:
    """One row per FAQ question and per similar question, and the entry each row belongs to."""
    texts, owners = [], []
    for number, entry in enumerate(faq):
        for question in (entry.question, *entry.similar):
            texts.append(question)
            owners.append(number)
    return texts, owners


def term_text(term: Term) -> str:
    names = (*term.abbreviations, term.english, term.chinese, *term.aliases)
    return " ".join(dict.fromkeys(name.strip() for name in names if name.strip()))


@dataclass
class VectorPlan:
    """Every text a generation needs a vector for, per part, with its cache key."""

    embedder_name: str
    texts: dict[str, list[str]]
    keys: dict[str, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.keys = {part: [vector_key(self.embedder_name, KINDS[part], t) for t in texts]
                     for part, texts in self.texts.items()}

    @classmethod
    def for_records(cls, embedder_name: str, terms: list[Term], faq: list[FaqEntry],
                    passages: list[Passage]) -> "VectorPlan":
        return cls(embedder_name, {"passages": [p.text for p in passages], "faq": faq_question_rows(faq)[0],
                                   "terms": [term_text(t) for t in terms]})

    @property
    def total(self) -> int:
        return sum(len(keys) for keys in self.keys.values())

    def missing(self, cache: VectorCache) -> list[tuple[str, str, str]]:
        """(key, embedding side, text) of every distinct text the cache lacks."""
        found: dict[str, tuple[str, str, str]] = {}
        for part, keys in self.keys.items():
            for key, text in zip(keys, self.texts[part]):
                if key not in found and cache.get(key) is None:
                    found[key] = (key, KINDS[part], text)
        return list(found.values())

    def complete_parts(self, cache: VectorCache) -> dict[str, np.ndarray]:
        """Vectors of every non-empty part whose texts are all cached; a part with any missing is left out."""
        parts = {}
        for part, keys in self.keys.items():
            rows = [cache.get(key) for key in keys]
            if rows and all(row is not None for row in rows):
                parts[part] = np.vstack(rows).astype(np.float32)
        return parts


def embed_missing(plan: VectorPlan, embedder: Embedder, cache: VectorCache,
                  progress: Callable[[int, int], None] = lambda done, total: None,
                  cancelled: Callable[[], bool] = lambda: False) -> bool:
    """Embed what the cache lacks, batch by batch, each batch kept at once. `progress(done, total)` counts
    vectors of the whole plan. Returns False when `cancelled()` stopped it early."""
    missing = plan.missing(cache)
    done = plan.total - len(missing)
    progress(done, plan.total)
    if missing:
        log.info("embedding %d new texts with %s", len(missing), embedder.name)
    for side in ("query", "passage"):
        todo = [item for item in missing if item[1] == side]
        for start in range(0, len(todo), BATCH):
            if cancelled():
                return False
            batch = todo[start:start + BATCH]
            texts = [text for _, _, text in batch]
            vectors = embedder.encode_queries(texts) if side == "query" else embedder.encode_passages(texts)
            cache.add([key for key, _, _ in batch], vectors)
            done += len(batch)
            progress(min(done, plan.total), plan.total)
    return True


def write_vectors(generation: Path, parts: dict[str, np.ndarray]) -> None:
    """Files are replaced, never written into: they may be hard links shared with an older generation."""
    for name in (PASSAGES_FILE, FAQ_FILE, TERMS_FILE):
        (generation / name).unlink(missing_ok=True)
    if "passages" in parts:
        DenseIndex.build(parts["passages"]).save(generation / PASSAGES_FILE)
    if "faq" in parts:
        np.save(generation / FAQ_FILE, parts["faq"])
    if "terms" in parts:
        np.save(generation / TERMS_FILE, parts["terms"])


def read_vectors(generation: Path, name: str) -> np.ndarray | None:
    path = generation / name
    return np.load(path) if path.is_file() else None
