"""`python -m bench.tool_calls`: how often the real local model, through Qwen-Agent's function-calling prompt, calls
the right knowledge tool with valid arguments (issue 26 part 3).

Each question below names the tool a person would expect and what its arguments must hold. The model gets what
the document route gives it: the assistant's system prompt, the question, and the four built-in tools
(abbreviation_lookup, faq_lookup, doc_search, current_date) as Qwen-Agent describes them (its default `nous`
prompt, `<tool_call>{"name": …, "arguments": …}</tool_call>`), through `llm.chat(..., functions=...)` as
FnCallAgent calls it. A call counts when it names the expected tool, its arguments parse as JSON and satisfy the
tool's schema (jsonschema), and the argument named in the case holds the expected text. Greedy decoding, so one
run is the figure. The questions were written for this check, before any run.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import report
from bench.quality import SAMPLE_KNOWLEDGE, offline_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolCase:
    question: str
    tool: str
    argument: str = ""  # the argument that must hold `holds` ("" when any valid arguments do)
    holds: tuple[str, ...] = ()  # any of these, case folded


CASES = [
    ToolCase("AM是什么意思？请查一下术语表。", "abbreviation_lookup", "term", ("am",)),
    ToolCase("帮我查一下缩写KPI的含义", "abbreviation_lookup", "term", ("kpi",)),
    ToolCase("What does POC stand for?", "abbreviation_lookup", "term", ("poc",)),
    ToolCase("今天几号？", "current_date"),
    ToolCase("What is the date today in Berlin?", "current_date", "timezone", ("berlin",)),
    ToolCase("年假怎么申请？请在常见问题里找一下。", "faq_lookup", "question", ("年假",)),
    ToolCase("每个月几号发工资？查一下FAQ。", "faq_lookup", "question", ("工资",)),
    ToolCase("在公司文档里搜索差旅住宿标准", "doc_search", "query", ("住宿", "差旅")),
    ToolCase("售后流程中客户经理负责什么？请检索文档。", "doc_search", "query", ("售后", "客户经理")),
    ToolCase("Search the documents for the visitor rules.", "doc_search", "query", ("visitor", "访客")),
]


def judge(case: ToolCase, messages: list, schemas: dict[str, dict]) -> dict:
    """What the model did with one question: which tool it called, whether its arguments are valid, whether it
    is the expected call."""
    import jsonschema

    call = next((m.function_call for m in messages if getattr(m, "function_call", None)), None)
    text = "".join(m.content for m in messages if isinstance(getattr(m, "content", None), str))
    row = {"question": case.question, "expected": case.tool, "called": call.name if call else "",
           "arguments": call.arguments if call else "", "text": text[:200]}
    if call is None:
        return {**row, "valid_arguments": False, "right": False}
    try:
        arguments = json.loads(call.arguments or "{}")
        jsonschema.validate(arguments, schemas.get(call.name, {"not": {}}))
        valid = isinstance(arguments, dict)
    except (ValueError, jsonschema.ValidationError):
        arguments, valid = {}, False
    value = str(arguments.get(case.argument, "")).casefold() if case.argument and valid else ""
    right = valid and call.name == case.tool and (not case.holds or any(h in value for h in case.holds))
    return {**row, "valid_arguments": valid, "right": right}


def run(model: str, max_new_tokens: int, work: Path) -> dict:
    import torch
    from qwen_agent.llm.schema import SYSTEM, USER, Message

    from agent.answer.assistant import SYSTEM_PROMPT
    from agent.answer.service import KnowledgeService

    torch.set_num_threads(2)
    settings = dataclasses.replace(offline_settings(SAMPLE_KNOWLEDGE, work / "sample-index"), llm_local_path=model,
                                   llm_max_new_tokens=max_new_tokens)
    service = KnowledgeService(settings)
    assistant = service.assistant
    tools = {name: assistant.function_map[name] for name in ("abbreviation_lookup", "faq_lookup", "doc_search",
                                                              "current_date")}
    functions = [tool.function for tool in tools.values()]
    schemas = {name: tool.function["parameters"] for name, tool in tools.items()}
    rows = []
    for case in CASES:
        started = time.perf_counter()
        messages = assistant.llm.chat(messages=[Message(SYSTEM, SYSTEM_PROMPT), Message(USER, case.question)],
                                      functions=functions, stream=False)
        rows.append({**judge(case, messages, schemas), "seconds": round(time.perf_counter() - started, 1)})
        log.info("%s -> %s %s", case.question, rows[-1]["called"] or "no call", rows[-1]["arguments"])
    count = len(rows)
    return {"environment": report.environment(), "model": model, "max_new_tokens": max_new_tokens,
            "questions": count, "called_a_tool": sum(bool(r["called"]) for r in rows),
            "right_tool": sum(r["called"] == r["expected"] for r in rows),
            "valid_arguments": sum(r["valid_arguments"] for r in rows),
            "right_call": sum(r["right"] for r in rows), "right_share": round(sum(r["right"] for r in rows) / count, 3),
            "seconds_per_question": round(sum(r["seconds"] for r in rows) / count, 1), "rows": rows}


def markdown(result: dict, command: str) -> str:
    examples = [r for r in result["rows"] if r["text"].strip()][:2]
    lines = [
        "## Tool calling with the real local model (`python -m bench.tool_calls`)",
        "",
        report.environment_markdown(result["environment"]),
        "",
        f"`{command}`: {result['questions']} questions written for this check, each expecting one of the four "
        f"built-in tools, asked of `{result['model']}` through Qwen-Agent's function-calling prompt (its default "
        f"`nous` format) with the assistant's system prompt, greedy, at most {result['max_new_tokens']} new tokens. "
        "A call is right when it names the expected tool and its arguments parse, satisfy the tool's schema and "
        "hold the expected text.",
        "",
        report.markdown_table(["", "of " + str(result["questions"])], [
            ["called any tool", result["called_a_tool"]], ["called the expected tool", result["right_tool"]],
            ["valid arguments", result["valid_arguments"]], ["right call (tool and arguments)", result["right_call"]],
        ]),
        "",
        f"{result['seconds_per_question']} s per question.",
    ]
    if examples:
        lines += ["", "What it wrote instead, for example:", ""]
        lines += [f"- {r['question']} → “{r['text'][:120].strip()}”".replace("\n", " ") for r in examples]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tool_calls", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    report.add_local_model_arguments(parser, max_new_tokens=80)
    args = parser.parse_args(argv)
    report.configure_logging(logging.INFO)
    result = run(args.model, args.max_new_tokens, Path(args.work))
    command = ("python -m bench.tool_calls " + " ".join(sys.argv[1:] if argv is None else argv)).strip()
    if args.write_docs:
        report.write_docs_section(Path(args.docs), "tool-calls", markdown(result, command))
    print(json.dumps(result, ensure_ascii=False) if args.json else markdown(result, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
