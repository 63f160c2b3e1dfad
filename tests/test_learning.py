"""Learning from the company's own questions (`kb learn`, agent/answer/learning.py).

tests/data/learning_company.json is a small company FAQ written for this test with 20 wordings its people
clicked or confirmed (two per entry), 14 other paraphrases held out, and 10 near misses (another aspect of an
entry that no entry answers). It was used to choose learned wordings over a Platt rescaling (see the module's
docstring), so it is a validation set, not a measure of unseen questions."""
import json
import time
from pathlib import Path

import openpyxl
import pytest

from agent.answer.learning import LEARNED_FILE, LearningLoop, labels_from_log, learn, load
from agent.memory.database import MemoryDatabase
from agent.memory.question_log import LoggedQuestion, QuestionLog
from agent.records import FaqEntry
from agent.settings import Settings
from tests.conftest import clear_assistant_env

COMPANY = json.loads((Path(__file__).parent / "data" / "learning_company.json").read_text(encoding="utf-8"))


def logged(question, route="fact", source=("faq.xlsx", "row 2"), rating=None, abstained=False, at=0.0,
           conversation="c1") -> LoggedQuestion:
    return LoggedQuestion(f"id{at}", at, "u", question, "", route, "", 0.5,
                          [{"source": source[0], "location": source[1]}] if source else [], abstained, 1.0, "none",
                          rating, "", None, "", conversation)


FAQ = [FaqEntry("班车几点发车？", "7:30。", source="faq.xlsx", row=2), FaqEntry("怎么申请车位？", "在OA申请。", source="faq.xlsx", row=3)]


def test_ratings_and_a_suggestion_clicked_after_an_abstention_are_labels_and_other_rows_are_not():
    rows = [logged("早上大巴几点走", rating="up", at=1),
            logged("车位收费吗", source=("faq.xlsx", "row 3"), rating="down", at=2, conversation="c2"),
            logged("想在公司停车", route="doc", source=None, abstained=True, at=3, conversation="c3"),
            logged("怎么申请车位？", source=("faq.xlsx", "row 3"), at=4, conversation="c3"),
            logged("晚上几点下班", route="doc", source=None, abstained=True, at=5, conversation="c4"),
            logged("怎么申请车位？", source=("faq.xlsx", "row 3"), at=5 + 3600, conversation="c4"),  # an hour later
            logged("AM是什么", route="term", source=("术语.xlsx", "row 2"), rating="up", at=6)]

    labels = labels_from_log(rows, FAQ)

    assert [(label.question, label.entry, label.right, label.why) for label in labels] == [
        ("早上大巴几点走", "班车几点发车？", True, "rated up"),
        ("车位收费吗", "怎么申请车位？", False, "rated down"),
        ("想在公司停车", "怎么申请车位？", True, "clicked")]


@pytest.fixture
def company(tmp_path):
    path = tmp_path / "knowledge" / "faq" / "员工服务.xlsx"
    path.parent.mkdir(parents=True)
    book = openpyxl.Workbook()
    book.active.append(["问题", "答案"])
    for question, answer in COMPANY["faq"]:
        book.active.append([question, answer])
    book.save(path)
    with pytest.MonkeyPatch.context() as patch:
        clear_assistant_env(patch)
        from agent.answer.service import KnowledgeService

        settings = Settings.from_env(knowledge_dir=tmp_path / "knowledge", index_dir=tmp_path / "index")
        yield KnowledgeService(settings), QuestionLog(MemoryDatabase(settings.data_dir), settings), path


def outcome(service, question: str, entry: int) -> str:
    answer = service.ask(question)
    if answer.abstained or answer.route != "fact":
        return "abstained" if answer.abstained else answer.route
    right = answer.sources[0].text.startswith(COMPANY["faq"][entry][0])
    return ("tentative " if answer.tentative else "direct ") + ("right" if right else "wrong")


