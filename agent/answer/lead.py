"""The sentences that answer a document question, found without an LLM, and passages made readable.

A passage is read as blocks (prose, list items, table rows): hard line breaks inside a sentence are joined
(directly between Chinese characters, with a space between English words), list items stay one per line
and table rows become a markdown table. The lead is one to three units of the best passages (a sentence,
a list item or a table row with its header), scored by how many of the question's words they hold
(weighted by how rare each is among the candidates), by how closely the heading above them names the
question's topic and, for the few best by words, by the cosine of their vector with the question's. The
weights were chosen on CMRC2018 trial, the heading's on the sample knowledge (docs/benchmarks.md).
"""
from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from agent.records import SearchHit
from agent.text.normalize import fold, has_cjk
from agent.text.stopwords import STOP_CHARS, STOPWORDS

if TYPE_CHECKING:
    from agent.index.knowledge_base import KnowledgeBase

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeadWeights:
    """How the lead is chosen; the defaults were chosen on CMRC2018 trial (`python -m bench lead --sweep`), except
    `focus`: CMRC2018's plain-text articles have no headings, so it was chosen on the sample knowledge."""

    passages: int = 3  # the lead is chosen among the units of this many best passages
    embedded: int = 4  # only this many units, the best by words, are embedded (~30 ms each on a laptop CPU)
    dense: float = 0.5  # weight of the cosine with the question beside the share of its words (0..1)
    rank_penalty: float = 0.05  # per passage rank below the first
    margin: float = 0.15  # a second or third unit joins the lead when it scores this close to the best
    focus: float = 0.75  # weight of how closely the unit's heading and the question name one topic (0..1)

MAX_LEAD_UNITS = 3
LISTED_AFTER_A_COLON = 5  # items or rows a lead ending in a colon goes on to
WHOLE_RUN = 6  # a table or list of at most this many rows or items is led with whole, never one row or item of it
MIN_UNIT_CHARS = 6  # shorter sentences ("注：", "详见下表。") never lead; list items and rows may be short
SENTENCE_VECTORS_KEPT = 4096

# ---- reading a passage as blocks ----------------------------------------------------------------

_SENTENCE_END = "。！？!?"
_CLOSERS = "”’\"'」』）)】》"
_LINE_END = tuple(_SENTENCE_END + "；;：:")
_NO_LINE_START = tuple("，。、；：！？）」』”’》】,.;:!?)")  # a line never starts with these: it was wrapped
_BULLET = re.compile(r"^\s*[•●○■◆▪·\-–*]\s*")
_NUMBERED = re.compile(r"^\s*(?:\d{1,3}[.)]\s|\d{1,3}[、．]|[（(]\d{1,3}[)）]|[一二三四五六七八九十]{1,3}[、.．]"
                       r"|[（(][一二三四五六七八九十]{1,3}[)）])")
_TABLE_CELL = " | "
_RECORD_PAIR = re.compile(r"^[^:;：]{1,30}: ")  # a sheet row as read: "header: value; header: value"
_SENTENCES = re.compile(rf".*?(?:[。！？]+[{_CLOSERS}]*|[.!?]+[{_CLOSERS}]*(?=\s|$)|$)", re.DOTALL)


@dataclass(frozen=True)
class Block:
    kind: str  # prose | item | row | record
    text: str
    last_line: str = ""  # the last line as written, before joining: how wide it was tells a wrap from a heading


HARD_WRAPPED = (".pdf", ".txt")  # formats whose lines may end mid-sentence; elsewhere a line break is meant


def hard_wrapped(source: str) -> bool:
    """Whether a document's line breaks may fall inside sentences (PDF pages, plain text)."""
    return source.lower().endswith(HARD_WRAPPED)


