"""The web app's parts without a browser: answers rendered as inert text, safe upload names and writes,
change summaries, access rules, the web settings, the knowledge tables and template, uploads through a real
KnowledgeService, and app.py's refusals at start."""
from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agent.answer.reasons import because, worded
from agent.ingest.glossary import load_glossary
from agent.index.build import FileReport, IngestReport
from agent.records import Answer, FaqEntry, Passage, Source, Term
from agent.settings import REPO_ROOT, ConfigError, Settings
from agent.surfaces.web.access import LOCAL_HOST, bind_host, may_manage, password_check
from agent.surfaces.web.labels import LABELS, labels_for
from agent.surfaces.web.render import (answer_message, answer_plain_text, as_text, example_questions, format_latency,
                                      location_text, question_message, reason_text, status_line)
from agent.surfaces.web.tables import faq_table, files_table, glossary_table, write_glossary_template
from agent.surfaces.web.uploads import UploadRejected, change_summary, safe_file_name, save_upload

pytestmark = pytest.mark.usefixtures("no_kb_env")

ZH = labels_for("zh")
INJECTION = '<img src=x onerror="alert(1)">'


@dataclass
class KnowledgeBaseDouble:
    """Test double with only the fields the status line and example questions read."""

    terms: list[Term] = field(default_factory=list)
    faq: list[FaqEntry] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    updated: str = "2026-03-01T09:30:00+0800"


