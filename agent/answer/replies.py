"""The words of each answer: glossary answers, FAQ answers, the term model's labelled answers, extractive
document answers, and abstentions with their suggestions."""
from __future__ import annotations

import dataclasses

from typing import TYPE_CHECKING

from agent.answer.lead import choose_lead, hard_wrapped, lead_text, readable_passage
from agent.answer.reasons import because, worded
from agent.text.normalize import has_cjk
from agent.records import Answer, FaqEntry, SearchHit, Source, Term
from agent.answer.router import RouteDecision

if TYPE_CHECKING:
    from agent.index.knowledge_base import KnowledgeBase

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
    unknown = "、".join(u.text for u in decision.unknown_terms)
    if unknown:  # asked beside a known term: said, not left out
        lines.append(f"术语表中没有“{unknown}”的条目，我不想凭空猜测它的含义。" if chinese else
                     f"The glossary has no entry for {unknown}, and I will not guess what it means.")
    text = "\n".join(dict.fromkeys(lines))
    return Answer(text, "term", decision.reason, decision.confidence, [term_source(t) for t in decision.terms],
                  lead=text, reasons=list(decision.reasons))


def fact_answer(decision: RouteDecision, question: str) -> Answer:
    """The stored answer; when the entry is only likely, first asked as "您问的是不是「…」？" to confirm."""
    entry: FaqEntry = decision.faq.entry
    source = Source(entry.source, entry.location, decision.faq.score, f"{entry.question}\n{entry.answer}")
    text = entry.answer
    if decision.tentative:
        text = (f"您问的是不是「{entry.question}」？\n\n" if has_cjk(question) else
                f"Did you mean “{entry.question}”?\n\n") + entry.answer
    return Answer(text, "fact", decision.reason, decision.confidence, [source], lead=entry.answer,
                  tentative=decision.tentative, suggestions=list(decision.suggestions) if decision.tentative else [],
                  reasons=list(decision.reasons))


def tool_answer(decision: RouteDecision, question: str, result) -> Answer:
    """A tool's result, as lines of its fields, said to come from the tool."""
    chinese = has_cjk(question)
    name = decision.tool.tool.name
    if isinstance(result, dict):
        body = "\n".join(f"{key}{'：' if chinese else ': '}{value}" for key, value in result.items())
    elif isinstance(result, list):
        body = "\n".join(str(item) for item in result)
    else:
        body = str(result)
    note = f"（由工具 {name} 给出）" if chinese else f"(From the tool {name}.)"
    text = f"{body}\n\n{note}"
    if decision.tentative:
        example = decision.tool.matched_question
        text = (f"您问的是不是「{example}」？\n\n" if chinese else f"Did you mean “{example}”?\n\n") + text
    source = Source(name, "tool", decision.confidence, decision.tool.tool.description)
    return Answer(text, "tool", decision.reason, decision.confidence, [source], lead=body,
                  tentative=decision.tentative, reasons=list(decision.reasons))


def tool_failed_answer(decision: RouteDecision, question: str) -> Answer:
    name = decision.tool.tool.name
    text = (f"工具 {name} 这次没能给出结果，请稍后再试或联系管理员。" if has_cjk(question) else
            f"The tool {name} did not give a result this time; try again later or tell an administrator.")
    reasons = [*decision.reasons, because("tool_failed")]
    return Answer(text, "tool", worded(reasons), 0.0, abstained=True, lead=text, reasons=reasons)


def passage_sources(hits: list[SearchHit]) -> list[Source]:
    return [Source(h.passage.source, h.passage.location, round(h.score, 4), h.passage.text) for h in hits]


def abstain_answer(decision: RouteDecision, question: str) -> Answer:
    """No answer, said plainly: the unknown term if that is what was asked, then what to ask instead."""
    chinese = has_cjk(question)
    unknown = "、".join(u.text for u in decision.unknown_terms)
    if unknown and decision.route == "term":
        text = (f"术语表中没有“{unknown}”的条目，我不想凭空猜测它的含义。" if chinese else
                f"The glossary has no entry for {unknown}, and I will not guess what it means.")
    elif chinese:
        text = "抱歉，知识库中没有找到能回答这个问题的内容，我不想凭空作答。"
    else:
        text = "Sorry, nothing in the knowledge base answers this, and I will not guess."
    lead = text  # what the answer says, before what to ask instead
    if decision.suggestions:
        heading = "您是不是想问：" if chinese else "Did you mean:"
        text += "\n\n" + "\n".join([heading, *(f"{n}. {s}" for n, s in enumerate(decision.suggestions, 1))])
    else:
        text += ("建议换个说法再问，或咨询负责该事务的部门（如人力资源部、IT 服务台或你的直属上级）。" if chinese else
                 " Try rephrasing, or ask the department responsible (HR, the IT service desk or your manager).")
    return Answer(text, decision.route, decision.reason, decision.confidence, abstained=True,
                  suggestions=list(decision.suggestions), lead=lead, reasons=list(decision.reasons))


