"""A stub LLM server on 127.0.0.1 for the backend tests: it records each request and answers in the format
the client asked for, so a test checks what the client sent without a real vLLM, Ollama or DashScope.

Tests get a running one from the `stub_chat_server` fixture in tests/conftest.py."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STUB_REPLY = "AM 是客户经理。"


class StubChatServer:
    """A test double for OpenAI-compatible servers (vLLM, Ollama: paths ending in /chat/completions) and for
    DashScope (any other path). The streamed OpenAI reply comes in two chunks, so clients must join them."""

    def __init__(self, reply: str = STUB_REPLY, refuse_key: bool = False):
        """With refuse_key, every request is refused with 401 and an error that quotes the key it was sent,
        as careless gateways do: what the client does with that message is what a key-leak test checks."""
        self.reply = reply
        self.refuse_key = refuse_key
        self.requests: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                headers = {name.lower(): value for name, value in self.headers.items()}
                stub.requests.append({"path": self.path, "headers": headers, "body": body})
                status = 401 if stub.refuse_key else 200
                if stub.refuse_key:
                    content_type, payload = "application/json", stub._refusal(headers.get("authorization", ""))
                elif not self.path.endswith("/chat/completions"):
                    content_type, payload = "text/event-stream;charset=UTF-8", stub._dashscope_events()
                elif body.get("stream"):
                    content_type, payload = "text/event-stream", stub._openai_stream_events(body["model"])
                else:
                    content_type, payload = "application/json", stub._openai_completion(body["model"])
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def _refusal(authorization: str) -> bytes:
        """An error in both OpenAI's shape (`error.message`) and DashScope's (`code`, `message`)."""
        message = f"Incorrect API key provided: {authorization.removeprefix('Bearer ')}"
        return json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"},
                           "code": "InvalidApiKey", "message": message, "request_id": "stub"}).encode()

    def _openai_completion(self, model: str) -> bytes:
        message = {"role": "assistant", "content": self.reply}
        return json.dumps({"id": "stub-1", "object": "chat.completion", "created": 0, "model": model,
                           "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}).encode()

    def _openai_stream_events(self, model: str) -> bytes:
        chunks = [{"id": "stub-1", "object": "chat.completion.chunk", "created": 0, "model": model,
                   "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece},
                                "finish_reason": None}]}
                  for piece in (self.reply[:2], self.reply[2:])]
        events = "".join(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n" for chunk in chunks)
        return (events + "data: [DONE]\n\n").encode()

    def _dashscope_events(self) -> bytes:
        """One server-sent event in DashScope's text-generation format (`result_format=message`)."""
        result = {"request_id": "stub", "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
                  "output": {"choices": [{"finish_reason": "stop",
                                          "message": {"role": "assistant", "content": self.reply}}]}}
        return f"id:1\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(result, ensure_ascii=False)}\n\n".encode()

    def __enter__(self) -> "StubChatServer":
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()
