"""How likely a candidate answer is right, from evidence of meaning and of content, calibrated on data.

Recall comes from meaning (the embedder's cosine finds "笔记本开不了机" near "电脑坏了找谁？" and an English
question near its Chinese entry); precision from content (an FAQ entry that lacks the question's key words,
产假 against 婚假 or 股票代码 against 税号, or passages that never name the unknown term the question is
about, are not the answer however close their vectors). Each kind of candidate has a logistic model over a
few such features, fitted on bench/cases/tune by `python -m bench calibrate` and stored in
data/calibration.json per embedder (and one for answering without vectors), so its output is the
estimated chance that the answer is right: the `confidence` users see.
"""
from __future__ import annotations

import bisect
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.answer.faq_match import FaqMatcher
from agent.answer.lead import location_heading
from agent.answer.terms import Mention, term_names
from agent.answer.understand import Understanding
from agent.records import FaqEntry, Passage, SearchHit
from agent.text.bilingual import content_words
from agent.text.normalize import fold, has_cjk
from agent.text.rarity import known_rarity, median_rarity
from agent.text.stopwords import STOPWORDS
from agent.text.synonyms import other_of_kind_in
from agent.text.units import content_units

CALIBRATION = Path(__file__).resolve().parent / "data" / "calibration.json"
WITHOUT_VECTORS = "lexical"  # the calibration used when no embedder works
FAQ_FEATURES = ("cosine", "cosine_z", "cosine_bg", "answer_cosine", "lexical", "coverage", "names_missing",
                "other_kind", "english", "margin", "answer_margin", "own_language_lead")
# A tool's example questions have no answer to compare with: the "tool" model is fitted on the FAQ's rows with
# the question-side features only (agent.answer.tool_intent).
TOOL_FEATURES = tuple(f for f in FAQ_FEATURES if not f.startswith("answer_"))
VERIFIED_FEATURES = ("base_logit", "verifier_logit")  # the FAQ model's chance and the verifier's, as logits
# The features of the Chinese questions' document model ("doc"). English questions keep a model of their own
# ("doc_english", see doc_calibration), with the features written beside its weights.
DOC_FEATURES = ("relevance", "dense", "dense_bg", "unknown_missing", "other_kind", "section")
RELEVANCE_DEPTH = 3  # a question's parts may be answered by different passages among the first few
_PUNCTUATION_CHARS = "，。？！、；：“”‘’（）《》【】,.?!;:'\"()[]<>-_/\\|~`@#$%^&*+= \t\n"


