"""The HTTP API beside the web app: an OpenAI-compatible chat endpoint whose replies also carry the
route and sources (`kb`), a health check, and the knowledge status.

Any OpenAI client can ask the knowledge base; the last user message is the question and earlier
user/assistant messages are the history. Answers come from KnowledgeService in FastAPI's thread pool
(plain `def` endpoints and a plain generator for streams), so concurrent requests do not wait on each other.

Knowledge owners' endpoints: feedback on a logged answer (`answer_id` in `kb`), the unanswered questions grouped
by meaning, and fixes that add FAQ entries, similar questions and glossary terms (agent/memory/review.py).

Access: with KB_API_TOKENS set, every request but /healthz needs `Authorization: Bearer TOKEN`, and each token
has scopes (`tok1:ask,tok2:ask+feedback`; a token that names none may ask and give feedback): `ask` for the chat
and the status, `feedback` for ratings, `admin` for the unanswered questions and every knowledge write. Tokens in
KB_ADMIN_TOKENS have every scope. With sign-in on for the web app (KB_USERS) and no tokens, the API is closed;
with neither, it is open like the app, which then listens on 127.0.0.1 only, and it takes knowledge writes only
from this machine (not through a proxy) unless the app was started with --insecure-open.

Limits, checked before any work is done: a body over MAX_BODY_BYTES is refused with 413 before it is parsed;
too many messages or too long a field is refused with 422 naming the field (the request models below)."""
from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from contextlib import contextmanager
from typing import Annotated, Callable, Iterator

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, StringConstraints, field_validator

from agent.records import Answer
from agent.answer import reasons
from agent.answer.hit_test import HitTest
from agent.answer.service import KnowledgeService
from agent.ingest.supplements import FixRefused
from agent.memory.database import MemoryDatabase, MemoryUnavailable
from agent.memory.question_log import QuestionLog
from agent.memory.review import FixResult, QuestionGroup, Review
from agent.settings import Settings
from agent.surfaces.exposure import is_loopback

log = logging.getLogger(__name__)

DEFAULT_MODEL = "kb-assistant"  # echoed when a request names no model
API_USER = "api"  # who asked, in the question log, for a question that came through the API (never its token)
HISTORY_ROLES = ("user", "assistant")

# What one request may carry. The service reads the last 6 messages and a question's first 2,000 characters;
# these bounds leave room for clients that send a whole conversation, and stop one that sends anything.
MAX_BODY_BYTES = 1024 * 1024
MAX_MESSAGES = 100
MAX_MESSAGE_CHARS = 20_000
MAX_TEXT_CHARS = 2_000  # a question, a similar question, a feedback comment, an FAQ entry named by its question
MAX_ANSWER_CHARS = 20_000  # an FAQ answer or a term's definition
MAX_NAME_CHARS = 200  # a term's abbreviation, English or Chinese name; a model name
MAX_SIMILAR = 100  # similar questions in one fix
MAX_ANSWER_IDS = 1_000  # logged questions one fix answers
ANSWER_ID_CHARS = 64

Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]
Name = Annotated[str, StringConstraints(max_length=MAX_NAME_CHARS)]
AnswerId = Annotated[str, StringConstraints(max_length=ANSWER_ID_CHARS)]


class ChatMessage(BaseModel):
    role: Name
    content: str | list[dict] | None = None

    @field_validator("content")
    @classmethod
    def _bounded(cls, content):
        if len(_text_of(content)) > MAX_MESSAGE_CHARS or (isinstance(content, list) and len(content) > MAX_MESSAGES):
            raise ValueError(f"a message's content is limited to {MAX_MESSAGE_CHARS} characters")
        return content


class ChatRequest(BaseModel):
    model: Name = DEFAULT_MODEL
    messages: list[ChatMessage] = Field(max_length=MAX_MESSAGES)
    stream: bool = False


class FeedbackRequest(BaseModel):
    answer_id: AnswerId
    rating: Name  # up | down
    comment: Text = ""


