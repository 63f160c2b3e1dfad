"""The HTTP API beside the web app: an OpenAI-compatible chat endpoint whose replies also carry the
route and sources (`kb`), a health check, and the knowledge status.

Any OpenAI client can ask the knowledge base; the last user message is the question and earlier
user/assistant messages are the history. Answers come from KnowledgeService in FastAPI's thread pool
(plain `def` endpoints and a plain generator for streams), so concurrent requests do not wait on each other.

Access: with KB_API_TOKENS set, every request but /healthz needs `Authorization: Bearer TOKEN`. With sign-in
on for the web app (KB_USERS) and no tokens, the API is closed; with neither, it is open like the app, which
then listens on 127.0.0.1 only."""
from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from typing import Iterator

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from agent.records import Answer
from agent.answer.service import KnowledgeService
from agent.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_MODEL = "kb-assistant"  # echoed when a request names no model
HISTORY_ROLES = ("user", "assistant")


class ChatMessage(BaseModel):
    role: str
    content: str | list[dict] | None = None


class ChatRequest(BaseModel):
    model: str = DEFAULT_MODEL
    messages: list[ChatMessage]
    stream: bool = False


def api_router(service: KnowledgeService) -> APIRouter:
    """The API's routes; app.py adds them to the Gradio app's own FastAPI server, so both share one port."""
    api = APIRouter()
    authorized = Depends(_token_check(service.settings))

    @api.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @api.get("/v1/knowledge/status", dependencies=[authorized])
    def knowledge_status() -> dict:
        return knowledge_summary(service)

    @api.post("/v1/chat/completions", dependencies=[authorized])
    def chat_completions(request: ChatRequest):
        question, history = question_and_history(request.messages)
        if request.stream:
            return StreamingResponse(_event_stream(service, request.model, question, history),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        answer = service.ask(question, history)
        return _completion(request.model, answer)

    return api


def knowledge_summary(service: KnowledgeService) -> dict:
    """Counts, last update, files that failed to load, the LLM's key-free name, and how far the vectors
    are (`vectors`: done and total, with why they are off when they are)."""
    kb = service.kb
    failed = [{"path": path, "error": report.get("error") or ""}
              for path, report in kb.file_reports.items() if report.get("status") == "error"]
    return {"terms": len(kb.terms), "faq": len(kb.faq), "passages": len(kb.passages), "updated": kb.updated,
            "files": len(kb.file_reports), "files_with_errors": failed, "llm": service.llm_name,
            "vectors": {**service.vector_progress, "error": service.vector_error or kb.embedder_error}}


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
    return {"route": answer.route, "reason": answer.reason, "confidence": answer.confidence,
            "abstained": answer.abstained, "suggestions": answer.suggestions,
            "sources": [{"source": s.source, "location": s.location, "score": s.score, "text": s.text}
                        for s in answer.sources],
            "latency_ms": answer.latency_ms, "llm": answer.llm}


def _text_of(content: str | list[dict] | None) -> str:
    """OpenAI content is a string or a list of parts; only the text parts count."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if part.get("type") == "text").strip()
    return (content or "").strip()


def _token_check(settings: Settings):
    tokens = [token.encode() for token in settings.api_tokens]
    closed = bool(settings.users) and not tokens

    def check(request: Request) -> None:
        if not tokens and not closed:
            return
        scheme, _, offered = request.headers.get("authorization", "").partition(" ")
        offered_bytes = offered.strip().encode()
        # Every token is compared, in constant time, so timing does not tell which one nearly matched.
        matches = [hmac.compare_digest(offered_bytes, token) for token in tokens]
        if scheme.lower() != "bearer" or not any(matches):
            detail = "the API is closed: sign-in is on (KB_USERS) and KB_API_TOKENS is empty" if closed \
                else "a valid bearer token is required"
            raise HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})

    return check


def _completion(model: str, answer: Answer) -> dict:
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text},
                         "finish_reason": "stop"}],
            "kb": kb_details(answer)}


def _event_stream(service: KnowledgeService, model: str, question: str, history: list[dict]) -> Iterator[str]:
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
    yield chunk({}, "stop", kb=kb_details(final) if final is not None else None)
    yield "data: [DONE]\n\n"
