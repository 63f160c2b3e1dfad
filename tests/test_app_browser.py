"""The web app as employees use it: the real `python app.py` on a copy of the sample knowledge, driven in
headless Chromium. Questions of each route, expandable citations, example questions, uploads that answer at
once, sign-in with a read-only user, HTML or script in documents and questions staying inert text, and the
chat page: history that survives a reload, follow-ups, copy as plain text, ratings (shown again after a reload,
👎 with a comment for 待完善), the status bar counting vectors while they are computed, each page's interface in
its one language, a light/dark choice that is remembered, and each page on a laptop and a phone.

Set UPDATE_SCREENSHOTS=1 to refresh docs/screenshots/ (chat.png, knowledge.png, suggestions.png, tentative.png,
dark.png, phone.png, and chat-/knowledge-{zh,en}-{light,dark,phone}.png) from this run."""
from __future__ import annotations

import re
import shutil
import sqlite3
import time
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect

from agent.ingest.faq import load_faq
from agent.ingest.glossary import load_glossary
from agent.settings import REPO_ROOT
from tests.app_process import AppProcess
from tests.browser import needs_chromium

SAMPLE = REPO_ROOT / "knowledge"
ANSWER_TIMEOUT_MS = 90_000
# Sets a marker if the browser ever runs it; the tests check the marker never appears.
INJECTION = '<img src=x onerror="window.__xss=1;document.title=\'XSS\'">'
ADMIN, READER = ("alice", "alice-pw-000001"), ("bob", "bob-pw-0000002")  # 12 characters at least

BROWSER_TIMEOUT_MS = 30_000  # every wait of this module's browser

pytestmark = [
    pytest.mark.slow,
    needs_chromium,
]