def passage_blocks(text: str, wrapped: bool = True) -> list[Block | None]:
    """The passage as blocks in reading order; None stands for a paragraph break. `wrapped`: lines may be
    cut mid-sentence (see hard_wrapped), so a line that goes on from the one before is joined to it."""
    blocks: list[Block | None] = []
    lines = text.replace("\r\n", "\n").split("\n")
    widest = max((_width(line.strip()) for line in lines if _line_kind(line.strip()) == "prose"), default=0)
    for raw in lines:
        line = raw.strip()
        if not line:
            if blocks and blocks[-1] is not None:
                blocks.append(None)
            continue
        kind = _line_kind(line)
        previous = blocks[-1] if blocks else None
        if previous is not None and (wrapped or line.startswith(_NO_LINE_START)) and \
                _continues(previous, kind, line, widest):
            blocks[-1] = Block(previous.kind, _join(previous.text, line), line)
        else:
            blocks.append(Block(kind, line, line))
    while blocks and blocks[-1] is None:
        blocks.pop()
    return blocks


_RULE_CELL = re.compile(r"^:?-{3,}:?$")
_NOTE = re.compile(r"[（(][^）)]*[）)]")


def table_cells(line: str) -> list[str] | None:
    """A table row's cells: "a | b" as a document reader writes it, or "| a | b |" as markdown does; None for
    markdown's "| --- | --- |" rule, which is no row."""
    line = line.strip()
    if line.startswith("|") and line.endswith("|") and len(line) > 1:
        line = line[1:-1]
    cells = [cell.strip() for cell in line.split("|")]
    return None if all(_RULE_CELL.match(cell) for cell in cells) else cells


def _line_kind(line: str) -> str:
    if line.count(_TABLE_CELL) >= 1 or (len(line) > 2 and line.startswith("|") and line.endswith("|")):
        return "row"
    if "; " in line and all(_RECORD_PAIR.match(part) for part in line.split("; ")):
        return "record"
    if _BULLET.match(line) or _NUMBERED.match(line):
        return "item"
    return "prose"


def _continues(previous: Block, kind: str, line: str, widest: int) -> bool:
    """Whether `line` is the rest of the block before it, cut by a hard line break (PDF, wrapped text)."""
    if kind != "prose" or previous.kind not in ("prose", "item"):
        return False
    if line.startswith(_NO_LINE_START):
        return True
    before = previous.text.rstrip().rstrip(_CLOSERS)
    if before.endswith(_LINE_END):
        return False
    if re.match(r"[a-z]", line) and re.search(r"[A-Za-z,]$", before):
        return True  # English goes on in lower case
    # A wrapped line is about as wide as the widest; a short one without an end mark is a heading.
    return _width(previous.last_line) >= max(0.6 * widest, 20)


# The same rules as the PDF reader's (agent/ingest/documents.py), kept here so that answering a question
# never loads the document readers' libraries.
def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _join(before: str, after: str) -> str:
    """Chinese joins directly; English words across a line break keep one space between them."""
    if _width(before[-1:]) == 2 or _width(after[:1]) == 2 or after.startswith(_NO_LINE_START):
        return before + after
    return f"{before.rstrip()} {after.lstrip()}"


def readable_passage(text: str, wrapped: bool = True) -> str:
    """A passage as markdown: hard breaks inside sentences joined (when `wrapped`), list items one per line,
    table rows (and sheet rows that share their headers) as a table, every other line a paragraph."""
    out: list[str] = []
    blocks = passage_blocks(text, wrapped)
    index = 0
    while index < len(blocks):
        block = blocks[index]
        if block is None:
            out.append("")
        elif block.kind in ("row", "record"):
            run = [block]
            while index + 1 < len(blocks) and blocks[index + 1] is not None and blocks[index + 1].kind == block.kind:
                index += 1
                run.append(blocks[index])
            out += _separated(out, _table(run))
        elif block.kind == "item" and _is_section_title(block.text):
            out += _separated(out, [f"**{block.text}**", ""])
        elif block.kind == "item":
            out += _separated(out, [_list_line(block.text)]) if not (out and _is_list_line(out[-1])) \
                else [_list_line(block.text)]
        else:
            out += [""] if out and out[-1] != "" else []
            out.append(block.text)
        index += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def _separated(out: list[str], lines: list[str]) -> list[str]:
    """Lines that start a list or a table after a paragraph, with the blank line markdown needs."""
    return ([""] if out and out[-1] != "" else []) + lines


