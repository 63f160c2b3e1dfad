"""Turn rows into token ids; loss falls only on the answer.

Two prompt formats (agent/llm/term_model.py): "chat", the tokenizer's own chat template, so training
sees exactly the prompt that serving builds; and "plain", "问：…\n答：" followed by the answer and eos,
for a pretrained base without a chat template. Masking the prompt (-100) spends every gradient step
on the answer.
"""
from __future__ import annotations

import logging

from agent.llm.term_model import CHAT_PROMPT, PLAIN_PROMPT, PROMPT_FORMATS, plain_prompt, term_question_messages
from train.dataset import TrainingRow

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100


def check_prompt_format(prompt_format: str) -> str:
    if prompt_format not in PROMPT_FORMATS:
        raise ValueError(f"unknown prompt format {prompt_format!r}; use one of {', '.join(PROMPT_FORMATS)}")
    return prompt_format


def prompt_text(tokenizer, question: str, prompt_format: str = CHAT_PROMPT) -> str:
    """The prompt as text; the plain one is tokenised with the tokenizer's special tokens (bos)."""
    if check_prompt_format(prompt_format) == PLAIN_PROMPT:
        return plain_prompt(question)
    return tokenizer.apply_chat_template(term_question_messages(question), tokenize=False, add_generation_prompt=True)


def encode_row(tokenizer, row: TrainingRow, max_length: int, prompt_format: str = CHAT_PROMPT) -> dict[str, list[int]]:
    """input_ids and labels for one question and answer, labels -100 over the prompt."""
    if check_prompt_format(prompt_format) == PLAIN_PROMPT:
        prompt_ids = tokenizer(plain_prompt(row.question))["input_ids"]  # with bos, as generation sees it
        answer_ids = tokenizer(row.output, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        return _encoded(prompt_ids, answer_ids, max_length)
    messages = [*term_question_messages(row.question), {"role": "assistant", "content": row.output}]
    conversation = tokenizer.apply_chat_template(messages, tokenize=False)
    prompt = prompt_text(tokenizer, row.question)
    if not conversation.startswith(prompt):
        # Some templates render the generation prompt differently from a finished turn
        # (e.g. an opening <think>); the shared beginning is still the prompt.
        shared = _shared_prefix_length(prompt, conversation)
        logger.debug("chat template renders the prompt differently inside a conversation; masking %d chars", shared)
        prompt = conversation[:shared]
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(conversation[len(prompt):], add_special_tokens=False)["input_ids"]
    return _encoded(prompt_ids, answer_ids, max_length)


def _encoded(prompt_ids: list[int], answer_ids: list[int], max_length: int) -> dict[str, list[int]]:
    input_ids = (prompt_ids + answer_ids)[:max_length]
    labels = ([IGNORE_INDEX] * len(prompt_ids) + answer_ids)[:max_length]
    return {"input_ids": input_ids, "attention_mask": [1] * len(input_ids), "labels": labels}


def _shared_prefix_length(first: str, second: str) -> int:
    length = 0
    for a, b in zip(first, second):
        if a != b:
            break
        length += 1
    return length


class EncodedRows:
    """A map-style dataset the Trainer can batch (torch only needs __len__ and __getitem__)."""

    def __init__(self, tokenizer, rows: list[TrainingRow], max_length: int, prompt_format: str = CHAT_PROMPT):
        self.items = [encode_row(tokenizer, row, max_length, prompt_format) for row in rows]
        truncated = sum(1 for item in self.items if item["labels"].count(IGNORE_INDEX) == len(item["labels"]))
        if truncated:
            logger.warning("%d rows lost their whole answer to max_length=%d", truncated, max_length)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        return self.items[index]
