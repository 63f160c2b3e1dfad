"""Tools that answer without a model: a tool file with example questions, dropped into the tools folder,
runs for a question that means the same, with no LLM configured; other questions never run it."""
import datetime

import pytest

from agent.answer.service import KnowledgeService
from agent.settings import Settings
from tests.conftest import clear_assistant_env

WAREHOUSE_TOOL = '''
from agent.answer.tooling import kb_tool

CALLS = []


@kb_tool(examples=["仓库今天有多少个空货位？", "仓库还剩几个空位？", "How many empty slots does the warehouse have?"])
def warehouse_free_slots() -> dict:
    """How many storage slots in the warehouse are free right now."""
    CALLS.append(1)
    return {"空货位": 42}


@kb_tool(examples=["把 3 个货位预留给退货", "预留 5 个货位"])
def reserve_slots(count: int) -> dict:
    """Reserve storage slots in the warehouse.

    Args:
        count: How many slots to reserve.
    """
    return {"预留货位": count}


@kb_tool(examples=["这个员工的工号是多少？"])
def employee_number(name: str) -> str:
    """An employee's number, by name.

    Args:
        name: The employee's full name.
    """
    return "A001"
'''


@pytest.fixture(scope="module")
def service(company_knowledge, tmp_path_factory):
    tools = tmp_path_factory.mktemp("tools")
    (tools / "warehouse.py").write_text(WAREHOUSE_TOOL, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        clear_assistant_env(patch)
        yield KnowledgeService(Settings.from_env(knowledge_dir=company_knowledge,
                                                 index_dir=company_knowledge.parent / "index"), tools_dir=tools)


@pytest.mark.parametrize("question", ["仓库里现在还有几个空货位？", "how many free slots are left in the warehouse?"])
def test_a_question_meaning_a_tools_example_runs_it_without_an_llm(service, question):
    answer = service.ask(question)

    assert answer.llm == "none" and answer.route == "tool" and not answer.abstained
    assert "42" in answer.text and "warehouse_free_slots" in answer.text
    assert (answer.sources[0].source, answer.sources[0].location) == ("warehouse_free_slots", "tool")
    # below the chance a direct answer needs, the tool's result comes with a question to confirm it
    assert answer.confidence >= 0.8 or (answer.tentative and answer.text.startswith(("您问的是不是", "Did you mean")))


def test_a_numeric_argument_is_taken_from_the_question(service):
    answer = service.ask("帮我预留 7 个货位")

    assert answer.route == "tool" and "预留货位：7" in answer.text


def test_a_tool_whose_arguments_the_question_cannot_give_is_left_to_the_llm(service):
    assert service.ask("这个员工的工号是多少？").route != "tool"


@pytest.mark.parametrize("question", ["AM是什么意思？", "年假怎么申请？", "公司的股票代码是多少？", "仓库在哪个城市？",
                                      "今天几号发工资？"])
def test_questions_the_tools_do_not_answer_never_run_them(service, question):
    assert service.ask(question).route != "tool"


def test_the_bundled_date_tool_answers_what_day_it_is(service):
    answer = service.ask("今天是几号？")

    assert answer.route == "tool" and "current_date" in answer.text
    today = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).date().isoformat()
    assert today in answer.text


def test_a_tool_that_fails_is_said_so_and_the_service_goes_on(company_knowledge, tmp_path):
    (tmp_path / "flaky.py").write_text(WAREHOUSE_TOOL.replace('CALLS.append(1)', 'raise OSError("disk gone")'),
                                       encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        clear_assistant_env(patch)
        service = KnowledgeService(Settings.from_env(knowledge_dir=company_knowledge,
                                                     index_dir=company_knowledge.parent / "index"), tools_dir=tmp_path)
        failed = service.ask("仓库还剩几个空位？")

        assert failed.route == "tool" and failed.abstained and "warehouse_free_slots" in failed.text
        assert service.ask("AM是什么意思？").route == "term"
