"""A local transformers chat model, optionally with a PEFT (LoRA) adapter, as a Qwen-Agent backend.

Qwen-Agent's bundled `transformers` backend breaks on transformers 5, so this one is ours. The
prompt always comes from the tokenizer's own chat template; decoding is greedy; replies never
contain special tokens such as `<|im_end|>`. Each model folder (+ adapter) is loaded once per process.

Outside Qwen-Agent (e.g. the LoRA evaluation), call `generate_reply(model_path, adapter_path,
messages, max_new_tokens)` for the same greedy, cleaned reply.
"""
from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Iterable, Iterator

from qwen_agent.llm.base import register_llm
from qwen_agent.llm.function_calling import BaseFnCallModel
from qwen_agent.llm.schema import ASSISTANT, Message

from agent.settings import REPO_ROOT, ConfigError, Settings

logger = logging.getLogger(__name__)

MODEL_TYPE = "kb_transformers"
STREAM_TIMEOUT_S = 300.0

SPECIAL_MARKER = re.compile(r"<\|[^<>|\s]{1,64}\|>")
UNFINISHED_MARKER = re.compile(r"<(\|[^<>|\s]{0,64}\|?)?$")

_loaded: dict[tuple[str, str], tuple[object, object]] = {}
_load_lock = threading.Lock()


def llm_config(settings: Settings) -> dict:
    """The Qwen-Agent `llm=` config for KB_LLM_LOCAL_PATH (+ KB_LLM_ADAPTER), checked to exist."""
    model_path = Path(settings.llm_local_path).expanduser()
    if not model_path.is_dir():
        raise ConfigError(f"KB_LLM_LOCAL_PATH={settings.llm_local_path} does not exist or is not a folder")
    if not (model_path / "config.json").is_file():
        raise ConfigError(f"KB_LLM_LOCAL_PATH={settings.llm_local_path} holds no transformers model (no config.json)")
    return {
        "model_type": MODEL_TYPE,
        "model": str(model_path.resolve()),
        "adapter": str(resolve_adapter(settings.llm_adapter)) if settings.llm_adapter else "",
        "generate_cfg": {"max_new_tokens": settings.llm_max_new_tokens},
    }


def describe(settings: Settings) -> str:
    adapter = f" (+adapter {Path(settings.llm_adapter).name})" if settings.llm_adapter else ""
    return f"local:{settings.llm_local_path}{adapter}"


def resolve_adapter(adapter: str) -> Path:
    """KB_LLM_ADAPTER is an adapter folder, or the name of one under the repository's adapters/ folder."""
    for candidate in (Path(adapter).expanduser(), REPO_ROOT / "adapters" / adapter):
        if (candidate / "adapter_config.json").is_file():
            return candidate.resolve()
    raise ConfigError(f"KB_LLM_ADAPTER={adapter} is not a PEFT adapter folder (no adapter_config.json found)")


def load_chat_model(model_path: str | Path, adapter_path: str | Path | None = None) -> tuple[object, object]:
    """(tokenizer, model) for a model folder and optional adapter, loaded once per process."""
    key = (str(Path(model_path).resolve()), str(Path(adapter_path).resolve()) if adapter_path else "")
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = _load(*key)
        return _loaded[key]


def _load(model_path: str, adapter_path: str) -> tuple[object, object]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    logger.info("Loading local chat model %s%s", model_path, f" with adapter {adapter_path}" if adapter_path else "")
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if not tokenizer.chat_template:
        raise ValueError(f"The tokenizer in {model_path} has no chat template, so it is not a chat model")
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype="auto")
    if adapter_path:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter_path)
    model.to("cuda" if torch.cuda.is_available() else "cpu")
    model.eval()
    return tokenizer, model


def generate_reply(
    model_path: str | Path,
    adapter_path: str | Path | None,
    messages: list[dict],
    max_new_tokens: int = Settings.llm_max_new_tokens,
) -> str:
    """Greedy reply to chat `messages` ([{"role", "content"}]), special tokens stripped."""
    tokenizer, model = load_chat_model(model_path, adapter_path)
    return _generate(tokenizer, model, messages, {"max_new_tokens": max_new_tokens})


def clean_reply(text: str) -> str:
    """Remove literal `<|...|>` markers a model may spell out, and surrounding white space."""
    return SPECIAL_MARKER.sub("", text).strip()


