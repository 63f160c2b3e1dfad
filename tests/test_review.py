"""待完善 and the one-click fixes, on real workbooks and a real database (an SQLite file and PostgreSQL): questions that went unanswered are
grouped by meaning, a fix is written to the owners' supplement workbook (never the original sheet), re-indexed,
and the question asked again is answered; two owners fixing at once lose nothing; the hit test logs nothing."""
from __future__ import annotations

import hashlib
import shutil
import threading
import time

import pytest

from agent.answer.hit_test import hit_test
from agent.answer.service import KnowledgeService
from agent.ingest import supplements
from agent.ingest.faq import load_faq
from agent.ingest.glossary import load_glossary
from agent.ingest.supplements import FixRefused
from agent.memory.database import MemoryDatabase
from agent.memory.question_log import QuestionLog
from agent.memory.review import Review, group_questions, needs_work
from agent.settings import Settings
from tests.conftest import clear_assistant_env
from tests.storage_backends import database_url  # noqa: F401  (the fixture: each test on SQLite and PostgreSQL)

UNANSWERED = ["班车几点发车？", "班车什么时候出发", "公司班车的时间", "班车几点发车？"]
OTHER = "打印机卡纸怎么办？"


def _service(folder):
    with pytest.MonkeyPatch.context() as patch:
        clear_assistant_env(patch)
        settings = Settings.from_env(knowledge_dir=folder / "knowledge", index_dir=folder / "index")
    return KnowledgeService(settings)


@pytest.fixture(scope="module")
def indexed_company(tmp_path_factory, company_knowledge):
    """The company knowledge and its index with vectors, built once: each test starts from a copy of both."""
    folder = tmp_path_factory.mktemp("indexed")
    shutil.copytree(company_knowledge, folder / "knowledge")
    _service(folder)
    return folder


@pytest.fixture
def owners(tmp_path, indexed_company, database_url):  # noqa: F811
    """A service over a fresh copy of the company knowledge, its question log and the review desk."""
    shutil.copytree(indexed_company / "knowledge", tmp_path / "knowledge")
    shutil.copytree(indexed_company / "index", tmp_path / "index")
    service = _service(tmp_path)
    settings = service.settings
    question_log = QuestionLog(MemoryDatabase(settings.data_dir, database_url), settings)
    return service, question_log, Review(service, question_log)


def _ask(service, question_log, question, user="alice"):
    answer = service.ask(question)
    question_log.record(question, answer, user=user)
    return answer


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_unanswered_questions_are_grouped_by_meaning_most_asked_first(owners):
    service, question_log, review = owners
    for question in [OTHER, *UNANSWERED]:
        assert _ask(service, question_log, question).abstained
    groups = review.groups()
    assert [group.count for group in groups] == [4, 1]
    assert set(groups[0].questions) == set(UNANSWERED)
    assert groups[0].question == "班车几点发车？"  # the most asked wording leads
    assert groups[1].questions == [OTHER]
    assert groups[0].why["abstained"] == 4
    candidates = groups[0].candidates
    assert candidates.decision.abstained and candidates.question == "班车几点发车？"


def test_without_vectors_questions_group_by_their_normalised_text(owners):
    service, question_log, review = owners
    for question in ["班车几点发车？", "班车几点发车", "班车 几点 发车!", "公司班车的时间"]:
        _ask(service, question_log, question)
    groups = group_questions([row for row in question_log.rows() if needs_work(row)], vectors=None)
    assert sorted(group.count for group in groups) == [1, 3]


def test_answered_questions_stay_off_the_list_unless_rated_down(owners):
    service, question_log, review = owners
    answer = _ask(service, question_log, "工资什么时候发？")
    assert answer.route == "fact" and not review.groups()
    question_log.feedback(answer.answer_id, "down", "节假日怎么算没说")
    [group] = review.groups()
    assert group.why["down"] == 1 and group.comments == ["节假日怎么算没说"]


def test_a_new_faq_entry_is_written_reindexed_and_answers_the_group(owners):
    service, question_log, review = owners
    for question in UNANSWERED:
        _ask(service, question_log, question)
    [group] = review.groups()
    original = service.settings.knowledge_dir / "faq" / "员工常见问题.xlsx"
    before = _digest(original)
    result = review.create_faq("班车几点发车？", "班车每天早上7:30从地铁站发车，下午6点从园区返回。",
                               similar=group.questions[1:], answer_ids=group.answer_ids, user="alice")
    assert result.written.path == "faq/补充问答.xlsx" and not result.refresh_error
    assert result.fixed == 4 and review.groups() == []
    assert _digest(original) == before  # the owner's original sheet is never written
    entries, warnings = load_faq(service.settings.knowledge_dir / supplements.FAQ_FILE, supplements.FAQ_FILE)
    assert [e.question for e in entries] == ["班车几点发车？"] and not warnings
    for question in UNANSWERED:
        answer = service.ask(question)
        assert (answer.route, answer.abstained) == ("fact", False), question
        assert "7:30" in answer.text and answer.sources[0].source == "faq/补充问答.xlsx"
    assert result.decision.route == "fact"
    [fix] = question_log.fixes()
    assert (fix["kind"], fix["file"], fix["user"]) == ("faq", "faq/补充问答.xlsx", "alice")


