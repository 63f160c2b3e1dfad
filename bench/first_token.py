"""`python -m bench.first_token`: where the time to the first streamed text of a generated document answer goes,
with the real local model (Gemma 3 270M) behind KnowledgeService, as `python -m agent ask` streams it.

The first `--articles` CMRC2018 dev articles are indexed as `bench quality` indexes them, and a seeded sample of
their questions is asked through `KnowledgeService.stream` (the product's own router, prompt builder with three
fenced passages, Qwen-Agent's function-calling prompt and the local backend). Each question routed to a
generated answer is asked once per arm, the arms' order alternating from question to question so that a busy
machine slows each about alike:

- `now`: the product as it is: the model is given the best `--passages` passages (KB_LLM_PASSAGES), each as an
  excerpt of about `--passage-chars` characters around what answers the question (KB_LLM_PASSAGE_CHARS,
  agent/answer/lead.py `passage_excerpts`), the prompt's fixed head (template opening, system prompt, tool
  descriptions) comes from the kept key/value cache (agent/llm/local.py, `prefix_cache`), and the rest is read in
  pieces of `PREFILL_CHUNK_TOKENS`;
- `whole`: the same with every retrieved passage (five) whole: the product before the excerpts;
- `unchunked`: whole passages and the cache, but the rest read in one piece;
- `before`: whole passages, no cache, no pieces: the whole prompt is read at once for every question.

For each it records, from the moment the question is asked: the time until the prompt is tokenised (routing,
retrieval and Qwen-Agent's preparation), the tokenisation itself, the prompt's length in tokens and how many of
them came from the cache, the end of the forward pass that yields the first token (first token), and the first
text the service streams (first text). A warm-up question (not counted) loads the model and fills the cache.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import statistics
import sys
import threading
import time
from pathlib import Path

from bench import report
from bench.guard import _kind, _sample
from bench.lead import load_gold
from bench.quality import CMRC_DEV, CmrcSet, offline_settings, write_knowledge

log = logging.getLogger(__name__)

ARMS = {  # arm -> (passage excerpts, prefix cache on, prompt read in pieces)
    "now": (True, True, True),
    "whole": (False, True, True),
    "unchunked": (False, True, False),
    "before": (False, False, False),
}


class Probe:
    """Timestamps of one question's way to its first token: prompt tokenised, each forward pass of the model."""

    def __init__(self, local, model, threads: int | None = None) -> None:
        import torch

        self.started = 0.0
        self.threads_seen: set[int] = set()  # torch threads in the thread that generates
        self.tokenised_at = self.tokenise_s = None
        self.prompt_tokens = self.cached_tokens = None
        self.forwards: list[tuple[float, float, int]] = []  # (start, end, tokens read)
        self._forward_started = 0.0
        real_prompt_inputs = local._prompt_inputs

        def prompt_inputs(tokenizer, model, messages):
            if threads:  # OpenMP thread counts are per thread: set it where generation runs
                torch.set_num_threads(threads)
            self.threads_seen.add(torch.get_num_threads())
            began = time.perf_counter()
            inputs = real_prompt_inputs(tokenizer, model, messages)
            if self.tokenised_at is not None:  # Qwen-Agent asking again after a tool call: the first ask counts
                return inputs
            self.tokenise_s = time.perf_counter() - began
            self.tokenised_at = began
            self.prompt_tokens = int(inputs["input_ids"].shape[-1])
            cache = inputs.get("past_key_values")
            self.cached_tokens = int(cache.get_seq_length()) if cache is not None else 0
            return inputs

        local._prompt_inputs = prompt_inputs
        model.register_forward_pre_hook(self._before, with_kwargs=True)
        model.register_forward_hook(self._after, with_kwargs=True)

    def _before(self, module, args, kwargs):
        self._forward_started = time.perf_counter()

    def _after(self, module, args, kwargs, output):
        ids = kwargs.get("input_ids", args[0] if args else None)
        self.forwards.append((self._forward_started, time.perf_counter(), int(ids.shape[-1]) if ids is not None else 0))

    def reset(self) -> None:
        self.started = time.perf_counter()
        self.tokenised_at = self.tokenise_s = self.prompt_tokens = self.cached_tokens = None
        self.forwards = []

    def first_token_at(self) -> float | None:
        """The end of the forward pass before the first one-token (decoding) pass after the prompt was tokenised:
        the pass that read the prompt and gave the first token's logits."""
        if self.tokenised_at is None:
            return None
        forwards = [f for f in self.forwards if f[0] >= self.tokenised_at + self.tokenise_s]
        for number, (_, _, tokens) in enumerate(forwards):
            if tokens == 1 and number > 0:
                return forwards[number - 1][1]
        return forwards[-1][1] if forwards else None

    def prompt_read_s(self) -> float | None:
        """From the tokenised prompt (with its cached head) to the first token: generate reading the rest."""
        first = self.first_token_at()
        return None if first is None or self.tokenised_at is None else first - self.tokenised_at - self.tokenise_s


