"""How the term model's replies are scored: containment after normalisation, leaks, repetition loops."""
from __future__ import annotations

from train.dataset import TrainingRow
from train.evaluate import has_leaked_token, has_repetition, is_correct, score, summarize


def test_expansion_counts_regardless_of_width_case_and_spacing():
    assert is_correct("ＡＭ：ACCOUNT  manager（客户经理）", ("Account Manager",))
    assert is_correct("AM：AccountManager", ("Account Manager",))


def test_every_meaning_of_an_ambiguous_abbreviation_is_required():
    assert not is_correct("AM：Account Manager（客户经理）", ("Account Manager", "Amplitude Modulation"))
    assert is_correct("AM 有 2 个含义：1. Account Manager；2. Amplitude Modulation", ("Account Manager", "Amplitude Modulation"))


def test_an_abbreviation_inside_a_longer_one_does_not_count():
    assert not is_correct("SOP：Standard Operating Procedure", ("SO",))
    assert not is_correct("APP：Application", ("AP",))
    assert is_correct("销售订单的缩写是SO。", ("SO",))


def test_a_wrong_answer_is_wrong():
    assert not is_correct("KPI：Key Performance Indicator", ("Account Manager",))
    assert not is_correct("", ("Account Manager",))


def test_literal_special_tokens_count_as_leaks():
    assert has_leaked_token("AM：Account Manager<|im_start|>assistant")
    assert has_leaked_token("答案<｜end▁of▁sentence｜>")
    assert not has_leaked_token("AM：Account Manager（客户经理）")


def test_repetition_loops_are_detected_and_a_normal_answer_is_not_one():
    assert has_repetition("AM：Account Manager（客户经理）AM：Account Manager（客户经理）")
    assert has_repetition("客户经理客户经理客户经理客户经理")
    assert not has_repetition("AM 有 2 个含义：1. Account Manager（客户经理）；2. Amplitude Modulation（调幅）")
    assert not has_repetition("MoM：Month over Month（环比）")


def test_summary_reports_accuracy_per_form_and_the_rates():
    rows = [
        TrainingRow("什么是AM？", "AM：Account Manager", "what_is", "train", False, ("am",), ("Account Manager",)),
        TrainingRow("AM代表什么？", "AM：Account Manager", "stands_for", "train", False, ("am",), ("Account Manager",)),
    ]

    summary = summarize(score(rows, ["AM：Account Manager", "<|im_end|>AM AM AM AM"]))

    assert summary["accuracy"] == 0.5
    assert summary["by_form"] == {"stands_for": {"rows": 1, "accuracy": 0.0}, "what_is": {"rows": 1, "accuracy": 1.0}}
    assert summary["leaked_special_tokens_rate"] == 0.5
    assert summary["repetition_rate"] == 0.5
