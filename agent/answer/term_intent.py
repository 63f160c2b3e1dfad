"""Whether a question asks only what a term means (or its English name, Chinese name or abbreviation),
learnt from data rather than from a list of phrases.

The question's terms are replaced by a placeholder, so what is judged is how the question asks, not which
term it names: "公司文件里的XYZ是什么意思" asks a meaning, "在售后流程里XYZ负责哪些事情" does not. Two
logistic regressions on that masked question give the probability. The first, on its character n-grams,
costs a fraction of a millisecond and decides alone when it is confident (most wordings); the second, on
the embedder's vector, which costs an embedding (~20 ms here), decides the rest. Both are fitted on
data/term_intent_questions.jsonl (scripts/build_intent_questions.py): the term model's question forms and
a grammar of ways to ask as positives, CMRC2018 questions and questions about what documents say as
negatives. The embedding classifier's weights are kept per embedder: shipped for the default one, fitted
once and cached in the index folder for any other; the wording classifier's fit is shipped too. The same
questions, a sample of them, serve as background questions: how far a cosine stands above a question's
cosines to them is what agent.answer.evidence compares.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np

from agent.settings import ConfigError
from agent.text.normalize import has_cjk

log = logging.getLogger(__name__)
_WHITE_SPACE = re.compile(r"\s\s+")

PLACEHOLDER = "XYZ"
DATA_DIR = Path(__file__).resolve().parent / "data"
QUESTIONS = DATA_DIR / "term_intent_questions.jsonl"
REGULARISATION = 1.0  # sklearn's C; measured on bench/cases/tune/terms.jsonl (docs/benchmarks.md)
# The wording classifier: character 1- to 3-grams, and its C and confidence chosen by 5-fold cross-validation
# on the training questions and on the masked questions of bench/cases/tune/terms.jsonl and
# bench/cases/sample.jsonl (docs/benchmarks.md, "Where the time goes").
WORDING_NGRAMS = (1, 3)
WORDING_REGULARISATION = 30.0
WORDING_MODEL = f"char-{WORDING_NGRAMS[0]}-{WORDING_NGRAMS[1]}-grams-tfidf-logistic-C{WORDING_REGULARISATION:g}"
CONFIDENT = 0.9  # the wording classifier decides alone at this probability or above, or 1 - this or below,
# and only in Chinese: the data holds 4,647 Chinese questions and 165 English ones of a few forms, and on an
# English wording none of them covers ("What if XYZ still fails?", a follow-up of bench/cases/tune) it was
# sure (0.97) and wrong.


def mask(question: str, spans: list[tuple[int, int]]) -> str:
    """The question with each (start, end) span, a term as written, replaced by the placeholder."""
    parts, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        parts += [question[last:start], PLACEHOLDER]
        last = end
    parts.append(question[last:])
    return "".join(parts)


class WordingIntent:
    """P(the masked question asks only for a meaning or a name) from its character n-grams: sklearn's
    TF-IDF (lower case, runs of white space as one, tf as 1 + log tf, unit length) and a logistic regression,
    scored here in plain Python so that answering never imports sklearn (130 MB more memory)."""

    def __init__(self, ngrams: list[str], idf: np.ndarray, weights: np.ndarray, bias: float):
        self.index = {ngram: (float(i), float(w)) for ngram, i, w in zip(ngrams, idf, weights)}
        self.bias = float(bias)

    def probability(self, masked: str) -> float:
        found = [(1.0 + math.log(count), *self.index[ngram])
                 for ngram, count in Counter(char_ngrams(masked)).items() if ngram in self.index]
        length = math.sqrt(sum((tf * idf) ** 2 for tf, idf, _ in found))
        score = self.bias + (sum(tf * idf * w for tf, idf, w in found) / length if length else 0.0)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, score))))

    @classmethod
    def load(cls, cache_dir: Path) -> "WordingIntent":
        """The fit shipped in data/, else the one cached in `cache_dir`, else fitted now (about a second) and
        cached. `WordingIntent.load(DATA_DIR)` remakes the shipped one after the questions change."""
        saved = per_embedder("term_wording", WORDING_MODEL, fit_wording, cache_dir)
        return cls(saved["ngrams"].tolist(), saved["idf"], saved["weights"], float(saved["bias"]))


def char_ngrams(text: str) -> list[str]:
    """The character n-grams that sklearn's TfidfVectorizer(analyzer="char") takes from a text."""
    text = _WHITE_SPACE.sub(" ", text.lower())
    low, high = WORDING_NGRAMS
    return [text[i:i + n] for n in range(low, high + 1) for i in range(len(text) - n + 1)]