def _list_line(text: str) -> str:
    if _BULLET.match(text):
        return "- " + _BULLET.sub("", text)
    if re.match(r"^\d{1,3}[.)]\s", text):
        return text  # already a markdown numbered item
    return "- " + text  # 1、 （1） 一、: kept as written, on a line of their own


def _is_list_line(line: str) -> bool:
    return line.startswith("- ") or bool(re.match(r"^\d{1,3}[.)]\s", line))


def _table(run: list[Block]) -> list[str]:
    if run[0].kind == "row":
        rows = [cells for block in run if (cells := table_cells(block.text)) is not None]
        if len(rows) <= 1:
            return [" | ".join(row) for row in rows]
    else:
        pairs = [[part.split(": ", 1) for part in block.text.split("; ")] for block in run]
        headers = [tuple(name for name, _ in row) for row in pairs]
        if len(set(headers)) != 1 or len(run) == 1:
            return ["- " + block.text for block in run]  # rows with differing columns read best as a list
        rows = [list(headers[0])] + [[value for _, value in row] for row in pairs]
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return [lines[0], "|" + "---|" * width, *lines[1:]]


# ---- the units a lead is made of ----------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """A sentence, list item or table row of one of the best passages."""

    text: str
    passage: int  # 0-based rank of its passage among the hits
    position: int  # order within the passage
    context: str = ""  # the heading above it, or its table's header: their words count as its own


def split_sentences(text: str) -> list[str]:
    """Sentences of prose: Chinese full stops, question and exclamation marks (with their closing quotes),
    and English ones followed by a space."""
    sentences = [s.strip() for s in _SENTENCES.findall(text)]
    return [s for s in sentences if s]


def passage_units(text: str, passage: int = 0, wrapped: bool = True, heading: str = "") -> list[Unit]:
    """The units of a passage that may answer a question: each sentence of its prose (questions and headings
    left out), each list item, each table row read with its header ("级别: P1; 响应时间: 2小时"). Each keeps the
    heading above it (`heading` before the passage's own) as context."""
    units: list[Unit] = []
    header: list[str] | None = None
    for block in passage_blocks(text, wrapped):
        if block is None or block.kind != "row":
            header = None
        if block is None:
            continue
        if block.kind == "row":
            cells = table_cells(block.text)
            if cells is None:
                continue
            if header is None:
                header = cells  # a table's first row names its columns: context, not an answer
            else:
                row = "; ".join(f"{h}: {c}" if h else c for h, c in zip(header, cells) if c)
                units.append(Unit(row, passage, len(units), heading))
        elif block.kind == "item" and _is_section_title(block.text):
            heading = block.text  # "二、产品经理与项目经理": a numbered section title
        elif block.kind in ("item", "record"):
            units.append(Unit(block.text, passage, len(units), heading))
        elif _is_heading(block.text):
            heading = block.text
        else:
            units += [Unit(sentence, passage, len(units) + n, heading)
                      for n, sentence in enumerate(split_sentences(block.text)) if not _is_question(sentence)]
    return units


def _is_heading(text: str) -> bool:
    """A short line without punctuation: a title, not a sentence ("第三章 报价与审批权限", "入职第一天")."""
    return _width(text) <= 24 and not re.search(r"[，。；：！？,;:!?]", text.rstrip(_CLOSERS))


def _is_section_title(text: str) -> bool:
    """A numbered section title ("二、产品经理与项目经理", "第三章 报价"): a heading, not a list item."""
    return bool(_SECTION_NUMBER.match(text)) and _is_heading(_SECTION_NUMBER.sub("", text))


def _is_question(sentence: str) -> bool:
    return sentence.rstrip(_CLOSERS).endswith(("？", "?"))


