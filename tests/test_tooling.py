"""A developer adds an agent tool by writing a typed, documented Python function."""
from __future__ import annotations

import json
import shutil
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Literal, Optional
from zoneinfo import ZoneInfo

import pytest
import qwen_agent.tools  # noqa: F401  registers Qwen-Agent's own tools, as in the running app
from qwen_agent.agents import FnCallAgent
from qwen_agent.llm import BaseChatModel
from qwen_agent.llm.schema import ASSISTANT, FUNCTION, USER, FunctionCall, Message
from qwen_agent.tools.base import TOOL_REGISTRY

from agent.answer.tooling import discover_tools, kb_tool

REPO_TOOLS = Path(__file__).resolve().parent.parent / "tools"


@pytest.fixture(autouse=True)
def restore_tool_registry():
    """Each test registers its own tools; the global registry is put back afterwards."""
    saved = dict(TOOL_REGISTRY)
    yield
    TOOL_REGISTRY.clear()
    TOOL_REGISTRY.update(saved)


def schema_of(tool_name: str) -> dict:
    return TOOL_REGISTRY[tool_name]().function


def call_tool(tool_name: str, params) -> str:
    return TOOL_REGISTRY[tool_name]().call(params)


def define_lookup_tool():
    @kb_tool
    def lookup_term(abbreviation: str, top_k: int = 3, exact: Optional[bool] = None) -> dict:
        """Look up what a company abbreviation stands for.

        Longer explanation that the model does not need.

        Args:
            abbreviation: The abbreviation as the employee wrote it,
                for example "SOP".
            top_k (int): How many meanings to return.
            exact: Only exact spelling matches.

        Returns:
            The meanings found.
        """
        return {"abbreviation": abbreviation, "top_k": top_k, "exact": exact}

    return lookup_term


# --- the schema comes from the signature and the docstring ---


def test_name_and_description_come_from_function_name_and_docstring_summary():
    define_lookup_tool()

    schema = schema_of("lookup_term")

    assert schema["name"] == "lookup_term"
    assert schema["description"] == "Look up what a company abbreviation stands for."


def test_arguments_without_defaults_are_required_and_the_rest_optional():
    define_lookup_tool()

    parameters = schema_of("lookup_term")["parameters"]

    assert parameters["required"] == ["abbreviation"]
    assert set(parameters["properties"]) == {"abbreviation", "top_k", "exact"}
    assert parameters["properties"]["top_k"]["default"] == 3


def test_argument_types_follow_the_type_hints():
    @kb_tool
    def typed(text: str, count: int, ratio: float, flag: bool, tags: list[str], sizes: list[int]) -> str:
        """Accept one argument of each supported type.

        Args:
            text: Text.
            count: Count.
            ratio: Ratio.
            flag: Flag.
            tags: Tags.
            sizes: Sizes.
        """
        return "ok"

    properties = schema_of("typed")["parameters"]["properties"]

    assert {name: spec["type"] for name, spec in properties.items()} == {
        "text": "string", "count": "integer", "ratio": "number", "flag": "boolean", "tags": "array", "sizes": "array"
    }
    assert properties["tags"]["items"] == {"type": "string"}
    assert properties["sizes"]["items"] == {"type": "integer"}


def test_optional_hint_is_unwrapped_to_its_type():
    define_lookup_tool()

    assert schema_of("lookup_term")["parameters"]["properties"]["exact"]["type"] == "boolean"


def test_optional_hint_without_default_is_not_required_and_passes_none_when_left_out():
    @kb_tool
    def annotate(text: str, note: Optional[str]) -> dict:
        """Attach a note to a text.

        Args:
            text: The text.
            note: The note, if any.
        """
        return {"text": text, "note": note}

    assert schema_of("annotate")["parameters"]["required"] == ["text"]
    assert json.loads(call_tool("annotate", {"text": "hi"})) == {"text": "hi", "note": None}


