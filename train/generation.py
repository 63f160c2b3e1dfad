"""Batched greedy replies from a base model and, on the same weights, the base plus its adapter.

agent.llm.local.generate_reply answers one chat at a time and removes literal `<|...|>` markers;
evaluation needs hundreds of replies quickly and must see those markers to count them as leaks, so
it decodes here: same prompt (chat template or plain 问/答) and greedy decoding, registered special tokens
skipped, nothing else removed; a plain-format reply is cut at its first line break, as serving cuts it.
"""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from agent.llm.gemma import resolve_base
from agent.llm.term_model import CHAT_PROMPT, PLAIN_PROMPT
from train.encoding import prompt_text

logger = logging.getLogger(__name__)


class ReplyGenerator:
    """Load once; ask with the adapter on, or off to get the base model's own replies."""

    def __init__(self, base: Path, adapter: Path | None = None, prompt_format: str = CHAT_PROMPT):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.prompt_format = prompt_format
        base = resolve_base(base)
        self.tokenizer = AutoTokenizer.from_pretrained(base)
        self.tokenizer.padding_side = "left"  # decoder-only batches must end where generation starts
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
        model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
        if adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, adapter)
        self.has_adapter = adapter is not None
        self.model = model.to("cuda" if torch.cuda.is_available() else "cpu").eval()

    def replies(self, questions: list[str], use_adapter: bool, max_new_tokens: int = 96, batch_size: int = 16) -> list[str]:
        """Greedy replies, registered special tokens skipped, in question order."""
        if use_adapter and not self.has_adapter:
            raise ValueError("no adapter loaded")
        switch = self.model.disable_adapter() if self.has_adapter and not use_adapter else contextlib.nullcontext()
        answers: list[str] = []
        with switch, self.torch.inference_mode():
            for start in range(0, len(questions), batch_size):
                answers.extend(self._batch(questions[start:start + batch_size], max_new_tokens))
        return answers

    def _batch(self, questions: list[str], max_new_tokens: int) -> list[str]:
        prompts = [prompt_text(self.tokenizer, question, self.prompt_format) for question in questions]
        plain = self.prompt_format == PLAIN_PROMPT  # the plain prompt takes the tokenizer's bos; a template writes its own
        inputs = self.tokenizer(prompts, add_special_tokens=plain, padding=True, return_tensors="pt").to(self.model.device)
        generation = self.model.generation_config
        stop = {"stop_strings": ["\n"], "tokenizer": self.tokenizer} if plain else {}  # as serving stops
        output = self.model.generate(
            **stop,
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            eos_token_id=generation.eos_token_id,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        replies = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        return [_first_line(reply) for reply in replies] if plain else replies


def _first_line(reply: str) -> str:
    """As agent.llm.term_model.first_line cuts a served plain-format answer."""
    return reply.strip().split("\n", 1)[0].strip()
