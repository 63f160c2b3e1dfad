"""The question-pair verifier, tentative answers ("您问的是不是…"), and how eval counts them."""
from __future__ import annotations

import json

import numpy as np
import pytest

from agent.answer import evidence, router as router_module
from agent.answer.evidence import FaqCandidate
from agent.answer.pair_verifier import WEIGHTS, PairVerifier
from agent.answer.reasons import because
from agent.answer.replies import answer_without_llm
from agent.answer.router import RouteDecision
from agent.records import Answer, FaqEntry
from agent.surfaces.evaluation import Case, evaluate

# Pairs written for this test, in none of the training files and none of the case sets: the first of each row is
# answered by the stored question, the second asks another aspect or another thing of the same kind.
UNSEEN = [
    ("换了新手机号，系统里的号码怎么更新", "系统里的手机号码被别人占用了怎么办", "如何修改个人信息中的手机号码？"),
    ("宝宝出生后爸爸能休几天", "陪产假期间工资怎么算", "男员工陪产假有几天？"),
    ("笔记本电脑坏了找哪个部门修", "笔记本电脑丢了找哪个部门", "电脑出故障了如何报修？"),
    ("出差住的酒店一晚最多能报多少", "出差坐高铁能报几等座", "出差住宿费的报销标准是多少？"),
]


@pytest.fixture(scope="module")
def verifier():
    return PairVerifier()


def test_the_shipped_verifier_is_small_and_says_what_it_was_trained_on():
    manifest = json.loads(WEIGHTS.with_suffix(".json").read_text(encoding="utf-8"))
    assert WEIGHTS.stat().st_size < 25 * 1024 * 1024
    assert manifest["training_pairs"] > 1000
    assert not any("lcqmc" in name.lower() or "afqmc" in name.lower() or "oppo" in name.lower()
                   for name in manifest["files"]), "research-only data must not be in the shipped weights"


def test_the_verifier_puts_paraphrases_above_near_misses_it_never_saw(verifier):
    for paraphrase, near_miss, stored in UNSEEN:
        right, wrong = verifier.probabilities(paraphrase, [stored])[0], verifier.probabilities(near_miss, [stored])[0]
        assert right > wrong, (paraphrase, near_miss, right, wrong)


def test_the_verifier_reads_several_stored_questions_at_once_as_it_reads_each_alone(verifier):
    question, stored = UNSEEN[0][0], [row[2] for row in UNSEEN]
    together = verifier.probabilities(question, stored)
    alone = np.array([verifier.probabilities(question, [s])[0] for s in stored])
    assert np.allclose(together, alone, atol=1e-4)
    assert int(np.argmax(together)) == 0


def test_the_numpy_erf_behind_gelu_matches_the_exact_function():
    """e5's GELU needs erf; numpy has none and the runtime install carries no scipy (e5_file.erf)."""
    import math

    from agent.index.embedders.e5_file import erf

    x = np.linspace(-6.0, 6.0, 20001)
    assert np.abs(erf(x) - np.array([math.erf(v) for v in x])).max() < 2e-7
    assert erf(np.zeros(3, dtype=np.float32)).dtype == np.float32


@pytest.mark.slow
def test_numpy_verifier_agrees_with_the_torch_model_it_was_exported_from(verifier):
    torch = pytest.importorskip("torch")
    from train.e5_torch import E5
    from train.verifier import PairModel

    model = PairModel(E5(), verifier.split, len(verifier.joint))
    with np.load(WEIGHTS) as arrays:
        weights = {name: torch.from_numpy(arrays[name].astype(np.float32)) for name in arrays.files}
    model.segment.data = weights["segment"]
    for number in (0, 2):
        model.head[number].weight.data, model.head[number].bias.data = weights[f"head.{number}.w"], weights[f"head.{number}.b"]
    for number, layer in enumerate(model.joint):
        for name in ("q", "k", "v", "ao", "fi", "fo"):
            getattr(layer, name).weight.data = weights[f"j{number}.{name}.w"]
            getattr(layer, name).bias.data = weights[f"j{number}.{name}.b"]
        for name, norm in (("aln", layer.attention_norm), ("oln", layer.output_norm)):
            norm.weight.data, norm.bias.data = weights[f"j{number}.{name}.w"], weights[f"j{number}.{name}.b"]
    pairs = [(q, s) for row in UNSEEN for q, s in ((row[0], row[2]), (row[1], row[2]))]
    states = model.lower_states([t for pair in pairs for t in pair])
    with torch.no_grad():
        expected = torch.sigmoid(model([states[q] for q, _ in pairs], [states[s] for _, s in pairs])).numpy()
    found = np.array([verifier.probabilities(q, [s])[0] for q, s in pairs])
    assert np.abs(found - expected).max() < 1e-3


