"""The grounding guard: a generated document answer is shown only when it stands on the passages it cites.

A small local model (Gemma 3 270M here) and, at times, a large one write answers that look fine and are not:
they copy the system prompt, invent a sentence, say the same sentence three times, or spell out their chat
template (`<end_of_turn>`, `<|im_start|>`). `check_grounding` reads the finished text against the numbered
passages it was given and names the first problem, in this order:

- template tokens:  a chat-template marker (`<|…|>`, `<start_of_turn>`, `<end_of_turn>`, `<bos>`, `[INST]` …) or
                    a line that is only a role name ("user", "model"), left where a marker was dropped;
- empty:            no words at all;
- loop:             a sentence said twice (numbers, citations and punctuation aside), or a text whose
                    8-character pieces are mostly repeats of earlier ones;
- no citation:      no [n] naming a passage it was given, and no tool result it could stand on (an answer the
                    model wrote from a tool's result, in the doc route's function calling, need cite no [n]);
- unsupported:      a sentence (of 4 tokens or more) less than half supported by the passages it cites (its
                    own [n], else every passage the answer cites, and the run's tool results): support is the
                    mean of the shares of its
                    tokens and of its token pairs found there. Tokens are Chinese characters and Latin words,
                    case and width folded, so a sentence that copies or closely rewords a passage passes and one
                    that says something else does not. An answer in another language than its passages fails.

`guarded_answer` replaces a rejected answer by the extractive one (agent/answer/replies.py), with a note
before the quotes and the problem as one more clause of `reason`. The thresholds were set on hand-written
texts (tests/test_grounding.py) and measured on CMRC2018 with the real model (`python -m bench.guard`,
docs/benchmarks.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.answer.reasons import Reason, because, worded
from agent.answer.replies import extractive_answer
from agent.records import Answer
from agent.text.normalize import fold, has_cjk

if TYPE_CHECKING:
    from agent.answer.router import RouteDecision
    from agent.index.knowledge_base import KnowledgeBase

MIN_SUPPORT = 0.5  # least support (shares of tokens and token pairs found in the passages it cites, averaged)
MIN_SENTENCE_TOKENS = 4  # shorter sentences ("是的。", "Yes.") are not judged on support
LOOP_PIECE = 8  # characters per piece when looking for a text that goes round in circles
MAX_REPEATED_PIECES = 0.4  # share of pieces that repeat an earlier one above which the text is a loop
MIN_LOOP_CHARS = 40  # texts shorter than this are judged by repeated sentences only
MIN_REPEATED_SENTENCE_CHARS = 4

TEMPLATE_TOKEN = re.compile(
    r"<\|[^<>|\n]{1,64}\|>"  # ChatML and friends: <|im_start|>, <|im_end|>, <|endoftext|>, <|assistant|>
    r"|</?(?:start_of_turn|end_of_turn|bos|eos|pad|unk|s|think|tool_call|tool_response)>"  # Gemma, Llama, Qwen3
    r"|\[/?INST\]|<</?SYS>>|✿(?:FUNCTION|ARGS|RESULT|RETURN)✿",  # Llama 2, Qwen-Agent's own function markers
    re.IGNORECASE)
ROLE_LINE = re.compile(r"^[ \t]*(?:user|model|assistant|system|human|用户|助手)[ \t]*[:：]?[ \t]*$",
                       re.IGNORECASE | re.MULTILINE)
CITATION = re.compile(r"[\[【]\s*(\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)\s*[\]】]")
SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])|(?<=\.)(?=\s)")
TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]|[0-9a-z]+")
NOT_WORDS = re.compile(r"[\W\d_]+")

PROBLEMS = ("template_tokens", "empty", "loop", "no_citation", "unsupported")


@dataclass(frozen=True)
class SentenceSupport:
    text: str
    cited: tuple[int, ...]  # the passage numbers it was compared with
    support: float  # mean share of its tokens and token pairs found there


@dataclass(frozen=True)
class Grounding:
    """The guard's verdict on one generated answer: `problem` is "" when it stands, else one of PROBLEMS."""

    problem: str = ""
    detail: str = ""  # the leaked marker, or "2 of 3 sentences"
    sentences: tuple[SentenceSupport, ...] = ()

    @property
    def grounded(self) -> bool:
        return not self.problem

    def reason_clause(self) -> Reason:
        """The problem as one of the answer's reasons (agent.answer.reasons)."""
        if self.problem == "template_tokens":
            return because("generated_template_tokens", detail=self.detail)
        if self.problem == "unsupported":
            weak = sum(sentence.support < MIN_SUPPORT for sentence in self.sentences)
            return because("generated_unsupported", unsupported=weak, sentences=len(self.sentences))
        return because(f"generated_{self.problem}")


