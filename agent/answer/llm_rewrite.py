"""An LLM's rewrite of a follow-up question, and the checks that catch a rewrite that loses the question.

With an LLM configured, it rewrites the question from the conversation first (as MaxKB's 问题优化 and
FastGPT's query enhancement do). Its rewrite is used only when it is still the user's question: not empty,
a question and not an answer, not far longer than asked, every name and most of the words the user typed
still there, and no referring word left unresolved. Otherwise the rule of agent.answer.followup rewrites.
"""
from __future__ import annotations

import logging
import re
from typing import Callable

from agent.answer.conversation import MAX_TURN_CHARS
from agent.answer.followup import COVERED, Resolution
from agent.answer.followup_wording import EN_QUESTION, ZH_QUESTION, own_words, points_back, referring
from agent.answer.router import RouteDecision, Router
from agent.text.normalize import fold, has_cjk, readable
from agent.text.units import content_units

log = logging.getLogger(__name__)

REWRITE_PROMPT_ZH = """下面是员工与企业知识助手的对话记录，以及员工的最新问题。
请结合对话记录，把最新问题改写成一个不看对话也能理解的完整问题：把“它、这个、他们”等代词换成所指的内容，补全“那……呢？”之类省略的部分。
要求：保持提问者的语言；不要回答问题；不要添加对话中没有的信息；如果最新问题本身已经完整，或者与对话内容无关，就原样输出。
只输出改写后的问题，不要输出其他内容。

对话记录：
{conversation}

最新问题：{question}"""

_ANSWER_PREFIX = re.compile(r"^(?:改写后的问题|改写后|改写|独立问题|问题|rewritten question|standalone question|question)"
                            r"\s*[:：]\s*", re.IGNORECASE)
_QUOTES = "\"'“”‘’「」`"


def llm_resolution(router: Router, question: str, own: RouteDecision, messages: list[dict],
                   llm: Callable[[list[dict], str], str]) -> Resolution | None:
    """The LLM's rewrite when it keeps the question; None to fall back to the rule."""
    try:
        reply = llm(messages, question)
    except Exception as exc:  # a failing backend must not take the answer down; only the type is logged
        log.warning("LLM rewrite failed (%s); the rule rewrites the question", type(exc).__name__)
        return None
    rewritten = clean_llm_rewrite(reply)
    if rewritten and fold(rewritten).rstrip("?？") == fold(question).rstrip("?？"):
        return None if points_back(question) else Resolution(question, "", own, "llm")  # left alone by the LLM
    if not keeps_the_question(question, rewritten, router):
        log.info("LLM rewrite %r loses the question; the rule rewrites it", rewritten[:80])
        return None
    return Resolution(rewritten, rewritten, router.route(rewritten), "llm")


def clean_llm_rewrite(reply) -> str:
    """The first non-empty line of the LLM's reply, without quotes or a "改写后的问题：" label."""
    for line in readable(reply if isinstance(reply, str) else "").splitlines():
        line = _ANSWER_PREFIX.sub("", line.strip().strip(_QUOTES)).strip().strip(_QUOTES)
        if line:
            return line
    return ""


def keeps_the_question(question: str, rewritten: str, router: Router) -> bool:
    """Whether an LLM's rewrite is still the user's question (see the module's docstring)."""
    if not rewritten or not any(ch.isalnum() for ch in rewritten):
        return False
    if len(rewritten) > max(4 * len(question), len(question) + 120) or len(rewritten) > 400:
        return False
    english = not has_cjk(rewritten)
    if not ((EN_QUESTION if english else ZH_QUESTION).search(rewritten) or rewritten.rstrip().endswith(("?", "？", "呢"))):
        return False
    compact = fold(rewritten).replace(" ", "")
    names = [m.text for m in router.glossary.find(question)] + [u.text for u in router.understand(question).unknown_terms]
    if any(fold(name).replace(" ", "") not in compact for name in names):
        return False
    units = content_units(own_words(question))
    if units and sum(1 for u in units if u in compact) / len(units) < COVERED:
        return False
    before = referring(question, not has_cjk(question))
    return not before or len(referring(rewritten, english)) < len(before)


def rewrite_with_llm(llm, messages: list[dict], question: str) -> str:
    """Ask a Qwen-Agent chat model to rewrite `question` as a standalone question, given the conversation
    (`messages`, already cut short). Returns its reply as text; raises when the backend fails."""
    from qwen_agent.llm.schema import USER, Message

    names = {"user": "用户", "assistant": "助手"}
    conversation = "\n".join(f"{names.get(m['role'], m['role'])}：{m['content']}" for m in messages) or "（无）"
    prompt = REWRITE_PROMPT_ZH.format(conversation=conversation, question=question[:MAX_TURN_CHARS * 2])
    response = llm.chat(messages=[Message(role=USER, content=prompt)], stream=False)
    for message in reversed(response or []):
        content = message.get("content") if isinstance(message, dict) else message.content
        if isinstance(content, str) and content.strip():
            return content
    return ""
