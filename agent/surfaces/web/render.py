"""Answers, questions and the status line as chat markdown in which nothing from a document or a user can
act: their text is escaped, so HTML shows as the characters typed and links or images never form. Only
the few tags written here (badge, meta line, collapsible sources) are markup."""
from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path

from agent.index.knowledge_base import KnowledgeBase
from agent.records import ROUTES, Answer, Source

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


def answer_message(answer: Answer, labels: dict[str, str]) -> str:
    """An answer with its route badge ("no answer found" when it abstains), why it was routed so, how long
    it took, and its sources, each expandable to the passage, FAQ entry or glossary row behind it."""
    route = answer.route if answer.route in ROUTES else "doc"
    kind, name = ("kb-abstained", labels["abstained"]) if answer.abstained else (f"kb-route-{route}",
                                                                                 labels["route_" + route])
    parts = [f'<span class="kb-badge {kind}">{html.escape(name)}</span>', as_text(answer.text) or "…",
             _meta_line(answer, labels)]
    parts += [_source_block(number, source) for number, source in enumerate(answer.sources, 1)]
    return "\n\n".join(parts)


def _meta_line(answer: Answer, labels: dict[str, str]) -> str:
    items = [f"{labels['reason']}{answer.reason}", f"{labels['confidence']} {answer.confidence:.2f}",
             f"{labels['latency']} {format_latency(answer.latency_ms)}"]
    if answer.llm and answer.llm != "none":
        items.append(f"{labels['model']} {answer.llm}")
    return f'<div class="kb-meta">{html.escape(" · ".join(items))}</div>'


def _source_block(number: int, source: Source) -> str:
    where = " · ".join(x for x in (source.source, source.location) if x)
    summary = f'<summary>[{number}] {html.escape(where)}</summary>'
    if not source.text.strip():
        return f'<details class="kb-source">{summary}</details>'
    # Blank lines around the body let it render as (escaped) markdown inside the HTML block.
    return f'<details class="kb-source">{summary}\n\n{as_text(source.text.strip())}\n\n</details>'


def format_latency(milliseconds: float) -> str:
    return f"{milliseconds:.0f} ms" if milliseconds < 1000 else f"{milliseconds / 1000:.1f} s"


def format_time(value: str | float) -> str:
    """An index timestamp (ISO text) or file time (epoch seconds) as minutes, for people."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M") if value else ""
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").strftime("%Y-%m-%d %H:%M (UTC%z)")
    except ValueError:
        return value


def status_line(kb: KnowledgeBase, llm_name: str, labels: dict[str, str], refresh_error: str | None = None) -> str:
    """What answers the questions and how much it knows, in one line; never a key. A failed re-index
    is said plainly: the answers then still come from the previous index."""
    llm = labels["status_no_llm"] if llm_name == "none" else labels["status_llm"].format(llm=llm_name)
    counts = labels["status_counts"].format(terms=len(kb.terms), faq=len(kb.faq), passages=len(kb.passages))
    updated = labels["status_updated"].format(updated=format_time(kb.updated))
    parts = [llm, counts, updated]
    if refresh_error:
        parts.append(labels["status_refresh_failed"].format(error=refresh_error))
    return f'<div class="kb-status">{html.escape(" · ".join(parts))}</div>'


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
