"""Weighted reciprocal-rank fusion of a lexical and a dense ranking, shared by every passage store."""
from __future__ import annotations

from typing import Hashable

RRF_K = 60  # the usual reciprocal-rank-fusion constant
CANDIDATES = 50  # taken from each leg before fusion, by every passage store


def fuse_rankings(lexical: list[tuple[Hashable, float]], dense: list[tuple[Hashable, float]],
                  lexical_weight: float, dense_weight: float) -> list[tuple[Hashable, float, float, float]]:
    """(key, fused score, lexical score, dense score), best first. A leg with weight 0 adds nothing, so
    a dense model that does not fit the language cannot drag good lexical results down."""
    fused: dict[Hashable, list[float]] = {}
    for weight, slot, ranking in ((lexical_weight, 1, lexical), (dense_weight, 2, dense)):
        if weight <= 0:
            continue
        for rank, (key, score) in enumerate(ranking):
            entry = fused.setdefault(key, [0.0, 0.0, 0.0])
            entry[0] += weight / (RRF_K + rank + 1)
            entry[slot] = score
    return sorted(((key, *scores) for key, scores in fused.items()), key=lambda item: -item[1])
