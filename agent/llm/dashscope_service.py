"""Alibaba Cloud DashScope (qwen-plus, qwen-max, ...) through Qwen-Agent's own DashScope client."""
from __future__ import annotations

from agent.settings import Settings


def llm_config(settings: Settings) -> dict:
    """The Qwen-Agent `llm=` config for DASHSCOPE_API_KEY and KB_LLM_MODEL."""
    return {
        "model_type": "qwen_dashscope",
        "model": settings.llm_model,
        "api_key": settings.dashscope_api_key,
        "generate_cfg": {"max_tokens": settings.llm_max_new_tokens},
    }


def describe(settings: Settings) -> str:
    return f"dashscope:{settings.llm_model}"