def _workbook(path: Path, rows: list[list]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "缩略语"
    for row in rows:
        sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def _sample_knowledge(root: Path) -> Path:
    """The sample glossaries and FAQ, one sample document, and a document and a glossary row carrying HTML."""
    knowledge = root / "knowledge"
    shutil.copytree(SAMPLE / "glossary", knowledge / "glossary")
    shutil.copytree(SAMPLE / "faq", knowledge / "faq")
    (knowledge / "docs").mkdir()
    shutil.copy2(SAMPLE / "docs" / "差旅管理办法.md", knowledge / "docs")
    (knowledge / "docs" / "打印机报修.md").write_text(
        f"# 打印机报修\n\n## 紫晶打印机\n\n紫晶打印机卡纸时拨打维修热线 8123。{INJECTION} 周末请发邮件报修。\n",
        encoding="utf-8")
    _workbook(knowledge / "glossary" / "注入测试.xlsx",
              [["序号", "缩略语", "英文全称", "中文解释"], [1, "XSST", INJECTION, "跨站脚本测试"]])
    return knowledge


class RunningApp(AppProcess):
    """The app on the sample knowledge (see _sample_knowledge), with the counts its status line should show."""

    def __init__(self, folder: Path, **env: str):
        knowledge = _sample_knowledge(folder)
        # What the status line should count, read with the loaders the index uses.
        self.terms = sum(len(load_glossary(f, f.name)[0]) for f in (knowledge / "glossary").iterdir())
        self.faq = sum(len(load_faq(f, f.name)[0]) for f in (knowledge / "faq").iterdir())
        super().__init__(folder, knowledge, **env)

    def wait_for_vectors(self, seconds: float = 300) -> None:
        """The app answers from words at once and by meaning once its vectors are in (the log says so); the
        suggestions and document answers these tests expect are those made with the vectors."""
        deadline = time.monotonic() + seconds
        while "vectors complete" not in self.log_path.read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the vectors were not complete within {seconds}s:\n{self.log_text()}")
            time.sleep(1)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One app for the module, with sign-in on: alice administers, bob only reads."""
    users = ",".join(f"{user}:{password}" for user, password in (ADMIN, READER))
    running = RunningApp(tmp_path_factory.mktemp("app"), KB_USERS=users, KB_ADMINS=ADMIN[0])
    running.wait_for_vectors()
    yield running
    running.stop()


def sign_in(page, url: str, user: tuple[str, str]) -> None:
    page.goto(url)
    page.fill("input[type=text]", user[0])
    page.fill("input[type=password]", user[1])
    page.keyboard.press("Enter")


def open_chat(page, url: str, user: tuple[str, str] = ADMIN) -> None:
    sign_in(page, url, user)
    wait_for_chat(page)


def wait_for_chat(page) -> None:
    """Until the page has opened the user's conversation and listed the others: the question box is usable from
    then on. (The sidebar's note is no sign of it: while the page loads it holds Gradio's "processing | 0.6s".)"""
    expect(page.locator("#kb-question textarea")).to_be_editable()


def new_chat(page) -> None:
    page.click("#kb-new-chat")
    expect(page.locator("#kb-chat .kb-badge")).to_have_count(0)


def ask(page, question: str) -> object:
    """Send a question and wait for its finished answer; returns the answer bubble."""
    page.fill("#kb-question textarea", question)
    page.keyboard.press("Enter")
    # Done: the chat ends with this question and an answer with its badge, and Gradio's progress tracker on the
    # chat is hidden again (the event has ended). Counting badges instead would be fooled by a reopened
    # conversation whose earlier answers appear after the count was taken.
    page.wait_for_function(
        """question => {
            const messages = [...document.querySelectorAll('#kb-chat .message-content')];
            const last = messages[messages.length - 1], before = messages[messages.length - 2];
            const tracker = document.querySelector('#kb-chat [data-testid=status-tracker]');
            return last && before && before.innerText.trim() === question && last.querySelector('.kb-badge')
                && tracker.classList.contains('hide');
        }""", arg=question, timeout=ANSWER_TIMEOUT_MS)
    return page.locator("#kb-chat .message-content").last


def open_knowledge_tab(page, sub_tab: str = "") -> None:
    """The knowledge tab, on its files sub-tab or on `sub_tab` (术语表, 常见问题, 待完善, ...)."""
    page.get_by_role("tab", name="知识管理").click()
    page.wait_for_selector("#kb-files table")
    if sub_tab:
        page.locator("#kb-knowledge-tabs").get_by_role("tab", name=sub_tab).click()


def upload(page, path: Path) -> str:
    """Choose a file, wait for it to reach the server, press upload; returns the result text."""
    page.set_input_files("#kb-upload input[type=file]", str(path))
    expect(page.locator("#kb-upload")).to_contain_text(path.name)
    page.click("#kb-upload-button")
    result = page.locator("#kb-upload-result")
    result.locator("p").first.wait_for()
    return result.inner_text()


def test_term_question_answers_with_glossary_badge_and_source(app, page):
    open_chat(page, app.url)
    answer = ask(page, "AM是什么意思？")
    assert answer.locator(".kb-badge").inner_text() == "术语"
    assert "Account Manager" in answer.inner_text()
    assert "客户经理" in answer.inner_text()
    assert "glossary/公司术语表.xlsx" in answer.locator("details summary").first.inner_text()


def test_ambiguous_term_shows_every_meaning(app, page):
    open_chat(page, app.url)
    text = ask(page, "FTA是什么意思").inner_text()
    assert "自由贸易协定" in text and "自由贸易区" in text


def test_faq_paraphrase_answers_with_the_stored_answer(app, page):
    open_chat(page, app.url)
    answer = ask(page, "年假怎么申请？")
    assert answer.locator(".kb-badge").inner_text() == "常见问题"
    assert "OA系统" in answer.inner_text()
    assert "faq/员工常见问题.xlsx" in answer.locator("details summary").first.inner_text()


def test_a_suggestion_the_assistant_offers_is_asked_when_clicked(app, page, screenshot_dir):
    open_chat(page, app.url)
    answer = ask(page, "家属可以一起体检吗")
    expect(answer).to_contain_text("您是不是想问")
    expect(answer.locator(".kb-badge")).to_have_text("未找到答案")
    option = page.locator("#kb-chat button").filter(has_text="公司有员工体检吗？").first
    page.screenshot(path=str(screenshot_dir / "suggestions.png"), full_page=True)

    before = page.locator("#kb-chat .kb-badge").count()
    option.click()
    page.wait_for_function(f"document.querySelectorAll('#kb-chat .kb-badge').length > {before} && "
                           "document.querySelector('#kb-chat [data-testid=status-tracker]').classList.contains('hide')",
                           timeout=ANSWER_TIMEOUT_MS)

    last = page.locator("#kb-chat .message-content").filter(has=page.locator(".kb-badge")).last
    expect(last).to_contain_text("体检")
    expect(last.locator(".kb-badge")).to_have_text("常见问题")


def test_document_answer_cites_a_passage_that_expands(app, page):
    open_chat(page, app.url)
    answer = ask(page, "出差住宿标准是多少")
    assert answer.locator(".kb-badge").inner_text() == "文档"
    citation = answer.locator("details").filter(has_text="住宿标准").first
    assert "docs/差旅管理办法.md" in citation.locator("summary").inner_text()
    passage = citation.locator("table")
    assert not passage.is_visible()
    citation.locator("summary").click()
    assert passage.is_visible()
    assert "600" in passage.inner_text()


def test_status_line_names_the_backend_and_counts_the_knowledge(app, page):
    open_chat(page, app.url)
    status = page.locator("#kb-status").inner_text()
    assert "未配置" in status and "原文摘录" in status
    assert f"术语 {app.terms} 条" in status
    assert f"常见问题 {app.faq} 条" in status
    assert "索引更新于" in status


def test_the_welcome_offers_an_example_of_each_route_and_a_click_asks_it(app, page, screenshot_dir):
    open_chat(page, app.url)
    new_chat(page)
    examples = page.locator("#kb-chat button.example")
    expect(page.locator("#kb-chat")).to_contain_text("您好，我是企业知识助手")
    assert examples.count() == 3
    assert examples.nth(2).bounding_box()["y"] + examples.nth(2).bounding_box()["height"] <= 900  # above the fold
    texts = [examples.nth(number).inner_text().strip() for number in range(3)]
    examples.first.click()
    page.wait_for_function("document.querySelectorAll('#kb-chat .kb-badge').length > 0 && "
                           "document.querySelector('#kb-chat [data-testid=status-tracker]').classList.contains('hide')",
                           timeout=ANSWER_TIMEOUT_MS)
    badges = [page.locator("#kb-chat .kb-badge").first.inner_text()]
    badges += [ask(page, text).locator(".kb-badge").inner_text() for text in texts[1:]]
    assert badges == ["术语", "常见问题", "文档"]
    expect(page.locator("#kb-history")).to_contain_text(texts[0])
    page.locator("#kb-chat .bubble-wrap").evaluate("chat => chat.scrollTop = 0")  # the first answers in view
    page.screenshot(path=str(screenshot_dir / "chat.png"), full_page=True)


def test_html_in_documents_and_questions_stays_inert_text(app, page):
    open_chat(page, app.url)
    answer = ask(page, f"紫晶打印机卡纸找谁 {INJECTION}")
    answer.locator("details").filter(has_text="打印机报修").first.locator("summary").click()
    open_knowledge_tab(page, "术语表")
    page.fill("#kb-glossary-search input, #kb-glossary-search textarea", "XSST")
    expect(page.locator("#kb-glossary")).to_contain_text("跨站脚本测试")
    page.wait_for_timeout(500)  # time for an injected onerror to fire, were it possible
    assert page.evaluate("window.__xss") is None
    assert page.title() != "XSS"
    assert page.locator("img[src='x']").count() == 0
    chat = page.locator("#kb-chat").inner_text()
    assert chat.count(INJECTION) >= 2  # the question as asked, and the document's passage quoted
    assert INJECTION in page.locator("#kb-glossary").inner_text()


def test_uploaded_glossary_answers_its_new_term_at_once(app, page, tmp_path, screenshot_dir):
    workbook = _workbook(tmp_path / "新产品术语.xlsx", [["星河电子新产品缩略语"], ["序号", "缩略语", "英文全称", "中文解释"],
                                                        [1, "QZX", "Quantum Zebra Exchange", "量子斑马交换平台"]])
    open_chat(page, app.url, ADMIN)
    open_knowledge_tab(page)
    assert "可以上传" in page.locator("#kb-access").inner_text()
    result = upload(page, workbook)
    assert "已保存 glossary/新产品术语.xlsx" in result
    assert "新增术语" in result and "QZX" in result
    assert (app.knowledge / "glossary" / "新产品术语.xlsx").is_file()
    expect(page.locator("#kb-files")).to_contain_text("glossary/新产品术语.xlsx")
    # The new term's vector is computed after the upload; the status bar follows it without a reload.
    expect(page.locator("#kb-status")).not_to_contain_text("正在建立语义索引", timeout=60_000)
    page.screenshot(path=str(screenshot_dir / "knowledge.png"), full_page=True)
    page.get_by_role("tab", name="问答").click()
    answer = ask(page, "QZX是什么意思")
    assert answer.locator(".kb-badge").inner_text() == "术语"
    assert "量子斑马交换平台" in answer.inner_text()
    assert f"术语 {app.terms + 1} 条" in page.locator("#kb-status").inner_text()
    page.reload()  # a later visit sees the new knowledge too, not the counts from when the app started
    expect(page.locator("#kb-status")).to_contain_text(f"术语 {app.terms + 1} 条")


def test_upload_of_a_file_its_kind_cannot_read_is_refused_and_not_saved(app, page, tmp_path):
    notes = tmp_path / "会议纪要.md"
    notes.write_text("# 会议纪要\n\n不是术语表。\n", encoding="utf-8")
    open_chat(page, app.url)
    open_knowledge_tab(page)  # the kind stays 术语表, which reads spreadsheets only
    result = upload(page, notes)
    assert "未保存 会议纪要.md" in result and "术语表" in result
    assert not any(p.name == "会议纪要.md" for p in app.knowledge.rglob("*"))


def test_glossary_template_downloads_in_the_reference_layout(app, page, tmp_path):
    open_chat(page, app.url)
    open_knowledge_tab(page)
    with page.expect_download() as download:
        page.click("#kb-template")
    saved = tmp_path / "template.xlsx"
    download.value.save_as(saved)
    rows = list(openpyxl.load_workbook(saved).active.iter_rows(values_only=True))
    assert rows[1] == ("序号", "缩略语", "英文全称", "中文解释")


def test_sign_in_is_required_when_users_are_configured(app, page):
    sign_in(page, app.url, (READER[0], "wrong password"))
    expect(page.get_by_text("凭据不正确")).to_be_visible()  # Gradio's own message, in the browser's language
    assert page.locator("#kb-question").count() == 0


def test_reader_may_ask_but_uploads_are_refused(app, page, tmp_path):
    workbook = _workbook(tmp_path / "越权术语.xlsx", [["序号", "缩略语", "英文全称", "中文解释"],
                                                     [1, "NOPE", "Not Permitted", "不应出现"]])
    open_chat(page, app.url, READER)
    assert "Account Manager" in ask(page, "AM是什么意思").inner_text()
    open_knowledge_tab(page)
    assert "只读" in page.locator("#kb-access").inner_text()
    result = upload(page, workbook)
    assert "没有权限" in result and "alice" in result
    assert not (app.knowledge / "glossary" / "越权术语.xlsx").exists()


# --- the chat page: history, follow-ups, copy, ratings, language, dark mode, phones ------------------------

def test_the_conversation_survives_a_reload_and_is_listed_by_its_first_question(app, page):
    open_chat(page, app.url)
    new_chat(page)
    ask(page, "KAM是什么意思？")
    expect(page.locator("#kb-history")).to_contain_text("KAM是什么意思？")
    page.reload()
    wait_for_chat(page)
    expect(page.locator("#kb-chat")).to_contain_text("Key Account Manager")
    expect(page.locator("#kb-history label:has(input:checked)")).to_contain_text("KAM是什么意思？")


def test_nothing_is_asked_before_the_page_has_opened_its_conversation(app, page):
    """What the page opens on a visit (the latest conversation, the sidebar) arrives after the page is shown, on a
    busy server seconds after: a question or a new chat started before it would be overwritten by it, the answer
    gone from the page and missing from the sidebar. Here its arrival is held back, so that moment lasts."""
    open_chat(page, app.url)
    new_chat(page)
    ask(page, "KAM是什么意思？")  # a conversation for the page to open
    page_opened = page.evaluate("""() => {
        const history = gradio_config.components.find(c => c.props.elem_id === 'kb-history').id;
        return gradio_config.dependencies.find(d => d.api_name.startsWith('page_opened')
                                                   && d.outputs.includes(history)).id;
    }""")
    held = []
    page.route("**/gradio_api/queue/join*", lambda route: held.append(route)
               if (route.request.post_data_json or {}).get("fn_index") == page_opened else route.continue_())
    page.reload()
    deadline = time.monotonic() + BROWSER_TIMEOUT_MS / 1000
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert held, "the page did not ask to open its conversation"
    expect(page.locator("#kb-question textarea")).to_be_disabled()
    expect(page.locator("#kb-new-chat")).to_be_disabled()
    held[0].continue_()
    wait_for_chat(page)
    expect(page.locator("#kb-chat")).to_contain_text("Key Account Manager")
    expect(page.locator("#kb-new-chat")).to_be_enabled()
    expect(page.locator("#kb-question textarea")).to_be_focused()  # autofocus, given back once usable


def test_a_follow_up_is_answered_in_the_same_conversation(app, page):
    open_chat(page, app.url)
    new_chat(page)
    ask(page, "AM是什么意思？")
    follow_up = ask(page, "那KAM呢？")
    expect(follow_up.locator(".kb-badge")).to_be_visible()
    page.reload()
    wait_for_chat(page)
    expect(page.locator("#kb-chat .kb-badge")).to_have_count(2)
    expect(page.locator("#kb-chat")).to_contain_text("那KAM呢？")


def test_a_conversation_can_be_renamed_and_deleted(app, page):
    open_chat(page, app.url)
    new_chat(page)
    expect(page.locator("#kb-rename-button")).to_be_hidden()  # nothing to rename or delete yet
    expect(page.locator("#kb-delete")).to_be_hidden()
    ask(page, "FOB是什么意思？")
    expect(page.locator("#kb-delete")).to_be_visible()
    title = page.locator("#kb-rename input, #kb-rename textarea")
    expect(title).to_have_value("FOB是什么意思？")  # the new conversation's title, once it is listed
    title.fill("外贸术语 FOB")
    page.click("#kb-rename-button")
    expect(page.locator("#kb-history")).to_contain_text("外贸术语 FOB")
    page.once("dialog", lambda dialog: dialog.dismiss())  # changing one's mind keeps it
    page.click("#kb-delete")
    page.wait_for_timeout(1000)
    expect(page.locator("#kb-history")).to_contain_text("外贸术语 FOB")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#kb-delete")
    expect(page.locator("#kb-history")).not_to_contain_text("外贸术语 FOB")
    expect(page.locator("#kb-chat .kb-badge")).to_have_count(0)
    expect(page.locator("#kb-delete")).to_be_hidden()


def test_copy_puts_the_answer_and_its_sources_on_the_clipboard_as_plain_text(app, page, browser):
    browser.grant_permissions(["clipboard-read", "clipboard-write"], origin=app.url)
    open_chat(page, app.url)
    new_chat(page)
    ask(page, "AM是什么意思？")
    page.locator("#kb-chat button[aria-label='复制']").last.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("AM：Account Manager")
    assert "来源：\n[1] glossary/公司术语表.xlsx · 缩略语 第3行" in copied
    assert "<" not in copied and "kb-badge" not in copied


def test_a_thumbs_up_is_stored_with_the_question(app, page):
    open_chat(page, app.url)
    new_chat(page)
    ask(page, "年假怎么申请？")
    page.locator("#kb-chat button[aria-label='有帮助']").last.click()
    expect(page.get_by_text("已记录您的评价")).to_be_visible()
    with sqlite3.connect(app.index.parent / "index-data" / "memory.sqlite") as database:
        rows = database.execute("SELECT rating FROM questions WHERE question = ? ORDER BY asked_at DESC",
                                ("年假怎么申请？",)).fetchall()
    assert rows[0] == ("up",)


RATING_BUTTONS = """() => [...document.querySelectorAll('#kb-chat button[aria-label]')]
    .map(b => b.getAttribute('aria-label')).filter(l => /有帮助|没帮助/.test(l))"""


def test_ratings_show_again_on_their_answers_after_a_reload(app, page):
    open_chat(page, app.url)
    new_chat(page)
    ask(page, "MoM是什么意思？")
    ask(page, "SLA是什么意思？")
    page.locator("#kb-chat button[aria-label='有帮助']").first.click()
    expect(page.get_by_text("已记录您的评价").first).to_be_visible()
    page.locator("#kb-chat button[aria-label='没帮助']").last.click()
    expect(page.locator("#kb-comment")).to_be_visible()
    page.click("#kb-comment-skip")
    expect(page.locator("#kb-comment")).to_be_hidden()
    page.reload()
    wait_for_chat(page)
    expect(page.locator("#kb-chat .kb-badge")).to_have_count(2)
    # Each answer has 没帮助 then 有帮助; the chosen one reads as chosen, on the answer it was given to.
    assert page.evaluate(RATING_BUTTONS) == ["没帮助", "已评为有帮助", "已评为没帮助", "有帮助"]


def test_a_thumbs_down_takes_a_comment_that_the_knowledge_owners_read_in_review(app, page):
    open_chat(page, app.url)
    new_chat(page)
    ask(page, "公司有员工体检吗？")
    expect(page.locator("#kb-comment")).to_be_hidden()
    page.locator("#kb-chat button[aria-label='没帮助']").last.click()
    page.fill("#kb-comment-text textarea, #kb-comment-text input", "没说体检在几月")
    page.click("#kb-comment-send")
    expect(page.get_by_text("已记录您的意见")).to_be_visible()
    expect(page.locator("#kb-comment")).to_be_hidden()
    with sqlite3.connect(app.index.parent / "index-data" / "memory.sqlite") as database:
        assert database.execute("SELECT rating, comment FROM questions WHERE question = ? ORDER BY asked_at DESC",
                                ("公司有员工体检吗？",)).fetchone() == ("down", "没说体检在几月")
    open_knowledge_tab(page, "待完善")
    page.click("#kb-review-refresh")
    page.locator("#kb-review-groups label").filter(has_text="公司有员工体检吗？").click()
    expect(page.locator("#kb-review-detail")).to_contain_text("反馈意见：")
    expect(page.locator("#kb-review-detail")).to_contain_text("没说体检在几月")


def _rating(app, question: str) -> str | None:
    with sqlite3.connect(app.index.parent / "index-data" / "memory.sqlite") as database:
        return database.execute("SELECT rating FROM questions WHERE question = ? ORDER BY asked_at DESC",
                                (question,)).fetchone()[0]


def test_yes_under_a_tentative_answer_is_stored_as_a_thumbs_up_and_the_buttons_go(app, page, screenshot_dir):
    open_chat(page, app.url)
    new_chat(page)
    answer = ask(page, "员工买手机便宜吗")
    expect(answer.locator(".kb-badge")).to_have_text("可能相关")
    expect(answer).to_contain_text("您问的是不是「员工买公司产品有优惠吗？」")
    expect(page.locator("#kb-chat button.option")).to_have_text(["是", "不是"])
    page.screenshot(path=str(screenshot_dir / "tentative.png"))
    page.locator("#kb-chat").get_by_role("button", name="是", exact=True).click()
    expect(page.get_by_text("已记录您的评价")).to_be_visible()
    expect(page.locator("#kb-chat button.option")).to_have_count(0)
    assert _rating(app, "员工买手机便宜吗") == "up"


def test_no_under_a_tentative_answer_is_stored_as_a_thumbs_down_and_answered_with_what_else_to_ask(app, page):
    open_chat(page, app.url)
    new_chat(page)
    ask(page, "新人电脑哪里拿")
    page.locator("#kb-chat").get_by_role("button", name="不是", exact=True).click()
    messages = page.locator("#kb-chat .message-content")
    expect(messages.last).to_contain_text("没有找到其他相近的问题")  # the sample offers nothing else for it
    expect(messages.nth(messages.count() - 2)).to_have_text("不是")
    expect(page.locator("#kb-chat button.option")).to_have_count(0)
    assert _rating(app, "新人电脑哪里拿") == "down"


def test_no_user_sees_another_users_conversations(app, page):
    open_chat(page, app.url, ADMIN)
    new_chat(page)
    ask(page, "RMA是什么意思？")
    page.context.clear_cookies()
    open_chat(page, app.url, READER)
    expect(page.locator("#kb-sidebar")).not_to_contain_text("RMA是什么意思？")
    assert "RMA" not in page.locator("#kb-chat").inner_text()


def test_two_tabs_writing_to_one_conversation_lose_nothing(app, page, browser):
    open_chat(page, app.url)
    new_chat(page)
    ask(page, "SO是什么意思？")
    other = browser.new_page()  # the same user, opening the latest conversation: this one
    try:
        other.goto(app.url)
        wait_for_chat(other)
        expect(other.locator("#kb-chat")).to_contain_text("SO是什么意思？")
        ask(other, "DO是什么意思？")
        ask(page, "KPI是什么意思？")
    finally:
        other.close()
    page.reload()
    wait_for_chat(page)
    for question in ("SO是什么意思？", "DO是什么意思？", "KPI是什么意思？"):
        expect(page.locator("#kb-chat")).to_contain_text(question)


def test_an_english_browser_still_gets_gradios_words_in_chinese(app, page):
    page.add_init_script("Object.defineProperty(Navigator.prototype, 'language', {get: () => 'en-US', "
                         "configurable: true})")
    open_chat(page, app.url)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    if page.locator("#kb-chat .kb-badge").count() == 0:
        ask(page, "AM是什么意思？")
    assert page.locator("#kb-chat button[aria-label='复制']").count() > 0
    assert page.locator("#kb-chat button[aria-label='有帮助']").count() > 0
    open_knowledge_tab(page)
    expect(page.locator("#kb-upload")).to_contain_text("拖放")
    assert "Drop File Here" not in page.locator("body").inner_text()


# Screen-reader labels and tooltips that are not the page's own words: Gradio's English (a word of three letters or more
# that is not an abbreviation) where its translation leaves them out. What users and documents wrote (message text,
# conversation titles) is theirs, and skipped.
ENGLISH_WORD = re.compile(r"\b[A-Za-z][a-z]{2,}\b")
LABELS_SCRIPT = """() => [...document.querySelectorAll('[aria-label], [title], .sr-only')]
    .filter(e => !e.closest('#kb-history') && e.offsetParent !== null || e.classList.contains('sr-only'))
    .flatMap(e => [e.getAttribute('aria-label'), e.getAttribute('title'),
                   e.classList.contains('sr-only') ? e.textContent : null])
    .filter(v => v && !/^(问题|回答)：/.test(v))"""


def test_screen_reader_labels_and_tooltips_on_the_chinese_page_are_chinese(app, page):
    open_chat(page, app.url)
    new_chat(page)
    ask(page, "AM是什么意思？")
    labels = page.evaluate(LABELS_SCRIPT)
    messages = page.locator("#kb-chat [aria-label^='回答：']")
    expect(messages.last).to_have_attribute("aria-label", re.compile(r"^回答：术语 AM：Account Manager"))
    assert not page.locator("#kb-chat [aria-label*='kb-badge'], #kb-chat [aria-label*='kb-copy']").count()
    open_knowledge_tab(page, "术语表")
    page.locator("#kb-glossary table").first.hover()  # the table's tools (copy, full screen) show
    labels += page.evaluate(LABELS_SCRIPT)
    labels = [label.strip() for label in labels]
    assert "复制表格数据" in labels and "展开或收起侧栏" in labels and "问题" in labels
    assert not [label for label in labels if ENGLISH_WORD.search(label)]


# Every piece of the interface a page shows: its visible text and its screen-reader labels, tooltips and
# placeholders. What users and the knowledge wrote is theirs, in whatever language it is, and skipped: messages
# (but not their badges), conversation titles, table cells (but not headers), example and suggested questions,
# 待完善's questions and the hit test's findings.
INTERFACE_SCRIPT = """() => {
    const content = '#kb-chat .message-content, #kb-history, #kb-rename, td, .body-cell, button.example, '
        + 'button.option, #kb-review-groups .wrap, #kb-review-detail, #kb-hit-summary, #kb-hit-question, '
        + '#kb-upload-result, .toast-body';
    const shown = (e) => e.checkVisibility() && !e.closest(content);
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const parent = node.parentElement, text = node.data.trim();
        if (text && parent && !['SCRIPT', 'STYLE'].includes(parent.tagName)
            && (shown(parent) || parent.closest('.kb-badge') && parent.checkVisibility())) found.push(text);
    }
    const message = /^(问题|回答)：|^(Question|Answer): /;  // a message's label is its words (PAGE_SCRIPT)
    for (const e of document.querySelectorAll('[aria-label], [title], [placeholder]'))
        if (shown(e)) for (const name of ['aria-label', 'title', 'placeholder'])
            if (e.getAttribute(name) && !message.test(e.getAttribute(name))) found.push(e.getAttribute(name));
    return found;
}"""
# File names and paths (faq/补充问答.xlsx, .docx), the command `kb learn` and the settings' names are the same in
# every language; numbers and units are not words.
NOT_WORDS = re.compile(r"\S*[./]\w+\S*|\bkb learn\b|\b[A-Z_]+=\S*")
CJK = re.compile(r"[\u3400-\u9fff]")


def interface_texts(page, url: str, knowledge_tab: str, sub_tabs: list[str], question: str) -> list[str]:
    """The interface as an administrator meets it: the chat with an answer, then each knowledge sub-tab."""
    open_chat(page, url)
    new_chat(page)
    ask(page, question)
    texts = page.evaluate(INTERFACE_SCRIPT)
    page.get_by_role("tab", name=knowledge_tab).click()
    page.wait_for_selector("#kb-files table")
    for name in sub_tabs:
        page.locator("#kb-knowledge-tabs").get_by_role("tab", name=name).click()
        page.wait_for_timeout(500)
        texts += page.evaluate(INTERFACE_SCRIPT)
    return [NOT_WORDS.sub(" ", text) for text in texts]


def test_the_chinese_pages_interface_has_no_english_words(app, page):
    texts = interface_texts(page, app.url, "知识管理", ["术语表", "常见问题", "待完善", "命中测试", "统计"],
                            "AM是什么意思？")
    assert "发送" in texts and "确认写入" not in texts  # the scan reads the interface, and only what is shown
    assert [text for text in texts if ENGLISH_WORD.search(text)] == [], "\n".join(texts)


@pytest.fixture(scope="module")
def english_app(tmp_path_factory):
    users = ",".join(f"{user}:{password}" for user, password in (ADMIN, READER))
    running = RunningApp(tmp_path_factory.mktemp("english"), KB_USERS=users, KB_ADMINS=ADMIN[0], KB_UI_LANG="en")
    running.wait_for_vectors()
    yield running
    running.stop()


def test_the_english_pages_interface_has_no_chinese(english_app, page):
    texts = interface_texts(page, english_app.url, "Knowledge", ["Glossary", "FAQ", "To improve", "Hit test",
                                                                 "Figures"], "What does AM mean?")
    assert "Send" in texts
    assert [text for text in texts if CJK.search(text)] == [], "\n".join(texts)
    # Gradio's own words too: its table and chat buttons, in English on the English page.
    assert not page.locator("[aria-label='复制'], [aria-label='有帮助']").count()


def test_the_reply_to_emoji_alone_is_chinese_and_an_abstention_shows_no_confidence(app, page):
    open_chat(page, app.url)
    new_chat(page)
    answer = ask(page, "🙂")
    expect(answer).to_contain_text("请输入一个问题")
    expect(answer).not_to_contain_text("Please")
    expect(answer.locator(".kb-meta")).to_contain_text("用时")
    expect(answer.locator(".kb-meta")).not_to_contain_text("置信度")


def test_a_long_first_question_titles_its_conversation_on_one_line(app, page):
    question = "我下个月要去上海出差三天，想问一下住宿标准、交通标准和伙食补贴分别是多少，需要提前多久申请？"
    open_chat(page, app.url)
    new_chat(page)
    ask(page, question)
    title = page.locator("#kb-history label:has(input:checked) > span")
    expect(title).to_have_attribute("title", question)  # the whole title on hover
    one_line = float(title.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
    assert title.bounding_box()["height"] < 1.5 * one_line
    assert title.evaluate("e => e.scrollWidth > e.clientWidth")  # cut, with an ellipsis


def _contrast(first: tuple[int, int, int], second: tuple[int, int, int]) -> float:
    """The WCAG contrast ratio of two sRGB colours."""
    def luminance(rgb):
        channels = [c / 255 for c in rgb]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_source_titles_are_readable_in_dark_mode(app, page, screenshot_dir, tmp_path):
    import numpy
    from PIL import Image

    page.emulate_media(color_scheme="dark")
    open_chat(page, app.url)
    new_chat(page)
    answer = ask(page, "出差住宿标准是多少")
    expect(page.locator("#kb-history")).to_contain_text("出差住宿标准是多少")
    page.screenshot(path=str(screenshot_dir / "dark.png"), full_page=True)
    title = answer.locator("details.kb-source summary").first
    title.screenshot(path=str(tmp_path / "title.png"))
    pixels = [tuple(p) for p in numpy.asarray(Image.open(tmp_path / "title.png").convert("RGB")).reshape(-1, 3).tolist()]
    background = max(set(pixels), key=pixels.count)
    text = max(pixels, key=lambda p: _contrast(p, background))  # the glyphs' core
    assert sum(background) < 3 * 128, "the page is not dark"
    assert _contrast(text, background) >= 7.0


DARK = "document.body.classList.contains('dark')"


def test_light_or_dark_follows_the_system_until_chosen_and_the_choice_is_remembered(app, page):
    page.emulate_media(color_scheme="dark")
    try:
        open_chat(page, app.url)
        expect(page.locator("body")).to_have_class(re.compile(r"\bdark\b"))  # the system's, at first
        page.click("#kb-theme")
        expect(page.locator("body")).not_to_have_class(re.compile(r"\bdark\b"))
        page.reload()
        wait_for_chat(page)
        page.wait_for_timeout(1000)  # Gradio has set the system's theme by now; the choice stays
        assert not page.evaluate(DARK)
        assert sum(_rgb(page.evaluate("getComputedStyle(document.body).backgroundColor"))) > 3 * 200  # light
        page.click("#kb-theme")
        page.emulate_media(color_scheme="light")
        page.reload()
        wait_for_chat(page)
        page.wait_for_timeout(1000)
        assert page.evaluate(DARK)  # chosen dark, over a light system
    finally:
        page.evaluate("localStorage.removeItem('kb-theme')")  # the module's other tests see the system's again


def _rgb(css: str) -> tuple[int, int, int]:
    return tuple(int(v) for v in re.findall(r"\d+", css)[:3])


def test_the_clear_button_stands_above_the_messages_not_on_them(app, page):
    open_chat(page, app.url)
    new_chat(page)
    ask(page, "OKR是什么意思？这个词在公司里一般指什么，和KPI有什么不同？" * 3)  # a long question, right-aligned at the top
    clear = page.locator("#kb-chat button[aria-label='清空对话']").bounding_box()
    messages = page.locator("#kb-chat .bubble-wrap").bounding_box()
    assert clear["y"] + clear["height"] <= messages["y"]  # outside the scrolling messages, so nothing slides under it


def test_while_vectors_are_computed_the_status_bar_counts_them_and_answers_say_words_only(tmp_path_factory, browser):
    folder = tmp_path_factory.mktemp("indexing")
    knowledge = _sample_knowledge(folder)
    # Enough passages that their vectors take a while to compute (a fresh index computes every one).
    (knowledge / "docs" / "设备清单.md").write_text("# 设备清单\n\n" + "\n\n".join(
        f"## 设备 {n}\n\n编号 {n} 的设备放在 {n % 9 + 1} 楼，借用请找行政部登记，归还时检查配件是否齐全。" for n in range(400)),
        encoding="utf-8")
    running = AppProcess(folder, knowledge)  # no sign-in
    page = browser.new_page()
    try:
        page.goto(running.url)
        wait_for_chat(page)
        status = page.locator("#kb-status .kb-status-long")
        expect(status).to_contain_text(re.compile(r"正在建立语义索引 \d+/\d+"))
        first = re.search(r"\d+/\d+", status.inner_text()).group()
        answer = ask(page, "AM是什么意思？")
        expect(answer.locator(".kb-meta")).to_contain_text("只按字词匹配")
        expect(status).not_to_contain_text(first, timeout=20_000)  # counted up as batches finish, page untouched
        RunningApp.wait_for_vectors(running)
        expect(status).not_to_contain_text("正在建立语义索引", timeout=10_000)
        expect(ask(page, "KAM是什么意思？").locator(".kb-meta")).not_to_contain_text("只按字词匹配")
    finally:
        page.close()
        running.stop()


def test_a_phone_sees_a_short_status_line_and_the_chat_first(app, page, screenshot_dir):
    page.set_viewport_size({"width": 390, "height": 844})
    open_chat(page, app.url)
    expect(page.locator("#kb-status .kb-status-short")).to_be_visible()
    expect(page.locator("#kb-status .kb-status-long")).to_be_hidden()
    expect(page.locator("#kb-sidebar.open")).to_have_count(0)  # folded away
    if page.locator("#kb-chat .kb-badge").count() == 0:
        ask(page, "AM是什么意思？")
    assert page.locator("#kb-status").bounding_box()["height"] < 60
    page.screenshot(path=str(screenshot_dir / "phone.png"))


PAGES = {"zh": {"knowledge": "知识管理", "question": "出差住宿标准是多少", "welcome": "您好"},
         "en": {"knowledge": "Knowledge", "question": "What is the hotel allowance on a business trip?",
                "welcome": "Hello"}}
SCREENS = {"light": ({"width": 1366, "height": 768}, "light"), "dark": ({"width": 1366, "height": 768}, "dark"),
           "phone": ({"width": 390, "height": 844}, "light")}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_each_page_fits_its_screen_in_each_language_and_scheme(lang, screen, request, page, screenshot_dir):
    """The chat and the knowledge page, light and dark on a laptop and light on a phone: never wider than the
    screen, and in the page's language (docs/screenshots/{chat,knowledge}-{lang}-{screen}.png)."""
    running = request.getfixturevalue("app" if lang == "zh" else "english_app")
    size, scheme = SCREENS[screen]
    words = PAGES[lang]
    page.set_viewport_size(size)
    page.emulate_media(color_scheme=scheme)
    open_chat(page, running.url)
    page.locator("#kb-new-chat").dispatch_event("click")  # on a phone it is in the folded sidebar
    expect(page.locator("#kb-chat")).to_contain_text(words["welcome"])
    ask(page, words["question"])
    assert page.evaluate(DARK) == (scheme == "dark")
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    page.screenshot(path=str(screenshot_dir / f"chat-{lang}-{screen}.png"))
    page.get_by_role("tab", name=words["knowledge"]).click()
    page.wait_for_selector("#kb-files table")
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    page.screenshot(path=str(screenshot_dir / f"knowledge-{lang}-{screen}.png"))