def test_similar_questions_of_another_files_entry_get_that_entrys_answer(owners):
    service, question_log, review = owners
    wording = "班车怎么坐才能去公司"  # unanswered until it is made a way of asking about commuting
    assert _ask(service, question_log, "请假一天要走什么流程").abstained is not None
    original = service.settings.knowledge_dir / "faq" / "员工常见问题.xlsx"
    before = _digest(original)
    result = review.add_similar("年假如何申请？", ["请假一天要走什么流程"], user="alice")
    assert _digest(original) == before
    answer = service.ask("请假一天要走什么流程")
    assert answer.route == "fact" and "考勤管理 > 请假申请" in answer.text
    assert result.fixed == 1 and result.decision.route == "fact"
    # A second fix on the same entry extends the same supplement row.
    again = review.add_similar("年假如何申请？", [wording])
    assert again.written.row == result.written.row and not again.written.added
    entries, _ = load_faq(service.settings.knowledge_dir / supplements.FAQ_FILE, supplements.FAQ_FILE)
    assert entries[0].similar == ("请假一天要走什么流程", wording)


def test_a_new_glossary_term_answers_at_once(owners):
    service, question_log, review = owners
    assert _ask(service, question_log, "ESS是什么意思？").abstained
    result = review.add_term(abbreviation="ESS", english="Employee Self Service", chinese="员工自助服务", user="bob")
    assert result.written.path == "glossary/补充术语.xlsx" and result.fixed == 1
    answer = service.ask("ESS是什么意思？")
    assert answer.route == "term" and not answer.abstained and "员工自助服务" in answer.text
    terms, _ = load_glossary(service.settings.knowledge_dir / supplements.GLOSSARY_FILE, supplements.GLOSSARY_FILE)
    assert [t.abbreviation for t in terms] == ["ESS"]


@pytest.mark.parametrize("fix, message", [
    (lambda r: r.create_faq("", "答案"), "问题不能为空"),
    (lambda r: r.create_faq("班车几点发车？", "   "), "答案不能为空"),
    (lambda r: r.create_faq("年假如何申请？", "另一个答案"), "相似问题"),
    (lambda r: r.add_similar("没有这个问题？", ["新问法"]), "没有问题为"),
    (lambda r: r.add_similar(999, ["新问法"]), "没有编号"),
    (lambda r: r.add_similar(0, ["  ", "年假如何申请？"]), "没有新的相似问题"),
    (lambda r: r.add_term(), "术语需要名称"),
    (lambda r: r.add_term(abbreviation="ESS"), "只有一个名称"),
])
def test_a_fix_that_cannot_be_written_is_refused_with_a_message(owners, fix, message):
    service, _, review = owners
    with pytest.raises(FixRefused, match=message):
        fix(review)
    assert not (service.settings.knowledge_dir / supplements.FAQ_FILE).exists()


