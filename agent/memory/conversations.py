"""Conversations, kept per owner (a signed-in user, or one browser when there is no sign-in) in the memory
database (agent/memory/database.py: SQLite in the data folder, or PostgreSQL), so a chat survives a reload and a restart. Every read and write names the owner: a
conversation id that is forged, mistyped or someone else's is simply not found. KB_HISTORY_DAYS sets how
long an untouched conversation is kept; 0 stores none."""
from __future__ import annotations

import dataclasses
import json
import time
import uuid
from dataclasses import dataclass

from agent.answer import reasons
from agent.memory.database import MemoryDatabase
from agent.records import Answer, Source
from agent.settings import Settings

MAX_TURNS = 500  # per conversation; a longer one is refused with ConversationFull (start a new one)
MAX_TITLE_CHARS = 60
LISTED = 200  # conversations shown in the sidebar, most recent first

class ConversationNotFound(LookupError):
    """No conversation of that id belongs to this owner (never said which of the two)."""


class ConversationFull(Exception):
    """The conversation holds MAX_TURNS turns already."""


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    title: str
    updated: float  # epoch seconds of the latest turn (or of the rename)


@dataclass(frozen=True)
class Turn:
    question: str
    answer: Answer
    asked: float


def title_from(text: str) -> str:
    """A sidebar title: the text on one line, cut to MAX_TITLE_CHARS."""
    line = " ".join((text or "").split())
    return line if len(line) <= MAX_TITLE_CHARS else line[:MAX_TITLE_CHARS - 1] + "…"


class Conversations:
    def __init__(self, database: MemoryDatabase, settings: Settings):
        self.database = database
        self.days = settings.history_days

    @property
    def enabled(self) -> bool:
        return self.days > 0

    def start(self, owner: str, first_question: str) -> str:
        """A new conversation titled by its first question; returns its id (random, unguessable)."""
        conversation_id = uuid.uuid4().hex
        now = time.time()
        with self.database.transaction() as db:
            db.execute("INSERT INTO conversations (id, owner, title, created, updated) "
                       "VALUES (:id, :owner, :title, :now, :now)",
                       {"id": conversation_id, "owner": owner, "title": title_from(first_question), "now": now})
        return conversation_id

    def summaries(self, owner: str) -> list[ConversationSummary]:
        """The owner's conversations, most recently used first (old ones are forgotten first)."""
        self.forget_old()
        rows = self.database.read("SELECT id, title, updated FROM conversations WHERE owner = :owner "
                                  "ORDER BY updated DESC LIMIT :listed", {"owner": owner, "listed": LISTED})
        return [ConversationSummary(row["id"], row["title"], row["updated"]) for row in rows]

    def turns(self, owner: str, conversation_id: str) -> list[Turn]:
        self._check_owner(owner, conversation_id)
        rows = self.database.read("SELECT question, answer, asked FROM conversation_turns "
                                  "WHERE conversation_id = :id ORDER BY position", {"id": conversation_id})
        return [Turn(row["question"], _answer_from_json(row["answer"]), row["asked"]) for row in rows]

    def add_turn(self, owner: str, conversation_id: str, question: str, answer: Answer) -> int:
        """Append a turn after every turn stored so far (two tabs writing at once both land, one after the
        other); returns its position. Touching the conversation first locks its row (PostgreSQL; SQLite's
        transaction holds the write lock already), so the count and the insert of two writers never interleave."""
        now = time.time()
        with self.database.transaction() as db:
            touched = db.execute("UPDATE conversations SET updated = :now WHERE id = :id AND owner = :owner",
                                 {"now": now, "id": conversation_id, "owner": owner}).rowcount
            if not touched:
                raise ConversationNotFound(conversation_id)
            count = db.execute("SELECT COUNT(*) FROM conversation_turns WHERE conversation_id = :id",
                               {"id": conversation_id}).scalar_one()
            if count >= MAX_TURNS:
                raise ConversationFull(conversation_id)
            db.execute("INSERT INTO conversation_turns (conversation_id, position, asked, question, answer) "
                       "VALUES (:id, :position, :now, :question, :answer)",
                       {"id": conversation_id, "position": count, "now": now, "question": question,
                        "answer": _answer_to_json(answer)})
        return count

    def rename(self, owner: str, conversation_id: str, title: str) -> str:
        """Give a conversation a title of the owner's choosing; returns the title as stored."""
        title = title_from(title)
        if not title:
            raise ValueError("a title needs at least one character")
        with self.database.transaction() as db:
            self._check_owner(owner, conversation_id, db)
            db.execute("UPDATE conversations SET title = :title WHERE id = :id", {"title": title, "id": conversation_id})
        return title

    def delete(self, owner: str, conversation_id: str) -> None:
        with self.database.transaction() as db:
            self._check_owner(owner, conversation_id, db)
            db.execute("DELETE FROM conversations WHERE id = :id", {"id": conversation_id})

    def forget_old(self) -> int:
        """Delete conversations untouched for longer than KB_HISTORY_DAYS; returns how many."""
        cutoff = time.time() - self.days * 86400
        with self.database.transaction() as db:
            return db.execute("DELETE FROM conversations WHERE updated < :cutoff", {"cutoff": cutoff}).rowcount

    def _check_owner(self, owner: str, conversation_id: str, db=None) -> None:
        sql, parameters = "SELECT 1 FROM conversations WHERE id = :id AND owner = :owner", \
            {"id": conversation_id, "owner": owner}
        found = db.execute(sql, parameters).fetchone() if db is not None else self.database.read(sql, parameters)
        if not found:
            raise ConversationNotFound(conversation_id)


def _answer_to_json(answer: Answer) -> str:
    return json.dumps(dataclasses.asdict(answer), ensure_ascii=False)


def _answer_from_json(text: str) -> Answer:
    """The stored answer; fields this version does not know are left out, missing ones take their default."""
    data = json.loads(text)
    known = {f.name for f in dataclasses.fields(Answer)}
    values = {key: value for key, value in data.items() if key in known}
    source_fields = {f.name for f in dataclasses.fields(Source)}
    values["sources"] = [Source(**{k: v for k, v in s.items() if k in source_fields})
                         for s in values.get("sources", [])]
    values["reasons"] = reasons.from_json(values.get("reasons"))
    return Answer(**values)
