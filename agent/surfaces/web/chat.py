"""The chat of one browser tab: a turn (the question shown at once, then the answer as it grows, rendered
safely), its conversation kept in the memory database, and ratings of answers written to the question log.
Storage failing never stops an answer: the page says so and the chat goes on in the tab."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Iterator

from agent.answer.service import KnowledgeService
from agent.memory.conversations import ConversationFull, ConversationNotFound, Conversations, MAX_TURNS
from agent.memory.database import MemoryUnavailable
from agent.memory.question_log import QuestionLog
from agent.records import Answer
from agent.surfaces.web.render import answer_message, as_text, question_message, suggestions_message

log = logging.getLogger(__name__)

HISTORY_MESSAGES = 6  # earlier turns passed to the assistant: enough for a follow-up, cheap for the LLM
# The values of the 是 / 不是 buttons under a tentative answer (the buttons show labels' words). Any other value
# of a button is a suggested question, which is an FAQ question or a term: never one of these.
TENTATIVE_YES, TENTATIVE_NO = "kb:tentative:yes", "kb:tentative:no"


@dataclass
class ChatView:
    """What the tab holds besides the messages shown: the plain-text history the assistant is given, the
    question-log id of each shown message's answer (None for questions and failures), the conversation."""

    history: list[dict] = field(default_factory=list)
    answer_ids: list[str | None] = field(default_factory=list)
    conversation_id: str = ""
    note: str = ""  # what went wrong with storage in this tab, shown above the chat; "" when nothing did
    latest: Answer | None = None  # the last message's answer, while 是 / 不是 may still be said to it
    ratings: dict[str, str] = field(default_factory=dict)  # answer id -> "up" | "down", as the question log has it
    commenting: str = ""  # the answer just rated 👎, whose optional comment the page is asking for


# How the chat shows a rating (Gradio's feedback values), from the question log's.
FEEDBACK = {"up": "Like", "down": "Dislike"}


def feedback_values(view: ChatView) -> list[str | None]:
    """The rating of each assistant message, in order, as the chat's `feedback_value` wants them: a rated answer
    shows its 👍 / 👎 again after a reload. Questions and answers alternate, so answers are the odd messages."""
    return [FEEDBACK.get(view.ratings.get(answer_id or "", "")) for answer_id in view.answer_ids[1::2]]