def fit_wording() -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    questions, labels = training_questions()
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=WORDING_NGRAMS, sublinear_tf=True)
    model = LogisticRegression(C=WORDING_REGULARISATION, class_weight="balanced", max_iter=3000)
    model.fit(vectorizer.fit_transform(questions), labels)
    return {"ngrams": vectorizer.get_feature_names_out().astype(str), "idf": vectorizer.idf_.astype(np.float32),
            "weights": model.coef_[0].astype(np.float32), "bias": np.float32(model.intercept_[0])}


class TermIntent:
    """P(the masked question asks only for a meaning or a name) = sigmoid(w · vector + b), unless the
    wording classifier is confident."""

    def __init__(self, weights: np.ndarray, bias: float, wording: WordingIntent | None = None):
        self.weights = weights.astype(np.float32)
        self.bias = float(bias)
        self.wording = wording

    def probability(self, vector: np.ndarray) -> float:
        return float(1.0 / (1.0 + np.exp(-(float(vector @ self.weights) + self.bias))))

    def asks_meaning(self, masked: str, embed: Callable[[str], np.ndarray | None]) -> float:
        """The wording classifier's probability when it is sure of a Chinese question, else this
        classifier's on `embed(masked)`; 0 when that gives no vector."""
        if self.wording is not None and has_cjk(masked):
            by_wording = self.wording.probability(masked)
            if by_wording >= CONFIDENT or by_wording <= 1 - CONFIDENT:
                return by_wording
        vector = embed(masked)
        return self.probability(vector) if vector is not None else 0.0

    @classmethod
    def for_embedder(cls, embedder_name: str, encode: Callable[[list[str]], np.ndarray],
                     cache_dir: Path) -> "TermIntent":
        """The shipped weights for this embedder, else those cached in `cache_dir`, else fitted now
        (one pass of the embedder over ~3,300 short questions) and cached."""
        def compute() -> dict:
            intent = fit(encode)
            return {"weights": intent.weights, "bias": np.float32(intent.bias)}

        saved = per_embedder("term_intent", embedder_name, compute, cache_dir)
        return cls(saved["weights"], float(saved["bias"]), WordingIntent.load(cache_dir))


def background_vectors(embedder_name: str, encode: Callable[[list[str]], np.ndarray],
                       cache_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The background questions' vectors for this embedder, and which of them are Chinese."""
    questions, chinese = background_questions()
    saved = per_embedder("background", embedder_name, lambda: {"vectors": encode(questions)}, cache_dir)
    return saved["vectors"], chinese


def per_embedder(kind: str, embedder_name: str, compute: Callable[[], dict], cache_dir: Path) -> dict:
    """Arrays made from this module's data with one embedder (or one model of the wording): shipped in data/
    for the default embedder, else cached in the index folder, else computed now and cached. Never mixed
    across embedders, models or data."""
    file_name = f"{kind}-{_slug(embedder_name)}.npz"
    for path in (DATA_DIR / file_name, cache_dir / file_name):
        if path.is_file():
            saved = dict(np.load(path))
            if str(saved.pop("embedder")) == embedder_name and str(saved.pop("data")) == _data_hash():
                return saved
    log.info("computing %s for embedder %s (once; cached in %s)", kind, embedder_name, cache_dir)
    arrays = compute()
    path = cache_dir / file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp.npz")
    np.savez(temporary, **arrays, embedder=embedder_name, data=_data_hash())
    temporary.replace(path)
    return arrays


def fit(encode: Callable[[list[str]], np.ndarray]) -> TermIntent:
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:  # scikit-learn is an extra: the bundled embedder's fit ships in data/
        raise ConfigError("KB_EMBEDDER: a new embedder's term-intent classifier is fitted once with scikit-learn, "
                          "which is not installed: pip install 'kb-assistant[fit]'") from exc

    questions, labels = training_questions()
    vectors = encode(questions)
    model = LogisticRegression(C=REGULARISATION, class_weight="balanced", max_iter=2000)
    model.fit(vectors, labels)
    return TermIntent(model.coef_[0], float(model.intercept_[0]))


def training_questions() -> tuple[list[str], np.ndarray]:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows], np.array([r["asks_meaning"] for r in rows])


def background_questions(per_language: int = 64) -> tuple[list[str], np.ndarray]:
    """Questions about anything, Chinese and English alike, to measure a question's similarities against:
    how far an FAQ question stands above them says more than the cosine itself, whatever the FAQ's size."""
    questions, _ = training_questions()
    chinese = [q for q in questions if has_cjk(q.replace(PLACEHOLDER, ""))]
    english = [q for q in questions if not has_cjk(q)]
    picked = chinese[::max(1, len(chinese) // per_language)][:per_language] + \
        english[::max(1, len(english) // per_language)][:per_language]
    return picked, np.array([has_cjk(q.replace(PLACEHOLDER, "")) for q in picked])


def _data_hash() -> str:
    return hashlib.sha1(QUESTIONS.read_bytes()).hexdigest()[:12]


def _slug(name: str) -> str:
    return hashlib.sha1(name.encode("utf-8")).hexdigest()[:12]
