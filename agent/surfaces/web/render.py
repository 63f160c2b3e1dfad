"""Answers, questions and the status line as chat markdown in which nothing from a document or a user can
act: their text is escaped, so HTML shows as the characters typed and links or images never form. Only
the few tags written here (badge, meta line, collapsible sources) are markup."""
from __future__ import annotations

import base64
import html
import logging
import re
from datetime import datetime
from pathlib import Path

from agent.index.knowledge_base import KnowledgeBase
from agent.answer.reasons import Reason, worded
from agent.records import ROUTES, Answer, Source
from agent.surfaces.web.labels import LOCATIONS, ROUTE_REASONS

log = logging.getLogger(__name__)

# Markdown that would make links, images, code (where entities show raw) or maths out of quoted text.
_INERT = str.maketrans({"[": "&#91;", "]": "&#93;", "`": "&#96;", "~": "&#126;", "\\": "&#92;", "$": "&#36;"})
_LEADING_SPACE = re.compile(r"^[ \t\u3000]+", re.MULTILINE)
_NUMBERING = re.compile(r"^\s*(?:[一二三四五六七八九十]+[、.．]|\d+(?:\.\d+)*[、.．)]?|[（(]\d+[)）])\s*")


def as_text(text: str) -> str:
    """Any text as markdown that shows exactly those characters (line breaks kept): HTML is escaped, and
    link, image, code and maths syntax is neutralised; emphasis, headings and lists may still format."""
    escaped = html.escape(text or "", quote=True).translate(_INERT)
    # Indentation would start a code block, where the entities above would show as written.
    return _LEADING_SPACE.sub(lambda m: "&nbsp;" * len(m.group().expandtabs(4)), escaped)


def answer_message(answer: Answer, labels: dict[str, str], words_only: bool = False) -> str:
    """An answer with its route badge ("no answer found" when it abstains, "possibly related" when a likely FAQ
    entry is offered for confirmation), why it was routed so, how long
    it took, and its sources, each expandable to the passage, FAQ entry or glossary row behind it. A document
    answer with lead sentences shows those, its passages collapsed below. An abstention cites nothing.
    `words_only`: the answer was found while the semantic index was still being built, by words alone."""
    route = answer.route if answer.route in ROUTES else "doc"
    kind, name = ("kb-abstained", labels["abstained"]) if answer.abstained else \
        ("kb-tentative", labels["tentative"]) if answer.tentative else (f"kb-route-{route}", labels["route_" + route])
    parts = [f'<span class="kb-badge {kind}">{html.escape(name)}</span>', as_text(_body(answer, labels)) or "…",
             _meta_line(answer, labels, words_only)]
    parts += [_source_block(number, source, labels) for number, source in enumerate(_cited(answer), 1)]
    parts.append(copy_marker(answer_plain_text(answer, labels)))
    return "\n\n".join(parts)


def question_message(question: str) -> str:
    """A question as the chat shows it: its characters exactly, and exactly those when copied."""
    return f"{as_text(question)}\n\n{copy_marker(question)}"


def answer_plain_text(answer: Answer, labels: dict[str, str]) -> str:
    """What "copy" puts on the clipboard: the answer, then one line per source, with no markup."""
    lines = [_body(answer, labels).strip()]
    sources = _cited(answer)
    if sources:
        lines += ["", labels["copy_sources"]]
        lines += [f"[{number}] {_where(source, labels)}" for number, source in enumerate(sources, 1)]
    return "\n".join(lines)


def copy_marker(text: str) -> str:
    """The plain text of a message, hidden in it as an HTML comment that the page never shows; the page's
    copy script (PAGE_SCRIPT in blocks.py) puts it on the clipboard instead of the markup. Base64 keeps any
    character of the text from ending the comment."""
    return f"<!--kb-copy:{base64.b64encode(text.encode()).decode()}-->"


def suggestions_message(suggestions: list[str], labels: dict[str, str]) -> str:
    """The reply to 不是 under a tentative answer: the other questions it may have meant, numbered (the chat
    offers each as a button that asks it), or, with none, a request to ask in other words."""
    text = "\n".join([labels["tentative_others"], *(f"{n}. {s}" for n, s in enumerate(suggestions, 1))]) \
        if suggestions else labels["tentative_none"]
    return f"{as_text(text)}\n\n{copy_marker(text)}"


def _body(answer: Answer, labels: dict[str, str]) -> str:
    """The answer's words; where they name a source's location ("缩略语 row 3"), in the interface language.
    The reply to a question without words is the page's own, in its language."""
    if any(reason.code == "no_words" for reason in answer.reasons):
        return labels["no_words"]
    text = answer.lead if answer.lead and answer.route == "doc" and not answer.abstained else answer.text
    for location in {source.location for source in answer.sources if source.location}:
        text = text.replace(location, location_text(location, labels))
    return text


def _cited(answer: Answer) -> list[Source]:
    return [] if answer.abstained else answer.sources


def reason_text(reasons: list[Reason], labels: dict[str, str], route: str = "doc", abstained: bool = False) -> str:
    """The decision's reasons worded in the interface language from their codes (agent.answer.reasons); an answer
    stored before reasons had codes has none and shows what its route says."""
    if reasons:
        return worded(reasons, labels["lang"])
    return ROUTE_REASONS[labels["lang"]]["abstained" if abstained else route]