_SECTION_NUMBER = re.compile(r"^\s*(?:[一二三四五六七八九十]{1,3}[、.．]|[（(][一二三四五六七八九十]{1,3}[)）]|第[一二三四五六七八九十百\d]+[章节])\s*")
_NOT_A_HEADING = re.compile(r"^(?:p\. \d+|slide \d+|sheet |part \d+|beginning$)|row \d+$")


def location_heading(location: str) -> str:
    """The innermost heading a passage's location names ("售后流程 > 职责" -> "职责"); "" for pages, slides,
    sheets and rows."""
    return "" if _NOT_A_HEADING.search(location) else location.split(" > ")[-1]


# ---- choosing the lead --------------------------------------------------------------------------


class SentenceVectors:
    """Passage-side vectors of recent candidate sentences, so questions on the same documents embed each
    sentence once; bounded, and kept apart per embedder."""

    def __init__(self, kept: int = SENTENCE_VECTORS_KEPT):
        self._kept = kept
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, kb: "KnowledgeBase", texts: list[str]) -> np.ndarray | None:
        """One row per text; None when no embedder works."""
        name = kb.embedder_name
        if name is None:
            return None
        with self._lock:
            found = {t: self._vectors.get((name, t)) for t in texts}
        missing = list(dict.fromkeys(t for t, v in found.items() if v is None))
        if missing:
            computed = kb.passage_vectors(missing)
            if computed is None:
                return None
            found.update(zip(missing, computed))
        with self._lock:
            for text in texts:
                self._vectors[(name, text)] = found[text]
                self._vectors.move_to_end((name, text))
            while len(self._vectors) > self._kept:
                self._vectors.popitem(last=False)
        return np.stack([found[t] for t in texts])


_SENTENCE_VECTORS = SentenceVectors()


@dataclass(frozen=True)
class LeadUnit:
    text: str
    passage: int  # 1-based number of the cited passage it comes from
    score: float


def choose_lead(question: str, hits: list[SearchHit], kb: "KnowledgeBase | None" = None,
                weights: LeadWeights = LeadWeights(), vectors: SentenceVectors = _SENTENCE_VECTORS) -> list[LeadUnit]:
    """One to three units of the best passages that answer the question, in the order they are cited."""
    units, scores = _scored_units(question, hits[:weights.passages], kb, weights, vectors)
    if not units:
        return []
    order = np.argsort(-scores, kind="stable")
    best = float(scores[order[0]])
    chosen = [int(i) for i in order[:MAX_LEAD_UNITS] if best - scores[i] <= weights.margin]
    first = int(order[0])
    if units[first].text.rstrip().endswith(("：", ":")):  # "分为四级：" introduces the answer: it follows
        chosen = [first, *_introduced(units, first)]
    chosen = _whole_runs(question, units, chosen)
    chosen.sort(key=lambda i: (units[i].passage, units[i].position))
    return [LeadUnit(units[i].text, units[i].passage + 1, round(float(scores[i]), 4)) for i in chosen]


def _scored_units(question: str, hits: list[SearchHit], kb, weights: LeadWeights,
                  vectors: SentenceVectors) -> tuple[list[Unit], np.ndarray]:
    """The candidate units of `hits` and how well each answers the question: the share of the question's words
    it holds, less its passage's standing, plus its heading's focus and, for the best few by words, the cosine
    of its vector with the question's."""
    answers = _faq_answers(kb)
    units = [u for n, hit in enumerate(hits) for u in _hit_units(hit, n, answers)]
    units = [u for u in units if len(u.text) >= MIN_UNIT_CHARS or _line_kind(u.text) != "prose"] or units
    if not units:
        return [], np.zeros(0, dtype=np.float32)
    words = _question_words(question, kb)
    scores = _overlap(words, [_unit_words(u, kb) for u in units])
    scores -= weights.rank_penalty * _standing(hits)[[u.passage for u in units]]
    if weights.focus:
        scores += weights.focus * np.array([_focus(words, u, kb) for u in units], dtype=np.float32)
    dense = _cosines(question, units, scores, kb, weights, vectors) if weights.dense > 0 else None
    if dense is not None:
        shortlist, cosines = dense
        # Units left off the shortlist count as if as far from the question as the farthest on it.
        scores = scores + weights.dense * float(cosines.min())
        scores[shortlist] += weights.dense * (cosines - float(cosines.min()))
    return units, scores