def _settings(tmp_path: Path, monkeypatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env(tmp_path / "knowledge", tmp_path / "index")


# --- answers as inert text ---------------------------------------------------------------------------------

def test_html_in_text_is_escaped_so_it_shows_literally():
    assert as_text(INJECTION) == "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"


def test_markdown_links_images_and_code_cannot_form_from_text():
    text = as_text("![x](http://evil.example/t.png) [点我](javascript:alert(1)) `code` $x$")
    assert "[" not in text and "]" not in text and "`" not in text and "$" not in text


def test_indented_text_does_not_become_a_code_block():
    assert as_text("    缩进的行") == "&nbsp;" * 4 + "缩进的行"


def test_plain_chinese_text_is_unchanged():
    assert as_text("AM：Account Manager，客户经理") == "AM：Account Manager，客户经理"


def test_answer_shows_route_badge_reason_latency_and_expandable_sources():
    reasons = [because("faq_match", question="年假如何申请？")]
    answer = Answer("在OA系统申请。", "fact", worded(reasons), 0.91,
                    [Source("faq/员工常见问题.xlsx", "常见问题 row 2", 1.0, "年假如何申请？\n在OA系统申请。")], 12.3,
                    reasons=reasons)
    message = answer_message(answer, ZH)
    assert '<span class="kb-badge kb-route-fact">常见问题</span>' in message
    assert "判断依据：与常见问题“年假如何申请？”相符" in message and "置信度 0.91" in message and "用时 12 ms" in message
    assert "<summary>[1] faq/员工常见问题.xlsx · 常见问题 第2行</summary>" in message
    assert "\n\n年假如何申请？\n在OA系统申请。\n\n</details>" in message


def test_answer_escapes_html_from_answer_reason_source_name_and_passage():
    answer = Answer(INJECTION, "doc", f"reason {INJECTION}", 0.5,
                    [Source(f"docs/{INJECTION}.md", INJECTION, 0.1, INJECTION)])
    assert "<img" not in answer_message(answer, ZH)


def test_unknown_route_is_shown_as_a_document_answer():
    assert "kb-route-doc" in answer_message(Answer("x", "<b>odd</b>", "r", 0.1), ZH)


def test_an_abstention_is_badged_as_no_answer_rather_than_as_a_route():
    shown = answer_message(Answer("抱歉，知识库中没有找到……", "doc", "r", 0.8, abstained=True), ZH)

    assert '<span class="kb-badge kb-abstained">未找到答案</span>' in shown
    assert "kb-route-doc" not in shown


def test_answer_names_the_llm_only_when_one_wrote_it():
    assert "模型" not in answer_message(Answer("x", "term", "r", 1.0), ZH)
    assert "模型 dashscope:qwen-plus" in answer_message(Answer("x", "doc", "r", 1.0, llm="dashscope:qwen-plus"), ZH)


def test_an_abstention_shows_no_sources():
    answer = Answer("抱歉，知识库中没有找到……", "doc", "r", 0.8, [Source("docs/a.md", "p. 1", 0.1, "无关段落")],
                    abstained=True)
    assert "<details" not in answer_message(answer, ZH) and "docs/a.md" not in answer_message(answer, ZH)


def test_a_document_answer_with_lead_sentences_shows_them_with_its_passages_collapsed():
    answer = Answer("一线城市每晚不超过600元。\n\n[1] 住宿标准：一线城市每晚不超过600元……", "doc", "r", 0.9,
                    [Source("docs/差旅.md", "差旅 > 住宿标准", 0.9, "住宿标准：一线城市每晚不超过600元，其他城市400元。")],
                    lead="一线城市每晚不超过600元。")
    shown = answer_message(answer, ZH)
    assert "一线城市每晚不超过600元。\n\n<div class=\"kb-meta\">" in shown
    assert "<details class=\"kb-source\"><summary>[1] docs/差旅.md · 差旅 &gt; 住宿标准</summary>" in shown


@pytest.mark.parametrize("location, shown", [("row 3", "第3行"), ("缩略语 row 12", "缩略语 第12行"), ("p. 1", "第1页"),
                                             ("slide 9", "第9张幻灯片"), ("sheet 价格 rows 2-51", "工作表 价格 第2–51行"),
                                             ("beginning", "开头"), ("售后流程 > 职责", "售后流程 > 职责")])
def test_locations_read_in_chinese(location, shown):
    assert location_text(location, ZH) == shown
    assert location_text(location, labels_for("en")) == location


def test_a_term_answer_names_its_row_in_chinese_too():
    answer = Answer("AM：Account Manager，客户经理（glossary/术语.xlsx，缩略语 row 3）", "term", "r", 0.97,
                    [Source("glossary/术语.xlsx", "缩略语 row 3", 1.0)])
    assert "缩略语 第3行）" in answer_message(answer, ZH)


@pytest.mark.parametrize("question", ["AM是什么意思", "FTA是什么意思", "年假怎么申请", "ZZQ是什么意思", "家属能一起体检吗",
                                      "🙂", "出差住宿标准是多少"])
def test_every_reason_the_router_gives_reads_in_chinese(company_service, question):
    answer = company_service.ask(question)
    reason = reason_text(answer.reasons, ZH, answer.route, answer.abstained)
    assert not re.search(r"[A-Za-z]{3,}", re.sub(r"“.*?”|[A-Z]{2,}", "", reason)), (answer.reason, reason)


def test_reasons_are_worded_from_their_codes_and_an_answer_without_codes_says_its_route():
    reasons = [because("understood_as", question="丧假有几天"), because("searched_documents"),
               because("generated_unsupported", unsupported=2, sentences=3)]
    assert reason_text(reasons, ZH) == "理解为：丧假有几天；已检索文档；生成的回答有 2/3 句得不到所引资料的支持，因此直接引用原文"
    assert reason_text(reasons, labels_for("en")) == ("understood as: 丧假有几天; searched the documents; the generated "
                                                      "answer is not supported by the passages it cites (2 of 3 "
                                                      "sentences), so the passages are quoted")
    assert reason_text([], ZH, "fact") == "按常见问题回答"
    assert reason_text([], labels_for("en"), "doc", abstained=True) == "nothing in the knowledge answers it"


def test_copy_gives_the_answer_and_its_sources_as_plain_lines():
    answer = Answer("AM：Account Manager，客户经理", "term", "r", 0.97,
                    [Source("glossary/术语.xlsx", "缩略语 row 3", 1.0, "AM | Account Manager")])
    assert answer_plain_text(answer, ZH) == "AM：Account Manager，客户经理\n\n来源：\n[1] glossary/术语.xlsx · 缩略语 第3行"
    marker = re.search(r"<!--kb-copy:([A-Za-z0-9+/=]*)-->", answer_message(answer, ZH)).group(1)
    assert base64.b64decode(marker).decode() == answer_plain_text(answer, ZH)


def test_copy_of_a_question_gives_its_characters_and_html_in_it_cannot_fake_a_copy_marker():
    question = f"{INJECTION} <!--kb-copy:QUJD-->"
    shown = question_message(question)
    markers = re.findall(r"<!--kb-copy:([A-Za-z0-9+/=]*)-->", shown)
    assert [base64.b64decode(m).decode() for m in markers] == [question]


def test_the_status_line_has_a_short_form_for_narrow_screens():
    line = status_line(KnowledgeBaseDouble(terms=[Term(("AM",), "Account Manager", "客户经理")]), "none", ZH)
    assert '<span class="kb-status-short">术语 1 · 问答 0 · 段落 0 · 无模型（原文摘录）</span>' in line


def test_the_status_line_counts_the_vectors_while_they_are_computed():
    kb = KnowledgeBaseDouble(terms=[Term(("AM",), "Account Manager", "客户经理")])
    line = status_line(kb, "none", ZH, indexing={"done": 120, "total": 305})
    assert line.count("正在建立语义索引 120/305") == 2  # in the long form and the phone's short one
    assert "Building the semantic index 120/305" in status_line(kb, "none", labels_for("en"), indexing={"done": 120,
                                                                                                      "total": 305})
    assert "语义索引" not in status_line(kb, "none", ZH)


def test_an_answer_found_before_the_vectors_says_it_matched_words_only():
    answer = Answer("AM：Account Manager", "term", "r", 0.97)
    assert "只按字词匹配" in answer_message(answer, ZH, words_only=True)
    assert "只按字词匹配" not in answer_message(answer, ZH)


class SupplementedService:
    """Test double of KnowledgeService: the knowledge in which a fix's file and row are planned."""

    def __init__(self, faq=(), terms=()):
        self.kb = KnowledgeBaseDouble(terms=list(terms), faq=list(faq))


def test_a_new_faq_entry_is_planned_on_the_row_after_the_supplement_files_last():
    from agent.surfaces.web.review import plan_faq, review_labels

    service = SupplementedService(faq=[FaqEntry("班车几点发车？", "7:30", source="faq/补充问答.xlsx", row=2),
                                       FaqEntry("食堂几点开？", "11:30", source="faq/补充问答.xlsx", row=3)])
    plan = plan_faq(service, "停车场在哪？", "B2 层", [], ["a1"], review_labels("zh"))
    assert plan.text.startswith("将在 faq/补充问答.xlsx 新增第 4 行：问题“停车场在哪？”")
    again = plan_faq(service, "班车几点发车？", "7:40", [], [], review_labels("zh"))
    assert again.text.startswith("将改写 faq/补充问答.xlsx 第 2 行")
    assert (plan.kind, plan.arguments["question"], plan.answer_ids) == ("faq", "停车场在哪？", ["a1"])


def test_similar_questions_for_an_entry_of_another_file_are_planned_on_a_new_supplement_row():
    from agent.surfaces.web.review import plan_similar, review_labels

    original = FaqEntry("年假如何申请？", "在OA系统申请。", source="faq/员工常见问题.xlsx", sheet="常见问题", row=2)
    plan = plan_similar(SupplementedService(faq=[original]), original, ["年休假怎么请"], [], review_labels("zh"))
    assert "新增第 2 行" in plan.text and "faq/员工常见问题.xlsx · 常见问题 第2行" in plan.text
    assert "原文件不改动" in plan.text and plan.arguments == {"entry": "年假如何申请？", "similar": ["年休假怎么请"]}


def test_a_term_the_supplement_file_holds_is_planned_as_a_rewrite_of_its_row():
    from agent.surfaces.web.review import plan_term, review_labels

    held = Term(("RDR",), "Reader", "读者", source="glossary/补充术语.xlsx", row=5)
    plan = plan_term(SupplementedService(terms=[held]), "RDR", "Reader", "读者", "只读用户", [], review_labels("en"))
    assert plan.text.startswith("Rewrites row 5 of glossary/补充术语.xlsx: the term RDR / Reader / 读者")


def test_a_rewritten_follow_up_says_how_it_was_understood_once():
    reasons = [because("understood_as", question="KAM是什么意思"), because("term_meaning", terms="KAM")]
    answer = Answer("KAM：Key Account Manager", "term", worded(reasons), 0.9, rewritten="KAM是什么意思",
                    reasons=reasons)
    shown = answer_message(answer, ZH)
    assert shown.count("理解为：") == 1 and "询问术语表中 KAM 的含义" in shown


def test_latency_reads_in_milliseconds_then_seconds():
    assert (format_latency(8.46), format_latency(4046.55)) == ("8 ms", "4.0 s")


def test_a_time_under_a_millisecond_reads_as_under_one_not_zero():
    assert (format_latency(0.0), format_latency(0.4), format_latency(1.2)) == ("<1 ms", "<1 ms", "1 ms")
    assert "用时 &lt;1 ms" in answer_message(Answer("AM：Account Manager", "term", "r", 0.97, latency_ms=0.3), ZH)


def test_an_abstention_shows_no_confidence():
    shown = answer_message(Answer("抱歉，知识库中没有找到……", "doc", "r", 0.98, latency_ms=12, abstained=True), ZH)
    assert "置信度" not in shown and "0.98" not in shown and "用时 12 ms" in shown
    assert "confidence" not in answer_message(Answer("Sorry…", "doc", "r", 0.98, abstained=True), labels_for("en"))


@pytest.mark.parametrize("lang, says, not_says", [("zh", "请输入一个问题", "Please type"),
                                                  ("en", "Please type a question", "请输入")])
def test_the_reply_to_a_question_without_words_is_in_the_pages_language_only(glossary_service, lang, says, not_says):
    answer = glossary_service.ask("👍👍")
    labels = labels_for(lang)
    assert says in answer_message(answer, labels) and not_says not in answer_message(answer, labels)
    assert not_says not in answer_plain_text(answer, labels)


def test_status_line_says_document_answers_are_extracts_without_an_llm():
    kb = KnowledgeBaseDouble(terms=[Term(("AM",), "Account Manager", "客户经理")])
    line = status_line(kb, "none", ZH)
    assert "原文摘录" in line and "术语 1 条" in line and "常见问题 0 条" in line and "2026-03-01 09:30" in line


def test_status_line_names_the_configured_llm():
    assert "语言模型：openai:qwen2.5" in status_line(KnowledgeBaseDouble(), "openai:qwen2.5", ZH)


def test_example_questions_come_from_a_term_an_faq_question_and_a_document_section():
    kb = KnowledgeBaseDouble(
        terms=[Term(("FAE",), "", "现场应用工程师"), Term(("AM",), "Account Manager", "客户经理")],
        faq=[FaqEntry("年假如何申请？", "在OA系统申请。")],
        passages=[Passage("...", "docs/售后.docx", "一、角色与职责 > 1. 客户经理（AM）"),
                  Passage("...", "docs/差旅管理办法.md", "差旅管理办法 > 三、住宿标准")])
    assert example_questions(kb, ZH) == ["AM是什么意思？", "年假如何申请？", "差旅管理办法中住宿标准是怎么规定的？"]


def test_example_questions_are_empty_for_empty_knowledge():
    assert example_questions(KnowledgeBaseDouble(), ZH) == []


# --- labels -------------------------------------------------------------------------------------------------

def test_every_language_has_every_label():
    assert set(LABELS["en"]) == set(LABELS["zh"])


def test_a_language_without_labels_falls_back_to_english():
    assert labels_for("fr") is LABELS["en"]


# --- upload names and writes --------------------------------------------------------------------------------

@pytest.mark.parametrize("uploaded, saved", [
    ("../../etc/术语表.xlsx", "术语表.xlsx"),
    ("C:\\Users\\me\\Desktop\\FAQ.csv", "FAQ.csv"),
    ("..\\..\\glossary.xlsx", "glossary.xlsx"),
    ("bad\x00name.xlsx", "badname.xlsx"),
    ("evil\u202egnp.xlsx", "evilgnp.xlsx"),
    ("ＡＢＣ术语．xlsx", "ABC术语.xlsx"),
    ("..hidden.xlsx", "hidden.xlsx"),
    ("~$locked.xlsx", "locked.xlsx"),
    ('a<b>:c|d?.xlsx', "a_b__c_d_.xlsx"),
    ("  多个   空格  .md", "多个 空格 .md"),
])
def test_upload_names_are_reduced_to_a_plain_safe_file_name(uploaded, saved):
    assert safe_file_name(uploaded) == saved


@pytest.mark.parametrize("uploaded", ["", "..", "../", "\x00", "a/b/", "notes.tmp"])
def test_upload_names_with_nothing_usable_are_rejected(uploaded):
    with pytest.raises(UploadRejected):
        safe_file_name(uploaded)


def test_long_upload_names_are_shortened_keeping_the_extension():
    name = safe_file_name("术" * 300 + ".xlsx")
    assert len(name) == 120 and name.endswith(".xlsx")


def _upload(tmp_path: Path, name: str, content: bytes = b"data") -> Path:
    path = tmp_path / "incoming" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_upload_is_saved_in_its_kind_folder_with_no_temporary_file_left(tmp_path):
    knowledge = tmp_path / "knowledge"
    saved = save_upload(_upload(tmp_path, "x"), "../差旅.md", "doc", knowledge, max_mb=1)
    assert saved.path == "docs/差旅.md" and not saved.replaced
    assert [p.name for p in (knowledge / "docs").iterdir()] == ["差旅.md"]


def test_upload_of_an_existing_name_replaces_the_file(tmp_path):
    knowledge = tmp_path / "knowledge"
    save_upload(_upload(tmp_path, "a", b"old"), "术语.xlsx", "glossary", knowledge, max_mb=1)
    saved = save_upload(_upload(tmp_path, "b", b"new"), "术语.xlsx", "glossary", knowledge, max_mb=1)
    assert saved.replaced and (knowledge / "glossary" / "术语.xlsx").read_bytes() == b"new"


@pytest.mark.parametrize("name, kind", [("notes.md", "glossary"), ("faq.docx", "faq"), ("run.exe", "doc"),
                                        ("noextension", "doc")])
def test_upload_with_an_extension_its_kind_cannot_read_is_refused_and_nothing_written(tmp_path, name, kind):
    knowledge = tmp_path / "knowledge"
    with pytest.raises(UploadRejected) as refused:
        save_upload(_upload(tmp_path, "x"), name, kind, knowledge, max_mb=1)
    assert refused.value.key == "upload_bad_extension"
    assert not knowledge.exists() or not [p for p in knowledge.rglob("*") if p.is_file()]  # "noextension" too


def test_refusal_message_names_the_kind_in_the_users_language(tmp_path):
    with pytest.raises(UploadRejected) as refused:
        save_upload(_upload(tmp_path, "x"), "notes.md", "glossary", tmp_path / "k", max_mb=1)
    assert "术语表" in refused.value.message(ZH) and ".xlsx" in refused.value.message(ZH)


def test_upload_over_the_size_limit_is_refused(tmp_path):
    with pytest.raises(UploadRejected) as refused:
        save_upload(_upload(tmp_path, "x", b"0" * 2_000_000), "big.pdf", "doc", tmp_path / "k", max_mb=1)
    assert refused.value.key == "upload_too_large"
    assert not (tmp_path / "k" / "docs" / "big.pdf").exists()


def test_empty_upload_is_refused(tmp_path):
    with pytest.raises(UploadRejected) as refused:
        save_upload(_upload(tmp_path, "x", b""), "empty.csv", "faq", tmp_path / "k", max_mb=1)
    assert refused.value.key == "upload_empty"


# --- change summaries ---------------------------------------------------------------------------------------

def test_change_summary_lists_added_terms_and_counts_passages():
    report = IngestReport([], {"terms": 3, "faq": 0, "chunks": 5}, True,
                          {"terms_added": ["QZX / Quantum Zebra Exchange / 量子斑马交换"], "terms_removed": [],
                           "faq_added": [], "faq_removed": ["旧问题？"], "passages_added": 2, "passages_removed": 1})
    summary = change_summary(report, ZH)
    assert "术语 3 条" in summary
    assert "**新增术语** (1): QZX / Quantum Zebra Exchange / 量子斑马交换" in summary
    assert "**删除常见问题** (1): 旧问题？" in summary
    assert "新增 2 段，删除 1 段" in summary


def test_change_summary_says_when_nothing_changed():
    assert change_summary(IngestReport([], {"terms": 1, "faq": 0, "chunks": 0}, False), ZH) == ZH["refresh_unchanged"]


def test_change_summary_shows_failed_files_and_warnings_of_the_uploaded_ones_escaped():
    files = [FileReport("glossary/坏.xlsx", "glossary", "error", error=f"no header {INJECTION}"),
             FileReport("glossary/新.xlsx", "glossary", "ok", warnings=["row 5 has no abbreviation"]),
             FileReport("glossary/旧.xlsx", "glossary", "ok", warnings=["old warning"])]
    summary = change_summary(IngestReport(files, {"terms": 0, "faq": 0, "chunks": 0}, True), ZH,
                             uploaded={"glossary/新.xlsx"})
    assert "glossary/坏.xlsx: no header &lt;img" in summary
    assert "row 5 has no abbreviation" in summary and "old warning" not in summary


def test_change_summary_counts_what_it_does_not_list():
    names = [f"T{n}" for n in range(25)]
    report = IngestReport([], {"terms": 25, "faq": 0, "chunks": 0}, True, {"terms_added": names})
    summary = change_summary(report, ZH)
    assert "T19" in summary and "T20" not in summary and "共 25 项" in summary


# --- access -------------------------------------------------------------------------------------------------

def test_without_sign_in_the_local_user_may_manage(tmp_path, monkeypatch):
    assert may_manage(_settings(tmp_path, monkeypatch), None)


def test_with_admins_only_they_may_manage(tmp_path, monkeypatch):
    settings = _settings(tmp_path, monkeypatch, KB_USERS="alice:pw1,bob:pw2", KB_ADMINS="alice")
    assert may_manage(settings, "alice")
    assert not may_manage(settings, "bob")
    assert not may_manage(settings, None)


def test_with_users_but_no_admins_every_signed_in_user_may_manage(tmp_path, monkeypatch):
    settings = _settings(tmp_path, monkeypatch, KB_USERS="alice:pw1,bob:pw2")
    assert may_manage(settings, "bob") and not may_manage(settings, None)


def test_without_sign_in_the_app_listens_only_locally_even_when_kb_host_is_set(tmp_path, monkeypatch):
    assert bind_host(_settings(tmp_path, monkeypatch, KB_HOST="0.0.0.0"), None) == LOCAL_HOST


def test_the_command_line_host_is_used_as_given(tmp_path, monkeypatch):
    assert bind_host(_settings(tmp_path, monkeypatch), "0.0.0.0") == "0.0.0.0"


def test_with_sign_in_kb_host_is_used(tmp_path, monkeypatch):
    assert bind_host(_settings(tmp_path, monkeypatch, KB_HOST="0.0.0.0", KB_USERS="a:b"), None) == "0.0.0.0"


def test_password_check_accepts_only_the_configured_password(tmp_path, monkeypatch):
    check = password_check(_settings(tmp_path, monkeypatch, KB_USERS="alice:s3:cret"))
    assert check("alice", "s3:cret")
    assert not check("alice", "s3") and not check("mallory", "s3:cret") and not check("alice", "")


def test_no_password_check_without_users(tmp_path, monkeypatch):
    assert password_check(_settings(tmp_path, monkeypatch)) is None


# --- web settings -------------------------------------------------------------------------------------------

def test_web_settings_have_local_defaults(tmp_path, monkeypatch):
    settings = _settings(tmp_path, monkeypatch)
    assert (settings.host, settings.port, settings.users, settings.admins, settings.max_upload_mb,
            settings.ui_lang) == ("127.0.0.1", 7860, (), (), 20.0, "zh")


def test_users_are_read_as_name_password_pairs_and_kept_out_of_repr(tmp_path, monkeypatch):
    settings = _settings(tmp_path, monkeypatch, KB_USERS=" alice:pw1 , bob:pw2", KB_ADMINS="alice")
    assert settings.users == (("alice", "pw1"), ("bob", "pw2")) and settings.admins == ("alice",)
    assert "pw1" not in repr(settings)


def test_a_malformed_user_entry_is_refused_without_echoing_it(tmp_path, monkeypatch):
    with pytest.raises(ConfigError) as error:
        _settings(tmp_path, monkeypatch, KB_USERS="alice:pw1,secretwithoutname")
    assert "entry 2" in str(error.value) and "secretwithoutname" not in str(error.value)


def test_an_admin_who_is_not_a_user_is_refused(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="carol"):
        _settings(tmp_path, monkeypatch, KB_USERS="alice:pw1", KB_ADMINS="carol")


def test_an_unknown_interface_language_is_refused(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="KB_UI_LANG"):
        _settings(tmp_path, monkeypatch, KB_UI_LANG="fr")


# --- knowledge tables and the template ----------------------------------------------------------------------

def test_glossary_template_is_read_by_the_glossary_loader_once_filled(tmp_path):
    import openpyxl

    template = write_glossary_template(tmp_path / "模板.xlsx", ZH)
    workbook = openpyxl.load_workbook(template)
    assert [c.value for c in workbook.active[2]] == ["序号", "缩略语", "英文全称", "中文解释"]
    workbook.active.append([1, "QZX", "Quantum Zebra Exchange", "量子斑马交换"])
    workbook.save(template)
    terms, _ = load_glossary(template, "glossary/模板.xlsx")
    assert [(t.abbreviation, t.english, t.chinese) for t in terms] == [("QZX", "Quantum Zebra Exchange", "量子斑马交换")]


def test_glossary_search_ignores_case_and_full_width():
    terms = [Term(("AM",), "Account Manager", "客户经理", source="g.xlsx", sheet="s", row=3),
             Term(("FAE",), "Field Application Engineer", "现场应用工程师", source="g.xlsx", sheet="s", row=4)]
    table = glossary_table(terms, "ａｃｃｏｕｎｔ", ZH)
    assert table.to_dict("records") == [{"缩略语": "AM", "英文全称": "Account Manager", "中文解释": "客户经理",
                                         "来源": "g.xlsx · s 第3行"}]


def test_every_table_and_candidate_list_names_rows_slides_and_pages_in_the_pages_language(glossary_service):
    import dataclasses

    from agent.answer.evidence import FaqCandidate
    from agent.answer.hit_test import hit_test
    from agent.records import SearchHit
    from agent.surfaces.web.review import candidate_lines, faq_frame, passages_frame, review_labels, terms_frame

    term = Term(("AM",), "Account Manager", "客户经理", source="g.xlsx", sheet="缩略语", row=3)
    entry = FaqEntry("年假如何申请？", "在OA系统申请。", source="faq/问答.xlsx", sheet="常见问题", row=48)
    slide, page = Passage("培训安排", "docs/入职.pptx", "slide 7"), Passage("价格", "docs/价格.pdf", "p. 2")
    assert glossary_table([term], "", ZH)["来源"].tolist() == ["g.xlsx · 缩略语 第3行"]
    assert faq_table([entry], "", ZH)["来源"].tolist() == ["faq/问答.xlsx · 常见问题 第48行"]
    result = dataclasses.replace(hit_test(glossary_service.router, "AM是什么意思"),
                                 faq=[FaqCandidate(0, entry, entry.question, {}, 0.52)],
                                 passages=[SearchHit(slide, 0.5), SearchHit(page, 0.4)])
    zh, en = review_labels("zh"), review_labels("en")
    assert terms_frame(result, zh)["来源"].tolist() == ["glossary/术语.xlsx · 缩略语 第2行"]
    assert faq_frame(result, zh)["来源"].tolist() == ["faq/问答.xlsx · 常见问题 第48行"]
    assert passages_frame(result, zh)["来源"].tolist() == ["docs/入职.pptx · 第7张幻灯片", "docs/价格.pdf · 第2页"]
    shown = "\n".join(candidate_lines(result, zh))
    assert "常见问题 第48行" in shown and "第7张幻灯片" in shown and "第2页" in shown
    assert not re.search(r"\b(row|slide|p\.) ?\d", shown)
    assert passages_frame(result, en)["Source"].tolist() == ["docs/入职.pptx · slide 7", "docs/价格.pdf · p. 2"]


def test_empty_search_lists_every_faq_entry():
    entries = [FaqEntry("年假如何申请？", "OA", ("怎么休年假",)), FaqEntry("工资几号发？", "10号")]
    assert len(faq_table(entries, "", ZH)) == 2
    assert faq_table(entries, "休年假", ZH)["问题"].tolist() == ["年假如何申请？"]


def test_files_table_names_kinds_and_statuses_in_the_users_language():
    reports = {"docs/坏.pdf": {"kind": "doc", "status": "error", "error": "no text", "warnings": [],
                              "modified": 0.0}}
    row = files_table(reports, ZH).to_dict("records")[0]
    assert (row["文件"], row["类型"], row["状态"], row["错误"]) == ("docs/坏.pdf", "文档", "出错", "no text")


# --- uploads through a real KnowledgeService -----------------------------------------------------------------

GLOSSARY_ROWS = [["序号", "缩略语", "英文全称", "中文解释"], [1, "AM", "Account Manager", "客户经理"]]


@pytest.fixture
def glossary_service(tmp_path, monkeypatch, write_workbook):
    """A real service over a glossary-only folder (nothing to embed), with sign-in: alice administers."""
    from agent.answer.service import KnowledgeService

    write_workbook(tmp_path / "knowledge" / "glossary" / "术语.xlsx", {"缩略语": GLOSSARY_ROWS})
    return KnowledgeService(_settings(tmp_path, monkeypatch, KB_USERS="alice:pw1,bob:pw2", KB_ADMINS="alice"))


def test_an_admin_upload_answers_its_new_term_at_once(glossary_service, tmp_path, write_workbook):
    from agent.surfaces.web.manage import upload_and_refresh

    upload = write_workbook(tmp_path / "incoming" / "新术语.xlsx",
                            {"缩略语": [GLOSSARY_ROWS[0], [1, "QZX", "Quantum Zebra Exchange", "量子斑马交换"]]})
    result = upload_and_refresh(glossary_service, [str(upload)], "glossary", "alice", ZH)
    assert "已保存 glossary/新术语.xlsx" in result and "QZX / Quantum Zebra Exchange / 量子斑马交换" in result
    answer = glossary_service.ask("QZX是什么意思")
    assert answer.route == "term" and "量子斑马交换" in answer.text


def test_a_reader_upload_is_refused_and_writes_nothing(glossary_service, tmp_path, write_workbook):
    from agent.surfaces.web.manage import upload_and_refresh

    upload = write_workbook(tmp_path / "incoming" / "越权.xlsx", {"缩略语": GLOSSARY_ROWS})
    result = upload_and_refresh(glossary_service, [str(upload)], "glossary", "bob", ZH)
    assert "没有权限" in result and "alice" in result
    assert not (tmp_path / "knowledge" / "glossary" / "越权.xlsx").exists()


def test_a_reader_may_not_reindex(glossary_service):
    from agent.surfaces.web.manage import reindex

    assert "没有权限" in reindex(glossary_service, "bob", ZH)
    assert ZH["refresh_unchanged"] in reindex(glossary_service, "alice", ZH)


@pytest.fixture
def chat_memory(glossary_service):
    from agent.memory.conversations import Conversations
    from agent.memory.database import MemoryDatabase
    from agent.memory.question_log import QuestionLog
    from agent.surfaces.web.chat import ChatMemory

    database = MemoryDatabase(glossary_service.settings.data_dir)
    return ChatMemory(Conversations(database, glossary_service.settings), QuestionLog(database, glossary_service.settings))


def _turn(service, memory, question, chat=None, view=None, owner="user:alice"):
    from agent.surfaces.web.chat import ChatView, chat_turn

    return list(chat_turn(service, memory, ZH, question, chat or [], view or ChatView(), owner, owner.split(":")[1]))


def test_a_chat_turn_shows_the_question_then_the_answer_and_keeps_plain_history(glossary_service, chat_memory):
    turns = _turn(glossary_service, chat_memory, "AM是什么意思")
    first_chat, _ = turns[0]
    final_chat, view = turns[-1]
    assert first_chat[0]["content"].startswith("AM是什么意思\n\n<!--kb-copy:")
    assert first_chat[1] == {"role": "assistant", "content": "正在查找……"}
    assert "kb-route-term" in final_chat[-1]["content"] and "客户经理" in final_chat[-1]["content"]
    assert view.history[0] == {"role": "user", "content": "AM是什么意思"}
    assert "客户经理" in view.history[1]["content"] and "<" not in view.history[1]["content"]


class GrowingAnswerService:
    """Test double of KnowledgeService.stream: an LLM-written answer arriving in three pieces."""

    def stream(self, question, history):
        for text in ("差旅", "差旅标准：一线城市", "差旅标准：一线城市每晚600元。"):
            yield Answer(text, "doc", "no glossary term or FAQ entry answers it; searched the documents", 0.9,
                         llm="openai:qwen2.5")


def test_an_answer_an_llm_writes_is_shown_as_it_grows_and_saved_once_whole(chat_memory):
    turns = _turn(GrowingAnswerService(), chat_memory, "出差住宿标准")
    shown = [chat[-1]["content"] for chat, _ in turns[1:-1]]
    assert [text.split("\n\n")[1] for text in shown] == ["差旅", "差旅标准：一线城市", "差旅标准：一线城市每晚600元。"]
    stored = chat_memory.conversations.turns("user:alice", turns[-1][1].conversation_id)
    assert [t.answer.text for t in stored] == ["差旅标准：一线城市每晚600元。"]


def test_a_turn_is_saved_to_a_new_conversation_and_opens_again_as_it_was(glossary_service, chat_memory):
    final_chat, view = _turn(glossary_service, chat_memory, "AM是什么意思")[-1]
    chat, opened = chat_memory.open("user:alice", view.conversation_id, ZH)
    assert chat == final_chat
    assert opened.history == view.history and opened.answer_ids == view.answer_ids
    assert [s.title for s in chat_memory.conversations.summaries("user:alice")] == ["AM是什么意思"]


def test_a_follow_up_is_given_the_conversations_history(glossary_service, chat_memory, monkeypatch):
    given = []
    stream = glossary_service.stream
    monkeypatch.setattr(glossary_service, "stream", lambda q, history: (given.append(list(history)), stream(q, history))[1])
    chat, view = _turn(glossary_service, chat_memory, "AM是什么意思")[-1]
    _, view = chat_memory.open("user:alice", view.conversation_id, ZH)  # as after a reload
    _turn(glossary_service, chat_memory, "它的英文全称是什么", chat, view)
    assert given[1][0] == {"role": "user", "content": "AM是什么意思"}
    assert len(chat_memory.conversations.turns("user:alice", view.conversation_id)) == 2


def test_each_answer_is_logged_and_its_rating_stored(glossary_service, chat_memory):
    _, view = _turn(glossary_service, chat_memory, "AM是什么意思")[-1]
    answer_id = view.answer_ids[1]
    assert answer_id and view.answer_ids[0] is None
    assert chat_memory.rate(view, 1, True, "alice", ZH) == ZH["feedback_saved"]
    assert chat_memory.question_log.rows(ids=[answer_id])[0].rating == "up"
    chat_memory.rate(view, 1, False, "alice", ZH)
    assert chat_memory.question_log.rows(ids=[answer_id])[0].rating == "down"
    assert chat_memory.rate(view, 0, True, "alice", ZH) == ""  # a question is not rated


def test_a_reopened_conversation_shows_each_answers_rating_on_that_answer(glossary_service, chat_memory):
    from agent.surfaces.web.chat import feedback_values

    chat, view = _turn(glossary_service, chat_memory, "AM是什么意思")[-1]
    chat, view = _turn(glossary_service, chat_memory, "KAM是什么意思", chat, view)[-1]
    chat_memory.rate(view, 3, False, "alice", ZH)
    _, opened = chat_memory.open("user:alice", view.conversation_id, ZH)  # as after a reload
    assert feedback_values(opened) == [None, "Dislike"]
    chat_memory.rate(opened, 1, True, "alice", ZH)
    assert feedback_values(opened) == ["Like", "Dislike"]


def test_a_thumbs_down_asks_for_a_comment_that_is_stored_with_it(glossary_service, chat_memory):
    _, view = _turn(glossary_service, chat_memory, "AM是什么意思")[-1]
    chat_memory.rate(view, 1, True, "alice", ZH)
    assert view.commenting == ""  # a thumbs up asks nothing
    chat_memory.rate(view, 1, False, "alice", ZH)
    assert view.commenting == view.answer_ids[1]
    assert chat_memory.comment(view, "  定义不全  ", "alice", ZH) == ZH["comment_saved"]
    row = chat_memory.question_log.rows(ids=[view.answer_ids[1]])[0]
    assert (row.rating, row.comment) == ("down", "定义不全")
    assert view.commenting == "" and chat_memory.comment(view, "再说一次", "alice", ZH) == ""  # asked once


class TentativeService:
    """Test double of KnowledgeService.stream: a likely FAQ entry offered for confirmation, with the other
    entries the question may have meant."""

    def __init__(self, suggestions: list[str]):
        self.suggestions = suggestions

    def stream(self, question, history):
        yield Answer("您问的是不是「婚假有几天？」？\n\n婚假为3天。", "fact",
                     "probably the FAQ question “婚假有几天？”; asked to confirm", 0.7, tentative=True,
                     suggestions=self.suggestions, lead="婚假为3天。")


def test_a_tentative_answer_offers_yes_and_no_in_the_pages_language_instead_of_its_suggestions(chat_memory):
    from agent.surfaces.web.chat import ChatView, chat_turn

    for labels, words in ((ZH, ["是", "不是"]), (labels_for("en"), ["Yes", "No"])):
        chat, _ = list(chat_turn(TentativeService(["年假有多少天？"]), chat_memory, labels, "结婚能歇几天", [], ChatView(),
                                 "user:alice", "alice"))[-1]
        assert "kb-tentative" in chat[-1]["content"]
        assert [option["label"] for option in chat[-1]["options"]] == words


def test_yes_under_a_tentative_answer_rates_it_up_and_takes_the_buttons_away(chat_memory):
    chat, view = _turn(TentativeService(["年假有多少天？"]), chat_memory, "结婚能歇几天")[-1]
    answer_id = view.answer_ids[-1]
    confirmed, after, told = chat_memory.confirm(chat, view, True, "alice", ZH)
    assert told == ZH["feedback_saved"]
    assert chat_memory.question_log.rows(ids=[answer_id])[0].rating == "up"
    assert len(confirmed) == len(chat) and "options" not in confirmed[-1]
    assert confirmed[-1]["content"] == chat[-1]["content"]
    assert chat_memory.confirm(confirmed, after, False, "alice", ZH) == (confirmed, after, "")  # said once


def test_no_under_a_tentative_answer_rates_it_down_and_offers_its_other_suggestions(chat_memory):
    chat, view = _turn(TentativeService(["年假有多少天？", "病假怎么请？"]), chat_memory, "结婚能歇几天")[-1]
    answer_id = view.answer_ids[-1]
    shown, after, told = chat_memory.confirm(chat, view, False, "alice", ZH)
    assert told == ZH["feedback_saved"]
    assert chat_memory.question_log.rows(ids=[answer_id])[0].rating == "down"
    assert "options" not in shown[-3]  # the tentative answer keeps no buttons
    assert shown[-2]["role"] == "user" and shown[-2]["content"].startswith("不是\n\n")
    assert shown[-1]["content"].startswith("您可能想问：\n1. 年假有多少天？\n2. 病假怎么请？\n\n")
    assert [option["value"] for option in shown[-1]["options"]] == ["年假有多少天？", "病假怎么请？"]
    assert len(after.answer_ids) == len(shown)  # 👍/👎 on a later answer still names its own row
    assert chat_memory.conversations.turns("user:alice", view.conversation_id)[-1].question == "结婚能歇几天"


def test_no_under_a_tentative_answer_without_other_suggestions_asks_to_rephrase(chat_memory):
    chat, view = _turn(TentativeService([]), chat_memory, "结婚能歇几天")[-1]
    shown, _, _ = chat_memory.confirm(chat, view, False, "alice", ZH)
    assert shown[-1]["content"].startswith(ZH["tentative_none"]) and "options" not in shown[-1]


def test_yes_and_no_do_nothing_under_an_answer_that_is_not_tentative(glossary_service, chat_memory):
    chat, view = _turn(glossary_service, chat_memory, "AM是什么意思")[-1]
    assert chat_memory.confirm(chat, view, False, "alice", ZH) == (chat, view, "")
    assert chat_memory.question_log.rows(ids=[view.answer_ids[-1]])[0].rating is None


def test_a_reopened_conversation_ending_in_a_tentative_answer_still_takes_yes_or_no(chat_memory):
    _, view = _turn(TentativeService(["年假有多少天？"]), chat_memory, "结婚能歇几天")[-1]
    chat, opened = chat_memory.open("user:alice", view.conversation_id, ZH)  # as after a reload
    assert [option["label"] for option in chat[-1]["options"]] == ["是", "不是"]
    shown, _, _ = chat_memory.confirm(chat, opened, False, "alice", ZH)
    assert "年假有多少天？" in shown[-1]["content"]


def test_another_users_conversation_opens_as_an_empty_chat_with_a_note(glossary_service, chat_memory):
    _, view = _turn(glossary_service, chat_memory, "AM是什么意思", owner="user:alice")[-1]
    chat, opened = chat_memory.open("user:bob", view.conversation_id, ZH)
    assert chat == [] and opened.conversation_id == "" and opened.note == ZH["conversation_missing"]
    assert chat_memory.conversations.summaries("user:bob") == []


def test_a_turn_in_a_conversation_deleted_meanwhile_starts_a_new_one(glossary_service, chat_memory):
    chat, view = _turn(glossary_service, chat_memory, "AM是什么意思")[-1]
    chat_memory.conversations.delete("user:alice", view.conversation_id)  # in another tab
    _, after = _turn(glossary_service, chat_memory, "KAM是什么意思", chat, view)[-1]
    assert after.conversation_id != view.conversation_id
    assert [t.question for t in chat_memory.conversations.turns("user:alice", after.conversation_id)] == ["KAM是什么意思"]


def test_a_full_conversation_still_answers_and_says_to_start_a_new_one(glossary_service, chat_memory, monkeypatch):
    monkeypatch.setattr("agent.memory.conversations.MAX_TURNS", 1)
    chat, view = _turn(glossary_service, chat_memory, "AM是什么意思")[-1]
    chat, view = _turn(glossary_service, chat_memory, "KAM是什么意思", chat, view)[-1]
    assert "kb-badge" in chat[-1]["content"] and "新对话" in view.note


def test_a_question_of_ten_thousand_characters_is_answered_and_kept(glossary_service, chat_memory):
    chat, view = _turn(glossary_service, chat_memory, "AM是什么意思" + "啊" * 10_000)[-1]
    assert "只使用了前" in chat[-1]["content"]
    stored = chat_memory.conversations.turns("user:alice", view.conversation_id)[0]
    assert len(stored.question) == len("AM是什么意思") + 10_000


def test_a_conversation_of_two_hundred_turns_opens(glossary_service, chat_memory):
    from agent.records import Answer

    conversation = chat_memory.conversations.start("user:alice", "q")
    for number in range(200):
        chat_memory.conversations.add_turn("user:alice", conversation, f"问题{number}", Answer(f"答{number}", "fact", "r", 1.0))
    chat, view = chat_memory.open("user:alice", conversation, ZH)
    assert len(chat) == 400 and len(view.history) == 400


def test_without_stored_history_the_chat_still_answers(glossary_service):
    import dataclasses

    from agent.memory.database import MemoryDatabase
    from agent.memory.question_log import QuestionLog
    from agent.surfaces.web.chat import ChatMemory

    settings = dataclasses.replace(glossary_service.settings, history_days=0)
    memory = ChatMemory(None, QuestionLog(MemoryDatabase(settings.data_dir), settings))
    chat, view = _turn(glossary_service, memory, "AM是什么意思")[-1]
    assert "客户经理" in chat[-1]["content"] and view.conversation_id == "" and len(view.history) == 2


def test_a_failing_database_leaves_the_answer_and_says_so(glossary_service, tmp_path):
    from agent.memory.conversations import Conversations
    from agent.memory.database import MemoryDatabase
    from agent.memory.question_log import QuestionLog
    from agent.surfaces.web.chat import ChatMemory

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the data folder should be")
    database = MemoryDatabase(blocked)
    memory = ChatMemory(Conversations(database, glossary_service.settings), QuestionLog(database, glossary_service.settings))
    chat, view = _turn(glossary_service, memory, "AM是什么意思")[-1]
    assert "客户经理" in chat[-1]["content"] and "暂时无法读写" in view.note


def test_conversations_belong_to_the_signed_in_user_or_else_to_the_browser(tmp_path, monkeypatch):
    import uuid

    from agent.surfaces.web.access import conversation_owner

    browser = uuid.uuid4().hex
    signed_in = _settings(tmp_path, monkeypatch, KB_USERS="alice:pw1")
    assert conversation_owner(signed_in, "alice", browser) == "user:alice"
    assert conversation_owner(signed_in, None, browser) is None
    monkeypatch.delenv("KB_USERS")
    local = _settings(tmp_path, monkeypatch)
    assert conversation_owner(local, None, browser) == f"browser:{browser}"
    for forged in (None, "", "user:alice", "x" * 32, {"id": browser}):
        assert conversation_owner(local, None, forged) is None


@pytest.mark.parametrize("lang, tab", [("zh", "知识管理"), ("en", "Knowledge")])
def test_the_app_is_built_in_each_interface_language(glossary_service, lang, tab):
    import dataclasses

    from agent.surfaces.web.blocks import build_app

    glossary_service.settings = dataclasses.replace(glossary_service.settings, ui_lang=lang)
    from agent.memory.database import MemoryDatabase

    config = build_app(glossary_service, MemoryDatabase(glossary_service.settings.data_dir)).get_config_file()
    assert any(c.get("props", {}).get("label") == tab for c in config["components"])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_text_box_and_table_has_a_label_for_screen_readers_in_the_pages_language(glossary_service, lang):
    import dataclasses

    from agent.memory.database import MemoryDatabase
    from agent.surfaces.web.blocks import build_app

    glossary_service.settings = dataclasses.replace(glossary_service.settings, ui_lang=lang)
    config = build_app(glossary_service, MemoryDatabase(glossary_service.settings.data_dir)).get_config_file()
    shown = [c["props"] for c in config["components"]
             if c["type"] in ("textbox", "dataframe", "radio") and c["props"].get("visible") is not False]
    assert shown and all(props.get("label") for props in shown)  # else Gradio reads out "Textbox", "Dataframe"
    if lang == "zh":
        assert not [props["label"] for props in shown if re.search(r"[A-Za-z]{3,}", props["label"])]


@pytest.mark.parametrize("lang, toggle, message", [("zh", "展开或收起侧栏", "回答："), ("en", None, "Answer: ")])
def test_the_page_script_puts_gradios_english_screen_reader_labels_in_the_pages_language(lang, toggle, message):
    import json

    from agent.surfaces.web.blocks import page_script
    from agent.surfaces.web.labels import GRADIO_ARIA

    script = page_script(lang)
    aria = json.loads(re.search(r"aria = (\{.*?\});\n", script).group(1))
    assert aria == GRADIO_ARIA[lang] and aria["labels"].get("Toggle Sidebar") == toggle and aria["answer"] == message
    assert "TOASTS" not in script and "ARIA" not in script


# --- app.py at start ----------------------------------------------------------------------------------------

def _run_app(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    return subprocess.run([sys.executable, str(REPO_ROOT / "app.py"), *args], env={**environment, **env},
                          capture_output=True, text=True, timeout=60)


def test_app_refuses_a_missing_knowledge_folder(tmp_path):
    run = _run_app("--knowledge", str(tmp_path / "missing"))
    assert run.returncode == 2 and "does not exist" in run.stderr


def test_app_refuses_an_admin_who_is_not_a_user(tmp_path):
    run = _run_app("--knowledge", str(tmp_path), KB_USERS="alice:s3cr3t-pw", KB_ADMINS="bob")
    assert run.returncode == 2 and "KB_ADMINS" in run.stderr and "s3cr3t-pw" not in run.stderr


def test_the_status_line_says_when_the_last_re_index_failed_and_the_old_index_answers():
    from types import SimpleNamespace

    from agent.surfaces.web.labels import labels_for
    from agent.surfaces.web.render import status_line

    kb = SimpleNamespace(terms=[1], faq=[], passages=[], updated="2026-11-22T05:00:00+0000")  # a stand-in index
    line = status_line(kb, "none", labels_for("zh"), refresh_error="KnowledgeFileError: <bad> file")

    assert "重新索引失败" in line and "&lt;bad&gt;" in line


def test_a_fractional_upload_limit_is_given_to_gradio_in_bytes(glossary_service):
    import dataclasses

    from agent.surfaces.web.blocks import launch_options

    glossary_service.settings = dataclasses.replace(glossary_service.settings, max_upload_mb=0.5)
    assert launch_options(glossary_service, "127.0.0.1", 7860)["max_file_size"] == 524_288


def test_every_html_page_reports_the_interface_locale_before_gradio_starts():
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from agent.surfaces.web.page_language import PageLanguage

    routes = [Route("/", lambda request: HTMLResponse("<html><head><title>t</title></head></html>")),
              Route("/config", lambda request: JSONResponse({"head": "<head>"}))]
    client = TestClient(Starlette(routes=routes, middleware=[Middleware(PageLanguage, lang="zh")]))
    page = client.get("/")
    assert page.text.startswith('<html><head><script>(() => { const locale = "zh-CN";')
    assert int(page.headers["content-length"]) == len(page.content)
    assert client.get("/config").json() == {"head": "<head>"}
