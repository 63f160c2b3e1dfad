"""Reasons are codes with parameters, worded by each surface in its own language (agent.answer.reasons)."""
from __future__ import annotations

import dataclasses
import json
import re
import string

from agent.answer import reasons
from agent.answer.reasons import TEMPLATES, because, worded
from agent.memory.conversations import _answer_from_json, _answer_to_json
from agent.records import Answer


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_reason_code_is_worded_in_every_language_with_the_same_parameters():
    codes = set(TEMPLATES["en"])
    for language, templates in TEMPLATES.items():
        assert set(templates) == codes, language
        for code in codes:
            assert _fields(templates[code]) == _fields(TEMPLATES["en"][code]), (language, code)


def test_the_chinese_wording_has_no_english_words_of_its_own():
    for code, template in TEMPLATES["zh"].items():
        assert not re.search(r"[A-Za-z]{3,}", re.sub(r"\{\w+\}", "", template)), code


def test_an_answer_keeps_its_reasons_through_storage_and_drops_codes_it_does_not_know():
    kept = [because("faq_match", question="年假怎么申请？"), because("asked_to_confirm")]
    answer = Answer("text", "fact", worded(kept), 0.7, reasons=kept)
    stored = json.loads(_answer_to_json(answer))
    stored["reasons"].append({"code": "from_a_later_version", "params": {}})

    again = _answer_from_json(json.dumps(stored))

    assert again.reasons == kept
    assert worded(again.reasons, "zh") == "与常见问题“年假怎么申请？”相符；请您确认"
    assert reasons.from_json(None) == []


def test_the_decisions_reasons_are_codes_and_the_english_reason_is_their_wording(company_service):
    for question in ("AM是什么意思", "年假怎么申请", "公司股票代码是多少", "🙂"):
        answer = company_service.ask(question)

        assert answer.reasons, question
        assert answer.reason == worded(answer.reasons)
        assert all(dataclasses.is_dataclass(r) and r.code in TEMPLATES["en"] for r in answer.reasons)


def test_the_api_and_ask_json_give_the_reasons_as_codes():
    from agent.surfaces.api import kb_details

    kept = [because("faq_probable", question="产假有多少天？"), because("asked_to_confirm")]
    details = kb_details(Answer("x", "fact", worded(kept), 0.7, reasons=kept))

    assert details["reasons"] == [{"code": "faq_probable", "params": {"question": "产假有多少天？"}},
                                  {"code": "asked_to_confirm", "params": {}}]
    assert details["reason"] == "probably the FAQ question “产假有多少天？”; asked to confirm"