def test_a_file_over_the_upload_limit_is_refused_in_chinese(app, page, tmp_path):
    big = tmp_path / "大文件.pdf"
    big.write_bytes(b"0" * (21 * 2**20))  # over the default 20 MB; Gradio refuses it before it is sent
    open_chat(page, app.url)
    open_knowledge_tab(page)
    page.set_input_files("#kb-upload input[type=file]", str(big))
    toast = page.locator("[data-testid=toast-body]").last
    expect(toast).to_contain_text("文件超过")
    expect(toast).to_contain_text("错误")
    assert "exceed" not in toast.inner_text()


def test_without_sign_in_a_browser_finds_its_conversation_after_a_restart(tmp_path_factory, browser, monkeypatch):
    folder = tmp_path_factory.mktemp("local")
    first = RunningApp(folder)  # no KB_USERS: conversations belong to the browser (an id in its localStorage)
    page = browser.new_page()
    try:
        page.goto(first.url)
        wait_for_chat(page)
        ask(page, "KPI是什么意思？")
        page.close()  # the old page would keep reconnecting to the stopped app while the new one loads
        first.stop()
        # The same folders and port (localStorage belongs to the origin), a new process.
        monkeypatch.setattr("tests.app_process.free_port", lambda: int(first.url.rsplit(":", 1)[1]))
        again = AppProcess(folder, first.knowledge)
        try:
            page = browser.new_page()  # as a person would come back, in a new tab of the same browser
            page.goto(again.url)
            wait_for_chat(page)
            expect(page.locator("#kb-chat")).to_contain_text("Key Performance Indicator")
            expect(page.locator("#kb-history")).to_contain_text("KPI是什么意思？")
        finally:
            again.stop()
    finally:
        page.close()
        if first.process.poll() is None:
            first.stop()
