"""The question log: every answered question with how it was answered, and the feedback it got, so knowledge
owners can see what employees asked, what went unanswered and why a question got its answer.

One row per answer in the memory database (agent/memory/database.py: SQLite or PostgreSQL). Who asked is stored only while
KB_LOG_USER_NAMES is on ("anonymous" otherwise); no key, token or password is ever written: the LLM is kept by
its key-free name, and any configured secret a question happens to contain is masked. Rows older than
KB_LOG_DAYS are deleted. A database that fails never stops an answer: `record` returns "" and keeps the
reason in `error` for the status."""
from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass

from agent.memory.database import MemoryDatabase, MemoryUnavailable
from agent.records import Answer
from agent.settings import Settings

log = logging.getLogger(__name__)

ANONYMOUS = "anonymous"
RATINGS = ("up", "down")
PURGE_EVERY_S = 3600.0  # old rows are deleted at most this often, on a write
MASK = "***"
# Strings written like API keys ("sk-...", long hex or base64 runs), masked even when not configured here.
_KEY_LIKE = re.compile(r"\b(?:sk|pk|rk|api|key|token)[-_][A-Za-z0-9_\-]{12,}\b|\b[A-Fa-f0-9]{32,}\b", re.IGNORECASE)
MIN_SECRET_CHARS = 4  # a configured secret shorter than this is not searched for: it would mask ordinary words

@dataclass(frozen=True)
class LoggedQuestion:
    """One row of the log, as read back."""

    id: str
    asked_at: float
    user: str
    question: str
    rewritten: str
    route: str
    reason: str
    confidence: float
    sources: list[dict]
    abstained: bool
    latency_ms: float
    llm: str
    rating: str | None
    comment: str
    fixed_at: float | None
    fix: str
    conversation_id: str = ""

    @property
    def asked(self) -> str:
        """The question as the assistant understood it: the rewritten one for a follow-up."""
        return self.rewritten or self.question


COLUMNS = ("id", "asked_at", "user", "conversation_id", "question", "rewritten", "route", "reason", "confidence",
           "sources", "abstained", "latency_ms", "llm", "rating", "comment", "fixed_at", "fix")