class FaqFix(BaseModel):
    """A new entry (question, answer, similar?) or similar questions for an entry (entry, similar)."""

    question: Text | None = None
    answer: Annotated[str, StringConstraints(max_length=MAX_ANSWER_CHARS)] | None = None
    entry: int | Text | None = None  # the entry's number in the index's FAQ list, or its stored question
    similar: list[Text] = Field(default_factory=list, max_length=MAX_SIMILAR)
    # logged questions this fix answers (from /v1/questions)
    answer_ids: list[AnswerId] = Field(default_factory=list, max_length=MAX_ANSWER_IDS)


class TermFix(BaseModel):
    abbreviation: Name = ""
    english: Name = ""
    chinese: Name = ""
    definition: Annotated[str, StringConstraints(max_length=MAX_ANSWER_CHARS)] = ""
    answer_ids: list[AnswerId] = Field(default_factory=list, max_length=MAX_ANSWER_IDS)


class BoundedBodyRoute(APIRoute):
    """A route that reads at most MAX_BODY_BYTES of a request's body before FastAPI parses it: a larger declared
    Content-Length is refused unread, a body that grows past it is refused as soon as it does (413)."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            refused = await _read_bounded_body(request, MAX_BODY_BYTES)
            return refused if refused is not None else await handler(request)

        return bounded


async def _read_bounded_body(request: Request, limit: int) -> Response | None:
    too_large = JSONResponse(status_code=413, content={
        "detail": f"the request body is larger than {limit} bytes ({limit // 1024} KiB), this API's limit"})
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdigit() or int(declared) > limit):
        return too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return too_large
    request._body = bytes(body)  # what request.body() returns from now on (Starlette keeps it there)
    return None


def api_router(service: KnowledgeService, database: MemoryDatabase | None = None,
               insecure_open: bool = False) -> APIRouter:
    """The API's routes; app.py adds them to the Gradio app's own FastAPI server, so both share one port.
    `database` holds the question log (None: the one in the settings' data folder). `insecure_open` (app.py's
    --insecure-open) lets an API without tokens take knowledge writes from other machines."""
    api = APIRouter(route_class=BoundedBodyRoute)
    authorized = Depends(_access(service.settings, "ask", insecure_open))
    may_rate = Depends(_access(service.settings, "feedback", insecure_open))
    admin = Depends(_access(service.settings, "admin", insecure_open))
    question_log = QuestionLog(database or MemoryDatabase.from_settings(service.settings), service.settings)
    review = Review(service, question_log)

    @api.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @api.get("/v1/knowledge/status", dependencies=[authorized])
    def knowledge_status() -> dict:
        return knowledge_summary(service, question_log)

    @api.post("/v1/chat/completions", dependencies=[authorized])
    def chat_completions(request: ChatRequest):
        question, history = question_and_history(request.messages)
        if request.stream:
            return StreamingResponse(_event_stream(service, request.model, question, history, question_log),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        answer = service.ask(question, history)
        question_log.record(question, answer, user=API_USER)
        return _completion(request.model, answer)

    @api.post("/v1/feedback", dependencies=[may_rate])
    def feedback(request: FeedbackRequest) -> dict:
        with _owner_errors():
            question_log.feedback(request.answer_id, request.rating, request.comment, user=API_USER)
        return {"answer_id": request.answer_id, "rating": request.rating}

    @api.get("/v1/questions", dependencies=[admin])
    def questions(status: str = "unanswered", limit: int = 50) -> dict:
        if status != "unanswered":
            raise HTTPException(status_code=400, detail="status must be 'unanswered'")
        with _owner_errors():
            groups = review.groups(limit=max(1, min(limit, 200)))
        return {"status": status, "groups": [group_json(group) for group in groups]}

    @api.post("/v1/knowledge/faq", dependencies=[admin])
    def add_faq(fix: FaqFix) -> dict:
        with _owner_errors():
            if fix.entry is not None and fix.entry != "":
                result = review.add_similar(fix.entry, fix.similar, fix.answer_ids, user=API_USER)
            else:
                result = review.create_faq(fix.question or "", fix.answer or "", fix.similar, fix.answer_ids,
                                           user=API_USER)
        return fix_json(result)

    @api.post("/v1/knowledge/terms", dependencies=[admin])
    def add_term(fix: TermFix) -> dict:
        with _owner_errors():
            result = review.add_term(fix.abbreviation, fix.english, fix.chinese, fix.definition, fix.answer_ids,
                                     user=API_USER)
        return fix_json(result)

    return api


@contextmanager
def _owner_errors():
    """A refused fix or bad feedback is the client's 400 with the reason; a failing log database is a 503."""
    try:
        yield
    except (FixRefused, ValueError) as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    except MemoryUnavailable as exc:
        raise HTTPException(status_code=503, detail=f"the question log is unavailable: {exc}") from exc