def term_model_answer(decision: RouteDecision, question: str, generated) -> Answer:
    """The LoRA term model's answer for a term the glossary lacks, labelled as generated, never as fact."""
    label = (f"（术语表中没有此条目；以下由术语模型 {generated.adapter_name} 生成，"
             f"其评测准确率 {generated.accuracy:.0%}，请核实）" if has_cjk(question) else
             f"(Not in the glossary; generated by the term model {generated.adapter_name}, evaluated accuracy "
             f"{generated.accuracy:.0%}; please check.)")
    reasons = [*decision.reasons, because("term_model", model=generated.adapter_name)]
    text = f"{label}\n{generated.text}"
    return Answer(text, "term", worded(reasons), round(generated.accuracy, 3), llm=f"term model {generated.adapter_name}",
                  lead=text, reasons=reasons)  # the label stays with the generated answer wherever it is shown


def extractive_answer(decision: RouteDecision, question: str, note: str = "", count: int = 3,
                      kb: "KnowledgeBase | None" = None) -> Answer:
    """Without a language model: the sentences that answer the question, each citing its passage [n], then
    the best passages made readable (line breaks mended, lists and tables kept), numbered, with their
    citations. Markdown."""
    units = choose_lead(question, decision.hits[:count], kb)
    # Shown and given as sources: the passages the lead cites and others of the same documents (a lead that chose
    # the wrong section leaves the right one beside it), not passages of documents the lead does not use.
    read = decision.hits[:count]
    used = {read[u.passage - 1].passage.source for u in units}
    cited = [n for n, hit in enumerate(read, 1) if not used or hit.passage.source in used]
    number_of = {old: new for new, old in enumerate(cited, 1)}
    units = [dataclasses.replace(u, passage=number_of[u.passage]) for u in units]
    hits = [decision.hits[old - 1] for old in cited]
    lines = [lead_text(units)] if units else []
    lines.append(note or (NO_LLM_NOTE_ZH if has_cjk(question) else NO_LLM_NOTE_EN))
    for number, hit in enumerate(hits, 1):
        body = readable_passage(hit.passage.text, hard_wrapped(hit.passage.source))
        opening = "\n\n" if body.startswith(("|", "- ")) else " "  # a table or list starts on its own line
        lines.append(f"[{number}]{opening}{body}\n\n—— {hit.passage.source}，{hit.passage.location}")
    return Answer("\n\n".join(lines), "doc", decision.reason, decision.confidence, passage_sources(hits),
                  lead=lead_text(units, cite=False), reasons=list(decision.reasons))


def document_lead(question: str, hits: list[SearchHit], kb: "KnowledgeBase | None" = None) -> str:
    """The lead of a document answer an LLM writes: the sentences of the passages it was given that answer
    the question, for `ask --json` and the API beside the LLM's own words."""
    return lead_text(choose_lead(question, hits, kb), cite=False)


def fenced_passages(hits: list[SearchHit], texts: list[str] | None = None) -> str:
    """Passages as quoted data for the prompt: numbered, with their source, inside fences the model is
    told never to take instructions from. `texts`, when given, stand for the passages' own (excerpts)."""
    blocks = []
    for number, hit in enumerate(hits, 1):
        text = (hit.passage.text if texts is None else texts[number - 1]).replace("<<<", "‹‹‹").replace(">>>", "›››")
        blocks.append(f"[{number}] 来源: {hit.passage.source}，{hit.passage.location}\n<<<\n{text}\n>>>")
    return "\n\n".join(blocks)


def answer_without_llm(decision: RouteDecision, question: str, llm_configured: bool,
                       kb: "KnowledgeBase | None" = None) -> Answer | None:
    """The answer for every case that needs no language model; None when the LLM should write it. `kb` gives
    the lead of a document answer its question and sentence vectors; without it words alone choose."""
    if decision.abstained:
        return abstain_answer(decision, question)
    if decision.route == "term":
        return term_answer(decision, question)
    if decision.route == "fact":
        return fact_answer(decision, question)
    return None if llm_configured else extractive_answer(decision, question, kb=kb)
