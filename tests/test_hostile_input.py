"""Bad and hostile input never crashes the assistant or the indexer: odd questions get an answer or a friendly
prompt, damaged or oversized files become one clear error (or a warning) in the ingest report, and uploaded
file names cannot leave their folder. Real services, real workbooks, real zip archives."""
from __future__ import annotations

import csv
import time
import zipfile
from pathlib import Path

import pytest

from agent.ingest import sheets
from agent.ingest.documents import read_sections
from agent.ingest.errors import KnowledgeFileError
from agent.records import ROUTES
from agent.ingest.faq import load_faq
from agent.ingest.glossary import load_glossary
from agent.index.build import ingest
from agent.answer.service import MAX_QUESTION_CHARS
from agent.settings import Settings
from agent.surfaces.web.uploads import UploadRejected, safe_file_name, save_upload

pytestmark = pytest.mark.usefixtures("no_kb_env")


@pytest.fixture
def route_spy(company_service, monkeypatch) -> list[str]:
    """A spy around the real router: records each question routed (routing is where every search starts)."""
    routed: list[str] = []
    router = company_service.router
    real = router.route

    def spy(question, *args, **kwargs):
        routed.append(question)
        return real(question, *args, **kwargs)
    monkeypatch.setattr(router, "route", spy)
    return routed


# ---- questions -------------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["", "   ", "\n\t\u3000 ", None])
def test_an_empty_or_blank_question_gets_a_friendly_prompt_and_no_search_runs(company_service, route_spy, question):
    answer = company_service.ask(question)

    assert "请输入一个问题" in answer.text
    assert answer.sources == []
    assert route_spy == []


def test_a_question_of_100000_characters_is_cut_to_the_limit_with_a_notice(company_service, route_spy):
    started = time.perf_counter()
    answer = company_service.ask("年假如何申请？" + "请" * 100_000)

    assert "问题过长" in answer.text and str(MAX_QUESTION_CHARS) in answer.text
    assert [len(q) for q in route_spy] == [MAX_QUESTION_CHARS]
    assert time.perf_counter() - started < 30


def test_control_characters_in_a_question_are_dropped_and_the_term_still_answers(company_service):
    answer = company_service.ask("AM\x00是什么\x07意思\x1b？\x7f\ud800")

    assert answer.route == "term"
    assert "客户经理" in answer.text


def test_a_question_with_invalid_utf8_bytes_is_answered_with_text_that_encodes_as_utf8(company_service):
    question = b"AM\xff\xfe\xed\xa0\x80\xe6\x98\xaf\xe4\xbb\x80\xe4\xb9\x88\xe6\x84\x8f\xe6\x80\x9d".decode(
        "utf-8", errors="surrogateescape")
    assert any("\udc80" <= ch <= "\udcff" for ch in question)

    answer = company_service.ask(question)

    answer.text.encode("utf-8")  # lone surrogates would make every UTF-8 writer (JSON, HTTP, terminal) fail
    answer.reason.encode("utf-8")
    assert answer.route == "term" and "客户经理" in answer.text


@pytest.mark.parametrize("question", [
    "AM是什么意思？ Что такое AM? AMとは何ですか？ 🙂",
    "ﾀｲﾑ ＡＭ 是什么意思",  # half-width katakana, full-width Latin
    "مرحبا AM שלום \u202eAM\u202c",  # right-to-left scripts and a bidi override
    "e\u0301\u0301\u0301 Z\u0351\u0352\u0353 ⓐⓜ 𝐀𝐌",  # combining marks, enclosed and mathematical letters
])
def test_a_question_mixing_scripts_is_answered(company_service, question):
    answer = company_service.ask(question)

    assert answer.text.strip()
    assert answer.route in ROUTES


# ---- knowledge files -------------------------------------------------------------------------


def _settings(tmp_path: Path) -> Settings:
    return Settings.from_env(knowledge_dir=tmp_path / "knowledge", index_dir=tmp_path / "index")


def _report_of(tmp_path: Path, relative: str):
    report = ingest(_settings(tmp_path))
    return {f.path: f for f in report.files}[relative]


def test_a_text_file_named_xlsx_is_one_clear_error_in_the_report(tmp_path):
    path = tmp_path / "knowledge" / "glossary" / "术语.xlsx"
    path.parent.mkdir(parents=True)
    path.write_text("缩略语,英文全称\nAM,Account Manager\n", encoding="utf-8")

    report = _report_of(tmp_path, "glossary/术语.xlsx")

    assert report.status == "error" and "not a valid .xlsx" in report.error


def test_a_password_protected_workbook_is_reported_as_such(tmp_path):
    path = tmp_path / "knowledge" / "faq" / "问答.xlsx"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096)  # Office encrypts into an OLE container

    report = _report_of(tmp_path, "faq/问答.xlsx")

    assert report.status == "error" and "password-protected" in report.error


