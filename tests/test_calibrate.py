"""`python -m bench.calibrate`: with `--also FOLDER` another knowledge folder's own cases join the fit, each
folder answered from its own index and its candidates labelled against its own FAQ; and a row weighs in the
fit as much as it is told to (a written tune question more than a row made from the FAQ itself)."""
from __future__ import annotations

import json

import pytest

from agent.answer.evidence import Calibrated
from bench.calibrate import fit, labelled_rows, tune_sets
from tests.conftest import _write_workbook

SECOND_FAQ = [
    ["编号", "标准问题", "相似问题", "回答"],
    [1, "叉车证怎么复审？", "叉车操作证到期了怎么办", "叉车操作证每4年复审一次，到期前30天在培训系统报名，复审费用由公司承担。"],
    [2, "宿舍怎么申请？", "公司有宿舍吗", "家离园区超过15公里的员工可申请宿舍，每人每月150元，从工资中扣除。"],
]
SECOND_CASES = [
    {"question": "开叉车的证快过期了，去哪报名复审", "expect_route": "fact", "expect_any": ["培训系统"]},
    {"question": "有没有健身房补贴？", "expect_abstain": True},
    {"question": "那宿舍呢？", "history": ["叉车证怎么复审？"], "expect_route": "fact", "expect_any": ["150元"]},
]


@pytest.fixture(scope="module")
def second_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("second") / "tune_knowledge"
    _write_workbook(root / "faq" / "员工问答.xlsx", {"问答": SECOND_FAQ})
    (root / "cases.jsonl").write_text("".join(json.dumps(case, ensure_ascii=False) + "\n" for case in SECOND_CASES),
                                      encoding="utf-8")
    return root


def test_each_folder_is_answered_from_its_own_index_with_its_own_cases(company_service, second_folder):
    sets = tune_sets(company_service, [second_folder])

    assert len(sets) == 2 and sets[0][0] is company_service
    second, cases = sets[1]
    index = company_service.settings.index_dir
    assert second.settings.knowledge_dir == second_folder.resolve()
    assert second.settings.index_dir == index.parent / f"{index.name}-tune_knowledge"
    assert [case.question for case in cases] == [c["question"] for c in SECOND_CASES[:2]]  # no follow-up
    assert [entry.question for entry in second.kb.faq] == ["叉车证怎么复审？", "宿舍怎么申请？"]


def test_candidates_of_the_second_folder_are_labelled_against_its_own_faq(company_service, second_folder):
    second, cases = tune_sets(company_service, [second_folder])[1]

    faq_rows, faq_labels, *_ = labelled_rows(second.router, cases)

    assert len(faq_rows) == len(faq_labels) and sum(faq_labels) == 1  # the forklift entry, for the paraphrase only


def test_a_row_that_weighs_more_pulls_the_fit_towards_its_label():
    rows = [{"x": x} for x in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)]
    labels = [0, 0, 1, 0, 1, 1]

    chance = {}
    for name, weights in (("plain", [1] * 6), ("weighted", [1, 1, 5, 1, 1, 1])):
        model = fit(rows, labels, ("x",), weights)
        chance[name] = Calibrated(tuple(model["features"]), tuple(model["weights"]), model["bias"]).probability({"x": 0.4})

    assert chance["weighted"] > chance["plain"] + 0.05


def test_a_glossary_answer_is_as_sure_as_glossary_answers_in_its_band_were_on_tune():
    """Term confidence is measured (bench.calibrate --only term), smoothed so a small band claims less."""
    from agent.answer.evidence import _fits, term_confidence

    bands = _fits()["term"]["bands"]
    for band in bands:
        assert term_confidence(band["from"], band["ambiguous"]) == (band["right"] + 1) / (band["answers"] + 2)
    plain = [band for band in bands if not band["ambiguous"]]
    assert term_confidence(0.99, False) >= term_confidence(plain[0]["from"], False)
    assert term_confidence(0.0, False) == term_confidence(plain[0]["from"], False)  # below the bands: the first