def decode_reply(tokenizer, new_token_ids) -> str:
    """Generated token ids as reply text, without special tokens."""
    return clean_reply(tokenizer.decode(new_token_ids, skip_special_tokens=True))


def _generation_options(tokenizer, generate_cfg: dict) -> dict:
    """Translate Qwen-Agent's generate_cfg into `model.generate` arguments.

    Decoding is always greedy, so answers are reproducible; sampling options and `seed` are ignored.
    """
    options = {
        "max_new_tokens": int(generate_cfg.get("max_new_tokens", Settings.llm_max_new_tokens)),
        "do_sample": False,
        "pad_token_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
    }
    if generate_cfg.get("stop"):
        options.update(stop_strings=list(generate_cfg["stop"]), tokenizer=tokenizer)
    return options


def _prompt_inputs(tokenizer, model, messages: list[dict]):
    inputs = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
    )
    return {name: tensor.to(model.device) for name, tensor in inputs.items()}


def _generate(tokenizer, model, messages: list[dict], generate_cfg: dict) -> str:
    import torch

    inputs = _prompt_inputs(tokenizer, model, messages)
    with torch.inference_mode():
        output = model.generate(**inputs, **_generation_options(tokenizer, generate_cfg))
    return decode_reply(tokenizer, output[0, inputs["input_ids"].shape[-1]:])


def _stream(tokenizer, model, messages: list[dict], generate_cfg: dict) -> Iterator[str]:
    """Yield the reply so far (cleaned) as tokens arrive; generation runs in a worker thread."""
    import torch
    from transformers import TextIteratorStreamer

    inputs = _prompt_inputs(tokenizer, model, messages)
    streamer = TextIteratorStreamer(tokenizer, timeout=STREAM_TIMEOUT_S, skip_prompt=True, skip_special_tokens=True)
    failure: list[BaseException] = []

    def generate_into_streamer() -> None:
        try:
            with torch.inference_mode():
                model.generate(**inputs, **_generation_options(tokenizer, generate_cfg), streamer=streamer)
        except BaseException as exc:  # handed to the consuming thread below
            failure.append(exc)
            streamer.end()

    worker = threading.Thread(target=generate_into_streamer, daemon=True)
    worker.start()
    yield from cleaned_so_far(streamer)
    worker.join()
    if failure:
        raise failure[0]


def cleaned_so_far(pieces: Iterable[str]) -> Iterator[str]:
    """Cumulative cleaned text; a marker still being spelled out is held back until it is complete."""
    text, shown = "", ""
    for piece in pieces:
        text += piece
        partial = UNFINISHED_MARKER.sub("", SPECIAL_MARKER.sub("", text)).lstrip()
        if partial != shown:
            shown = partial
            yield shown
    final = clean_reply(text)
    if final != shown or not shown:
        yield final


def _plain_messages(messages: list[Message]) -> list[dict]:
    """Qwen-Agent has already turned tool calls and results into text; keep role and text only."""
    plain = []
    for message in messages:
        content = message.content
        if not isinstance(content, str):
            content = "".join(item.text or "" for item in content)
        plain.append({"role": message.role, "content": content})
    return plain


@register_llm(MODEL_TYPE)
class LocalTransformersChat(BaseFnCallModel):
    """Qwen-Agent backend: cfg {"model_type": "kb_transformers", "model": PATH, "adapter": PATH or ""}."""

    def __init__(self, cfg: dict | None = None):
        super().__init__(cfg)
        self.adapter = (cfg or {}).get("adapter") or None
        self.tokenizer, self.hf_model = load_chat_model(self.model, self.adapter)

    def _chat_stream(self, messages: list[Message], delta_stream: bool, generate_cfg: dict) -> Iterator[list[Message]]:
        shown = ""
        for text in _stream(self.tokenizer, self.hf_model, _plain_messages(messages), generate_cfg):
            if delta_stream:
                delta = text[len(shown):] if text.startswith(shown) else ""
                if delta:
                    yield [Message(ASSISTANT, delta)]
                shown = text
            else:
                yield [Message(ASSISTANT, text)]

    def _chat_no_stream(self, messages: list[Message], generate_cfg: dict) -> list[Message]:
        return [Message(ASSISTANT, _generate(self.tokenizer, self.hf_model, _plain_messages(messages), generate_cfg))]
