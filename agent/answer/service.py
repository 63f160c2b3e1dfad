"""The running assistant for one knowledge folder: keeps the index up to date, holds the loaded
knowledge, and answers questions. The CLI, the web app, the HTTP API and the tools all go through it."""
from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from agent.answer.conversation import recent_messages
from agent.answer.followup import FollowUps, Resolution
from agent.answer.llm_rewrite import rewrite_with_llm
from agent.answer.reasons import because, worded
from agent.answer.replies import (answer_without_llm, document_lead, extractive_answer, term_model_answer,
                                  tool_answer, tool_failed_answer)
from agent.answer.tool_intent import run_tool
from agent.index.build import IngestReport, PendingVectors, ingest
from agent.index.embedders import Embedder, create_embedder
from agent.text.normalize import has_cjk, readable
from agent.index.knowledge_base import KnowledgeBase
from agent.records import Answer
from agent.answer.router import RouteDecision, Router
from agent.settings import REPO_ROOT, Settings
from agent.llm import describe_llm

log = logging.getLogger(__name__)
FOLLOW_EVERY_S = 2.0  # how often a running service looks for a generation published elsewhere

MAX_QUESTION_CHARS = 2000
BUILTIN_TOOLS_DIR = REPO_ROOT / "tools"  # abbreviation_lookup, faq_lookup, doc_search: the assistant needs them


@dataclass
class _Loaded:
    """Knowledge, router and assistant of one index generation, swapped as a whole."""

    kb: KnowledgeBase
    router: Router
    _assistant_factory: object

    @cached_property
    def assistant(self):
        return self._assistant_factory(self.router)

    @cached_property
    def followups(self) -> FollowUps:
        return FollowUps(self.router)