class QuestionLog:
    def __init__(self, database: MemoryDatabase, settings: Settings):
        self.database = database
        self.settings = settings
        self.error: str | None = None  # why the last write failed, for the status; None when fine
        self._purged_at = float("-inf")
        self._purge_lock = threading.Lock()
        secrets = [*settings.api_tokens, *settings.admin_tokens, settings.llm_api_key, settings.dashscope_api_key,
                   settings.term_api_key, settings.embedding_api_key, settings.milvus_token,
                   *(password for _, password in settings.users)]
        self._secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)

    @property
    def enabled(self) -> bool:
        return self.settings.log_questions

    def record(self, question: str, answer: Answer, user: str | None = None, conversation_id: str = "") -> str:
        """Writes one row (time, user or anonymous, question, answer.rewritten, route, reason, confidence, sources,
        abstained, latency, llm); sets answer.answer_id and returns it. Returns "" when KB_LOG_QUESTIONS is off or
        the database fails (logged and kept in .error): never raises."""
        if not self.enabled:
            return ""
        answer_id = uuid.uuid4().hex
        sources = [{"source": s.source, "location": s.location, "score": round(float(s.score), 4)}
                   for s in answer.sources]
        row = {"id": answer_id, "asked_at": time.time(), "user": self._who(user),
               "conversation_id": conversation_id or "", "question": self.masked(question),
               "rewritten": self.masked(answer.rewritten or ""), "route": answer.route,
               "reason": self.masked(answer.reason), "confidence": float(answer.confidence),
               "sources": json.dumps(sources, ensure_ascii=False), "abstained": int(answer.abstained),
               "latency_ms": float(answer.latency_ms), "llm": answer.llm}
        try:
            with self.database.transaction() as connection:
                connection.execute(f"INSERT INTO questions ({', '.join(_quoted(name) for name in row)}) "
                                   f"VALUES ({', '.join(':' + name for name in row)})", row)
            self._purge_old()
        except MemoryUnavailable as exc:
            self.error = str(exc)
            log.warning("question not logged: %s", exc)
            return ""
        except Exception as exc:  # whatever else goes wrong here, the answer is still given
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("question not logged")
            return ""
        self.error = None
        answer.answer_id = answer_id
        return answer_id

    def feedback(self, answer_id: str, rating: str, comment: str = "", user: str | None = None) -> None:
        """rating "up" | "down" (a later rating replaces an earlier one). ValueError for a bad rating or an unknown
        answer_id; MemoryUnavailable when the database fails."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {', '.join(RATINGS)}, not {rating!r}")
        if not answer_id:
            raise ValueError("answer_id is empty")
        with self.database.transaction() as connection:
            updated = connection.execute(
                "UPDATE questions SET rating = :rating, comment = :comment, rated_at = :now WHERE id = :id",
                {"rating": rating, "comment": self.masked((comment or "").strip()), "now": time.time(),
                 "id": answer_id}).rowcount
        if not updated:
            raise ValueError(f"no logged answer has the id {answer_id!r}")
        log.info("feedback %s on %s from %s", rating, answer_id, self._who(user))

    def rows(self, since: float | None = None, ids: list[str] | None = None) -> list[LoggedQuestion]:
        """Logged questions, newest first: all of them within the retention, those asked since `since`, or the
        named ones. MemoryUnavailable when the database fails."""
        sql, parameters = f"SELECT {SELECTED} FROM questions", {}
        conditions = []
        if since is not None:
            conditions.append("asked_at >= :since")
            parameters["since"] = since
        if ids is not None:
            if not ids:
                return []
            conditions.append("id IN :ids")
            parameters["ids"] = list(ids)
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        return [_logged(row) for row in self.database.read(sql + " ORDER BY asked_at DESC", parameters)]

    def open_rows(self, low_confidence: float, limit: int) -> list[LoggedQuestion]:
        """The newest `limit` questions not fixed yet that abstained, were rated down or were answered with a
        confidence below `low_confidence`. MemoryUnavailable when the database fails."""
        rows = self.database.read(
            f"SELECT {SELECTED} FROM questions WHERE fixed_at IS NULL AND "
            "(abstained = 1 OR rating = 'down' OR confidence < :low) ORDER BY asked_at DESC LIMIT :limit",
            {"low": low_confidence, "limit": limit})
        return [_logged(row) for row in rows]

    def mark_fixed(self, ids: list[str], fix: str) -> int:
        """Marks questions as fixed (they leave the list of questions to complete); returns how many."""
        if not ids:
            return 0
        with self.database.transaction() as connection:
            return connection.execute("UPDATE questions SET fixed_at = :now, fix = :fix WHERE id IN :ids",
                                      {"now": time.time(), "fix": fix, "ids": list(ids)}).rowcount

    def record_fix(self, kind: str, file: str, row: int, content: dict, user: str | None = None) -> None:
        """Keeps what an owner added from the app, with its date. MemoryUnavailable when the database fails."""
        with self.database.transaction() as connection:
            connection.execute('INSERT INTO knowledge_fixes (fixed_at, "user", kind, file, "row", content) '
                               "VALUES (:now, :user, :kind, :file, :row, :content)",
                               {"now": time.time(), "user": self._who(user), "kind": kind, "file": file, "row": row,
                                "content": json.dumps(content, ensure_ascii=False)})

    def fixes(self, kind: str | None = None, since: float | None = None) -> list[dict]:
        """Fixes made from the app, oldest first: {"fixed_at", "user", "kind", "file", "row", "content"}."""
        conditions, parameters = [], {}
        if kind is not None:
            conditions.append("kind = :kind")
            parameters["kind"] = kind
        if since is not None:
            conditions.append("fixed_at >= :since")
            parameters["since"] = since
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self.database.read('SELECT fixed_at, "user", kind, file, "row", content FROM knowledge_fixes'
                                  f"{where} ORDER BY fixed_at, id", parameters)
        return [{**row, "content": json.loads(row["content"])} for row in rows]

    def masked(self, text: str) -> str:
        """The text with every configured secret and anything written like an API key replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _KEY_LIKE.sub(MASK, text)

    def _who(self, user: str | None) -> str:
        return user if user and self.settings.log_user_names else ANONYMOUS

    def _purge_old(self) -> None:
        """Deletes rows older than KB_LOG_DAYS, at most once an hour."""
        with self._purge_lock:
            if time.monotonic() - self._purged_at < PURGE_EVERY_S:
                return
            self._purged_at = time.monotonic()
        self.purge()

    def purge(self, now: float | None = None) -> int:
        cutoff = (time.time() if now is None else now) - self.settings.log_days * 86400
        with self.database.transaction() as connection:
            deleted = connection.execute("DELETE FROM questions WHERE asked_at < :cutoff", {"cutoff": cutoff}).rowcount
        if deleted:
            log.info("deleted %d logged questions older than %d days", deleted, self.settings.log_days)
        return deleted


def _quoted(column: str) -> str:
    """A column name as SQL: "user" is a reserved word in PostgreSQL."""
    return f'"{column}"' if column == "user" else column


SELECTED = ", ".join(_quoted(column) for column in COLUMNS)


def _logged(row: dict) -> LoggedQuestion:
    values = {column: row[column] for column in COLUMNS}
    values["sources"] = json.loads(values["sources"] or "[]")
    values["abstained"] = bool(values["abstained"])
    return LoggedQuestion(**values)
