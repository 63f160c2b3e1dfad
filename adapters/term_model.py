"""Ask the LoRA term model about a term the glossary lacks; the caller labels the reply model-generated.

The glossary stays the authority. The adapter only serves what the glossary cannot (unforeseen
spellings, a term inside a longer question, terms added since the last glossary update), and only
when its manifest shows it passed evaluation at KB_TERM_MIN_ACCURACY.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from adapters.registry import AdapterMissingError, check_adapter

logger = logging.getLogger(__name__)

MAX_ANSWER_TOKENS = 96  # a glossary-style answer is one short line


@dataclass(frozen=True)
class TermModelAnswer:
    """A model-generated answer and what a reader needs to judge it."""

    text: str
    adapter_name: str
    accuracy: float  # the adapter's evaluated accuracy on phrasings it never saw in training
    accuracy_measured_on: str
    base_model: str


def term_question_messages(question: str) -> list[dict]:
    """The chat the adapter is trained on and asked with: the question alone, as the user's turn."""
    return [{"role": "user", "content": question}]


def ask_term_adapter(settings, question: str) -> TermModelAnswer | None:
    """The term adapter's greedy answer, or None when KB_TERM_ADAPTER is not set.

    Raises AdapterError when an adapter is configured but missing, unevaluated or below the bar.
    """
    if not settings.term_adapter:
        return None
    from agent.llm.local import generate_reply

    adapter_dir = Path(settings.term_adapter).expanduser().resolve()
    manifest = check_adapter(adapter_dir, settings.term_min_accuracy)
    base = settings.term_base or manifest.base_model
    if not Path(base).expanduser().is_dir():
        raise AdapterMissingError(f"the base model {base} of adapter {manifest.name} is not a local folder (KB_TERM_BASE)")
    text = generate_reply(base, adapter_dir, term_question_messages(question), max_new_tokens=MAX_ANSWER_TOKENS)
    logger.info("term adapter %s answered %r", manifest.name, question)
    return TermModelAnswer(
        text=text,
        adapter_name=manifest.name,
        accuracy=manifest.accuracy,
        accuracy_measured_on=manifest.accuracy_measured_on,
        base_model=base,
    )
