"""Any server speaking the OpenAI chat API (vLLM, Ollama, a gateway) through Qwen-Agent's `oai` client."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from agent.settings import ConfigError, Settings

NO_API_KEY = "EMPTY"  # what vLLM and Ollama accept when they were started without a key


def llm_config(settings: Settings) -> dict:
    """The Qwen-Agent `llm=` config for KB_LLM_BASE_URL, KB_LLM_MODEL and KB_LLM_API_KEY."""
    return {
        "model_type": "oai",
        "model": settings.llm_model,
        "model_server": api_base_url(settings.llm_base_url),
        "api_key": settings.llm_api_key or NO_API_KEY,
        "generate_cfg": {"max_tokens": settings.llm_max_new_tokens},
    }


def describe(settings: Settings) -> str:
    return f"openai-compatible:{settings.llm_model}@{_without_credentials(api_base_url(settings.llm_base_url))}"


def api_base_url(base_url: str) -> str:
    """The URL the OpenAI client appends `/chat/completions` to.

    A bare server address such as Ollama's `http://localhost:11434` gets `/v1`, where vLLM and
    Ollama both serve the OpenAI API; a URL with a path (a gateway) is used as given.
    """
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"KB_LLM_BASE_URL={_without_credentials(base_url)} is not an http(s) URL")
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _without_credentials(url: str) -> str:
    """The URL with any `user:password@` removed, safe to show and log."""
    parts = urlsplit(url.strip())
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