def location_text(location: str, labels: dict[str, str]) -> str:
    """"row 3" / "p. 1" / "slide 9" as 第3行 / 第1页 / 第9张幻灯片 in Chinese; headings stay as written."""
    for pattern, replacement in LOCATIONS.get(labels["lang"], []):
        location = re.sub(pattern, replacement, location)
    return location


def _meta_line(answer: Answer, labels: dict[str, str], words_only: bool = False) -> str:
    route = answer.route if answer.route in ROUTES else "doc"
    # An abstention's confidence is the chance that nothing offered was right: shown beside "no answer found",
    # it reads as confidence in an answer, so it is left out.
    # A follow-up's rewrite leads the line ("理解为：…"), so the reason does not say it again.
    reasons = [reason for reason in answer.reasons if not (answer.rewritten and reason.code == "understood_as")]
    items = [f"{labels['reason']}{reason_text(reasons, labels, route, answer.abstained)}",
             *([] if answer.abstained else [f"{labels['confidence']} {answer.confidence:.2f}"]),
             f"{labels['latency']} {format_latency(answer.latency_ms)}"]
    if answer.rewritten:
        items.insert(0, f"{labels['rewritten']}{answer.rewritten}")
    if answer.llm and answer.llm != "none":
        items.append(f"{labels['model']} {answer.llm}")
    if words_only:
        items.append(labels["words_only"])
    return f'<div class="kb-meta">{html.escape(" · ".join(items))}</div>'


def where_text(source: str, location: str, labels: dict[str, str]) -> str:
    """A file and the place in it ("glossary/术语.xlsx · 缩略语 第3行"), as every table and citation shows it."""
    return " · ".join(x for x in (source, location_text(location, labels)) if x)


def _where(source: Source, labels: dict[str, str]) -> str:
    return where_text(source.source, source.location, labels)


def _source_block(number: int, source: Source, labels: dict[str, str]) -> str:
    summary = f'<summary>[{number}] {html.escape(_where(source, labels))}</summary>'
    if not source.text.strip():
        return f'<details class="kb-source">{summary}</details>'
    # Blank lines around the body let it render as (escaped) markdown inside the HTML block.
    return f'<details class="kb-source">{summary}\n\n{as_text(source.text.strip())}\n\n</details>'


def format_latency(milliseconds: float) -> str:
    """"<1 ms" below a millisecond (a glossary answer often is), not "0 ms"; seconds from 1000 ms."""
    if milliseconds < 1:
        return "<1 ms"
    return f"{milliseconds:.0f} ms" if milliseconds < 1000 else f"{milliseconds / 1000:.1f} s"


def format_time(value: str | float) -> str:
    """An index timestamp (ISO text) or file time (epoch seconds) as minutes, for people."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M") if value else ""
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").strftime("%Y-%m-%d %H:%M (UTC%z)")
    except ValueError:
        return value


def status_line(kb: KnowledgeBase, llm_name: str, labels: dict[str, str], refresh_error: str | None = None,
                indexing: dict | None = None) -> str:
    """What answers the questions and how much it knows, in one line; never a key. A failed re-index
    is said plainly: the answers then still come from the previous index. `indexing` ({"done", "total"}) while
    the vectors are computed: the progress, since answers meanwhile match words only. A narrow screen gets the
    short form (counts and model only, CSS picks which)."""
    llm = labels["status_no_llm"] if llm_name == "none" else labels["status_llm"].format(llm=llm_name)
    counts = labels["status_counts"].format(terms=len(kb.terms), faq=len(kb.faq), passages=len(kb.passages))
    updated = labels["status_updated"].format(updated=format_time(kb.updated))
    parts = [llm, counts, updated]
    short = [labels["status_short"].format(terms=len(kb.terms), faq=len(kb.faq), passages=len(kb.passages)),
             labels["status_short_no_llm"] if llm_name == "none" else labels["status_short_llm"].format(llm=llm_name)]
    if indexing is not None:
        progress = labels["status_indexing"].format(**indexing)
        parts.insert(0, progress)
        short.insert(0, progress)
    if refresh_error:
        parts.append(labels["status_refresh_failed"].format(error=refresh_error))
        short.append(labels["status_refresh_failed"].format(error=refresh_error))
    return (f'<div class="kb-status"><span class="kb-status-long">{html.escape(" · ".join(parts))}</span>'
            f'<span class="kb-status-short">{html.escape(" · ".join(short))}</span></div>')


def _shares_a_word(section: str, text: str) -> bool:
    """Whether any two consecutive characters of the section title occur in the text."""
    return any(section[i:i + 2] in text for i in range(len(section) - 1))


def example_questions(kb: KnowledgeBase, labels: dict[str, str]) -> list[str]:
    """A term, an FAQ and a document question drawn from what is loaded, so the examples always work."""
    examples = []
    term = next((t for t in kb.terms if t.abbreviation and t.english and t.chinese), None)
    if term:
        examples.append(labels["example_term"].format(term=term.abbreviation))
    if kb.faq:
        examples.append(kb.faq[0].question)
    # The document example names a section the FAQ does not ask about, so it shows the documents' route.
    asked = " ".join(q for e in kb.faq for q in (e.question, *e.similar))
    for passage in kb.passages:
        section = _NUMBERING.sub("", passage.location.split(" > ")[-1]).strip() if " > " in passage.location else ""
        if 2 <= len(section) <= 12 and not re.search(r"[A-Za-z]", section) and not _shares_a_word(section, asked):
            examples.append(labels["example_doc"].format(document=Path(passage.source).stem, section=section))
            break
    return examples