@dataclass(frozen=True)
class Calibrated:
    """A logistic model over named features."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, values: dict[str, float]) -> float:
        """A feature missing from `values` counts as 0, no evidence either way."""
        z = self.bias + sum(w * values.get(name, 0.0) for name, w in zip(self.features, self.weights))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


_read: tuple[int, dict] | None = None


def _fits() -> dict:
    """calibration.json, read again whenever the file changes (a refit takes effect without a restart)."""
    global _read
    stamp = CALIBRATION.stat().st_mtime_ns
    if _read is None or _read[0] != stamp:
        _read = (stamp, json.loads(CALIBRATION.read_text(encoding="utf-8")))
    return _read[1]


def calibration(kind: str, embedder_name: str | None) -> Calibrated:
    """The model for `kind` ("faq", "tool" or "doc") fitted for this embedder; the lexical one when there is none
    or it has no fit of its own."""
    fits = _fits()[kind]
    fit = fits.get(embedder_name or WITHOUT_VECTORS) or fits[WITHOUT_VECTORS]
    return Calibrated(tuple(fit["features"]), tuple(fit["weights"]), float(fit["bias"]))


def doc_calibration(english: bool, embedder_name: str | None) -> Calibrated:
    """The document model for a question in English or in Chinese. An English question reaches Chinese passages
    only through the dictionary, so its evidence sits on another scale, and tune has few English questions that
    the knowledge cannot answer: every refit of one model over both languages so far let unrelated English
    questions through (docs/benchmarks.md, "Issue 28"). English questions keep the model fitted on 2026-12-02."""
    return calibration("doc_english" if english else "doc", embedder_name)


def term_confidence(asks_meaning: float, ambiguous: bool) -> float:
    """The chance that a glossary answer is right, as measured on tune (`python -m bench.calibrate --only term`):
    the share of term answers that were right among those whose term-intent probability fell in the same band,
    for terms with one meaning or with several, smoothed as (right + 1) / (answers + 2) so a band with few
    answers does not claim certainty."""
    own = [band for band in _fits()["term"]["bands"] if band["ambiguous"] == ambiguous]
    inside = [b for b in own if asks_meaning >= b["from"]]
    band = inside[-1] if inside else own[0]
    return (band["right"] + 1) / (band["answers"] + 2)


def ambiguous_mentions(mentions) -> list:
    """The mentions whose name the glossary gives more than one meaning."""
    return [m for m in mentions if len({(t.english, t.chinese) for t in m.terms}) > 1]


def verified_key(embedder_name: str | None, verifier) -> str:
    return f"{embedder_name or WITHOUT_VECTORS} {verifier.name}"


def verified_calibration(embedder_name: str | None, verifier) -> Calibrated | None:
    """The model that turns an FAQ candidate's chance and the question-pair verifier's into one chance
    (VERIFIED_FEATURES, fitted by `python -m bench.calibrate --only faq_verified`); None without a verifier or
    where none was fitted for this embedder and verifier."""
    fit = _fits().get("faq_verified", {}).get(verified_key(embedder_name, verifier)) if verifier is not None else None
    return Calibrated(tuple(fit["features"]), tuple(fit["weights"]), float(fit["bias"])) if fit else None


def logit(probability: float) -> float:
    probability = min(max(probability, 1e-6), 1 - 1e-6)
    return math.log(probability / (1 - probability))


def verified_features(base: float, verifier: float) -> dict[str, float]:
    return {"base_logit": logit(base), "verifier_logit": logit(verifier)}


@dataclass(frozen=True)
class FaqCandidate:
    number: int  # the entry's position in the knowledge base's FAQ list
    entry: FaqEntry
    matched_question: str  # the stored or similar question closest to the question
    features: dict[str, float]
    probability: float = 0.0


def with_verifier(candidate: FaqCandidate, verifier: float, model: Calibrated, direct: float) -> FaqCandidate:
    """The candidate with the verifier's chance among its features and its probability refitted over both. The
    verifier may lower the chance, and raise it towards a tentative answer, but not to `direct` (the chance a
    stored answer is given at) where the FAQ model alone did not: over tune's candidates it tells right from
    wrong far less well than the FAQ model (AUC 0.60 against 0.91, docs/benchmarks.md), and a wrong stored
    answer is the worst answer there is."""
    features = {**candidate.features, "verifier": verifier, "base": candidate.probability}
    probability = model.probability(verified_features(candidate.probability, verifier))
    if probability >= direct > candidate.probability:
        probability = math.nextafter(direct, 0.0)
    return FaqCandidate(candidate.number, candidate.entry, candidate.matched_question, features, probability)


def faq_candidates(understanding: Understanding, matcher: FaqMatcher, vectors: np.ndarray | None,
                   owners: list[int], answer_vectors: np.ndarray | None,
                   background: tuple[np.ndarray, np.ndarray] | None, k: int = 3) -> list[FaqCandidate]:
    """The entries closest by words or by meaning, each with its features (probability not yet set).
    `vectors` are the stored and similar questions (question side), `answer_vectors` each entry's
    questions and answer as a passage: e5 was trained to score a passage that answers a query.
    `background` (vectors of questions about anything, and which are Chinese) says how high a cosine is
    for this question, whatever the size of the FAQ."""
    entries = matcher.entries
    lexical = {m.number: m for m in matcher.match(understanding.matching_text, k=k)}
    cosines, standings, above_background, by_language, best_background = _entry_cosines(
        understanding.vector, vectors, owners, matcher.chinese_rows, background, len(entries))
    answers = answer_vectors @ understanding.vector if answer_vectors is not None and cosines is not None else None
    own_language_lead = _own_language_lead(by_language, understanding.english) if by_language is not None else None
    numbers = list(lexical)
    if cosines is not None:
        numbers += [int(n) for n in np.argsort(-standings)[:k]]
    if answers is not None:
        numbers += [int(n) for n in np.argsort(-answers)[:k]]
    numbers = list(dict.fromkeys(numbers))
    margins = _leads_over_others(standings, numbers, best_background)
    answer_margins = _leads_over_others(answers, numbers)
    candidates = []
    for number in numbers:
        entry = entries[number]
        entry_text = " ".join((entry.question, *entry.similar, entry.answer))
        cosine = float(cosines[number]) if cosines is not None else 0.0
        match = lexical.get(number)
        features = {
            "cosine": cosine,
            # How far the entry stands out among the FAQ's rows pooled with background questions: cosines of
            # one embedder sit in a narrow band, lower across languages, so the standing says more than the level.
            "cosine_z": float(standings[number]) if standings is not None else 0.0,
            # The same against the background questions alone.
            "cosine_bg": float(above_background[number]) if above_background is not None else 0.0,
            "answer_cosine": float(answers[number]) if answers is not None else 0.0,
            "lexical": match.score if match else 0.0,
            "coverage": coverage(understanding, matcher, number, entry_text),
            "names_missing": names_missing(understanding, entry_text),
            "other_kind": other_kind(understanding.question, entry),
            "english": float(understanding.english),
            # How far the entry stands ahead of every other entry (and, by its questions, of the closest
            # background question, which keeps the scale for an FAQ of 4 entries or 4,000), by its questions
            # and by its answer: a paraphrase's entry tends to stand alone, a near miss among neighbours.
            "margin": margins.get(number, 0.0),
            "answer_margin": answer_margins.get(number, 0.0),
            # How much more the entry's rows in the question's own language stand out than its rows in the
            # knowledge's language: an English question pulled by an English similar question of another entry.
            "own_language_lead": float(own_language_lead[number]) if own_language_lead is not None else 0.0,
        }
        closest = match.matched_question if match else _closest_question(number, understanding.vector, vectors, owners, entry)
        candidates.append(FaqCandidate(number, entry, closest, features))
    return candidates


def doc_features(understanding: Understanding, hits: list[SearchHit],
                 background: tuple[np.ndarray, np.ndarray] | None) -> dict[str, float]:
    """Evidence that the first passages answer the question: how much of it they cover in words, how close
    they are in meaning (also in standard deviations above the question's cosines to background
    questions, which lets an English question on Chinese passages be judged on its own scale), and
    whether they name the unknown terms it asks about, and whether it names the section they stand under."""
    top = hits[:RELEVANCE_DEPTH]
    dense = max((h.dense_score for h in top), default=0.0)
    dense_bg = 0.0
    if understanding.vector is not None and background is not None and dense:
        reference = background[0] @ understanding.vector
        dense_bg = (dense - float(reference.mean())) / (float(reference.std()) + 1e-6)
    relevance = max((passage_relevance(understanding.question, understanding.mentions, h.passage.text,
                                       understanding.translations) for h in top), default=0.0)
    unknown = understanding.unknown_terms
    text = fold(" ".join(h.passage.text for h in top))
    missing = sum(not names_in(text, [u.text]) for u in unknown) / len(unknown) if unknown else 0.0
    # The first passage names another thing of the kind the question asks about (an FAQ entry on 年假 for 产假).
    kind = names_other_kind(understanding.question, [top[0].passage.text]) if top else 0.0
    return {"relevance": relevance, "dense": dense, "dense_bg": dense_bg, "unknown_missing": missing,
            "other_kind": kind, "english": float(understanding.english),
            "section": section_named(understanding.question, [h.passage for h in top])}


# A location's heading is a title by construction, so an Arabic number before it ("3.2 报价") is its numbering
# too, which lead.py cannot assume of a line inside a passage.
_HEADING_NUMBER = re.compile(r"^\s*(?:[一二三四五六七八九十百]+[、.．]|[（(][一二三四五六七八九十百\d]+[)）]"
                             r"|第[一二三四五六七八九十百\d]+[章节条部]|\d+(?:\.\d+)*[、.．\s])\s*")


def section_named(question: str, passages: list[Passage]) -> float:
    """How fully the question names the section one of the passages stands under (heading_named), counted
    only when every question word the passages leave unsaid is more common than the most specific word they
    say. A section answers its topic in its own words: a question on the 报到 section asking which 材料 to bring
    is answered by its list of 身份证、照片, which never says 材料 (5.7, more common than 报到, 9.1). But a question
    that names the section and asks about something more specific that it never says (whether 报到 needs a
    护照, 9.7, where no 护照 is listed) is a near miss, however well it names the section. Only words jieba's
    table knows are weighed: a piece cut out of a longer phrase has no known specificity."""
    texts = [fold(p.text).replace(" ", "") for p in passages]
    said, unsaid = [], []
    for word in dict.fromkeys(_content_words(fold(question))):
        rarity = known_rarity(word)
        if rarity is not None:
            (said if any(word in text for text in texts) else unsaid).append(rarity)
    if unsaid and max(unsaid) > max(said, default=0.0):
        return 0.0
    return heading_named(question, [p.location for p in passages])


def heading_named(question: str, locations: list[str]) -> float:
    """For the best of `locations`, the share of the words of its innermost heading ("差旅管理办法 > 四、出差补贴"
    -> 出差, 补贴) that the question says, each weighed by its rarity (a word the table lacks by its median). 0 for
    pages, slides, sheets and rows, which have no heading."""
    folded = fold(question).replace(" ", "")
    best = 0.0
    for location in locations:
        title = fold(_HEADING_NUMBER.sub("", location_heading(location))).strip()
        # jieba may cut a title that is one word into characters when it stands alone (报到 -> 报, 到).
        words = [*_content_words(title), *([title] if known_rarity(title) is not None else [])]
        weights = {w: known_rarity(w) or median_rarity() for w in words}
        if weights:
            best = max(best, sum(weight for w, weight in weights.items() if w in folded) / sum(weights.values()))
    return best


def coverage(understanding: Understanding, matcher: FaqMatcher, number: int, entry_text: str) -> float:
    """The rarity-weighted share of the question that entry `number` says (FaqMatcher.coverage). For an English
    question, the share of its words the entry says in translation or as written (an English similar question):
    the characters of its few translated words would otherwise cover "all" of it."""
    if not understanding.english:
        return matcher.coverage(understanding.matching_text, number)
    return max(translated_coverage(understanding, entry_text), matcher.coverage(understanding.question, number))


def translated_coverage(understanding: Understanding, text: str) -> float:
    """For an English question, the share of its content words that the text says in one of their Chinese
    translations (agent.text.bilingual: "married" -> 结婚, "overtime" -> 加班): the words-side evidence that an
    English question and a Chinese entry are about the same thing, which the characters-based `lexical` and
    `coverage` cannot see. Untranslated words count as unsaid, so an entry that shares one word of a long
    question ("vice presidents" -> 副总裁) is not taken as covering it. 0 for a Chinese question."""
    if not understanding.translations:
        return 0.0
    compact = fold(text).replace(" ", "")
    said = sum(len(english.split()) for english, words in understanding.translations.items()
               if any(word in compact for word in words))
    return min(1.0, said / max(1, len(content_words(understanding.question))))


def names_missing(understanding: Understanding, text: str) -> float:
    """Share of the terms the question names (known or unknown) that the text never names."""
    folded = fold(text)
    named = [[n for t in m.terms for n in term_names(t)] or [m.text]
             for m in understanding.mentions] + [[u.text] for u in understanding.unknown_terms]
    return sum(not names_in(folded, names) for names in named) / len(named) if named else 0.0


def other_kind(question: str, entry: FaqEntry) -> float:
    """1 when the question names a thing the entry never names while the entry's questions name another
    thing of the same kind (产假 asked, 年假 stored; the thesaurus's "#" rows say what is of one kind): the
    near miss that closeness in meaning puts nearest. 0 otherwise."""
    return names_other_kind(question, [entry.question, *entry.similar], entry.answer)


def names_other_kind(question: str, texts: list[str], rest: str = "") -> float:
    """1 when the question names a thing that neither `texts` nor `rest` names while `texts` name another
    thing of the same kind; 0 otherwise."""
    folded = fold(question)
    stored = [fold(text) for text in texts]
    said = " ".join((*stored, fold(rest)))
    asked_only = [w for w in _content_words(folded) if w not in said]
    return float(any(other_of_kind_in(word, text) for word in asked_only for text in stored))


def _content_words(text: str) -> list[str]:
    """Chinese words of two or more characters that are not function words."""
    import jieba

    return [w for w in jieba.lcut(text) if len(w) >= 2 and has_cjk(w) and w not in STOPWORDS]


def names_in(folded_text: str, names: list[str]) -> bool:
    """Whether a folded text gives one of the names; a Latin name only as whole words, so "ED" is not
    found in "called", nor "AM" in "amount"."""
    compact = folded_text.replace(" ", "")
    for name in filter(None, (fold(n) for n in names)):
        if not name.isascii():
            found = name.replace(" ", "") in compact
        else:
            words = r"\s*".join(re.escape(word) for word in name.split())
            found = re.search(rf"(?<![0-9a-z]){words}(?![0-9a-z])", folded_text) is not None
        if found:
            return True
    return False


def passage_relevance(question: str, mentions: list[Mention], passage: str,
                      translations: dict[str, list[str]] | None = None) -> float:
    """How much of the question the passage covers, in [0, 1]: the larger of the share of its content
    words (jieba words of two or more characters, and Latin words) found in the passage (a term counts
    under any of its names, an English word under its Chinese `translations`) and the share of its
    characters and character pairs found there (which forgives jieba cutting the two texts differently)."""
    import jieba

    text = fold(passage)
    rest, last = [], 0
    found = total = 0
    for mention in sorted(mentions, key=lambda m: m.start):
        rest.append(question[last:mention.start])
        last = mention.end
        total += 1
        found += names_in(text, [n for t in mention.terms for n in term_names(t)])
    rest.append(question[last:])
    remainder = fold(" ".join(rest))
    words = {w for w in jieba.lcut(remainder)
             if w.strip() and w not in STOPWORDS and not all(c in _PUNCTUATION_CHARS for c in w)
             and not (len(w) == 1 and not w.isascii())}  # one Chinese character is mostly a function word
    compact = text.replace(" ", "")
    chinese: dict[str, list[str]] = {}
    for english, words_in_chinese in (translations or {}).items():
        for word in english.split():
            chinese.setdefault(word, []).extend(words_in_chinese)
    word_share = (found + sum(w in compact or any(c in compact for c in chinese.get(w, ())) for w in words)) / \
        (total + len(words)) if total + len(words) else 0.0
    units = content_units(remainder)
    unit_share = (found + len(units & content_units(passage))) / (total + len(units)) if total + len(units) else 0.0
    return max(word_share, unit_share)


def _leads_over_others(values: np.ndarray | None, numbers: list[int], rival: float | None = None) -> dict[int, float]:
    """For each of `numbers`: values[number] minus the largest value of any other entry or `rival` (negative
    when one is ahead); empty without values or without anything to compare with."""
    if values is None or (len(values) < 2 and rival is None):
        return {}
    order = np.argsort(-values)[:2]
    first, second = float(values[order[0]]), float(values[order[1]]) if len(order) > 1 else -np.inf
    floor = -np.inf if rival is None else rival
    return {n: float(values[n]) - max(second if n == int(order[0]) else first, floor) for n in numbers}


def _own_language_lead(by_language: tuple[np.ndarray, np.ndarray], english: bool) -> np.ndarray:
    """For an English question, per entry: how far its best English row's standing exceeds its best Chinese
    row's (0 where it does not, or where the entry lacks rows in either language); zeros for a Chinese question."""
    chinese_best, other_best = by_language
    if not english:
        return np.zeros_like(chinese_best)
    both = (chinese_best > -9.0) & (other_best > -9.0)
    return np.where(both, np.maximum(0.0, other_best - chinese_best), 0.0)


def _entry_cosines(vector: np.ndarray | None, vectors: np.ndarray | None, owners: list[int],
                   chinese: np.ndarray, background, count: int):
    """Per entry, over its stored and similar questions: the best cosine, and two standings of it in
    standard deviations, among the FAQ's rows together with the background questions of the same language
    (`cosine_z`: how the entry stands out here; the background keeps the scale the same for an FAQ of 4
    entries or 4,000), and above the background questions alone (`cosine_bg`). Comparing within a language
    matters: rows in the question's own language score higher for any question, so "How to apply for annual
    leave?" would otherwise pull every English question to the annual-leave entry. Last, the standing per
    entry over its Chinese rows only and over its other rows only (-9 where it has none), and the best
    standing of a background question."""
    if vector is None or vectors is None or not len(vectors) or len(chinese) != len(vectors) or background is None:
        return None, None, None, None, None
    rows = vectors @ vector
    background_vectors, background_chinese = background
    reference = background_vectors @ vector
    among, above = np.zeros_like(rows), np.zeros_like(rows)
    best_background = -9.0
    for language in (True, False):
        group, others = chinese == language, reference[background_chinese == language]
        pooled = np.concatenate([rows[group], others])
        among[group] = (rows[group] - pooled.mean()) / (pooled.std() + 1e-6)
        above[group] = (rows[group] - others.mean()) / (others.std() + 1e-6)
        if len(others):
            best_background = max(best_background, float((others.max() - pooled.mean()) / (pooled.std() + 1e-6)))
    # Rows come grouped by entry, in order (agent.index.vectors.faq_question_rows): one maximum per run of rows,
    # which np.maximum.at computed element by element at many times the cost.
    owners_array = np.asarray(owners)
    starts = np.flatnonzero(np.r_[True, owners_array[1:] != owners_array[:-1]])
    entries = owners_array[starts]
    found = []
    for values, floor in ((rows, -1.0), (among, -9.0), (above, -9.0), (np.where(chinese, among, -9.0), -9.0),
                          (np.where(chinese, -9.0, among), -9.0)):
        best = np.full(count, floor, dtype=np.float32)
        best[entries] = np.maximum(best[entries], np.maximum.reduceat(values.astype(np.float32), starts))
        found.append(best)
    return found[0], found[1], found[2], (found[3], found[4]), best_background


def _closest_question(number: int, vector, vectors, owners: list[int], entry: FaqEntry) -> str:
    texts = [entry.question, *entry.similar]
    if vector is None or vectors is None:
        return entry.question
    rows = range(bisect.bisect_left(owners, number), bisect.bisect_right(owners, number))  # owners ascend
    if len(rows) != len(texts):
        return entry.question
    return texts[int(np.argmax(vectors[rows] @ vector))]
