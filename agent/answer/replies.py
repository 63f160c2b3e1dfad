"""The words of each answer: glossary answers, FAQ answers, extractive and abstaining document answers."""
from __future__ import annotations

from agent.text.normalize import has_cjk
from agent.records import Answer, FaqEntry, SearchHit, Source, Term
from agent.answer.router import RELEVANCE_THRESHOLD, RouteDecision

NO_LLM_NOTE_ZH = "（未配置语言模型，以下为文档原文摘录）"
NO_LLM_NOTE_EN = "(No language model is configured; these are extracts from the documents.)"


def term_line(term: Term) -> str:
    names = " / ".join(term.abbreviations)
    parts = [p for p in (term.english, term.chinese) if p]
    if not names and term.definition and parts:
        names, parts = parts[-1], parts[:-1]  # a defined term heads its own line: 星河令牌：……
    aliases = f"；又译：{'、'.join(term.aliases)}" if term.aliases else ""
    return f"{names or '—'}：{'，'.join(parts + [term.definition] if term.definition else parts)}{aliases}"


def term_source(term: Term) -> Source:
    return Source(term.source, term.location, 1.0, term_line(term))


def term_answer(decision: RouteDecision, question: str) -> Answer:
    chinese = has_cjk(question)
    lines = []
    for mention in decision.mentions:
        meanings = list(dict.fromkeys(mention.terms))
        if len({(t.english, t.chinese) for t in meanings}) > 1:
            lines.append(f"{mention.text.strip()} 有 {len(meanings)} 种含义：" if chinese
                         else f"{mention.text.strip()} has {len(meanings)} meanings:")
            lines += [f"{n}. {term_line(t)}（{t.source}，{t.location}）" for n, t in enumerate(meanings, 1)]
        else:
            lines += [f"{term_line(t)}（{t.source}，{t.location}）" for t in meanings]
    text = "\n".join(dict.fromkeys(lines))
    return Answer(text, "term", decision.reason, decision.confidence, [term_source(t) for t in decision.terms])


def fact_answer(decision: RouteDecision) -> Answer:
    entry: FaqEntry = decision.faq.entry
    source = Source(entry.source, entry.location, decision.faq.score, f"{entry.question}\n{entry.answer}")
    return Answer(entry.answer, "fact", decision.reason, decision.confidence, [source])


def passage_sources(hits: list[SearchHit]) -> list[Source]:
    return [Source(h.passage.source, h.passage.location, round(h.score, 4), h.passage.text) for h in hits]


def abstain_answer(decision: RouteDecision, question: str) -> Answer:
    if has_cjk(question):
        text = ("抱歉，知识库中没有找到与这个问题足够相关的内容，我不想凭空作答。"
                "建议换个说法再问，或咨询负责该事务的部门（如人力资源部、IT 服务台或你的直属上级）。")
    else:
        text = ("Sorry, nothing in the knowledge base is relevant enough to answer this, and I will not guess. "
                "Try rephrasing, or ask the department responsible (HR, the IT service desk or your manager).")
    reason = f"{decision.reason}; best passage covers {decision.relevance:.0%} of the question, too little"
    return Answer(text, "doc", reason, decision.confidence, passage_sources(decision.hits))


def extractive_answer(decision: RouteDecision, question: str, note: str = "", count: int = 3) -> Answer:
    """Without a language model: the best passages verbatim, numbered, with their citations."""
    lines = [note or (NO_LLM_NOTE_ZH if has_cjk(question) else NO_LLM_NOTE_EN)]
    for number, hit in enumerate(decision.hits[:count], 1):
        lines.append(f"[{number}] {hit.passage.text.strip()}\n—— {hit.passage.source}，{hit.passage.location}")
    return Answer("\n\n".join(lines), "doc", decision.reason, decision.confidence, passage_sources(decision.hits))


def fenced_passages(hits: list[SearchHit]) -> str:
    """Passages as quoted data for the prompt: numbered, with their source, inside fences the model is
    told never to take instructions from."""
    blocks = []
    for number, hit in enumerate(hits, 1):
        text = hit.passage.text.replace("<<<", "‹‹‹").replace(">>>", "›››")
        blocks.append(f"[{number}] 来源: {hit.passage.source}，{hit.passage.location}\n<<<\n{text}\n>>>")
    return "\n\n".join(blocks)


def answer_without_llm(decision: RouteDecision, question: str, llm_configured: bool) -> Answer | None:
    """The answer for every case that needs no language model; None when the LLM should write it."""
    if decision.route == "term":
        return term_answer(decision, question)
    if decision.route == "fact":
        return fact_answer(decision)
    if decision.relevance < RELEVANCE_THRESHOLD:
        return abstain_answer(decision, question)
    return None if llm_configured else extractive_answer(decision, question)
