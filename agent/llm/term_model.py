"""Ask the LoRA term model about a term the glossary lacks; the caller labels the reply model-generated.

The glossary stays the authority. The adapter only serves what the glossary cannot (unforeseen
spellings, a term inside a longer question, terms added since the last glossary update), and only
when its manifest shows it passed evaluation at KB_TERM_MIN_ACCURACY. It runs in-process on
KB_TERM_BASE (a model folder, or `gemma-3-270m` for the Gemma package, agent/llm/gemma.py), or on an
OpenAI-compatible server (KB_TERM_BASE_URL) that serves it under its folder name, as
`vllm serve BASE --enable-lora --lora-modules NAME=adapters/NAME` does. The adapter is asked in the
prompt format it was trained with (its manifest's `prompt_format`: the chat template, or plain 问/答).
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from agent.llm.adapter_registry import AdapterError, AdapterMissingError, check_adapter

logger = logging.getLogger(__name__)

MAX_ANSWER_TOKENS = 96  # a glossary-style answer is one short line
SERVER_TIMEOUT_S = 30


class TermServerError(AdapterError):
    """The server that serves the adapter did not answer."""


@dataclass(frozen=True)
class TermModelAnswer:
    """A model-generated answer and what a reader needs to judge it."""

    text: str
    adapter_name: str
    accuracy: float  # the adapter's evaluated accuracy on phrasings it never saw in training
    accuracy_measured_on: str
    base_model: str


def model_spelling(term: str) -> str:
    """The term as the adapter learned it from the glossary: half-width (NFKC), and upper case when it is
    written all in lower-case Latin letters and digits. The CPU rehearsal answered "am" and "ＡＭ" for 13%
    and 9% of terms against 87% for "AM" (docs/benchmarks.md)."""
    term = unicodedata.normalize("NFKC", term).strip()
    return term.upper() if re.fullmatch(r"[a-z0-9&./+-]*[a-z][a-z0-9&./+-]*", term) else term


def term_question_messages(question: str) -> list[dict]:
    """The chat the adapter is trained on and asked with: the question alone, as the user's turn."""
    return [{"role": "user", "content": question}]


CHAT_PROMPT = "chat"  # the tokenizer's own chat template around the question (an instruct base)
PLAIN_PROMPT = "plain"  # "问：QUESTION\n答：" (a pretrained base without a chat template, such as Gemma 3 270M)
PROMPT_FORMATS = (CHAT_PROMPT, PLAIN_PROMPT)


def plain_prompt(question: str) -> str:
    """The plain prompt the adapter is trained on and asked with; the answer follows, ended by eos.

    Gemma 3 270M's pretrained base reads its own turn markers as near-random tokens (loss 11.2 per
    token against 3.6 for a plain Chinese sentence, docs/MODELS.md), so a plain question-answer frame
    is what it can continue from the first step of training."""
    return f"问：{question}\n答："


def ask_term_adapter(settings, question: str) -> TermModelAnswer | None:
    """The term adapter's greedy answer, or None when KB_TERM_ADAPTER is not set.

    Raises AdapterError when an adapter is configured but missing, unevaluated or below the bar, or when
    the server that serves it does not answer.
    """
    if not settings.term_adapter:
        return None
    adapter_dir = Path(settings.term_adapter).expanduser().resolve()
    manifest = check_adapter(adapter_dir, settings.term_min_accuracy)
    if settings.term_base_url:
        base = f"{manifest.base_model}, served at {settings.term_base_url}"
        text = _ask_server(settings, manifest.name, question)
    else:
        from agent.llm.local import generate_reply

        base = settings.term_base or manifest.base_model
        folder = _base_folder(base, manifest.name)
        if manifest.hyperparameters.get("prompt_format") == PLAIN_PROMPT:
            text = _plain_reply(folder, adapter_dir, question)
        else:
            text = generate_reply(folder, adapter_dir, term_question_messages(question), max_new_tokens=MAX_ANSWER_TOKENS)
    logger.info("term adapter %s answered %r", manifest.name, question)
    return TermModelAnswer(
        text=text,
        adapter_name=manifest.name,
        accuracy=manifest.accuracy,
        accuracy_measured_on=manifest.accuracy_measured_on,
        base_model=base,
    )


def first_line(reply: str) -> str:
    """A plain-format answer is one line; a base model may go on to write the next 问：… after it."""
    return reply.strip().split("\n", 1)[0].strip()


def _base_folder(base: str, adapter_name: str) -> Path:
    from agent.llm.gemma import GemmaUnavailable, is_gemma_name, resolve_base

    try:
        folder = resolve_base(base)
    except GemmaUnavailable as error:
        raise AdapterMissingError(f"the base model {base} of adapter {adapter_name} is not installed: {error}") from error
    if not folder.is_dir() and not is_gemma_name(base):
        raise AdapterMissingError(f"the base model {base} of adapter {adapter_name} is not a local folder (KB_TERM_BASE)")
    return folder


def _plain_reply(folder: Path, adapter_dir: Path, question: str) -> str:
    """Greedy answer to the plain prompt, up to the end of its line; base and adapter loaded once per process."""
    import torch

    from agent.llm.local import decode_reply, load_chat_model

    tokenizer, model = load_chat_model(folder, adapter_dir)
    inputs = tokenizer(plain_prompt(question), return_tensors="pt").to(model.device)
    with torch.inference_mode():
        output = model.generate(**inputs, max_new_tokens=MAX_ANSWER_TOKENS, do_sample=False, stop_strings=["\n"],
                                tokenizer=tokenizer, pad_token_id=tokenizer.pad_token_id)
    return first_line(decode_reply(tokenizer, output[0, inputs["input_ids"].shape[-1]:]))


def _ask_server(settings, adapter_name: str, question: str) -> str:
    """The served adapter's greedy answer; the server must know it by the adapter's folder name."""
    import openai

    from agent.llm.local import clean_reply

    client = openai.OpenAI(base_url=settings.term_base_url, api_key=settings.term_api_key or "EMPTY",
                           timeout=SERVER_TIMEOUT_S, max_retries=1)
    try:
        reply = client.chat.completions.create(model=adapter_name, messages=term_question_messages(question),
                                               temperature=0, max_tokens=MAX_ANSWER_TOKENS)
    except openai.OpenAIError as error:
        raise TermServerError(f"the term model server at {settings.term_base_url} did not answer "
                              f"({type(error).__name__})") from error
    return clean_reply(reply.choices[0].message.content or "")
