"""Lexical search for Chinese and English: jieba words (glossary terms kept whole, function words left out)
scored by BM25.

bm25s keeps the scores in a sparse matrix, so a query over 100k passages costs milliseconds,
where rank_bm25 would score every passage in Python.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from agent.records import Term
from agent.text.normalize import fold
from agent.text.stopwords import ASKING_WORDS, STOPWORDS

log = logging.getLogger(__name__)

_WORD = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff]", re.IGNORECASE)
TOKENS_VERSION = 2  # raise (with build.PARSE_VERSION) when text is cut another way: passages are cut again


class Tokenizer:
    """jieba in search mode over folded text, with every glossary term added to its dictionary so that
    "星云平台" or "M&A" stay one token (jieba splits at spaces, so "Free Trade Agreement" gives its words).
    Function words (agent.text.stopwords by default) are left out of what `tokens` gives: interrogatives
    such as 什么, 谁, 哪个 are rare in declarative text, so BM25 would give them a high idf and reward a
    passage for holding one. `question_tokens` keeps the ways of asking (ASKING_WORDS), for a question and
    the stored questions it may match: two questions asking 哪天 both ask for a day, while declarative
    text never says it that way. A glossary name is kept even when it is spelt like a function word ("IT")."""

    def __init__(self, extra_words: list[str] | tuple[str, ...] = (), function_words: frozenset[str] = STOPWORDS):
        import jieba

        self._jieba = jieba.Tokenizer()
        base_frequencies, base_total = _base_dictionary()
        self._jieba.FREQ, self._jieba.total, self._jieba.initialized = dict(base_frequencies), base_total, True
        words = sorted({fold(w) for w in extra_words if w and len(fold(w)) > 1})
        for word in words:
            self._jieba.add_word(word, freq=100_000)
        self._left_out = function_words.difference(words)
        self._left_out_of_questions = self._left_out.difference(ASKING_WORDS)
        cut = [f"tokens v{TOKENS_VERSION}", " ".join(sorted(self._left_out)),
               " ".join(sorted(self._left_out_of_questions)), *words]
        self.fingerprint = hashlib.sha256("\n".join(cut).encode()).hexdigest()[:16]

    def tokens(self, text: str) -> list[str]:
        return self._cut(text, self._left_out)

    def question_tokens(self, text: str) -> list[str]:
        return self._cut(text, self._left_out_of_questions)

    def _cut(self, text: str, left_out: frozenset[str]) -> list[str]:
        return [t for t in (t.strip() for t in self._jieba.cut_for_search(fold(text)))
                if t and _WORD.search(t) and t not in left_out]


@lru_cache(maxsize=1)
def _base_dictionary() -> tuple[dict[str, int], int]:
    """jieba's own dictionary, read once per process (seconds) and copied into each Tokenizer (milliseconds),
    so an ingest or a reloaded knowledge base does not wait for it again. It is read into jieba's default
    tokenizer, which the answer side (synonyms, passage relevance) cuts with too: a Tokenizer of its own
    read the same dictionary a second time, seconds more before the app served. A snapshot is kept, so
    words added to that default tokenizer later never reach the index's tokens."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.dt.initialize()
    return dict(jieba.dt.FREQ), jieba.dt.total