def test_literal_hint_becomes_an_enum():
    @kb_tool
    def pick_route(route: Literal["term", "fact", "doc"]) -> str:
        """Choose how a question is answered.

        Args:
            route: The route.
        """
        return route

    spec = schema_of("pick_route")["parameters"]["properties"]["route"]

    assert spec == {"type": "string", "enum": ["term", "fact", "doc"], "description": "The route."}


def test_argument_descriptions_come_from_the_args_section_including_continuation_lines():
    define_lookup_tool()

    properties = schema_of("lookup_term")["parameters"]["properties"]

    assert properties["abbreviation"]["description"] == 'The abbreviation as the employee wrote it, for example "SOP".'
    assert properties["top_k"]["description"] == "How many meanings to return."
    assert properties["exact"]["description"] == "Only exact spelling matches."


def test_name_can_be_given_explicitly():
    @kb_tool(name="term_lookup")
    def lookup(abbreviation: str) -> str:
        """Look up an abbreviation.

        Args:
            abbreviation: The abbreviation.
        """
        return abbreviation

    assert schema_of("term_lookup")["name"] == "term_lookup"
    assert "lookup" not in TOOL_REGISTRY


def test_function_without_docstring_is_refused_at_decoration():
    with pytest.raises(TypeError, match="docstring"):

        @kb_tool
        def undocumented(text: str) -> str:
            return text


def test_argument_missing_from_args_section_is_refused_at_decoration():
    with pytest.raises(TypeError, match="limit"):

        @kb_tool
        def search(query: str, limit: int = 5) -> str:
            """Search the documents.

            Args:
                query: What to search for.
            """
            return query


def test_unsupported_type_hint_is_refused_at_decoration():
    with pytest.raises(TypeError, match="unsupported type"):

        @kb_tool
        def takes_path(path: Path) -> str:
            """Read a path.

            Args:
                path: The path.
            """
            return str(path)


def test_name_of_a_qwen_agent_tool_is_refused():
    assert "doc_parser" in TOOL_REGISTRY
    builtin = TOOL_REGISTRY["doc_parser"]

    with pytest.raises(ValueError, match="doc_parser"):

        @kb_tool(name="doc_parser")
        def parse(text: str) -> str:
            """Parse.

            Args:
                text: Text.
            """
            return text

    assert TOOL_REGISTRY["doc_parser"] is builtin


# --- the function stays a function ---


def test_decorated_function_stays_callable_as_a_plain_function():
    lookup_term = define_lookup_tool()

    assert lookup_term("SOP", top_k=1) == {"abbreviation": "SOP", "top_k": 1, "exact": None}


def test_registering_the_same_name_again_replaces_the_tool():
    @kb_tool(name="greet")
    def greet_v1(person: str) -> str:
        """Greet someone.

        Args:
            person: Who.
        """
        return f"hello {person}"

    @kb_tool(name="greet")
    def greet_v2(person: str) -> str:
        """Greet someone warmly.

        Args:
            person: Who.
        """
        return f"welcome {person}"

    assert call_tool("greet", {"person": "Li"}) == "welcome Li"


# --- calling the tool the way an agent does ---


def test_arguments_given_as_a_json_string_are_parsed_and_passed_on():
    define_lookup_tool()

    result = call_tool("lookup_term", '{"abbreviation": "SOP", "top_k": 2}')

    assert json.loads(result) == {"abbreviation": "SOP", "top_k": 2, "exact": None}


def test_optional_argument_sent_as_null_gets_its_default():
    define_lookup_tool()

    result = call_tool("lookup_term", {"abbreviation": "SOP", "top_k": None})

    assert json.loads(result)["top_k"] == 3


def test_dict_result_is_json_with_chinese_characters_kept():
    @kb_tool
    def explain(abbreviation: str) -> dict:
        """Explain an abbreviation.

        Args:
            abbreviation: The abbreviation.
        """
        return {"abbreviation": abbreviation, "chinese": "标准作业程序"}

    result = call_tool("explain", {"abbreviation": "SOP"})

    assert "标准作业程序" in result
    assert json.loads(result) == {"abbreviation": "SOP", "chinese": "标准作业程序"}