@dataclass
class ChatMemory:
    """The stores a chat writes to: conversations (None when KB_HISTORY_DAYS=0) and the question log."""

    conversations: Conversations | None
    question_log: QuestionLog

    def open(self, owner: str | None, conversation_id: str, labels: dict[str, str]) -> tuple[list[dict], ChatView]:
        """A stored conversation as the chat shows it. One that is not the owner's is an empty chat with a note."""
        if not conversation_id or owner is None or self.conversations is None:
            return [], ChatView()
        try:
            turns = self.conversations.turns(owner, conversation_id)
        except ConversationNotFound:
            return [], ChatView(note=labels["conversation_missing"])
        except MemoryUnavailable as exc:
            log.warning("conversation not read: %s", exc)
            return [], ChatView(note=labels["history_failed"].format(error=type(exc).__name__))
        chat, view = [], ChatView(conversation_id=conversation_id)
        for turn in turns:
            chat += [{"role": "user", "content": question_message(turn.question)}, _assistant_message(turn.answer, labels)]
            view.history += _plain_turn(turn.question, turn.answer)
            view.answer_ids += [None, turn.answer.answer_id or None]
        view.latest = turns[-1].answer if turns else None
        view.ratings = self.ratings([answer_id for answer_id in view.answer_ids if answer_id])
        return chat, view

    def ratings(self, answer_ids: list[str]) -> dict[str, str]:
        """The ratings the question log holds for these answers; none when it cannot be read (the chat opens
        all the same, without them)."""
        try:
            return {row.id: row.rating for row in self.question_log.rows(ids=answer_ids) if row.rating}
        except MemoryUnavailable as exc:
            log.warning("ratings not read: %s", exc)
            return {}

    def save(self, owner: str | None, user: str | None, view: ChatView, question: str, answer: Answer,
             labels: dict[str, str]) -> ChatView:
        """Log the answer (which gives it an id to rate), then add the turn to the tab's conversation, starting
        one when there is none (or when it was deleted meanwhile, in another tab)."""
        self.question_log.record(question, answer, user, view.conversation_id)
        view = replace(view, history=[*view.history, *_plain_turn(question, answer)],
                       answer_ids=[*view.answer_ids, None, answer.answer_id or None], latest=answer)
        if self.conversations is None or owner is None:
            return view
        try:
            try:
                if not view.conversation_id:
                    raise ConversationNotFound("")
                self.conversations.add_turn(owner, view.conversation_id, question, answer)
            except ConversationNotFound:
                view.conversation_id = self.conversations.start(owner, question)
                self.conversations.add_turn(owner, view.conversation_id, question, answer)
        except ConversationFull:
            view.note = labels["conversation_full"].format(turns=MAX_TURNS)
        except MemoryUnavailable as exc:
            log.warning("conversation turn not saved: %s", exc)
            view.note = labels["history_failed"].format(error=type(exc).__name__)
        return view

    def rate(self, view: ChatView, index: int, liked: bool | None, user: str | None, labels: dict[str, str]) -> str:
        """Record 👍 (liked True) or 👎 (False) for the answer shown at `index`, kept in view.ratings; after a 👎
        view.commenting names the answer, so the page may ask what was wrong. Returns what to tell the user."""
        answer_id = view.answer_ids[index] if 0 <= index < len(view.answer_ids) else None
        view.commenting = ""
        if not answer_id or liked not in (True, False):
            return ""
        rating = "up" if liked else "down"
        try:
            self.question_log.feedback(answer_id, rating, user=user)
        except (MemoryUnavailable, ValueError) as exc:
            log.warning("feedback not saved: %s", exc)
            return labels["feedback_failed"].format(error=type(exc).__name__)
        view.ratings[answer_id] = rating
        view.commenting = answer_id if rating == "down" else ""
        return labels["feedback_saved"]

    def comment(self, view: ChatView, text: str, user: str | None, labels: dict[str, str]) -> str:
        """The comment on the answer just rated 👎, stored with its rating (knowledge owners read it in 待完善's
        反馈意见); returns what to tell the user ("" when there is nothing to store)."""
        answer_id, view.commenting = view.commenting, ""
        if not answer_id or not (text or "").strip():
            return ""
        try:
            self.question_log.feedback(answer_id, "down", comment=text, user=user)
        except (MemoryUnavailable, ValueError) as exc:
            log.warning("comment not saved: %s", exc)
            return labels["feedback_failed"].format(error=type(exc).__name__)
        return labels["comment_saved"]

    def confirm(self, chat: list[dict], view: ChatView, yes: bool, user: str | None,
                labels: dict[str, str]) -> tuple[list[dict], ChatView, str]:
        """是 (yes True) or 不是 under the latest answer when it is tentative: the asker's rating of it, stored as
        👍 / 👎 are. The buttons go; 不是 shows as the asker's reply, answered by the answer's other suggestions
        (each a button that asks it) or, with none, by a request to ask in other words. Returns the chat, the
        view and what to tell the user ("" for a click on anything but the latest tentative answer)."""
        answer = view.latest
        if answer is None or not answer.tentative or not chat or not view.answer_ids:
            return chat, view, ""
        told = self.rate(view, len(view.answer_ids) - 1, yes, user, labels)
        chat = [*chat[:-1], {key: value for key, value in chat[-1].items() if key != "options"}]
        settled = replace(view, latest=None, commenting="")  # said once
        if yes:
            return chat, settled, told
        reply = {"role": "assistant", "content": suggestions_message(answer.suggestions, labels)}
        if answer.suggestions:
            reply["options"] = [{"value": suggestion} for suggestion in answer.suggestions]
        settled.answer_ids = [*view.answer_ids, None, None]  # the reply pair is no answer to rate
        return [*chat, {"role": "user", "content": question_message(labels["tentative_no"])}, reply], settled, told


def _plain_turn(question: str, answer: Answer) -> list[dict]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


def _assistant_message(answer: Answer, labels: dict[str, str], words_only: bool = False) -> dict:
    """The rendered answer; its suggestions ("您是不是想问") become options the user can click to ask them. A
    tentative answer offers 是 / 不是 instead, its suggestions kept for 不是 (ChatMemory.confirm). The chat shows
    the options of its last message only."""
    message = {"role": "assistant", "content": answer_message(answer, labels, words_only)}
    if answer.tentative:
        message["options"] = [{"value": TENTATIVE_YES, "label": labels["tentative_yes"]},
                              {"value": TENTATIVE_NO, "label": labels["tentative_no"]}]
    elif answer.suggestions:
        message["options"] = [{"value": suggestion} for suggestion in answer.suggestions]
    return message


def chat_turn(service: KnowledgeService, memory: ChatMemory, labels: dict[str, str], question: str, chat: list[dict],
              view: ChatView, owner: str | None, user: str | None,
              words_only: bool = False) -> Iterator[tuple[list[dict], ChatView]]:
    """Yields (chat as shown, view) after each change: the question with a placeholder, the answer as it
    grows (an LLM's words appear as they are written), then the answer saved to the conversation. `words_only`:
    the semantic index is still being built, which the answer says."""
    question = (question or "").strip()
    if not question:
        yield chat, view
        return
    view = replace(view, note="", latest=None, commenting="")  # a new turn clears an old note
    chat = [*chat, {"role": "user", "content": question_message(question)},
            {"role": "assistant", "content": as_text(labels["thinking"])}]
    yield chat, view
    answer = None
    try:
        for answer in service.stream(question, view.history[-HISTORY_MESSAGES:]):
            chat = [*chat[:-1], _assistant_message(answer, labels, words_only)]
            yield chat, view
    except Exception as exc:  # the user gets a message, the log gets the trace
        log.exception("answering a question failed")
        failed = as_text(labels["answer_failed"].format(error=type(exc).__name__))
        chat = [*chat[:-1], {"role": "assistant", "content": failed}]
        yield chat, replace(view, answer_ids=[*view.answer_ids, None, None])
        return
    if answer is not None:
        view = memory.save(owner, user, view, question, answer, labels)
    yield chat, view