def _zip_bomb(path: Path, unpacked_bytes: int) -> Path:
    """A zip whose one member unpacks to `unpacked_bytes` zeros, written in 1 MB blocks (a few MB on disk)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = bytes(2**20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(unpacked_bytes // len(block) + 1):
                member.write(block)
    return path


def test_a_workbook_that_unpacks_beyond_the_cap_is_refused_unopened(tmp_path):
    path = _zip_bomb(tmp_path / "knowledge" / "glossary" / "炸弹.xlsx", sheets.MAX_UNZIPPED_BYTES + 2**20)
    assert path.stat().st_size < 5 * 2**20

    report = _report_of(tmp_path, "glossary/炸弹.xlsx")

    assert report.status == "error" and "unpacks to" in report.error and "limit" in report.error


@pytest.mark.parametrize("suffix", [".docx", ".pptx", ".xlsx"])
def test_an_office_document_that_unpacks_beyond_the_cap_is_refused_unopened(tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(sheets, "MAX_UNZIPPED_BYTES", 8 * 2**20)  # the same check as above, with a smaller bomb
    path = _zip_bomb(tmp_path / f"炸弹{suffix}", 9 * 2**20)

    with pytest.raises(KnowledgeFileError, match="unpacks to"):
        read_sections(path)


def test_a_sheet_over_the_cell_cap_is_cut_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_CELLS_PER_SHEET", 3_000)
    path = tmp_path / "术语.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["缩略语", "英文全称", "中文解释"] + [f"列{n}" for n in range(97)])
        for number in range(100):
            writer.writerow([f"T{number}", f"Term {number}", f"术语{number}"] + ["x"] * 97)

    terms, warnings = load_glossary(path, "glossary/术语.csv")

    assert len(terms) == 29  # 30 rows of 100 cells fit in 3,000; the header is one of them
    assert any("more than 3000 cells" in w for w in warnings)


@pytest.mark.slow
def test_a_sheet_of_a_million_rows_is_cut_at_the_row_cap_with_a_warning(tmp_path):
    path = tmp_path / "问答.csv"
    lines = ["问题,答案"] + [f"问题{n}？,答案{n}" for n in range(1_000_000)]
    path.write_text("\n".join(lines), encoding="utf-8")
    started = time.perf_counter()

    entries, warnings = load_faq(path, "faq/问答.csv")

    assert len(entries) == 200_000 - 1  # the default cap counts the header row
    assert any("more than 200000 rows" in w for w in warnings)
    assert time.perf_counter() - started < 30


@pytest.mark.slow
def test_html_nested_100000_deep_is_refused_quickly_without_a_recursion_error(tmp_path):
    path = tmp_path / "深.html"
    path.write_text("<div>" * 100_000 + "正文" + "</div>" * 100_000, encoding="utf-8")
    started = time.perf_counter()

    with pytest.raises(KnowledgeFileError, match="nests its tags"):
        read_sections(path)
    assert time.perf_counter() - started < 20


def test_html_nested_a_few_hundred_deep_is_still_read(tmp_path):
    path = tmp_path / "表格.html"
    path.write_text("<html><body>" + "<div>" * 300 + "<p>报销须在十个工作日内提交</p>" + "</div>" * 300 + "</body></html>",
                    encoding="utf-8")

    assert [s.text for s in read_sections(path)] == ["报销须在十个工作日内提交"]


def test_html_over_the_size_cap_is_refused_before_parsing(tmp_path):
    path = tmp_path / "大.html"
    path.write_text("<p>" + "字" * (4 * 2**20) + "</p>", encoding="utf-8")  # 12 MB of UTF-8

    with pytest.raises(KnowledgeFileError, match="MB limit for web pages"):
        read_sections(path)


def test_a_pdf_without_a_text_layer_is_reported_as_needing_ocr(tmp_path):
    import pypdf

    path = tmp_path / "knowledge" / "docs" / "扫描件.pdf"
    path.parent.mkdir(parents=True)
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    with open(path, "wb") as handle:
        writer.write(handle)

    report = _report_of(tmp_path, "docs/扫描件.pdf")

    assert report.status == "error" and "no text layer" in report.error and "OCR" in report.error


# ---- upload names ----------------------------------------------------------------------------


@pytest.mark.parametrize(("uploaded", "saved"), [
    ("../../etc/passwd.xlsx", "passwd.xlsx"),
    ("/etc/cron.d/job.xlsx", "job.xlsx"),
    ("C:\\Windows\\System32\\术语.xlsx", "术语.xlsx"),
    ("术\x00语\x07.xlsx", "术语.xlsx"),
    ("\u202egpj.xlsx", "gpj.xlsx"),  # a right-to-left override that would show the name reversed
    ("ＡＢＣ术语.xlsx", "ABC术语.xlsx"),  # full-width letters
    ("..\\..\\术语.xlsx", "术语.xlsx"),
    ("~$术语.xlsx", "术语.xlsx"),
])
def test_an_uploaded_name_is_reduced_to_a_plain_file_name(uploaded, saved):
    assert safe_file_name(uploaded) == saved


@pytest.mark.parametrize("uploaded", ["..", ".", "", "/", "\x00", "\u200b\u200b", ". .. .", "~$"])
def test_an_uploaded_name_with_nothing_left_is_rejected(uploaded):
    with pytest.raises(UploadRejected):
        safe_file_name(uploaded)


def test_an_upload_named_to_climb_out_lands_inside_its_kind_folder(tmp_path, write_workbook):
    source = write_workbook(tmp_path / "upload.bin", {"术语": [["缩略语", "中文解释"], ["AM", "客户经理"]]})
    knowledge = tmp_path / "knowledge"

    saved = save_upload(source, "../../../outside\x00.xlsx", "glossary", knowledge, max_mb=5)

    assert saved.path == "glossary/outside.xlsx"
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()] == [
        "upload.bin", "knowledge/glossary/outside.xlsx"]