@pytest.mark.parametrize(
    ("params", "named_in_error"),
    [
        ({"top_k": 2}, "abbreviation"),  # required argument missing
        ({"abbreviation": "SOP", "top_k": "two"}, "top_k"),  # wrong type
        ({"abbreviation": "SOP", "limit": 2}, "limit"),  # unknown argument
        ('{"abbreviation": "SOP"', "JSON"),  # malformed JSON
        ("[1, 2]", "JSON object"),  # JSON, but not an object
    ],
)
def test_bad_arguments_give_a_json_error_instead_of_an_exception(params, named_in_error):
    define_lookup_tool()

    result = call_tool("lookup_term", params)

    error = json.loads(result)["error"]
    assert "lookup_term" in error
    assert named_in_error in error


def test_value_outside_the_literal_choices_gives_a_json_error():
    @kb_tool
    def pick_route(route: Literal["term", "fact", "doc"]) -> str:
        """Choose how a question is answered.

        Args:
            route: The route.
        """
        return route

    error = json.loads(call_tool("pick_route", {"route": "web"}))["error"]

    assert "web" in error and "route" in error


def test_exception_inside_the_tool_gives_a_json_error():
    @kb_tool
    def divide(numerator: int, denominator: int) -> float:
        """Divide two numbers.

        Args:
            numerator: Top.
            denominator: Bottom.
        """
        return numerator / denominator

    error = json.loads(call_tool("divide", {"numerator": 1, "denominator": 0}))["error"]

    assert "ZeroDivisionError" in error


# --- discovery of a tools folder ---

GUESTBOOK_TOOL = '''
from pathlib import Path

from agent.answer.tooling import kb_tool


@kb_tool
def sign_guestbook(visitor: str) -> str:
    """Write a visitor's name into the guest book next to this file.

    Args:
        visitor: Who came.
    """
    book = Path(__file__).with_name("guestbook.txt")
    with book.open("a", encoding="utf-8") as handle:
        handle.write(visitor + "\\n")
    return f"signed by {visitor}, ticket 4711"
'''


def write_tool_file(folder: Path, file_name: str, source: str) -> Path:
    path = folder / file_name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def test_discovery_registers_a_tool_file_from_any_folder(tmp_path):
    write_tool_file(tmp_path, "guestbook.py", GUESTBOOK_TOOL)

    discovery = discover_tools(tmp_path)

    assert discovery.tools == ["sign_guestbook"]
    assert discovery.errors == {}
    assert call_tool("sign_guestbook", {"visitor": "王芳"}) == "signed by 王芳, ticket 4711"
    assert (tmp_path / "guestbook.txt").read_text(encoding="utf-8") == "王芳\n"


def test_discovery_reports_broken_modules_and_still_loads_the_others(tmp_path):
    write_tool_file(tmp_path, "guestbook.py", GUESTBOOK_TOOL)
    syntax_error = write_tool_file(tmp_path, "a_syntax_error.py", "def broken(:\n")
    raises = write_tool_file(tmp_path, "b_raises.py", "raise RuntimeError('missing API key')\n")

    discovery = discover_tools(tmp_path)

    assert discovery.tools == ["sign_guestbook"]
    assert set(discovery.errors) == {str(syntax_error), str(raises)}
    assert "SyntaxError" in discovery.errors[str(syntax_error)]
    assert "missing API key" in discovery.errors[str(raises)]


def test_tools_of_a_module_that_fails_halfway_are_not_registered(tmp_path):
    write_tool_file(tmp_path, "half.py", '''
        from agent.answer.tooling import kb_tool

        @kb_tool
        def half_done(text: str) -> str:
            """Echo.

            Args:
                text: Text.
            """
            return text

        raise ImportError("needs a package that is not installed")
    ''')

    discovery = discover_tools(tmp_path)

    assert discovery.tools == []
    assert "half_done" not in TOOL_REGISTRY


