"""The question log: every answered question with how it was answered, and the feedback it got, so knowledge
owners can see what employees asked, what went unanswered and why a question got its answer.

One row per answer in the memory database (agent/memory/database.py). Who asked is stored only while
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

SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id TEXT PRIMARY KEY,
    asked_at REAL NOT NULL,            -- Unix time
    user TEXT NOT NULL,                -- the signed-in name, or 'anonymous'
    conversation_id TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    rewritten TEXT NOT NULL DEFAULT '',  -- the standalone question a follow-up was understood as
    route TEXT NOT NULL,
    reason TEXT NOT NULL,
    confidence REAL NOT NULL,
    sources TEXT NOT NULL,             -- JSON: [{"source", "location", "score"}]
    abstained INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    llm TEXT NOT NULL,
    rating TEXT,                       -- 'up' | 'down' | NULL
    comment TEXT NOT NULL DEFAULT '',
    rated_at REAL,
    fixed_at REAL,                     -- set when a knowledge owner fixed what the question lacked
    fix TEXT NOT NULL DEFAULT ''       -- what was done, in words
);
CREATE INDEX IF NOT EXISTS questions_asked_at ON questions (asked_at);
CREATE TABLE IF NOT EXISTS knowledge_fixes (  -- what owners added from the app, e.g. for `train dataset --since`
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fixed_at REAL NOT NULL,
    user TEXT NOT NULL,
    kind TEXT NOT NULL,                -- 'faq' | 'similar' | 'term'
    file TEXT NOT NULL,                -- relative to the knowledge folder
    row INTEGER NOT NULL,
    content TEXT NOT NULL              -- JSON: the fields written
);
"""


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

    def _schema(self) -> None:
        self.database.ensure_schema("question_log", SCHEMA)

    def record(self, question: str, answer: Answer, user: str | None = None, conversation_id: str = "") -> str:
        """Writes one row (time, user or anonymous, question, answer.rewritten, route, reason, confidence, sources,
        abstained, latency, llm); sets answer.answer_id and returns it. Returns "" when KB_LOG_QUESTIONS is off or
        the database fails (logged and kept in .error): never raises."""
        if not self.enabled:
            return ""
        answer_id = uuid.uuid4().hex
        sources = [{"source": s.source, "location": s.location, "score": round(float(s.score), 4)}
                   for s in answer.sources]
        row = (answer_id, time.time(), self._who(user), conversation_id or "", self.masked(question),
               self.masked(answer.rewritten or ""), answer.route, self.masked(answer.reason),
               float(answer.confidence), json.dumps(sources, ensure_ascii=False), int(answer.abstained),
               float(answer.latency_ms), answer.llm)
        try:
            self._schema()
            with self.database.transaction() as connection:
                connection.execute(
                    "INSERT INTO questions (id, asked_at, user, conversation_id, question, rewritten, route, reason, "
                    "confidence, sources, abstained, latency_ms, llm) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row)
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
        self._schema()
        with self.database.transaction() as connection:
            updated = connection.execute(
                "UPDATE questions SET rating = ?, comment = ?, rated_at = ? WHERE id = ?",
                (rating, self.masked((comment or "").strip()), time.time(), answer_id)).rowcount
        if not updated:
            raise ValueError(f"no logged answer has the id {answer_id!r}")
        log.info("feedback %s on %s from %s", rating, answer_id, self._who(user))

    def rows(self, since: float | None = None, ids: list[str] | None = None) -> list[LoggedQuestion]:
        """Logged questions, newest first: all of them within the retention, those asked since `since`, or the
        named ones. MemoryUnavailable when the database fails."""
        self._schema()
        sql, parameters = f"SELECT {', '.join(COLUMNS)} FROM questions", []
        conditions = []
        if since is not None:
            conditions.append("asked_at >= ?")
            parameters.append(since)
        if ids is not None:
            if not ids:
                return []
            conditions.append(f"id IN ({', '.join('?' * len(ids))})")
            parameters += ids
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        return [_logged(row) for row in self.database.read(sql + " ORDER BY asked_at DESC", tuple(parameters))]

    def open_rows(self, low_confidence: float, limit: int) -> list[LoggedQuestion]:
        """The newest `limit` questions not fixed yet that abstained, were rated down or were answered with a
        confidence below `low_confidence`. MemoryUnavailable when the database fails."""
        self._schema()
        rows = self.database.read(
            f"SELECT {', '.join(COLUMNS)} FROM questions WHERE fixed_at IS NULL AND "
            "(abstained = 1 OR rating = 'down' OR confidence < ?) ORDER BY asked_at DESC LIMIT ?",
            (low_confidence, limit))
        return [_logged(row) for row in rows]

    def mark_fixed(self, ids: list[str], fix: str) -> int:
        """Marks questions as fixed (they leave the list of questions to complete); returns how many."""
        if not ids:
            return 0
        self._schema()
        with self.database.transaction() as connection:
            return connection.execute(
                f"UPDATE questions SET fixed_at = ?, fix = ? WHERE id IN ({', '.join('?' * len(ids))})",
                (time.time(), fix, *ids)).rowcount

    def record_fix(self, kind: str, file: str, row: int, content: dict, user: str | None = None) -> None:
        """Keeps what an owner added from the app, with its date. MemoryUnavailable when the database fails."""
        self._schema()
        with self.database.transaction() as connection:
            connection.execute("INSERT INTO knowledge_fixes (fixed_at, user, kind, file, row, content) "
                               "VALUES (?, ?, ?, ?, ?, ?)",
                               (time.time(), self._who(user), kind, file, row, json.dumps(content, ensure_ascii=False)))

    def fixes(self, kind: str | None = None, since: float | None = None) -> list[dict]:
        """Fixes made from the app, oldest first: {"fixed_at", "user", "kind", "file", "row", "content"}."""
        self._schema()
        rows = self.database.read(
            "SELECT fixed_at, user, kind, file, row, content FROM knowledge_fixes WHERE (? IS NULL OR kind = ?) "
            "AND (? IS NULL OR fixed_at >= ?) ORDER BY fixed_at, id", (kind, kind, since, since))
        return [{**dict(row), "content": json.loads(row["content"])} for row in rows]

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
        self._schema()
        with self.database.transaction() as connection:
            deleted = connection.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount
        if deleted:
            log.info("deleted %d logged questions older than %d days", deleted, self.settings.log_days)
        return deleted


def _logged(row) -> LoggedQuestion:
    values = dict(zip(COLUMNS, row))
    values["sources"] = json.loads(values["sources"] or "[]")
    values["abstained"] = bool(values["abstained"])
    return LoggedQuestion(**values)
