"""Weighted fusion of a lexical and a dense ranking by standardised scores, shared by every passage store.

Each leg's scores are put on one scale per question: z-scores over the candidates that leg returned, and a
passage the leg did not return counts at that leg's lowest. Ranks alone (reciprocal-rank fusion) forget how
far ahead a leg's first passage is: BM25 often puts the right passage far above the rest while cosines crowd
in a narrow band, and the reverse. On CMRC2018 trial (1,002 questions), fusing standardised scores at equal
weight ranked the right article first for 0.982 of questions (MRR@10 0.9885), against 0.980 (0.9845) for the
best weighted reciprocal-rank fusion (k=60, dense weight 2), with every dense weight from 0.75 to 1.25
scoring 0.982 (docs/benchmarks.md).
"""
from __future__ import annotations

from typing import Hashable

import numpy as np

CANDIDATES = 50  # taken from each leg before fusion, by every passage store


def standardised(ranking: list[tuple[Hashable, float]]) -> tuple[dict[Hashable, float], float]:
    """Each key's z-score within the ranking, and the value for a key the ranking left out (its lowest).
    Equal scores (one candidate, say) carry no spread to measure: they count one unit above the rest."""
    scores = np.array([score for _, score in ranking], dtype=np.float64)
    spread = float(scores.std())
    if spread == 0:
        return {key: 0.0 for key, _ in ranking}, -1.0
    z = (scores - scores.mean()) / spread
    return {key: float(value) for (key, _), value in zip(ranking, z)}, float(z.min())


def fuse_rankings(lexical: list[tuple[Hashable, float]], dense: list[tuple[Hashable, float]],
                  lexical_weight: float, dense_weight: float) -> list[tuple[Hashable, float, float, float]]:
    """(key, fused score, lexical score, dense score), best first; a leg's raw score is 0 where it did not
    return the key. A leg with weight 0 adds nothing, so a dense model that does not fit the language
    cannot drag good lexical results down."""
    legs = [(weight, slot, ranking) for weight, slot, ranking in ((lexical_weight, 1, lexical), (dense_weight, 2, dense))
            if weight > 0 and ranking]
    fused: dict[Hashable, list[float]] = {}
    for _, slot, ranking in legs:
        for key, score in ranking:
            fused.setdefault(key, [0.0, 0.0, 0.0])[slot] = score
    for weight, _, ranking in legs:
        z, missing = standardised(ranking)
        for key, entry in fused.items():
            entry[0] += weight * z.get(key, missing)
    return sorted(((key, *scores) for key, scores in fused.items()), key=lambda item: -item[1])