def test_discovery_skips_files_starting_with_an_underscore(tmp_path):
    write_tool_file(tmp_path, "_helpers.py", "raise RuntimeError('a helper must not be imported as a tool')\n")
    write_tool_file(tmp_path, "__init__.py", "raise RuntimeError('nor the package file')\n")

    discovery = discover_tools(tmp_path)

    assert discovery.tools == [] and discovery.errors == {}


def test_discovering_the_same_folder_again_reloads_without_error(tmp_path):
    tool_file = write_tool_file(tmp_path, "guestbook.py", GUESTBOOK_TOOL)
    discover_tools(tmp_path)
    tool_file.write_text(GUESTBOOK_TOOL.replace("ticket 4711", "ticket 4712"), encoding="utf-8")

    discovery = discover_tools(tmp_path)

    assert discovery.tools == ["sign_guestbook"] and discovery.errors == {}
    assert call_tool("sign_guestbook", {"visitor": "Li"}) == "signed by Li, ticket 4712"


def test_discovery_of_a_missing_folder_says_which_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such_tools"):
        discover_tools(tmp_path / "no_such_tools")


# --- an agent finds and calls a discovered tool ---


class ScriptedLLM(BaseChatModel):
    """Test double for a chat model: first asks for one tool call, then answers with the tool's result."""

    def __init__(self, tool_name: str, arguments: dict):
        super().__init__({"model": "scripted-test-double"})
        self.tool_name = tool_name
        self.arguments = arguments
        self.offered_functions: list[dict] = []

    def _chat_with_functions(self, messages, functions, stream, delta_stream, generate_cfg, lang):
        self.offered_functions = functions
        tool_results = [message for message in messages if message.role == FUNCTION]
        if tool_results:
            reply = Message(role=ASSISTANT, content=f"The tool answered: {tool_results[-1].content}")
        else:
            call = FunctionCall(name=self.tool_name, arguments=json.dumps(self.arguments, ensure_ascii=False))
            reply = Message(role=ASSISTANT, content="", function_call=call, extra={"function_id": "1"})
        return iter([[reply]]) if stream else [reply]

    def _chat_stream(self, messages, delta_stream, generate_cfg):
        raise AssertionError("the agent was expected to offer tools to the model")

    def _chat_no_stream(self, messages, generate_cfg):
        raise AssertionError("the agent was expected to offer tools to the model")


def test_agent_calls_a_discovered_tool_and_answers_with_its_result(tmp_path):
    write_tool_file(tmp_path, "guestbook.py", GUESTBOOK_TOOL)
    discovery = discover_tools(tmp_path)
    llm = ScriptedLLM("sign_guestbook", {"visitor": "王芳"})
    agent = FnCallAgent(function_list=discovery.tools, llm=llm)

    messages = agent.run_nonstream([{"role": USER, "content": "请帮我签到"}])

    assert [function["name"] for function in llm.offered_functions] == ["sign_guestbook"]
    assert (tmp_path / "guestbook.txt").read_text(encoding="utf-8") == "王芳\n"
    assert messages[-1]["content"] == "The tool answered: signed by 王芳, ticket 4711"


# --- the example tool shipped in tools/ ---


def test_current_date_tool_gives_todays_date_in_the_requested_time_zone(tmp_path):
    shutil.copy(REPO_TOOLS / "current_date.py", tmp_path)
    discover_tools(tmp_path)
    zone = ZoneInfo("Pacific/Auckland")
    before = datetime.now(zone).date().isoformat()

    result = json.loads(call_tool("current_date", {"timezone": "Pacific/Auckland"}))

    assert result["date"] in {before, datetime.now(zone).date().isoformat()}
    assert result["timezone"] == "Pacific/Auckland"


def test_current_date_tool_reports_an_unknown_time_zone_as_an_error(tmp_path):
    shutil.copy(REPO_TOOLS / "current_date.py", tmp_path)
    discover_tools(tmp_path)

    result = json.loads(call_tool("current_date", {"timezone": "Mars/Olympus_Mons"}))

    assert "Mars/Olympus_Mons" in result["error"]