# ---- excerpts for a small model's prompt --------------------------------------------------------

_CLAUSES = re.compile(r".*?(?:[，；、,;]+\s*|$)", re.DOTALL)
ELLIPSIS = "…"


def passage_excerpts(question: str, hits: list[SearchHit], chars: int, kb: "KnowledgeBase | None" = None,
                     weights: LeadWeights = LeadWeights(), vectors: SentenceVectors = _SENTENCE_VECTORS) -> list[str]:
    """Each passage cut to about `chars` characters for a small model's prompt, which it reads faster: the unit
    of the passage (sentence, list item, table row) that best answers the question, scored as the lead scores
    them, and its neighbours, the next and the one before in turn, while they fit; "…" marks what was left out.
    A unit longer than `chars` is cut to its clauses the same way, around the one holding most of the question's
    words. A passage of at most `chars` characters is given whole."""
    units, scores = _scored_units(question, hits, kb, weights, vectors)
    best: dict[int, tuple[float, int]] = {}  # passage -> (score, position) of its best unit
    for unit, score in zip(units, scores.tolist()):
        if unit.passage not in best or score > best[unit.passage][0]:
            best[unit.passage] = (score, unit.position)
    answers = _faq_answers(kb)
    excerpts = []
    for number, hit in enumerate(hits):
        text = hit.passage.text
        own = _hit_units(hit, number, answers) if len(text) > chars else []
        if not own:
            excerpts.append(text if len(text) <= chars else text[:chars] + ELLIPSIS)
            continue
        position = best.get(number, (0.0, 0))[1]
        seed = next((i for i, u in enumerate(own) if u.position == position), 0)
        excerpts.append(_excerpt([u.text for u in own], seed, chars, question, kb))
    return excerpts


def _excerpt(texts: list[str], seed: int, chars: int, question: str, kb) -> str:
    """`texts[seed]` and its neighbours within `chars` characters, "…" where texts before or after were left out."""
    if len(texts[seed]) > chars:
        clauses = [c for c in _CLAUSES.findall(texts[seed]) if c]
        held = _overlap(_question_words(question, kb), [set(_tokens(c, kb)) for c in clauses])
        start, end = _grow([len(c) for c in clauses], int(np.argmax(held)), chars)
        body = "".join(clauses[start:end + 1]).strip()
        cut, body = len(body) > chars, body[:chars]
        before, after = start > 0 or seed > 0, cut or end < len(clauses) - 1 or seed < len(texts) - 1
    else:
        start, end = _grow([len(t) + 1 for t in texts], seed, chars + 1)
        body = texts[start]
        for previous, text in zip(texts[start:end], texts[start + 1:end + 1]):
            prose = _line_kind(previous) == "prose" and _line_kind(text) == "prose"
            body += ("" if has_cjk(previous + text) else " ") if prose else "\n"
            body += text
        before, after = start > 0, end < len(texts) - 1
    return f"{ELLIPSIS if before else ''}{body}{ELLIPSIS if after else ''}"


def _grow(lengths: list[int], seed: int, budget: int) -> tuple[int, int]:
    """The first and last index of a run around `seed` whose lengths add up to at most `budget` (the seed alone
    may exceed it), taking the next and the previous in turn while they fit."""
    start = end = seed
    used, after = lengths[seed], True
    while True:
        can_after = end + 1 < len(lengths) and used + lengths[end + 1] <= budget
        can_before = start > 0 and used + lengths[start - 1] <= budget
        if not (can_after or can_before):
            return start, end
        if can_after and (after or not can_before):
            end += 1
            used += lengths[end]
        else:
            start -= 1
            used += lengths[start]
        after = not after


