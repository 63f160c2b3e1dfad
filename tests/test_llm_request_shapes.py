"""The LLM configurations shipped in deploy/env (DashScope, vLLM, Ollama) send the request each server
expects. Each example file is parsed as it is; only the server address is pointed at a stub HTTP server
on 127.0.0.1 (stub_chat_server), which records the request (the test checks the request, not what the stub
replies)."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from agent.llm import describe_llm, llm_from_settings
from agent.settings import REPO_ROOT, Settings
from tests.stub_llm_server import STUB_REPLY, StubChatServer

ENV_EXAMPLES = REPO_ROOT / "deploy" / "env"
QUESTION = [{"role": "user", "content": "AM 是什么意思？"}]


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as docker compose's env_file reads them; comments and blank lines skipped."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def pointed_at(url: str, stub_address: str) -> str:
    """`url` with its scheme and host replaced by the stub's, keeping the path the example gives."""
    stub, parts = urlsplit(stub_address), urlsplit(url)
    return urlunsplit((stub.scheme, stub.netloc, parts.path, parts.query, parts.fragment))


@pytest.fixture
def llm_env(monkeypatch, tmp_path):
    """Settings from exactly the variables given, nothing from the shell that runs pytest."""
    import dashscope

    monkeypatch.setattr(dashscope, "api_key", None)  # Qwen-Agent's DashScope client sets it process-wide
    for name in ("DASHSCOPE_API_KEY", "OPENAI_API_KEY", "DASHSCOPE_HTTP_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith("KB_")]:
        monkeypatch.delenv(name)

    def settings(values: dict[str, str]) -> Settings:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        return Settings.from_env(knowledge_dir=tmp_path / "knowledge")

    return settings


def ask(stub: StubChatServer, settings: Settings) -> dict:
    """Stream QUESTION through the backend `settings` choose; the stub's reply must come back whole.
    Returns the one request the stub received, for the test to check."""
    from qwen_agent.llm import get_chat_model

    *_, last = get_chat_model(llm_from_settings(settings)).chat(QUESTION, stream=True)
    [request] = stub.requests
    assert last[-1]["content"] == STUB_REPLY
    return request


def test_the_vllm_example_posts_openai_chat_for_the_served_model(llm_env, stub_chat_server):
    example = read_env_file(ENV_EXAMPLES / "vllm.env")
    pointed = pointed_at(example["KB_LLM_BASE_URL"], stub_chat_server.address)
    request = ask(stub_chat_server, llm_env({**example, "KB_LLM_BASE_URL": pointed}))

    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "Qwen/Qwen2.5-7B-Instruct"
    assert request["body"]["messages"] == QUESTION
    assert request["body"]["stream"] is True
    assert request["body"]["max_tokens"] == int(example["KB_LLM_MAX_NEW_TOKENS"])
    assert request["headers"]["authorization"] == f"Bearer {example['KB_LLM_API_KEY']}"


def test_the_ollama_example_reaches_ollamas_v1_endpoint_from_a_bare_address(llm_env, stub_chat_server):
    example = read_env_file(ENV_EXAMPLES / "ollama.env")
    assert urlsplit(example["KB_LLM_BASE_URL"]).path == ""  # the example gives the bare address
    pointed = pointed_at(example["KB_LLM_BASE_URL"], stub_chat_server.address)
    request = ask(stub_chat_server, llm_env({**example, "KB_LLM_BASE_URL": pointed}))

    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "qwen2.5:7b"
    assert request["body"]["messages"] == QUESTION
    assert request["headers"]["authorization"] == "Bearer EMPTY"


def test_the_dashscope_example_posts_a_text_generation_request_with_the_key(llm_env, monkeypatch, stub_chat_server):
    import dashscope

    example = read_env_file(ENV_EXAMPLES / "dashscope.env")
    default_base = dashscope.base_http_api_url  # the SDK's real endpoint; only its host is replaced
    monkeypatch.setattr(dashscope, "base_http_api_url", pointed_at(default_base, stub_chat_server.address))
    settings = llm_env(example)
    request = ask(stub_chat_server, settings)

    assert describe_llm(settings) == "dashscope:qwen-plus"
    assert request["path"] == f"{urlsplit(default_base).path}/services/aigc/text-generation/generation"
    assert request["headers"]["authorization"] == f"Bearer {example['DASHSCOPE_API_KEY']}"
    assert request["headers"]["x-dashscope-sse"] == "enable"
    assert request["body"]["model"] == "qwen-plus"
    assert request["body"]["input"]["messages"] == QUESTION
    assert request["body"]["parameters"]["result_format"] == "message"
    assert request["body"]["parameters"]["max_tokens"] == int(example["KB_LLM_MAX_NEW_TOKENS"])


def test_the_compose_file_points_the_app_at_the_tested_vllm_example():
    import yaml

    compose = yaml.safe_load((REPO_ROOT / "deploy" / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    vllm_args = services["vllm"]["command"].split()

    for name in ("app", "ingest"):
        assert services[name]["env_file"] == ["env/common.env", "env/vllm.env"]
        assert all((ENV_EXAMPLES.parent / path).is_file() for path in services[name]["env_file"])
    assert vllm_args[vllm_args.index("--model") + 1] == read_env_file(ENV_EXAMPLES / "vllm.env")["KB_LLM_MODEL"]
    assert "--enable-lora" in vllm_args
    env = read_env_file(ENV_EXAMPLES / "vllm.env")
    served_name, adapter_path = vllm_args[vllm_args.index("--lora-modules") + 1].split("=")
    assert env["KB_TERM_ADAPTER"] == adapter_path and Path(adapter_path).name == served_name  # asked by folder name
    assert urlsplit(env["KB_TERM_BASE_URL"]).hostname == "vllm"
    assert any(volume.endswith(":/adapters:ro") for volume in services["app"]["volumes"])  # its manifest is read
    assert urlsplit(read_env_file(ENV_EXAMPLES / "vllm.env")["KB_LLM_BASE_URL"]).hostname == "vllm"