def ask_as_people_do(service, log: QuestionLog) -> None:
    """Each wording is asked in its own conversation: a right stored answer gets 👍; otherwise the right entry
    is clicked among the suggestions (after 不是 on a tentative answer)."""
    for number, (question, entry) in enumerate(COMPANY["clicked"]):
        stored = COMPANY["faq"][entry][0]
        answer = service.ask(question)
        log.record(question, answer, "employee", f"conversation {number}")
        if answer.route == "fact" and not answer.abstained and answer.sources[0].text.startswith(stored):
            log.feedback(answer.answer_id, "up")
        elif stored in answer.suggestions or answer.tentative:
            if answer.tentative:
                log.feedback(answer.answer_id, "down")
            time.sleep(0.01)
            log.record(stored, service.ask(stored), "employee", f"conversation {number}")


@pytest.mark.slow
def test_twenty_labelled_clicks_answer_more_held_out_paraphrases_and_no_more_near_misses(company):
    service, log, workbook = company
    written = workbook.read_bytes()
    held_out = [(q, e) for q, e in COMPANY["held_out"]]
    before = [outcome(service, q, e) for q, e in held_out]
    near_before = [outcome(service, q, e) for q, e in COMPANY["near_misses"]]

    ask_as_people_do(service, log)
    report = learn(service.router, log.rows())

    after = [outcome(service, q, e) for q, e in held_out]
    near_after = [outcome(service, q, e) for q, e in COMPANY["near_misses"]]
    assert len(report.labels) == 20 and all(label.right for label in report.labels)
    assert after.count("abstained") < before.count("abstained")
    assert sum(o.endswith("right") for o in after) >= sum(o.endswith("right") for o in before)
    assert after.count("direct right") > before.count("direct right")
    assert sum(o.endswith("wrong") for o in after) <= sum(o.endswith("wrong") for o in before)
    # a near miss is never right: fewer get a stored answer directly, and no more get one at all
    assert near_after.count("direct right") < near_before.count("direct right")
    assert sum(o != "abstained" for o in near_after) <= sum(o != "abstained" for o in near_before)
    assert workbook.read_bytes() == written  # the owner's file is unchanged: learned wordings live beside the index
    assert (service.settings.index_dir / LEARNED_FILE).is_file()


@pytest.mark.slow
def test_a_wording_rejected_for_an_entry_is_not_answered_with_it_again(company):
    service, log, _ = company
    question = "停车位每月收费多少"  # a near miss the parking entry answers directly
    answer = service.ask(question)
    assert answer.route == "fact" and not answer.abstained
    log.record(question, answer, "employee", "c1")
    log.feedback(answer.answer_id, "down")

    learn(service.router, log.rows())

    again = service.ask(question)
    assert again.abstained or again.route != "fact" or again.sources[0].text != answer.sources[0].text
    assert service.ask(COMPANY["faq"][1][0]).route == "fact"  # the entry itself still answers its own question


def test_the_app_learns_again_only_once_enough_new_labels_are_in_the_log(company):
    service, log, _ = company
    loop = LearningLoop(service, log, after=3)

    def rate_up(number):
        question, entry = COMPANY["clicked"][number]
        answer = service.ask(COMPANY["faq"][entry][0])  # asked as written: answered with its entry
        log.record(question, answer, "employee", f"c{number}")
        log.feedback(answer.answer_id, "up")

    rate_up(0), rate_up(1)
    assert loop.check() is None and load(service.settings.index_dir) is None
    rate_up(2)
    report = loop.check()
    assert report is not None and len(report.labels) == 3
    assert load(service.settings.index_dir).labels == 3
    assert loop.check() is None  # nothing new since


@pytest.mark.slow
def test_after_learning_a_clicked_wording_waits_in_review_with_its_entry_chosen_for_the_owner(company):
    """A wording people confirmed becomes a similar question in the owner's file only by the owner's click in
    待完善: the group of a question that was not answered when asked now offers the clicked entry at the chance
    the router answers with (router.FACT), so the web page chooses it and one click adds it."""
    from agent.answer.router import FACT
    from agent.memory.review import Review

    service, log, _ = company
    ask_as_people_do(service, log)
    learn(service.router, log.rows())

    clicked = {question: entry for question, entry in COMPANY["clicked"]}
    waiting = [group for group in Review(service, log).groups() if group.question in clicked]
    assert waiting, "no clicked wording was left unanswered when asked"
    for group in waiting:
        best = max(group.candidates.faq, key=lambda candidate: candidate.probability)
        assert best.entry.question == COMPANY["faq"][clicked[group.question]][0]
        assert best.probability >= FACT
