"""The LLM configurations shipped in deploy/env (DashScope, vLLM, Ollama) send the request each server
expects. Each example file is parsed as it is; only the server address is pointed at a stub HTTP server
on 127.0.0.1, which records the request (the test checks the request, not what the stub replies)."""
from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from agent.llm import describe_llm, llm_from_settings
from agent.settings import REPO_ROOT, Settings

ENV_EXAMPLES = REPO_ROOT / "deploy" / "env"
QUESTION = [{"role": "user", "content": "AM 是什么意思？"}]
STUB_REPLY = "AM 是客户经理。"


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


class RecordingLLMServer:
    """A test double for vLLM, Ollama and DashScope: records each request and sends a minimal reply in
    the server's own format, so the client finishes its call."""

    def __init__(self):
        self.requests: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                headers = {name.lower(): value for name, value in self.headers.items()}
                stub.requests.append({"path": self.path, "headers": headers, "body": body})
                if self.path.endswith("/chat/completions"):
                    payload = _openai_reply(body)
                    content_type = "text/event-stream" if body.get("stream") else "application/json"
                else:
                    payload, content_type = _dashscope_reply(), "text/event-stream;charset=UTF-8"
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "RecordingLLMServer":
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()


def _openai_reply(body: dict) -> bytes:
    message = {"role": "assistant", "content": STUB_REPLY}
    if not body.get("stream"):
        return json.dumps({"id": "stub", "object": "chat.completion", "created": 0, "model": body["model"],
                           "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}).encode()
    chunk = {"id": "stub", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
             "choices": [{"index": 0, "delta": message, "finish_reason": "stop"}]}
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\ndata: [DONE]\n\n".encode()


def _dashscope_reply() -> bytes:
    """One server-sent event in DashScope's text-generation format (`result_format=message`)."""
    result = {"request_id": "stub", "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
              "output": {"choices": [{"finish_reason": "stop",
                                      "message": {"role": "assistant", "content": STUB_REPLY}}]}}
    return f"id:1\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(result, ensure_ascii=False)}\n\n".encode()


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


def streamed_reply(settings: Settings) -> str:
    from qwen_agent.llm import get_chat_model

    *_, last = get_chat_model(llm_from_settings(settings)).chat(QUESTION, stream=True)
    return last[-1]["content"]


def test_the_vllm_example_posts_openai_chat_for_the_served_model(llm_env):
    example = read_env_file(ENV_EXAMPLES / "vllm.env")
    with RecordingLLMServer() as server:
        settings = llm_env({**example, "KB_LLM_BASE_URL": pointed_at(example["KB_LLM_BASE_URL"], server.address)})
        reply = streamed_reply(settings)

    [request] = server.requests
    assert reply == STUB_REPLY
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "Qwen/Qwen2.5-7B-Instruct"
    assert request["body"]["messages"] == QUESTION
    assert request["body"]["stream"] is True
    assert request["body"]["max_tokens"] == int(example["KB_LLM_MAX_NEW_TOKENS"])
    assert request["headers"]["authorization"] == f"Bearer {example['KB_LLM_API_KEY']}"


def test_the_ollama_example_reaches_ollamas_v1_endpoint_from_a_bare_address(llm_env):
    example = read_env_file(ENV_EXAMPLES / "ollama.env")
    assert urlsplit(example["KB_LLM_BASE_URL"]).path == ""  # the example gives the bare address
    with RecordingLLMServer() as server:
        settings = llm_env({**example, "KB_LLM_BASE_URL": pointed_at(example["KB_LLM_BASE_URL"], server.address)})
        reply = streamed_reply(settings)

    [request] = server.requests
    assert reply == STUB_REPLY
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "qwen2.5:7b"
    assert request["body"]["messages"] == QUESTION
    assert request["headers"]["authorization"] == "Bearer EMPTY"


def test_the_dashscope_example_posts_a_text_generation_request_with_the_key(llm_env, monkeypatch):
    import dashscope

    example = read_env_file(ENV_EXAMPLES / "dashscope.env")
    default_base = dashscope.base_http_api_url  # the SDK's real endpoint; only its host is replaced
    with RecordingLLMServer() as server:
        monkeypatch.setattr(dashscope, "base_http_api_url", pointed_at(default_base, server.address))
        settings = llm_env(example)
        reply = streamed_reply(settings)

    [request] = server.requests
    assert reply == STUB_REPLY
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
    assert vllm_args[vllm_args.index("--lora-modules") + 1].startswith("glossary=/adapters/")
    assert urlsplit(read_env_file(ENV_EXAMPLES / "vllm.env")["KB_LLM_BASE_URL"]).hostname == "vllm"
