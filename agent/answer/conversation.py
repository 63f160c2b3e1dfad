"""A conversation as the answering side reads it: the last few user questions and messages of a history in
any of the shapes the surfaces send (the web chat's, OpenAI's, Qwen-Agent's), each cut short, so a long or
odd history costs no more than a short one."""
from __future__ import annotations

from agent.text.normalize import readable

MAX_TURNS = 3  # earlier user questions read for context: a follow-up leans on the last one or two
MAX_MESSAGES = 6  # earlier messages given to an LLM (the web chat keeps the same number)
MAX_TURN_CHARS = 200  # an earlier question is cut to this before it is routed again
MAX_MESSAGE_CHARS = 600  # an earlier message is cut to this before an LLM reads it


def earlier_questions(history) -> list[str]:
    """The last MAX_TURNS user questions of a history of {"role", "content"} messages, each cut short."""
    found = [readable(text).strip()[:MAX_TURN_CHARS] for role, text in map(_role_and_text, list(history or [])[-4 * MAX_TURNS:])
             if role == "user" and text]
    return [text for text in found if any(ch.isalnum() for ch in text)][-MAX_TURNS:]


def recent_messages(history, count: int = MAX_MESSAGES, limit: int = MAX_MESSAGE_CHARS) -> list[dict]:
    """The last `count` user and assistant messages, each cut to `limit` characters: what an LLM is given."""
    kept = [{"role": role, "content": readable(text)[:limit]}
            for role, text in map(_role_and_text, list(history or [])[-4 * count:])
            if role in ("user", "assistant") and text]
    return kept[-count:]


def _role_and_text(message) -> tuple[str, str]:
    get = message.get if isinstance(message, dict) else lambda key: getattr(message, key, None)
    role, content = get("role"), get("content")
    if isinstance(content, list):  # OpenAI's or Qwen-Agent's parts: only text counts
        content = "".join((p.get("text") if isinstance(p, dict) else getattr(p, "text", "")) or "" for p in content)
    return (role if isinstance(role, str) else ""), (content.strip() if isinstance(content, str) else "")
