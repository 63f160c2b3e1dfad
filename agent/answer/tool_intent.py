"""Tools that answer without a language model. A tool that declares example questions
(`@kb_tool(examples=[...])`) is matched against a question as if it were an FAQ entry whose stored and
similar questions are its examples: the FAQ decision's features, less those that compare a question with an
answer (a tool has none), and a model fitted on the same FAQ rows (calibration.json's "tool") give the chance
that the tool answers the question, so a tool runs only when that chance is as high as a stored answer needs. Arguments are taken from the question only
where they are numbers; a tool that needs anything else is left to the LLM."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from agent.answer import evidence
from agent.answer.faq_match import FaqMatcher
from agent.answer.understand import Understanding
from agent.index.vectors import faq_question_rows
from agent.records import FaqEntry

if TYPE_CHECKING:  # agent.answer.tooling loads Qwen-Agent, which a service without tools never needs
    from agent.answer.tooling import FunctionTool
    from agent.index.knowledge_base import KnowledgeBase

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_NUMERIC = {"integer": int, "number": float}


@dataclass(frozen=True)
class ToolMatch:
    tool: type[FunctionTool]
    probability: float
    matched_question: str  # the example closest to the question
    arguments: dict


class ToolIntents:
    """The tools of one knowledge base's service that declare examples and whose arguments a question can give."""

    def __init__(self, kb: "KnowledgeBase", tools: list[type[FunctionTool]]):
        self.kb = kb
        self.tools = [t for t in tools if t.examples and _fillable(t)]
        self.entries = [FaqEntry(t.examples[0], t.description, t.examples[1:], source=f"tool {t.name}")
                        for t in self.tools]

    @cached_property
    def matcher(self) -> FaqMatcher:
        return FaqMatcher(self.entries)

    @cached_property
    def _vectors(self):
        """The examples' vectors (question side) and the tool each belongs to; no vectors without an embedder."""
        texts, owners = faq_question_rows(self.entries)
        return self.kb.query_vectors(texts), owners

    def best(self, understanding: Understanding, background) -> ToolMatch | None:
        """The likeliest tool for the question with the arguments it gives; None without tools or arguments."""
        if not self.tools:
            return None
        questions, owners = self._vectors
        if understanding.vector is None or background is None:
            questions = None
        model = evidence.calibration("tool", self.kb.embedder_name if questions is not None else None)
        candidates = evidence.faq_candidates(understanding, self.matcher, questions, owners, None,
                                             background if questions is not None else None)
        scored = sorted(((model.probability(c.features), c) for c in candidates), key=lambda pair: -pair[0])
        for probability, candidate in scored:
            tool = self.tools[candidate.number]
            arguments = _arguments(tool, understanding.question)
            if arguments is not None:
                return ToolMatch(tool, round(probability, 3), candidate.matched_question, arguments)
        return None


def run_tool(match: ToolMatch, service=None) -> dict | str:
    """The tool's result, parsed when it is JSON; raises RuntimeError with the tool's own message on failure."""
    from agent.answer.tooling import SERVICE

    tool = match.tool(cfg={SERVICE: service} if match.tool.wants_service else {})
    output = tool.call(json.dumps(match.arguments))
    try:
        result = json.loads(output)
    except ValueError:
        return output
    if isinstance(result, dict) and set(result) == {"error"}:
        raise RuntimeError(str(result["error"]))
    return result


def _fillable(tool: type[FunctionTool]) -> bool:
    properties, required = tool.parameters["properties"], tool.parameters.get("required", [])
    return all(properties[name].get("type") in _NUMERIC for name in required)


def _arguments(tool: type[FunctionTool], question: str) -> dict | None:
    """The required numeric arguments, in order, from the numbers in the question; None when too few."""
    required = tool.parameters.get("required", [])
    numbers = _NUMBER.findall(question)
    if len(numbers) < len(required):
        return None
    properties = tool.parameters["properties"]
    return {name: _NUMERIC[properties[name]["type"]](float(number)) for name, number in zip(required, numbers)}
