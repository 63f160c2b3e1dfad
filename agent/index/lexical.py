"""Lexical search for Chinese and English: jieba words (glossary terms kept whole) scored by BM25.

bm25s keeps the scores in a sparse matrix, so a query over 100k passages costs milliseconds,
where rank_bm25 would score every passage in Python.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from agent.records import Term
from agent.text.normalize import fold

log = logging.getLogger(__name__)

_WORD = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff]", re.IGNORECASE)
class Tokenizer:
    """jieba in search mode over folded text, with every glossary term added to its dictionary so that
    "星云平台" or "M&A" stay one token (jieba splits at spaces, so "Free Trade Agreement" gives its words)."""

    def __init__(self, extra_words: list[str] | tuple[str, ...] = ()):
        import jieba

        self._jieba = jieba.Tokenizer()
        base_frequencies, base_total = _base_dictionary()
        self._jieba.FREQ, self._jieba.total, self._jieba.initialized = dict(base_frequencies), base_total, True
        words = sorted({fold(w) for w in extra_words if w and len(fold(w)) > 1})
        for word in words:
            self._jieba.add_word(word, freq=100_000)
        self.fingerprint = hashlib.sha256("\n".join(words).encode()).hexdigest()[:16]

    def tokens(self, text: str) -> list[str]:
        return [t for t in (t.strip() for t in self._jieba.cut_for_search(fold(text))) if t and _WORD.search(t)]


@lru_cache(maxsize=1)
def _base_dictionary() -> tuple[dict[str, int], int]:
    """jieba's own dictionary, read once per process (seconds) and copied into each Tokenizer (milliseconds),
    so an ingest or a reloaded knowledge base does not wait for it again."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    base = jieba.Tokenizer()
    base.initialize()
    return base.FREQ, base.total


class LexicalIndex:
    """BM25 over token lists, answering with passage numbers and scores."""

    def __init__(self, retriever, vocabulary: dict[str, int]):
        self._retriever = retriever
        self.vocabulary = vocabulary

    @classmethod
    def build(cls, documents: list[list[str]]) -> "LexicalIndex":
        bm25s = _bm25s()
        from bm25s.tokenization import Tokenized

        vocabulary: dict[str, int] = {}
        ids = [[vocabulary.setdefault(token, len(vocabulary)) for token in doc] for doc in documents]
        vocabulary.setdefault("", len(vocabulary))  # bm25s wants a non-empty vocabulary
        retriever = bm25s.BM25()
        retriever.index(Tokenized(ids=ids, vocab=vocabulary), show_progress=False)
        return cls(retriever, vocabulary)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._retriever.save(str(folder))
        (folder / "lexical_vocabulary.json").write_text(json.dumps(self.vocabulary, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        bm25s = _bm25s()

        retriever = bm25s.BM25.load(str(folder), mmap=False)
        vocabulary = json.loads((folder / "lexical_vocabulary.json").read_text())
        return cls(retriever, vocabulary)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        ids = [self.vocabulary[t] for t in query_tokens if t in self.vocabulary]
        if not ids:
            return np.zeros(self._retriever.scores["num_docs"], dtype=np.float32)
        return np.asarray(self._retriever.get_scores(ids), dtype=np.float32)

    def search(self, query_tokens: list[str], k: int) -> list[tuple[int, float]]:
        """The best k passages as (number, score), best first; passages scoring 0 are left out."""
        return top_k(self.scores(query_tokens), k)


def _bm25s():
    """bm25s sets its own logger to DEBUG when imported; its per-build chatter is not ours to show."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    if scores.size == 0 or k <= 0:
        return []
    k = min(k, scores.size)
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [(int(i), float(scores[i])) for i in best if scores[i] > 0]


def glossary_words(terms: list[Term]) -> list[str]:
    """Every name a glossary gives, for the tokenizer's dictionary."""
    return [w for t in terms for w in (*t.abbreviations, t.english, t.chinese, *t.aliases) if w]