def _standing(hits: list[SearchHit]) -> np.ndarray:
    """Each passage's rank below the first, measured by its score: between the best (0) and the worst passage
    read (its rank), in proportion to its score. Two passages retrieval nearly tied stand nearly level, so a
    rounding difference that swaps them does not swap the lead; equal scores, or none, keep plain ranks."""
    ranks = np.arange(len(hits), dtype=np.float32)
    scores = np.array([h.score for h in hits], dtype=np.float32)
    spread = float(scores[0] - scores.min()) if len(hits) > 1 else 0.0
    if not np.all(np.isfinite(scores)) or spread <= 0 or np.any(np.diff(scores) > 0):
        return ranks
    return (len(hits) - 1) * (scores[0] - scores) / spread


def _whole_runs(question: str, units: list[Unit], chosen: list[int]) -> list[int]:
    """A chosen table row or list item brings its whole table or list when it is small (and the sentence that
    introduces it), or, of a table, the rows whose first cell the question names: one row is never presented as
    the answer to a question about all of them, nor three steps of four."""
    asked = fold(question)
    whole = list(chosen)
    for i in chosen:
        kind = _line_kind(units[i].text)
        if kind not in ("record", "item"):
            continue
        run = _run_around(units, i, kind)
        named = [j for j in run if _first_value(units[j].text) and fold(_first_value(units[j].text)) in asked] \
            if kind == "record" else []
        if named or len(run) <= WHOLE_RUN:
            whole += named or run
            intro = run[0] - 1
            if intro >= 0 and units[intro].passage == units[i].passage and \
                    units[intro].text.rstrip().endswith(("：", ":")):
                whole.append(intro)
    return list(dict.fromkeys(whole))


def _run_around(units: list[Unit], i: int, kind: str) -> list[int]:
    """The consecutive units of one passage and kind around unit i (a table's rows, a list's items)."""
    def same(j: int) -> bool:
        return units[j].passage == units[i].passage and _line_kind(units[j].text) == kind and \
            (kind != "record" or _columns(units[j].text) == _columns(units[i].text))

    start, end = i, i
    while start > 0 and same(start - 1):
        start -= 1
    while end + 1 < len(units) and same(end + 1):
        end += 1
    return list(range(start, end + 1))


def _columns(record: str) -> tuple[str, ...]:
    return tuple(part.split(": ", 1)[0] for part in record.split("; "))


def _first_value(record: str) -> str:
    """A row's first cell without its bracketed note ("一线城市（北京、上海）" -> 一线城市): what a question names it by."""
    first = record.split("; ", 1)[0]
    return _NOTE.sub("", first.split(": ", 1)[1]).strip() if ": " in first else ""


def _introduced(units: list[Unit], intro: int) -> list[int]:
    """The run of units of one kind (list items, rows or lines) right after a unit ending in a colon."""
    run: list[int] = []
    for j in range(intro + 1, len(units)):
        if units[j].passage != units[intro].passage or len(run) == LISTED_AFTER_A_COLON or \
                (run and _line_kind(units[j].text) != _line_kind(units[run[0]].text)):
            break
        run.append(j)
    return run


def lead_text(units: list[LeadUnit], cite: bool = True) -> str:
    """The lead as text: sentences of one passage run on, each passage's ending with its citation [n];
    list items and table rows one per line."""
    if not units:
        return ""
    lines: list[str] = []
    for number, group in _grouped(units):
        citation = f" [{number}]" if cite else ""
        if all(_ends_sentence(u.text) for u in group):
            joiner = "" if has_cjk("".join(u.text for u in group)) else " "
            lines.append(joiner.join(u.text for u in group) + citation)
        else:  # list items, table rows, lines without a full stop: one per line, as a list
            lines += [_list_line(u.text) if _line_kind(u.text) == "item" else
                      u.text if u.text.rstrip().endswith(("：", ":")) else f"- {u.text}" for u in group]
            lines[-1] += citation
    return "\n".join(lines)


def _ends_sentence(text: str) -> bool:
    return _line_kind(text) == "prose" and text.rstrip(_CLOSERS).endswith(tuple(_SENTENCE_END + "."))