def check_grounding(text: str, passages: list[str], tool_results: list[str] | tuple[str, ...] = ()) -> Grounding:
    """The first problem of a generated answer `text` whose [n] cite `passages` (numbered from 1), written after
    the tools returned `tool_results` (their texts) if it called any."""
    leaked = TEMPLATE_TOKEN.search(text) or ROLE_LINE.search(text)
    if leaked:
        return Grounding("template_tokens", leaked.group(0).strip())
    body = CITATION.sub(" ", text)
    if not TOKEN.search(fold(body)):
        return Grounding("empty")
    if _loops(body):
        return Grounding("loop")
    cited_all = _cited(text, len(passages))
    tool_results = [result for result in tool_results if result and result.strip()]
    if not cited_all and not tool_results:
        return Grounding("no_citation")
    judged = []
    for sentence in _sentences(text):
        tokens = _tokens(CITATION.sub(" ", sentence))
        if len(tokens) < MIN_SENTENCE_TOKENS:
            continue
        cited = _cited(sentence, len(passages))
        sources = [passages[n - 1] for n in cited] if cited else [*(passages[n - 1] for n in cited_all), *tool_results]
        judged.append(SentenceSupport(sentence.strip(), cited or cited_all, _support(tokens, sources)))
    weak = [s for s in judged if s.support < MIN_SUPPORT]
    if weak:
        return Grounding("unsupported", f"{len(weak)} of {len(judged)}", tuple(judged))
    return Grounding(sentences=tuple(judged))


def check_partial(text: str) -> Grounding:
    """What can be told of an answer still being written: a leaked marker or a loop in its finished sentences
    (the last, unfinished one is left out). Either makes the whole answer fail, so generation may stop there."""
    finished = text[:max(text.rfind(end) for end in "。！？!?；;\n") + 1]
    leaked = TEMPLATE_TOKEN.search(text) or ROLE_LINE.search(finished)
    if leaked:
        return Grounding("template_tokens", leaked.group(0).strip())
    return Grounding("loop") if _loops(CITATION.sub(" ", finished)) else Grounding()


def guarded_answer(answer: Answer, decision: "RouteDecision", question: str, kb: "KnowledgeBase | None" = None,
                   tool_results: list[str] | tuple[str, ...] = ()) -> Answer:
    """`answer` when it is grounded in the decision's passages (and the tools' results, when the model called
    tools); otherwise the extractive answer, saying why."""
    grounding = check_grounding(answer.text, [hit.passage.text for hit in decision.hits], tool_results)
    if grounding.grounded:
        return answer
    return fallback_answer(answer, decision, question, grounding.reason_clause(), kb)


def fallback_answer(answer: Answer, decision: "RouteDecision", question: str, clause: Reason,
                    kb: "KnowledgeBase | None" = None, timed_out: bool = False) -> Answer:
    """The extractive answer in place of a generated one, `clause` added to its reason; it keeps the generated
    answer's fields that are not about its text (the model's name, the rewritten question). The note before
    the quotes says whether the model's answer failed the check or did not come in time."""
    if timed_out:
        note = ("（语言模型未能及时作答，以下为文档原文摘录）" if has_cjk(question) else
                "(The language model did not answer in time; these are extracts from the documents.)")
    else:
        note = ("（语言模型的回答没有通过检查，以下为文档原文摘录）" if has_cjk(question) else
                "(The language model's answer did not pass the check; these are extracts from the documents.)")
    quoted = extractive_answer(decision, question, note=note, kb=kb)
    quoted.reasons = [*(answer.reasons or decision.reasons), clause]
    quoted.reason = worded(quoted.reasons)
    quoted.llm, quoted.rewritten = answer.llm, answer.rewritten
    return quoted


def _cited(text: str, count: int) -> tuple[int, ...]:
    numbers = (int(n) for group in CITATION.findall(text) for n in re.split(r"\s*[,，、]\s*", group))
    return tuple(dict.fromkeys(n for n in numbers if 1 <= n <= count))


def _sentences(text: str) -> list[str]:
    """Sentences, each keeping a citation that closes it ("…提交申请。[1]" belongs to "…提交申请。")."""
    pieces = [p for p in SENTENCE_END.split(text) if p.strip()]
    sentences: list[str] = []
    for piece in pieces:
        if sentences and not _tokens(CITATION.sub(" ", piece)) and CITATION.search(piece):
            sentences[-1] += piece
        else:
            sentences.append(piece)
    return sentences


def _tokens(text: str) -> list[str]:
    return TOKEN.findall(fold(text))


def _pairs(tokens: list[str]) -> set[tuple[str, str]]:
    return set(zip(tokens, tokens[1:]))


def _support(tokens: list[str], passages: list[str]) -> float:
    """The mean of the shares of its tokens and of its token pairs found in the passages: pairs alone are too
    strict for reworded English ("apply for" beside "applied for"), tokens alone too lenient for Chinese."""
    passage_tokens = [_tokens(p) for p in passages]
    known_tokens = set().union(*passage_tokens) if passages else set()
    known_pairs = set().union(*(_pairs(t) for t in passage_tokens)) if passages else set()
    pairs = list(zip(tokens, tokens[1:]))
    token_share = sum(token in known_tokens for token in tokens) / len(tokens)
    pair_share = sum(pair in known_pairs for pair in pairs) / len(pairs) if pairs else token_share
    return (token_share + pair_share) / 2


def _loops(text: str) -> bool:
    seen: set[str] = set()
    for sentence in _sentences(text):
        words = NOT_WORDS.sub("", fold(sentence))
        if len(words) >= MIN_REPEATED_SENTENCE_CHARS:
            if words in seen:
                return True
            seen.add(words)
    compact = NOT_WORDS.sub("", fold(text))
    if len(compact) < MIN_LOOP_CHARS:
        return False
    pieces = [compact[i:i + LOOP_PIECE] for i in range(len(compact) - LOOP_PIECE + 1)]
    return 1 - len(set(pieces)) / len(pieces) > MAX_REPEATED_PIECES