def knowledge_summary(service: KnowledgeService, question_log: QuestionLog | None = None) -> dict:
    """Counts, last update, files that failed to load, the LLM's key-free name, how far the vectors
    are (`vectors`: done and total, with why they are off when they are), and whether questions are logged
    (`question_log`: with why the last write failed, if it did)."""
    kb = service.kb
    failed = [{"path": path, "error": report.get("error") or ""}
              for path, report in kb.file_reports.items() if report.get("status") == "error"]
    summary = {"terms": len(kb.terms), "faq": len(kb.faq), "passages": len(kb.passages), "updated": kb.updated,
               "files": len(kb.file_reports), "files_with_errors": failed, "llm": service.llm_name,
               "vectors": {**service.vector_progress, "error": service.vector_error or kb.embedder_error}}
    if question_log is not None:
        summary["question_log"] = {"enabled": question_log.enabled, "error": question_log.error}
    return summary


def group_json(group: QuestionGroup) -> dict:
    return {"id": group.id, "question": group.question, "questions": group.questions, "count": group.count,
            "newest": group.newest, "why": group.why, "comments": group.comments, "answer_ids": group.answer_ids,
            "candidates": hit_test_json(group.candidates) if group.candidates is not None else None}


def hit_test_json(result: HitTest) -> dict:
    """What the router weighed for a question: terms, FAQ entries and passages with their scores, the decision."""
    decision = result.decision
    return {
        "terms": [{"abbreviation": c.term.abbreviation, "english": c.term.english, "chinese": c.term.chinese,
                   "source": c.term.source, "location": c.term.location, "score": c.score, "found_by": c.found_by}
                  for c in result.terms],
        "faq": [{"entry": c.number, "question": c.entry.question, "matched": c.matched_question,
                 "source": c.entry.source, "location": c.entry.location, "probability": round(c.probability, 3)}
                for c in result.faq],
        "passages": [{"source": h.passage.source, "location": h.passage.location, "score": round(h.score, 4),
                      "lexical": round(h.lexical_score, 3), "dense": round(h.dense_score, 3)}
                     for h in result.passages],
        "decision": {"route": decision.route, "reason": decision.reason, "confidence": decision.confidence,
                     "abstained": decision.abstained, "suggestions": decision.suggestions},
    }


def fix_json(result: FixResult) -> dict:
    decision = result.decision
    return {"file": result.written.path, "row": result.written.row, "added": result.written.added,
            "fixed": result.fixed, "refresh_error": result.refresh_error or None,
            "history_error": result.history_error or None,
            "now": {"route": decision.route, "reason": decision.reason, "confidence": decision.confidence,
                    "abstained": decision.abstained} if decision is not None else None}


def question_and_history(messages: list[ChatMessage]) -> tuple[str, list[dict]]:
    """The last user message is the question; user and assistant turns before it are the history
    (system messages are dropped: the assistant keeps its own instructions)."""
    last_user = max((i for i, message in enumerate(messages) if message.role == "user"), default=None)
    if last_user is None:
        raise HTTPException(status_code=400, detail="messages holds no user message")
    history = [{"role": m.role, "content": _text_of(m.content)} for m in messages[:last_user]
               if m.role in HISTORY_ROLES and _text_of(m.content)]
    return _text_of(messages[last_user].content), history