def _grouped(units: list[LeadUnit]) -> list[tuple[int, list[LeadUnit]]]:
    groups: list[tuple[int, list[LeadUnit]]] = []
    for unit in units:
        if groups and groups[-1][0] == unit.passage:
            groups[-1][1].append(unit)
        else:
            groups.append((unit.passage, [unit]))
    return groups


def _question_words(question: str, kb) -> list[str]:
    return list(dict.fromkeys(w for w in _tokens(question, kb) if _is_content(w)))


def _unit_words(unit: Unit, kb) -> set[str]:
    return set(_tokens(f"{unit.context}\n{unit.text}" if unit.context else unit.text, kb))


def _is_content(word: str) -> bool:
    return word not in STOPWORDS and not (len(word) == 1 and word in STOP_CHARS)


def _focus(words: list[str], unit: Unit, kb) -> float:
    """How closely the unit's heading and the question name one topic: the share of the heading's words the
    question names times the share of the question's words the heading holds. A section headed by the
    question's topic answers it better than a sentence that lists that topic among many (which holds the
    question's words too)."""
    own = {w for w in _tokens(_SECTION_NUMBER.sub("", unit.context), kb) if _is_content(w)} if unit.context else set()
    if not own or not words:
        return 0.0
    shared = len(own & set(words))
    return shared / len(own) * shared / len(words)


def _hit_units(hit: SearchHit, number: int, faq_answers: dict[tuple[str, str], str]) -> list[Unit]:
    """A passage's candidate units; of an FAQ entry searched as a passage, only its answer's."""
    passage = hit.passage
    answer = faq_answers.get((passage.source, passage.location))
    if answer is not None:
        return passage_units(answer, number, wrapped=False)
    return passage_units(passage.text, number, hard_wrapped(passage.source), location_heading(passage.location))


_FAQ_ANSWERS: "weakref.WeakKeyDictionary[KnowledgeBase, dict]" = weakref.WeakKeyDictionary()


def _faq_answers(kb) -> dict[tuple[str, str], str]:
    """FAQ answers by (source, location), to tell an FAQ entry's passage (questions, then answer) by."""
    if kb is None:
        return {}
    found = _FAQ_ANSWERS.get(kb)
    if found is None:
        found = _FAQ_ANSWERS[kb] = {(e.source, e.location): e.answer for e in kb.faq}
    return found


def _tokens(text: str, kb) -> list[str]:
    """jieba words as the index cuts them; without an index, Chinese characters and their pairs, and
    English words."""
    if kb is not None:
        return kb.tokenizer.tokens(text)
    folded = fold(text)
    chars = [ch for ch in folded if has_cjk(ch)]
    words = re.findall(r"[0-9a-z]+", folded)
    return chars + [a + b for a, b in zip(chars, chars[1:])] + words


def _overlap(words: list[str], units: list[set[str]]) -> np.ndarray:
    """Per unit, the share of the question's words it holds, each word weighted by how few units hold it."""
    if not words:
        return np.zeros(len(units), dtype=np.float32)
    count = len(units)
    weights = {w: math.log(1 + count / (1 + sum(w in u for u in units))) for w in words}
    total = sum(weights.values()) or 1.0
    return np.array([sum(weights[w] for w in words if w in u) / total for u in units], dtype=np.float32)


def _cosines(question: str, units: list[Unit], scores: np.ndarray, kb, weights: LeadWeights,
             vectors: SentenceVectors) -> tuple[np.ndarray, np.ndarray] | None:
    """Cosines of the question with the units best by words (weights.embedded of them); None without vectors."""
    if kb is None:
        return None
    question_vector = kb.query_vector(question)
    if question_vector is None:
        return None
    shortlist = np.argsort(-scores, kind="stable")[:weights.embedded]
    try:
        found = vectors.get(kb, [units[i].text for i in shortlist])
    except Exception as exc:  # an embedding endpoint gone down: the words alone choose
        log.warning("lead chosen by words alone: %s: %s", type(exc).__name__, exc)
        return None
    return (shortlist, found @ question_vector) if found is not None else None