def ask(service, probe: Probe, question: str, limit_s: float) -> dict:
    """One question, read until its first generated text (or `limit_s`); then the stream is closed, which stops
    the model at its next token, and the next question waits for it."""
    probe.reset()
    first_text = text = None
    stream = service.stream(question)
    try:
        for answer in stream:
            if answer.route == "doc" and not answer.abstained and answer.text and not _kind(answer.reasons):
                text, first_text = answer.text, time.perf_counter()
            if first_text is not None or time.perf_counter() - probe.started > limit_s:
                break
    finally:
        stream.close()
        _wait_for_generation_to_stop()
    if probe.tokenised_at is None:
        return {"question": question, "generated": False}
    since = lambda moment: None if moment is None else round((moment - probe.started) * 1000)  # noqa: E731
    read = probe.prompt_read_s()
    return {"question": question, "generated": True, "prompt_tokens": probe.prompt_tokens,
            "cached_tokens": probe.cached_tokens, "before_prompt_ms": since(probe.tokenised_at),
            "tokenise_ms": round(probe.tokenise_s * 1000, 1), "prompt_read_ms": None if read is None else round(read * 1000),
            "first_token_ms": since(probe.first_token_at()), "first_text_ms": since(first_text), "text": text or ""}


def _wait_for_generation_to_stop(limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and any(
            thread.name in ("local-generation", "generation") and thread.is_alive() for thread in threading.enumerate()):
        time.sleep(0.05)


def run(questions: int, articles: int, work: Path, model: str, max_new_tokens: int, threads: int | None,
        arms: tuple[str, ...], limit_s: float, passages: int | None = None, passage_chars: int | None = None) -> dict:

    from agent.answer.service import KnowledgeService
    from agent.llm import local

    texts, gold = load_gold(CMRC_DEV)
    chosen = dict(list(texts.items())[:articles])
    sample = _sample([q for q in gold if q.article in chosen], questions + 1)
    folder = work / f"cmrc2018-first-{articles}"
    write_knowledge(CmrcSet(chosen, []), folder / "knowledge")
    settings = dataclasses.replace(offline_settings(folder / "knowledge", folder / "index"), llm_local_path=model,
                                   llm_max_new_tokens=max_new_tokens, llm_timeout_s=limit_s)
    if passages is not None:
        settings = dataclasses.replace(settings, llm_passages=passages)
    if passage_chars is not None:
        settings = dataclasses.replace(settings, llm_passage_chars=passage_chars)
    service = KnowledgeService(settings)
    started = time.perf_counter()
    backend = service.assistant.llm
    assert backend is not None
    given = (backend.passages, backend.passage_chars)  # what the product gives the model: the `now` arm's
    tokenizer, hf_model = local.load_chat_model(model)
    load_s = time.perf_counter() - started
    probe = Probe(local, hf_model, threads)
    warm_up, *asked = sample
    ask(service, probe, warm_up.text, limit_s)  # loads what loads lazily, fills the prefix cache
    rows, chunk_tokens = [], local.PREFILL_CHUNK_TOKENS
    for number, question in enumerate(asked):
        order = arms if number % 2 == 0 else tuple(reversed(arms))
        for arm in order:
            excerpts, cached, chunked = ARMS[arm]
            backend.passages, backend.passage_chars = given if excerpts else (0, 0)
            local.prefix_cache.enabled, local.PREFILL_CHUNK_TOKENS = cached, chunk_tokens if chunked else None
            row = {"arm": arm, **ask(service, probe, question.text, limit_s)}
            rows.append(row)
            log.info("%s %s first token %s ms, first text %s ms", arm, question.text[:20], row.get("first_token_ms"),
                     row.get("first_text_ms"))
    local.prefix_cache.enabled, local.PREFILL_CHUNK_TOKENS = True, chunk_tokens
    backend.passages, backend.passage_chars = given
    return {"environment": report.environment(), "model": model, "max_new_tokens": max_new_tokens,
            "prefill_chunk_tokens": chunk_tokens, "passages": given[0], "passage_chars": given[1],
            "threads": sorted(probe.threads_seen), "articles": len(chosen), "model_load_s": round(load_s, 1),
            "summary": {arm: summary([r for r in rows if r["arm"] == arm]) for arm in arms}, "rows": rows}


def summary(rows: list[dict]) -> dict:
    timed = [r for r in rows if r["generated"] and r["first_token_ms"] is not None]

    def spread(name: str) -> dict:
        return report.percentiles([r[name] for r in timed if r.get(name) is not None])

    return {"asked": len(rows), "timed": len(timed),
            "prompt_tokens_median": statistics.median(r["prompt_tokens"] for r in timed) if timed else None,
            "cached_tokens_median": statistics.median(r["cached_tokens"] for r in timed) if timed else None,
            "before_prompt_ms": spread("before_prompt_ms"), "tokenise_ms": spread("tokenise_ms"),
            "prompt_read_ms": spread("prompt_read_ms"), "first_token_ms": spread("first_token_ms"),
            "first_text_ms": spread("first_text_ms")}


def markdown(result: dict, command: str) -> str:
    def seconds(ms) -> str:
        return "—" if ms is None else f"{ms / 1000:.2f}"

    rows = []
    for arm, s in result["summary"].items():
        rows.append([arm, s["timed"], s["prompt_tokens_median"], s["cached_tokens_median"],
                     *(f"{seconds(s[name]['p50'])} / {seconds(s[name]['p95'])}"
                       for name in ("before_prompt_ms", "prompt_read_ms", "first_token_ms", "first_text_ms"))])
    return "\n".join([
        report.environment_markdown(result["environment"]),
        "",
        f"`{command}` (torch threads where the model runs: {', '.join(map(str, result['threads']))}; now: {result['passages']} passages, excerpts of about {result['passage_chars']} characters each; pieces of {result['prefill_chunk_tokens']} tokens, at most {result['max_new_tokens']} new tokens; model "
        f"loaded in {result['model_load_s']:.0f} s). Seconds, p50 / p95, from the question:",
        "",
        report.markdown_table(["arm", "questions", "prompt tokens", "from cache", "until the prompt is tokenised",
                               "reading the prompt", "first token", "first text"], rows),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.first_token", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=12, help="questions asked per arm (default 12)")
    parser.add_argument("--articles", type=int, default=40, help="first N CMRC2018 dev articles indexed (default 40)")
    report.add_local_model_arguments(parser, max_new_tokens=8, docs=False)  # the first token needs one
    parser.add_argument("--limit-s", type=float, default=60.0,
                        help="KB_LLM_TIMEOUT_S, and how long one question is read without any text (default 60)")
    parser.add_argument("--threads", type=int, help="torch threads where the model runs (default: torch's own)")
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, of {', '.join(ARMS)}")
    parser.add_argument("--passages", type=int, help="KB_LLM_PASSAGES for the `now` arm (default: the setting's)")
    parser.add_argument("--passage-chars", type=int,
                        help="KB_LLM_PASSAGE_CHARS for the `now` arm's excerpts (default: the setting's)")
    args = parser.parse_args(argv)
    arms = tuple(arm for arm in args.arms.split(",") if arm)
    if not arms or set(arms) - set(ARMS):
        parser.error(f"--arms takes {', '.join(ARMS)}")
    report.configure_logging(logging.INFO)
    result = run(args.questions, args.articles, Path(args.work), args.model, args.max_new_tokens, args.threads, arms,
                 args.limit_s, args.passages, args.passage_chars)
    command = "python -m bench.first_token " + " ".join(sys.argv[1:] if argv is None else argv)
    print(json.dumps(result, ensure_ascii=False) if args.json else markdown(result, command.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
