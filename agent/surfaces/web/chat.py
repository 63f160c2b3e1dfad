"""One chat turn: the question shown at once, then the answer as it grows, rendered safely."""
from __future__ import annotations

import logging
from typing import Iterator

from agent.answer.service import KnowledgeService
from agent.surfaces.web.render import answer_message, as_text

log = logging.getLogger(__name__)

HISTORY_MESSAGES = 6  # earlier turns passed to the assistant: enough for a follow-up, cheap for the LLM


def _assistant_message(answer, labels: dict[str, str]) -> dict:
    """The rendered answer; its suggestions ("您是不是想问") become options the user can click to ask them."""
    message = {"role": "assistant", "content": answer_message(answer, labels)}
    if answer.suggestions:
        message["options"] = [{"value": suggestion} for suggestion in answer.suggestions]
    return message


def chat_turn(service: KnowledgeService, labels: dict[str, str], question: str, chat: list[dict],
              history: list[dict]) -> Iterator[tuple[list[dict], list[dict]]]:
    """Yields (chat as shown, plain-text history) after each change. The chat holds rendered markdown;
    the history keeps the words themselves, which is what the assistant is given."""
    question = (question or "").strip()
    if not question:
        yield chat, history
        return
    chat = [*chat, {"role": "user", "content": as_text(question)},
            {"role": "assistant", "content": as_text(labels["thinking"])}]
    yield chat, history
    answer = None
    try:
        for answer in service.stream(question, history[-HISTORY_MESSAGES:]):
            chat = [*chat[:-1], _assistant_message(answer, labels)]
            yield chat, history
    except Exception as exc:  # the user gets a message, the log gets the trace
        log.exception("answering a question failed")
        failed = as_text(labels["answer_failed"].format(error=type(exc).__name__))
        chat = [*chat[:-1], {"role": "assistant", "content": failed}]
        yield chat, history
        return
    if answer is not None:
        history = [*history, {"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]
    yield chat, history
