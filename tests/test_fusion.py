"""Fusion of the lexical and dense legs by standardised scores: how far ahead a passage is counts, not only
its place, and a leg with weight 0 adds nothing."""
from __future__ import annotations

import pytest

from agent.index.fusion import fuse_rankings, standardised

LEXICAL = [("a", 10.0), ("b", 1.0), ("c", 0.9)]  # BM25: "a" far ahead
DENSE = [("b", 0.85), ("c", 0.849), ("a", 0.848), ("d", 0.60), ("e", 0.59)]  # cosines: "a" only just behind


def test_a_passage_far_ahead_in_one_leg_and_close_behind_in_the_other_comes_first():
    # reciprocal ranks would put "b" first: 1/62 + 1/61 against 1/61 + 1/63 for "a"
    fused = fuse_rankings(LEXICAL, DENSE, lexical_weight=1.0, dense_weight=1.0)
    assert [key for key, *_ in fused][:2] == ["a", "b"]
    assert fused[0][2:] == (10.0, pytest.approx(0.848))  # each leg's own score is kept for display


def test_a_passage_one_leg_did_not_return_counts_at_that_legs_lowest():
    z, missing = standardised(LEXICAL)
    assert missing == min(z.values())
    fused = {key: score for key, score, *_ in fuse_rankings(LEXICAL, DENSE, 1.0, 1.0)}
    dense_z, _ = standardised(DENSE)
    assert fused["d"] == pytest.approx(missing + dense_z["d"])
    assert fused["e"] < fused["d"]


def test_equal_scores_count_one_unit_above_the_passages_left_out():
    z, missing = standardised([("only", 3.2)])
    assert z == {"only": 0.0} and missing == -1.0
    fused = fuse_rankings([("only", 3.2)], [("x", 0.8), ("only", 0.79), ("y", 0.2)], 1.0, 1.0)
    assert fused[0][0] == "only"


def test_a_leg_with_weight_zero_leaves_the_other_legs_order():
    fused = fuse_rankings(LEXICAL, DENSE, lexical_weight=1.0, dense_weight=0.0)
    assert [key for key, *_ in fused] == ["a", "b", "c"]
    assert all(dense == 0.0 for *_, dense in fused)
    assert [key for key, *_ in fuse_rankings(LEXICAL, DENSE, 0.0, 1.0)] == ["b", "c", "a", "d", "e"]