ENTRY = FaqEntry("产假有多少天？", "产假为158天。", source="faq.xlsx", row=3)


def _candidate(probability: float, entry: FaqEntry = ENTRY, number: int = 0) -> FaqCandidate:
    return FaqCandidate(number, entry, entry.question, {}, probability)


@pytest.mark.parametrize("chance, route, tentative, abstained", [
    (0.95, "fact", False, False), (0.6, "fact", True, False), (0.2, "doc", False, True)])
def test_the_decision_answers_offers_or_abstains_by_the_entrys_chance(company_service, monkeypatch, chance, route,
                                                                      tentative, abstained):
    router = router_module.Router(company_service.kb)
    other = FaqEntry("婚假有多少天？", "婚假为13天。", source="faq.xlsx", row=4)
    # A test double for the FAQ candidates, so the decision is tested at a chosen chance.
    monkeypatch.setattr(router, "faq_candidates", lambda understanding: [_candidate(chance), _candidate(0.15, other, 1)])
    decision = router.route("公司的产假规定")
    assert (decision.route, decision.tentative, decision.abstained) == (route, tentative, abstained)
    if tentative:
        assert decision.suggestions == ["婚假有多少天？"]


def test_a_tentative_answer_asks_to_confirm_the_entry_and_gives_its_answer_below():
    decision = RouteDecision("fact", (because("faq_probable", question=ENTRY.question),), 0.6, faq=router_module.FaqMatch(ENTRY, 0.6, ENTRY.question, 0),
                             suggestions=["婚假有多少天？"], tentative=True)
    answer = answer_without_llm(decision, "生娃能歇多久", llm_configured=False)
    assert answer.text.startswith("您问的是不是「产假有多少天？」")
    assert answer.text.endswith("产假为158天。") and answer.lead == "产假为158天。"
    assert answer.tentative and answer.suggestions == ["婚假有多少天？"]
    english = answer_without_llm(decision, "How long is maternity leave?", llm_configured=False)
    assert english.text.startswith("Did you mean “产假有多少天？”?")


def test_a_direct_stored_answer_is_the_answer_alone():
    decision = RouteDecision("fact", (because("faq_match", question=ENTRY.question),), 0.95, faq=router_module.FaqMatch(ENTRY, 0.95, ENTRY.question, 0))
    answer = answer_without_llm(decision, "产假多少天", llm_configured=False)
    assert answer.text == "产假为158天。" and not answer.tentative


def test_eval_counts_tentative_answers_apart_and_a_tentative_answer_to_a_near_miss_as_wrong():
    cases = [Case("生娃能歇多久", "fact", expect_any=("158天",)), Case("产假工资谁发", expect_abstain=True)]

    def ask(question, history=None):  # a test double for KnowledgeService.ask: always the tentative answer
        return Answer("您问的是不是「产假有多少天？」？\n\n产假为158天。", "fact", "probably", 0.6, tentative=True)

    summary = evaluate(ask, cases)
    assert summary["answer_accuracy"] == 0.0
    assert summary["answered_with_tentative"] == 1.0
    assert summary["tentative_answers"] == 2
    assert summary["abstention"]["recall"] == 0.0


def test_the_calibration_is_read_again_when_its_file_changes(tmp_path, monkeypatch):
    path = tmp_path / "calibration.json"
    fit = {"features": ["lexical"], "weights": [1.0], "bias": 0.0}
    path.write_text(json.dumps({"faq": {"lexical": fit}}), encoding="utf-8")
    monkeypatch.setattr(evidence, "CALIBRATION", path)
    assert evidence.calibration("faq", None).weights == (1.0,)
    path.write_text(json.dumps({"faq": {"lexical": {**fit, "weights": [2.0]}}}), encoding="utf-8")
    import os

    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert evidence.calibration("faq", None).weights == (2.0,)