class TokenIds:
    """Every passage's tokens as ids into one vocabulary: all ids in passage order and each passage's count.
    A generation keeps these, so the next one reuses the tokens of passages that did not change without
    reading, tokenising or looking up their words again."""

    IDS, COUNTS = "token_ids.npy", "token_counts.npy"

    def __init__(self, vocabulary: dict[str, int], ids: np.ndarray, counts: np.ndarray):
        self.vocabulary = vocabulary
        self.ids = ids
        self.counts = counts

    @classmethod
    def empty(cls) -> "TokenIds":
        return cls({}, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64))

    @classmethod
    def from_tokens(cls, documents: list[list[str]]) -> "TokenIds":
        table = cls.empty()
        return table.with_passages([table.add(tokens) for tokens in documents])

    def add(self, tokens: list[str]) -> np.ndarray:
        """Ids of a passage's tokens, words not seen yet joining the vocabulary."""
        vocabulary = self.vocabulary
        return np.fromiter((vocabulary.setdefault(t, len(vocabulary)) for t in tokens), dtype=np.int32,
                           count=len(tokens))

    def passages(self) -> list[np.ndarray]:
        """Each passage's ids (views, no copies)."""
        return np.split(self.ids, np.cumsum(self.counts)[:-1]) if len(self.counts) else []

    def with_passages(self, rows: list[np.ndarray]) -> "TokenIds":
        """These passages' ids (from this vocabulary), with the vocabulary cut down to the words they use,
        as a build from their words alone would have it (ids may be numbered differently)."""
        counts = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        ids = np.concatenate(rows).astype(np.int32) if rows else np.zeros(0, dtype=np.int32)
        words = list(self.vocabulary)  # a word's position is its id: ids are given in order of arrival
        used = np.flatnonzero(np.bincount(ids, minlength=len(words)))
        vocabulary = {words[i]: n for n, i in enumerate(used.tolist())}
        renumber = np.zeros(len(words) + 1, dtype=np.int32)
        renumber[used] = np.arange(len(used), dtype=np.int32)
        return TokenIds(vocabulary, renumber[ids], counts)

    def tokens(self) -> list[list[str]]:
        words = np.array(list(self.vocabulary), dtype=object)
        return [words[row].tolist() for row in self.passages()]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / self.IDS, self.ids)
        np.save(folder / self.COUNTS, self.counts)

    @classmethod
    def load(cls, folder: Path, vocabulary: dict[str, int]) -> "TokenIds":
        return cls(vocabulary, np.load(folder / cls.IDS), np.load(folder / cls.COUNTS))


class LexicalIndex:
    """BM25 over token lists, answering with passage numbers and scores."""

    def __init__(self, retriever, vocabulary: dict[str, int]):
        self._retriever = retriever
        self.vocabulary = vocabulary

    @classmethod
    def build(cls, documents: list[list[str]]) -> "LexicalIndex":
        return cls.from_token_ids(TokenIds.from_tokens(documents))

    @classmethod
    def from_token_ids(cls, table: TokenIds) -> "LexicalIndex":
        """bm25s's index (Lucene BM25, its default k1, b) with the same numbers bm25s.BM25.index computes,
        but computed over whole arrays: bm25s counts tokens in a Python loop per passage, which made
        re-indexing one changed file take seconds in a 10k-passage index."""
        bm25s = _bm25s()
        vocabulary = dict(table.vocabulary)
        vocabulary.setdefault("", len(vocabulary))  # bm25s wants a non-empty vocabulary
        retriever = bm25s.BM25()
        retriever.scores = _bm25_matrix(table.ids, table.counts, len(vocabulary), retriever.k1, retriever.b)
        retriever.vocab_dict = vocabulary
        retriever.unique_token_ids_set = set(vocabulary.values())
        retriever.nonoccurrence_array = None  # Lucene BM25 has none
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


def _bm25_matrix(ids: np.ndarray, counts: np.ndarray, vocabulary_size: int, k1: float, b: float) -> dict:
    """Per (passage, word): idf x tf / (tf + k1 (1 - b + b len / average len)), as bm25s stores it: a CSC
    matrix by word, passages ascending within each word. The arithmetic and its precision follow bm25s
    (idf by math.log in float64 stored as float32; the tf part in float64; the product stored as float32),
    so the scores are the same to the bit (tests/test_bench.py)."""
    documents = len(counts)
    passage = np.repeat(np.arange(documents, dtype=np.int64), counts)
    pairs, tf = np.unique(ids.astype(np.int64) * documents + passage, return_counts=True)  # by word, then passage
    word, passage = pairs // documents, (pairs % documents).astype(np.int32)
    frequency = np.bincount(word, minlength=vocabulary_size)
    idf = np.zeros(vocabulary_size, dtype=np.float32)
    for df in np.unique(frequency[frequency > 0]).tolist():
        idf[frequency == df] = math.log(1 + (documents - df + 0.5) / (df + 0.5))
    average = np.asarray(counts, dtype=np.int64).mean() if documents else 0.0
    tf = tf.astype(np.float32)
    tf_part = tf / (k1 * ((1 - b) + b * counts[passage] / average) + tf)
    indptr = np.zeros(vocabulary_size + 1, dtype=np.int64)
    np.cumsum(frequency, out=indptr[1:])
    return {"data": (idf[word] * tf_part).astype(np.float32), "indices": passage, "indptr": indptr,
            "num_docs": documents}


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