class KnowledgeService:
    def __init__(self, settings: Settings, tools_dir: Path | None = None, show_progress: bool = False,
                 llm=None, wait_for_vectors: bool = True):
        """`llm`: a Qwen-Agent chat model to use instead of the one the settings name (tests pass their
        named test doubles here, so they exercise the same path as production). `wait_for_vectors=False`
        (the web app) answers from the lexical index at once while vectors are computed in the background."""
        self.settings = settings
        self._llm = llm
        self.llm_name = llm.model if llm is not None else describe_llm(settings)
        self.tools_dir = tools_dir or BUILTIN_TOOLS_DIR
        self._refresh_lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self.last_report: IngestReport | None = None
        self.last_refresh_error: str | None = None  # why the latest re-index failed, for the knowledge tab
        self._watcher = None
        self._following = threading.Event()  # set to stop following published generations
        self._follower_started = False
        self.wait_for_vectors = wait_for_vectors
        self._embedder: tuple[Settings, Embedder] | None = None  # for indexing; the KnowledgeBase has its own
        self._pending: PendingVectors | None = None
        self.vector_error: str | None = None  # why the background embedding stopped, for the status
        self.refresh(show_progress=show_progress)

    @property
    def kb(self) -> KnowledgeBase:
        return self._loaded.kb

    @property
    def router(self) -> Router:
        return self._loaded.router

    def refresh(self, show_progress: bool = False) -> IngestReport:
        """Re-index what changed; questions keep being answered from the old index until the new one
        is loaded, then switch to it at once."""
        with self._refresh_lock:
            try:
                if self._pending is not None:
                    self._pending.cancel()  # its texts stay cached; this run plans what is still missing
                report = ingest(self.settings, show_progress=show_progress, embedder=self._index_embedder(),
                                wait_for_vectors=self.wait_for_vectors)
                if report.changed or self._loaded is None or self._published_elsewhere():
                    self._loaded = self._load()
            except Exception as exc:
                self.last_refresh_error = f"{type(exc).__name__}: {exc}"
                raise
            self.last_report, self.last_refresh_error = report, None
            self._pending, self.vector_error = report.pending, None
            if report.pending is not None:
                threading.Thread(target=self._complete_vectors, args=(report.pending,), name="vectors",
                                 daemon=True).start()
            return report

    @property
    def vector_progress(self) -> dict:
        """Vectors embedded of those the current index needs: {"done", "total"}."""
        pending = self._pending
        if pending is not None:
            return {"done": pending.done, "total": pending.total}
        kb = self.kb
        total = len(kb.passages) + len(kb.faq_vector_owners) + len(kb.terms)
        return {"done": total if kb.vectors_complete else 0, "total": total}

    def _index_embedder(self) -> Embedder:
        """One embedder for indexing, made again when the settings change."""
        if self._embedder is None or self._embedder[0] != self.settings:
            self._embedder = (self.settings, create_embedder(self.settings))
        return self._embedder[1]

    def _complete_vectors(self, pending: PendingVectors) -> None:
        """Background: embed what the published index lacks, then answer from the index with its vectors."""
        try:
            published = pending.run()
        except Exception as exc:  # an endpoint gone down: the lexical index keeps answering
            log.warning("vectors not completed: %s", exc)
            self.vector_error = f"{type(exc).__name__}: {exc}"
            return
        with self._refresh_lock:
            if published and self._pending is pending:
                self._pending = None
                if self._published_elsewhere():
                    self._loaded = self._load()

    def warm_up(self) -> None:
        """Load now what the first FAQ or document question would otherwise wait a second for (jieba's
        dictionary, the thesaurus, the FAQ matcher). Left out of start-up by default, so a glossary answer
        from a cold start stays fast."""
        self.router.faq.match("预热")
        self.kb.tokenizer.tokens("预热")

    def watch(self, debounce_s: float | None = None) -> None:
        """Re-index by itself whenever knowledge files change (see agent/ingest/watcher); a failure keeps the
        old index answering and is kept in last_refresh_error."""
        from agent.ingest.watcher import KnowledgeWatcher

        if self._watcher is None:
            delay = self.settings.watch_debounce_s if debounce_s is None else debounce_s
            self._watcher = KnowledgeWatcher(self.settings.knowledge_dir, self.refresh, delay).start()

    def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        self._following.set()

    def follow(self, every_s: float = FOLLOW_EVERY_S) -> None:
        """Switch to a generation another process publishes (an indexer, another replica) within `every_s`,
        without a restart: a replica that only reads the index answers from the knowledge as it is now."""
        def run():
            while not self._following.wait(every_s):
                self.switch_if_published()

        if not self._follower_started:
            self._follower_started = True
            threading.Thread(target=run, name="kb-follow-index", daemon=True).start()

    def switch_if_published(self) -> bool:
        """Load the published generation when it is not the one answering; True when it switched. A generation
        that cannot be loaded yet (being written, or removed meanwhile) is tried again on the next look."""
        from agent.index.store import IndexMissing

        try:
            with self._refresh_lock:
                if self._loaded is None or not self._published_elsewhere():
                    return False
                self._loaded = self._load()
        except (IndexMissing, OSError, ValueError) as exc:
            log.warning("the published index is not loaded yet: %s", exc)
            return False
        log.info("switched to the index generation %s", self._loaded.kb.generation.name)
        return True

    def _published_elsewhere(self) -> bool:
        """Another process (an ingest worker, another replica) may have published a newer generation."""
        from agent.index import store

        return store.current_generation(self.settings.index_dir) != self._loaded.kb.generation

    def _load(self) -> _Loaded:
        kb = KnowledgeBase.load(self.settings)
        return _Loaded(kb, Router(kb, self._tool_classes), self._make_assistant)

    def _tool_classes(self) -> list:
        """The loaded tools, for the router to run those whose example questions a question matches."""
        from qwen_agent.tools.base import TOOL_REGISTRY

        return [TOOL_REGISTRY[name] for name in self.tools.tools if name in TOOL_REGISTRY]

    @cached_property
    def tools(self):
        """Tool modules found in the built-in tools folder and in `tools_dir`; a broken one is logged and
        skipped. The built-in folder always loads: the assistant is built with its knowledge tools."""
        from agent.answer.tooling import ToolDiscovery, discover_tools

        discovery = ToolDiscovery()
        for folder in dict.fromkeys([BUILTIN_TOOLS_DIR.resolve(), Path(self.tools_dir).resolve()]):
            found = discover_tools(folder)
            discovery.tools.extend(name for name in found.tools if name not in discovery.tools)
            discovery.errors.update(found.errors)
        for file, error in discovery.errors.items():
            log.error("tool module %s skipped: %s", file, error)
        return discovery

    def _make_assistant(self, router: Router):
        """Qwen-Agent loads only when a question needs the LLM or the agent is asked for directly. Each
        tool gets this service through its Qwen-Agent configuration."""
        from agent.answer.assistant import KNOWLEDGE_TOOLS, KnowledgeAssistant
        from agent.answer.tooling import SERVICE
        from agent.llm import llm_from_settings

        tool_names = list(dict.fromkeys([*KNOWLEDGE_TOOLS, *self.tools.tools]))
        llm = self._llm if self._llm is not None else llm_from_settings(self.settings)
        return KnowledgeAssistant(lambda question: self.decide(question)[1:], llm=llm, llm_name=self.llm_name,
                                  function_list=[{"name": name, SERVICE: self} for name in tool_names],
                                  kb=router.kb, timeout_s=self.settings.llm_timeout_s)

    @property
    def assistant(self):
        return self._loaded.assistant

    def ask(self, question: str, history: list[dict] | None = None) -> Answer:
        """The finished answer: the last of the stream."""
        return deque(self.stream(question, history), maxlen=1)[0]

    def stream(self, question: str, history: list[dict] | None = None):
        """Answers as they grow (one for glossary and FAQ answers, many while an LLM writes). The question
        is decided once here; the assistant gets the decision and only writes the document answer."""
        started = time.perf_counter()
        for answer in self._answers(question, history):
            answer.latency_ms = round((time.perf_counter() - started) * 1000, 2)
            yield answer

    def _term_model_answer(self, decision: RouteDecision, question: str) -> Answer | None:
        """For a question that only asks what an abbreviation the glossary lacks means: the LoRA term model's
        labelled answer when one is configured and usable; None otherwise (the router's abstention stands)."""
        if decision.route != "term" or not decision.abstained or not decision.unknown_terms or \
                not self.settings.term_adapter:
            return None
        from agent.llm.adapter_registry import AdapterError
        from agent.llm.term_model import ask_term_adapter, model_spelling

        term = decision.unknown_terms[0].text
        try:
            generated = ask_term_adapter(self.settings, f"什么是{model_spelling(term)}？")
        except AdapterError as error:
            log.warning("term model not used: %s", error)
            return None
        return term_model_answer(decision, question, generated) if generated is not None else None

    def _tool_answer(self, decision: RouteDecision, question: str) -> Answer | None:
        """The tool's result when the decision chose a tool; a failing tool is said so, never raised."""
        if decision.route != "tool":
            return None
        try:
            return tool_answer(decision, question, run_tool(decision.tool, self))
        except Exception as error:
            log.warning("tool %s failed: %s", decision.tool.tool.name, type(error).__name__)
            return tool_failed_answer(decision, question)

    def decide(self, question: str, history: list[dict] | None = None,
               loaded: _Loaded | None = None) -> tuple[Resolution, RouteDecision, Answer | None]:
        """The one decision every surface uses (CLI, API, web page and the assistant run on its own): the question
        as understood (a follow-up, "那它的中文意思呢？", as the standalone question it stands for), how it is
        answered, and the answer when it needs no LLM (None when the LLM writes it from the decision's passages)."""
        loaded = loaded or self._loaded
        resolution = loaded.followups.resolve(question, history, llm=self._rewriter(loaded))
        decision, asked = _understood_as(resolution), resolution.question
        answer = self._tool_answer(decision, asked) or self._term_model_answer(decision, asked) or \
            answer_without_llm(decision, asked, llm_configured=self.llm_name != "none", kb=loaded.kb)
        return resolution, decision, answer

    def _answers(self, question: str, history: list[dict] | None):
        question = readable(question or "").strip()
        if not any(ch.isalnum() for ch in question):  # empty, or only emoji and punctuation
            no_words = [because("no_words")]  # the surfaces answer it in their own language
            yield Answer("请输入一个问题，例如“AM是什么意思？”。/ Please type a question.", "doc",
                         worded(no_words), 0.0, abstained=True, reasons=no_words)
            return
        notice = ""
        if len(question) > MAX_QUESTION_CHARS:
            question = question[:MAX_QUESTION_CHARS]
            notice = f"（问题过长，只使用了前 {MAX_QUESTION_CHARS} 个字）\n"
        loaded = self._loaded
        resolution, decision, answer = self.decide(question, history, loaded)
        asked = resolution.question
        if answer is not None:
            answer.text, answer.rewritten = notice + answer.text, resolution.rewritten
            yield answer
            return
        from agent.answer.assistant import answer_from_messages

        # Only the last few turns, each cut short, go to the LLM; it is asked the standalone question.
        messages = [*recent_messages(history), {"role": "user", "content": asked}]
        lead = document_lead(asked, decision.hits, loaded.kb)
        try:
            for response in loaded.assistant.run(messages, decision=decision):
                answer = answer_from_messages(response)
                if answer is not None:
                    answer.text, answer.lead = notice + answer.text, lead
                    answer.rewritten = resolution.rewritten
                    yield answer
        except Exception as exc:  # a failing LLM backend must not take the answer down with it
            # Only the exception's type is logged and shown: messages may carry URLs or request details.
            log.error("LLM backend %s failed (%s); answering with quoted passages", self.llm_name,
                      type(exc).__name__)
            note = f"（语言模型暂时不可用（{type(exc).__name__}），以下为文档原文摘录）" if has_cjk(question) else \
                f"(The language model is unavailable ({type(exc).__name__}); these are extracts from the documents.)"
            answer = extractive_answer(decision, asked, note=note, kb=loaded.kb)
            answer.text, answer.rewritten = notice + answer.text, resolution.rewritten
            answer.reasons = [*answer.reasons, because("llm_failed")]
            answer.reason = worded(answer.reasons)
            yield answer

    def _rewriter(self, loaded: _Loaded):
        """With an LLM configured, the function through which it rewrites follow-up questions; None without
        one (the rule rewrites them). The assistant is built only when a follow-up needs it, so a question
        asked without history never loads the LLM; if it cannot be built, the rule rewrites."""
        if self.llm_name == "none":
            return None

        def rewrite(messages: list[dict], question: str) -> str:
            return rewrite_with_llm(loaded.assistant.llm, messages, question)

        return rewrite


def _understood_as(resolution: Resolution) -> RouteDecision:
    """The decision, its reason starting with the standalone question when the question was rewritten."""
    if not resolution.rewritten:
        return resolution.decision
    return dataclasses.replace(resolution.decision, reasons=(because("understood_as", question=resolution.rewritten),
                                                             *resolution.decision.reasons))