def kb_details(answer: Answer) -> dict:
    """The extra `kb` field: how the answer was found and where it came from."""
    return {"route": answer.route, "lead": answer.lead, "reason": answer.reason, "reasons": reasons.as_json(answer.reasons),
            "confidence": answer.confidence,
            "abstained": answer.abstained, "tentative": answer.tentative, "suggestions": answer.suggestions,
            "sources": [{"source": s.source, "location": s.location, "score": s.score, "text": s.text}
                        for s in answer.sources],
            "latency_ms": answer.latency_ms, "llm": answer.llm, "answer_id": answer.answer_id,
            "rewritten": answer.rewritten}


def _text_of(content: str | list[dict] | None) -> str:
    """OpenAI content is a string or a list of parts; only the text parts count."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if part.get("type") == "text").strip()
    return (content or "").strip()


SCOPE_NEEDED_FOR = {"ask": "ask questions", "feedback": "rate answers",
                    "admin": "read the unanswered questions or change the knowledge"}
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def _access(settings: Settings, scope: str, insecure_open: bool = False):
    """The check a route of `scope` (ask, feedback, admin) runs before its body is read into a model: a valid
    token with that scope (KB_ADMIN_TOKENS have all); with sign-in on and no tokens, nobody; with neither, anyone,
    but knowledge writes only from this machine unless `insecure_open`."""
    tokens = [(token.encode(), scopes) for token, scopes in settings.token_scopes().items()]
    closed = bool(settings.users) and not tokens

    def check(request: Request) -> None:
        if not tokens and not closed:
            if scope == "admin" and not insecure_open and not _from_this_machine(request):
                raise HTTPException(status_code=403, detail="without sign-in the knowledge may be changed only from "
                                    "this machine: set KB_ADMIN_TOKENS (or start the app with --insecure-open)")
            return
        scopes = _offered_scopes(request, tokens)
        if scopes is None:
            detail = "the API is closed: sign-in is on (KB_USERS) and KB_API_TOKENS is empty" if closed \
                else "a valid bearer token is required"
            raise HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})
        if scope not in scopes:
            raise HTTPException(status_code=403, detail=f"this token may not {SCOPE_NEEDED_FOR[scope]}: that needs "
                                f"the {scope} scope (KB_API_TOKENS=token:{scope}, or KB_ADMIN_TOKENS)")

    return check


def _from_this_machine(request: Request) -> bool:
    """A request from a loopback address that no proxy passed on (a proxy on this machine serves others)."""
    host = request.client.host if request.client else ""
    return is_loopback(host) and not any(header in request.headers for header in PROXY_HEADERS)


def _offered_scopes(request: Request, tokens: list[tuple[bytes, tuple[str, ...]]]) -> tuple[str, ...] | None:
    """The scopes of the bearer token offered, or None when it is none of `tokens`."""
    scheme, _, offered = request.headers.get("authorization", "").partition(" ")
    offered_bytes = offered.strip().encode()
    # Every token is compared, in constant time, so timing does not tell which one nearly matched.
    matches = [scopes for token, scopes in tokens if hmac.compare_digest(offered_bytes, token)]
    return matches[0] if scheme.lower() == "bearer" and matches else None


def _completion(model: str, answer: Answer) -> dict:
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text},
                         "finish_reason": "stop"}],
            "kb": kb_details(answer)}


def _event_stream(service: KnowledgeService, model: str, question: str, history: list[dict],
                  question_log: QuestionLog) -> Iterator[str]:
    """Server-sent chunks: the text as it grows, then a final chunk with `finish_reason` and `kb`."""
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def chunk(delta: dict, finish_reason: str | None = None, **extra) -> str:
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    sent, final = "", None
    for final in service.stream(question, history):
        # A growing answer repeats what was sent; only the new tail goes out. A rewrite of earlier text
        # cannot be taken back from a client, so it is logged and the stream keeps to what it sent.
        if final.text.startswith(sent):
            if len(final.text) > len(sent):
                yield chunk({"content": final.text[len(sent):]})
                sent = final.text
        else:
            log.warning("streamed answer rewrote text already sent; the client keeps the earlier text")
    if final is not None:
        question_log.record(question, final, user=API_USER)
    yield chunk({}, "stop", kb=kb_details(final) if final is not None else None)
    yield "data: [DONE]\n\n"
