"""Properties that hold for any text: the normaliser, the term matcher, the router and the glossary parser never
raise, and what they return keeps its promises (idempotent folding, mentions that point at the question).
Hypothesis generates the inputs; a real knowledge base and real workbooks are used."""
from __future__ import annotations

import tempfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from agent.ingest.errors import KnowledgeFileError
from agent.ingest.glossary import load_glossary
from agent.text.normalize import clean_cell, fold, fold_compact
from agent.records import ROUTES, Term
from agent.answer.terms import GlossaryMatcher

pytestmark = pytest.mark.usefixtures("no_kb_env")

# Any Unicode text, lone surrogates included, weighted towards the characters questions are made of.
ANY_TEXT = st.text(st.characters(codec=None), max_size=60) | st.text(
    st.sampled_from(list("AMamIT缩略语是什么意思客户经理 　\n\t/、，？?ＡＭ①ﬁ") + ["\u0301", "\u200b", "\x00", "\ud800"]),
    max_size=40)
NAMES = st.text(st.characters(codec=None), min_size=0, max_size=12)
FEW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FEW
@given(ANY_TEXT)
def test_folding_never_raises_and_is_idempotent(text):
    assert fold(fold(text)) == fold(text)
    assert " " not in fold_compact(text)


@FEW
@given(st.one_of(ANY_TEXT, st.integers(), st.floats(), st.none(), st.booleans()))
def test_a_cleaned_cell_has_no_control_characters_or_blank_lines(value):
    cleaned = clean_cell(value)
    assert "\n\n" not in cleaned and "\r" not in cleaned
    assert not any(ord(ch) < 32 and ch != "\n" for ch in cleaned)


def _term(abbreviation: str, english: str, chinese: str) -> Term:
    return Term(abbreviations=(abbreviation,) if abbreviation else (), english=english, chinese=chinese,
                source="glossary/properties.xlsx", row=2)


@FEW
@given(st.lists(st.tuples(NAMES, NAMES, NAMES), max_size=6), ANY_TEXT)
def test_the_term_matcher_accepts_any_glossary_and_any_question(names, question):
    matcher = GlossaryMatcher([_term(*n) for n in names])

    mentions = matcher.find(question)

    for mention in mentions:
        assert 0 <= mention.start < mention.end <= len(question)
        assert question[mention.start:mention.end] == mention.text
        assert mention.terms
    assert [m.start for m in mentions] == sorted(m.start for m in mentions)


@FEW
@given(ANY_TEXT)
def test_a_glossary_name_inside_any_text_is_found(filler):
    matcher = GlossaryMatcher([_term("KPI", "Key Performance Indicator", "关键绩效指标")])

    mentions = matcher.find(f"{filler} 关键绩效指标 {filler}")

    assert any(m.text == "关键绩效指标" for m in mentions)


@pytest.fixture(scope="module")
def company_router(company_service):
    return company_service.router


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=ANY_TEXT)
def test_the_router_routes_any_question(company_router, question):
    decision = company_router.route(question)

    assert decision.route in ROUTES
    assert 0.0 <= decision.confidence <= 1.0


def test_the_service_answers_a_question_of_lone_surrogates(company_service):
    assert company_service.ask("\ud800abc\udfff").text


CELL = st.one_of(st.none(), st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False),
                 st.booleans(), st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=30))
HEADER = st.sampled_from([["缩略语", "英文全称", "中文解释"], ["Abbreviation", "Full name", "Meaning"],
                          ["简称", "全称", "释义", "备注"], ["随便", "什么", "表头"]])


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(HEADER, st.lists(st.lists(CELL, max_size=5), max_size=8))
def test_the_glossary_parser_reads_any_cells_or_says_why_not(header, rows):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in (header, *rows):
        sheet.append(row)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "术语.xlsx"
        workbook.save(path)
        try:
            terms, warnings = load_glossary(path, "glossary/术语.xlsx")
        except KnowledgeFileError as exc:
            assert "header row" in str(exc)
            return
    assert all(t.abbreviations or t.english or t.chinese for t in terms)
    assert all(t.source == "glossary/术语.xlsx" and t.row >= 2 for t in terms)
    assert all(isinstance(w, str) for w in warnings)
