"""Any sentence-transformers model copied to a local folder (`KB_EMBEDDING_MODEL`), on a GPU when torch has
one: bge-m3 or multilingual-e5-large for a bigger host. Never reaches for a model hub."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from agent.index.embedders.base import Embedder, register_embedder
from agent.settings import ConfigError, Settings

log = logging.getLogger(__name__)
E5_PREFIXES = {"query": "query: ", "passage": "passage: "}  # what the e5 family was trained with


@register_embedder("sentence_transformers")
class SentenceTransformersFolder(Embedder):
    def __init__(self, model, path: Path) -> None:
        super().__init__()
        self._model = model
        self.dimension = int(model.get_embedding_dimension())
        self.name = f"sentence_transformers:{path}"
        self._prefixes = E5_PREFIXES if "e5" in path.name.lower() else {}

    @classmethod
    def from_settings(cls, settings: Settings) -> "SentenceTransformersFolder":
        setting = f"KB_EMBEDDING_MODEL={settings.embedding_model!r}"
        if not settings.embedding_model:
            raise ConfigError("KB_EMBEDDER=sentence_transformers needs KB_EMBEDDING_MODEL, a local model folder")
        path = Path(settings.embedding_model).expanduser().resolve()
        if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
            raise ConfigError(f"{setting} is not a local sentence-transformers model folder "
                              "(nothing is downloaded at run time; copy the model there first)")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        log.info("loading embedding model %s", path)
        try:
            import torch
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(path), device=None if torch.cuda.is_available() else "cpu")
        except Exception as exc:
            raise ConfigError(f"{setting} could not be loaded: {exc}") from exc
        return cls(model, path)

    def _embed(self, texts: list[str], kind: str) -> np.ndarray:
        prefix = self._prefixes.get(kind, "")
        return self._model.encode([prefix + t for t in texts], batch_size=32, convert_to_numpy=True,
                                  normalize_embeddings=True, show_progress_bar=False)