def test_two_owners_fixing_at_once_lose_neither_fix(tmp_path):
    knowledge = tmp_path / "knowledge"
    errors: list[Exception] = []

    def owner(number: int) -> None:
        try:
            for i in range(5):
                supplements.add_faq_entry(knowledge, f"问题{number}-{i}？", f"答案{number}-{i}。")
                supplements.add_term(knowledge, abbreviation=f"T{number}X{i}", english=f"Term {number} {i}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=owner, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    entries, _ = load_faq(knowledge / supplements.FAQ_FILE, supplements.FAQ_FILE)
    terms, _ = load_glossary(knowledge / supplements.GLOSSARY_FILE, supplements.GLOSSARY_FILE)
    assert len(entries) == 20 and len({e.question for e in entries}) == 20
    assert len(terms) == 20


def test_text_that_looks_like_a_formula_is_stored_as_text(tmp_path):
    supplements.add_faq_entry(tmp_path, "=HYPERLINK(\"http://x\")？", "=1+1")
    [entry], _ = load_faq(tmp_path / supplements.FAQ_FILE, supplements.FAQ_FILE)
    assert (entry.question, entry.answer) == ("=HYPERLINK(\"http://x\")？", "=1+1")


def test_a_damaged_supplement_file_is_refused_not_overwritten(tmp_path):
    path = tmp_path / supplements.FAQ_FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a workbook")
    with pytest.raises(FixRefused, match="无法打开"):
        supplements.add_faq_entry(tmp_path, "问题？", "答案。")
    assert path.read_bytes() == b"not a workbook"


def test_the_hit_test_shows_candidates_and_logs_nothing(owners):
    service, question_log, _ = owners
    result = hit_test(service.router, "年休假怎么请")
    assert result.decision.route == "fact" and result.faq[0].entry.question == "年假如何申请？"
    assert 0 < result.faq[0].probability <= 1 and result.by_meaning
    term = hit_test(service.router, "AM是什么意思")
    assert term.decision.route == "term" and term.terms[0].found_by == "name"
    assert term.terms[0].term.english == "Account Manager"
    unknown = hit_test(service.router, "KAMM是什么意思")
    assert any(c.found_by == "spelling" and c.term.abbreviation == "KAM" for c in unknown.terms)
    docs = hit_test(service.router, "一线城市住宿标准是多少")
    assert docs.passages and docs.passages[0].passage.source.endswith("差旅规定.txt")
    assert question_log.rows() == []


def test_the_hit_tests_decision_is_said_in_the_pages_language(owners):
    from agent.surfaces.web.review import decision_line, review_labels

    service, _, _ = owners
    decision = hit_test(service.router, "AM是什么意思").decision
    chinese = decision_line(decision, review_labels("zh"))
    assert chinese.startswith("判断：术语") and "AM" in chinese and "glossary" not in chinese
    assert "glossary" in decision_line(decision, review_labels("en"))


def test_figures_count_questions_routes_and_ratings(owners):
    service, question_log, review = owners
    ids = [_ask(service, question_log, q).answer_id for q in ["AM是什么意思", "工资什么时候发？", "班车几点发车？"]]
    question_log.feedback(ids[0], "up")
    question_log.feedback(ids[1], "down")
    figures = review.figures()
    assert figures["questions"] == 3 and sum(figures["per_day"].values()) == 3
    assert figures["routes"] == {"term": 1, "fact": 1, "abstained": 1}
    assert figures["abstention_rate"] == pytest.approx(1 / 3, abs=0.001)
    assert (figures["up"], figures["down"], figures["up_rate"]) == (1, 1, 0.5)
    csv_text = review.csv()
    assert csv_text.splitlines()[0].startswith("id,asked_at,user") and "班车几点发车？" in csv_text
    assert len(csv_text.strip().splitlines()) == 4


def test_old_questions_leave_the_figures_window(owners):
    service, question_log, review = owners
    _ask(service, question_log, "AM是什么意思")
    assert review.figures(days=30, now=time.time() + 40 * 86400)["questions"] == 0


def test_two_owners_fixing_through_the_app_at_once_both_get_answered(owners):
    service, _, review = owners
    fixes = {"班车几点发车？": "班车每天早上7:30从地铁站发车。", "公司健身房在哪里？": "健身房在园区B座负一层。"}
    errors: list[Exception] = []

    def owner(question: str, answer: str) -> None:
        try:
            review.create_faq(question, answer, user="alice")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=owner, args=pair) for pair in fixes.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for question, answer in fixes.items():
        reply = service.ask(question)
        assert reply.route == "fact" and answer in reply.text, question


def test_the_figures_say_what_was_learned_from_the_questions_in_the_pages_language(tmp_path):
    from agent.answer import learning
    from agent.surfaces.web.review import learned_text, review_labels

    zh, en = review_labels("zh"), review_labels("en")
    assert "kb learn" in learned_text(tmp_path, zh) and "10" in learned_text(tmp_path, zh)

    labels = [learning.Label("车位怎么才能分到", "怎么申请停车位？", True, "clicked"),
              learning.Label("停车位每月收费多少", "怎么申请停车位？", False, "rated down")]
    learning.save(tmp_path, labels, {"abstained -> fact (tentative)": 3, "fact -> abstained": 1})

    shown = learned_text(tmp_path, zh)
    assert "2 条标注" in shown and "确认 1 条" in shown and "否定 1 条" in shown
    assert "未找到答案 → 常见问题（待确认）: 3" in shown and "常见问题 → 未找到答案: 1" in shown
    assert "abstained" not in shown and "tentative" not in shown
    assert "no answer → FAQ (to confirm): 3" in learned_text(tmp_path, en)
