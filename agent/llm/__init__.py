"""Which LLM answers document questions, chosen by environment variables; none is required.

Precedence: KB_LLM_LOCAL_PATH (a local transformers model folder, a .gguf file or gemma-3-270m; optional
KB_LLM_ADAPTER), then KB_LLM_BASE_URL (an OpenAI-compatible server), then DASHSCOPE_API_KEY (DashScope);
otherwise no LLM and the assistant answers extractively. Keys come from settings only and never appear in
descriptions or logs.
"""
from __future__ import annotations

import logging
import threading
from contextvars import ContextVar

from agent.llm import dashscope_service, openai_compatible
from agent.settings import Settings

logger = logging.getLogger(__name__)

__all__ = ["GENERATION_ABANDONED", "describe_llm", "llm_from_settings"]

# Set, in the context a backend is called from, by a reader that may stop waiting (a time limit): once the event is
# set, a local model stops generating at its next token instead of running on to max_new_tokens unread.
GENERATION_ABANDONED: ContextVar[threading.Event | None] = ContextVar("generation_abandoned", default=None)


def llm_from_settings(settings: Settings) -> dict | None:
    """The `llm=` config a Qwen-Agent agent accepts, or None when no LLM is configured.

    Raises ConfigError (naming the variable) when a configured local model or adapter is missing.
    """
    if settings.llm_adapter and not settings.llm_local_path:
        logger.warning("KB_LLM_ADAPTER is set but KB_LLM_LOCAL_PATH is not; the adapter is ignored")
    backend = _configured_backend(settings)
    return backend.llm_config(settings) if backend else None


def describe_llm(settings: Settings) -> str:
    """A short, key-free description such as "dashscope:qwen-plus", or "none"."""
    backend = _configured_backend(settings)
    return backend.describe(settings) if backend else "none"


def _configured_backend(settings: Settings):
    if settings.llm_local_path:
        from agent.llm import local  # torch, transformers and Qwen-Agent load only for a local model

        return local
    if settings.llm_base_url:
        return openai_compatible
    if settings.dashscope_api_key:
        return dashscope_service
    return None
