"""The LLM backends: chosen from the environment, keys kept out of sight, replies free of special tokens."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agent.llm import describe_llm, llm_from_settings
from agent.llm.local import generate_reply
from agent.llm.local import clean_reply, cleaned_so_far, decode_reply
from agent.settings import ConfigError, Settings
from tests.stub_llm_server import STUB_REPLY
from tests.tiny_qwen import build_tiny_qwen

LLM_VARIABLES = (
    "DASHSCOPE_API_KEY",
    "KB_LLM_MODEL",
    "KB_LLM_BASE_URL",
    "KB_LLM_API_KEY",
    "KB_LLM_LOCAL_PATH",
    "KB_LLM_ADAPTER",
    "KB_LLM_MAX_NEW_TOKENS",
    "OPENAI_API_KEY",
)
QUESTION = [{"role": "user", "content": "AM 是什么意思？"}]


@pytest.fixture(autouse=True)
def no_llm_in_environment(monkeypatch):
    for name in LLM_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_qwen(tmp_path_factory.mktemp("tiny-qwen"))


@pytest.fixture(scope="module")
def tiny_adapter(tiny_model, tmp_path_factory) -> Path:
    """A LoRA adapter with random (non-zero) weights, so it visibly changes the model's replies."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    folder = tmp_path_factory.mktemp("adapters") / "glossary-lora"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        base = AutoModelForCausalLM.from_pretrained(tiny_model)
        config = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
        get_peft_model(base, config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def special_tokens_only_model(tiny_model, tmp_path_factory) -> Path:
    """The tiny model with its final norm zeroed: every logit ties, so greedy picks <|endoftext|> (id 0)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tmp_path_factory.mktemp("special-tokens-only")
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    model.model.norm.weight.data.zero_()
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(folder)
    return folder


def settings_from(monkeypatch, tmp_path, **variables) -> Settings:
    for name, value in variables.items():
        monkeypatch.setenv(name, str(value))
    return Settings.from_env(knowledge_dir=tmp_path / "knowledge")


def qwen_agent_model(config: dict):
    from qwen_agent.llm import get_chat_model

    return get_chat_model(config)


def streamed_reply(llm, messages) -> str:
    *_, last = llm.chat(messages, stream=True)
    return last[-1]["content"]


# --- the tiny test model ---------------------------------------------------------------------------


def test_tiny_qwen_loads_with_auto_classes_and_renders_chatml(tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    prompt = tokenizer.apply_chat_template(QUESTION, add_generation_prompt=True, tokenize=False)

    assert prompt == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nAM 是什么意思？<|im_end|>\n<|im_start|>assistant\n"
    )
    assert model.config.model_type == "qwen2"
    assert model.config.vocab_size == len(tokenizer)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.decode(tokenizer("AM 客户经理 Account Manager")["input_ids"]) == "AM 客户经理 Account Manager"


def test_tiny_qwen_reuses_an_existing_build(tiny_model):
    weights = tiny_model / "model.safetensors"
    built_at = weights.stat().st_mtime_ns

    assert build_tiny_qwen(tiny_model) == tiny_model
    assert weights.stat().st_mtime_ns == built_at


# --- the local backend -----------------------------------------------------------------------------


def test_local_backend_streams_a_reply_without_special_tokens(monkeypatch, tmp_path, tiny_model):
    settings = settings_from(monkeypatch, tmp_path, KB_LLM_LOCAL_PATH=tiny_model, KB_LLM_MAX_NEW_TOKENS=16)
    llm = qwen_agent_model(llm_from_settings(settings))

    reply = streamed_reply(llm, QUESTION)

    assert reply.strip()
    assert "<|" not in reply and "|>" not in reply


def test_local_backend_is_greedy_so_streamed_and_whole_replies_agree(monkeypatch, tmp_path, tiny_model):
    settings = settings_from(monkeypatch, tmp_path, KB_LLM_LOCAL_PATH=tiny_model, KB_LLM_MAX_NEW_TOKENS=16)
    llm = qwen_agent_model(llm_from_settings(settings))

    whole = llm.chat(QUESTION, stream=False)[-1]["content"]

    assert whole == streamed_reply(llm, QUESTION)
    assert whole == generate_reply(tiny_model, None, QUESTION, max_new_tokens=16)


def test_local_backend_honours_max_new_tokens(monkeypatch, tmp_path, tiny_model):
    settings = settings_from(monkeypatch, tmp_path, KB_LLM_LOCAL_PATH=tiny_model, KB_LLM_MAX_NEW_TOKENS=3)
    llm = qwen_agent_model(llm_from_settings(settings))

    short = llm.chat(QUESTION, stream=False)[-1]["content"]

    assert short == generate_reply(tiny_model, None, QUESTION, max_new_tokens=3)
    assert len(short) < len(generate_reply(tiny_model, None, QUESTION, max_new_tokens=16))


def test_a_model_that_emits_only_special_tokens_gives_an_empty_reply(special_tokens_only_model):
    llm = qwen_agent_model({"model_type": "kb_transformers", "model": str(special_tokens_only_model)})

    assert llm.chat(QUESTION, stream=False)[-1]["content"] == ""
    assert streamed_reply(llm, QUESTION) == ""
    assert generate_reply(special_tokens_only_model, None, QUESTION, max_new_tokens=8) == ""


def test_local_backend_applies_the_configured_lora_adapter(monkeypatch, tmp_path, tiny_model, tiny_adapter):
    plain = settings_from(monkeypatch, tmp_path, KB_LLM_LOCAL_PATH=tiny_model, KB_LLM_MAX_NEW_TOKENS=16)
    adapted = settings_from(monkeypatch, tmp_path, KB_LLM_ADAPTER=tiny_adapter)
    llm = qwen_agent_model(llm_from_settings(adapted))

    reply = streamed_reply(llm, QUESTION)

    assert type(llm.hf_model).__name__ == "PeftModel"
    assert reply.strip() and "<|" not in reply
    assert reply != streamed_reply(qwen_agent_model(llm_from_settings(plain)), QUESTION)
    assert describe_llm(adapted) == f"local:{tiny_model} (+adapter glossary-lora)"


def test_decoded_special_tokens_are_dropped(tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    ids = tokenizer("AM 客户经理<|im_end|><|endoftext|>")["input_ids"]

    assert decode_reply(tokenizer, ids) == "AM 客户经理"


def test_literal_markers_spelled_out_in_text_are_removed():
    assert clean_reply(" AM<|im_end|> 是客户经理<|endoftext|>\n") == "AM 是客户经理"


def test_streamed_text_never_shows_a_half_written_marker():
    shown = list(cleaned_so_far(["AM ", "<|im_", "end|>", "客户经理"]))

    assert all("<" not in text and "|" not in text for text in shown)
    assert shown[-1] == "AM 客户经理"


def test_missing_local_model_is_a_config_error_naming_the_variable(monkeypatch, tmp_path):
    settings = settings_from(monkeypatch, tmp_path, KB_LLM_LOCAL_PATH=tmp_path / "no-such-model")

    with pytest.raises(ConfigError, match="KB_LLM_LOCAL_PATH"):
        llm_from_settings(settings)


def test_missing_adapter_is_a_config_error_naming_the_variable(monkeypatch, tmp_path, tiny_model):
    settings = settings_from(
        monkeypatch, tmp_path, KB_LLM_LOCAL_PATH=tiny_model, KB_LLM_ADAPTER=tmp_path / "no-such-adapter"
    )

    with pytest.raises(ConfigError, match="KB_LLM_ADAPTER"):
        llm_from_settings(settings)


# --- choosing a backend from the environment -------------------------------------------------------


def test_no_llm_configured_means_none(monkeypatch, tmp_path):
    settings = settings_from(monkeypatch, tmp_path)

    assert llm_from_settings(settings) is None
    assert describe_llm(settings) == "none"


def test_dashscope_config_comes_from_the_environment(monkeypatch, tmp_path):
    import dashscope

    monkeypatch.setattr(dashscope, "api_key", None)  # Qwen-Agent's client sets this process-wide
    settings = settings_from(monkeypatch, tmp_path, DASHSCOPE_API_KEY="sk-dashscope-test-0001", KB_LLM_MODEL="qwen-max")

    config = llm_from_settings(settings)

    assert config == {
        "model_type": "qwen_dashscope",
        "model": "qwen-max",
        "api_key": "sk-dashscope-test-0001",
        "generate_cfg": {"max_tokens": 512},
    }
    assert type(qwen_agent_model(config)).__name__ == "QwenChatAtDS"
    assert describe_llm(settings) == "dashscope:qwen-max"


def test_openai_compatible_config_comes_from_the_environment(monkeypatch, tmp_path):
    settings = settings_from(
        monkeypatch,
        tmp_path,
        KB_LLM_BASE_URL="http://127.0.0.1:8000/v1",
        KB_LLM_MODEL="Qwen2.5-7B-Instruct",
        KB_LLM_API_KEY="sk-gateway-test-0002",
    )

    assert llm_from_settings(settings) == {
        "model_type": "oai",
        "model": "Qwen2.5-7B-Instruct",
        "model_server": "http://127.0.0.1:8000/v1",
        "api_key": "sk-gateway-test-0002",
        "generate_cfg": {"max_tokens": 512},
    }
    assert describe_llm(settings) == "openai-compatible:Qwen2.5-7B-Instruct@http://127.0.0.1:8000/v1"


def test_a_bare_server_address_gets_the_v1_path(monkeypatch, tmp_path):
    settings = settings_from(monkeypatch, tmp_path, KB_LLM_BASE_URL="http://127.0.0.1:11434/", KB_LLM_MODEL="qwen2.5:7b")

    assert llm_from_settings(settings)["model_server"] == "http://127.0.0.1:11434/v1"
    assert llm_from_settings(settings)["api_key"] == "EMPTY"


def test_credentials_in_the_base_url_stay_out_of_the_description(monkeypatch, tmp_path):
    settings = settings_from(monkeypatch, tmp_path, KB_LLM_BASE_URL="https://bot:hunter2@127.0.0.1:8443/v1")

    assert describe_llm(settings) == "openai-compatible:qwen-plus@https://127.0.0.1:8443/v1"


def test_a_base_url_that_is_not_http_is_a_config_error_at_start_up(monkeypatch, tmp_path):
    with pytest.raises(ConfigError, match="KB_LLM_BASE_URL") as refused:
        settings_from(monkeypatch, tmp_path, KB_LLM_BASE_URL="bot:hunter2@127.0.0.1:8000")

    assert "hunter2" not in str(refused.value)


def test_local_path_wins_over_base_url_which_wins_over_dashscope(monkeypatch, tmp_path, tiny_model):
    dashscope_only = settings_from(monkeypatch, tmp_path, DASHSCOPE_API_KEY="sk-dashscope-test-0001")
    with_base_url = settings_from(monkeypatch, tmp_path, KB_LLM_BASE_URL="http://127.0.0.1:8000/v1")
    with_local_path = settings_from(monkeypatch, tmp_path, KB_LLM_LOCAL_PATH=tiny_model)

    assert llm_from_settings(dashscope_only)["model_type"] == "qwen_dashscope"
    assert llm_from_settings(with_base_url)["model_type"] == "oai"
    assert llm_from_settings(with_local_path)["model_type"] == "kb_transformers"


def test_a_local_model_asks_for_three_passages_cut_to_KB_LLM_PASSAGE_CHARS(monkeypatch, tmp_path, tiny_model):
    default = qwen_agent_model(llm_from_settings(settings_from(monkeypatch, tmp_path, KB_LLM_LOCAL_PATH=tiny_model)))
    every_passage_whole = qwen_agent_model(llm_from_settings(settings_from(
        monkeypatch, tmp_path, KB_LLM_LOCAL_PATH=tiny_model, KB_LLM_PASSAGES=0, KB_LLM_PASSAGE_CHARS=0)))

    assert (default.passages, default.passage_chars) == (3, 140)
    assert (every_passage_whole.passages, every_passage_whole.passage_chars) == (0, 0)


def test_settings_repr_hides_api_keys(monkeypatch, tmp_path):
    settings = settings_from(
        monkeypatch, tmp_path, DASHSCOPE_API_KEY="sk-dashscope-test-0001", KB_LLM_API_KEY="sk-gateway-test-0002"
    )

    assert settings.dashscope_api_key == "sk-dashscope-test-0001"
    assert "sk-dashscope-test-0001" not in repr(settings)
    assert "sk-gateway-test-0002" not in repr(settings)


# --- talking to an OpenAI-compatible server (stub_chat_server, a stub on 127.0.0.1) ---------------


def test_openai_compatible_backend_posts_the_chat_to_the_server_with_the_key(monkeypatch, tmp_path, stub_chat_server):
    settings = settings_from(
        monkeypatch,
        tmp_path,
        KB_LLM_BASE_URL=f"{stub_chat_server.address}/v1",
        KB_LLM_MODEL="Qwen2.5-7B-Instruct",
        KB_LLM_API_KEY="sk-gateway-test-0002",
    )
    reply = streamed_reply(qwen_agent_model(llm_from_settings(settings)), QUESTION)

    [request] = stub_chat_server.requests
    assert reply == STUB_REPLY
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == "Bearer sk-gateway-test-0002"
    assert request["body"]["model"] == "Qwen2.5-7B-Instruct"
    assert request["body"]["messages"] == [{"role": "user", "content": "AM 是什么意思？"}]
    assert request["body"]["max_tokens"] == 512


def test_ollama_style_base_url_without_key_reaches_the_v1_endpoint(monkeypatch, tmp_path, stub_chat_server):
    settings = settings_from(monkeypatch, tmp_path, KB_LLM_BASE_URL=stub_chat_server.address,
                             KB_LLM_MODEL="qwen2.5:7b")
    reply = qwen_agent_model(llm_from_settings(settings)).chat(QUESTION, stream=False)[-1]["content"]

    [request] = stub_chat_server.requests
    assert reply == STUB_REPLY
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == "Bearer EMPTY"
    assert request["body"]["model"] == "qwen2.5:7b"
    assert request["body"]["messages"] == [{"role": "user", "content": "AM 是什么意思？"}]


def test_api_keys_never_reach_the_logs(monkeypatch, tmp_path, caplog, stub_chat_server):
    import dashscope

    monkeypatch.setattr(dashscope, "api_key", None)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="qwen_agent_logger")
    remote = settings_from(
        monkeypatch,
        tmp_path,
        KB_LLM_BASE_URL=f"{stub_chat_server.address}/v1",
        KB_LLM_API_KEY="sk-gateway-test-0002",
        DASHSCOPE_API_KEY="sk-dashscope-test-0001",
        KB_LLM_ADAPTER="unused-adapter",
    )
    streamed_reply(qwen_agent_model(llm_from_settings(remote)), QUESTION)
    monkeypatch.delenv("KB_LLM_BASE_URL")
    qwen_agent_model(llm_from_settings(Settings.from_env(knowledge_dir=tmp_path / "knowledge")))
    describe_llm(remote)

    assert caplog.records  # the backends did log; none of it may carry a key
    assert "sk-gateway-test-0002" not in caplog.text
    assert "sk-dashscope-test-0001" not in caplog.text


# --- a failing LLM keeps the key to itself ---------------------------------------------------------

REFUSED_KEY = "sk-test-secret-refused-5d1e"


@pytest.mark.parametrize("backend", ["openai-compatible", "dashscope"])
def test_an_llm_that_refuses_the_key_and_quotes_it_back_leaks_it_nowhere(backend, company_knowledge, monkeypatch,
                                                                        caplog, capfd):
    """The key reaches the LLM, the LLM fails with the key in its error message, and the answer falls back
    to quoted passages: neither the answer, the logs nor anything printed shows the key."""
    import dashscope

    from agent.answer.service import KnowledgeService
    from tests.conftest import clear_assistant_env
    from tests.stub_llm_server import StubChatServer

    clear_assistant_env(monkeypatch)
    monkeypatch.setattr(dashscope, "api_key", None)  # Qwen-Agent's DashScope client sets it process-wide
    caplog.set_level(logging.DEBUG)
    with StubChatServer(refuse_key=True) as stub:
        if backend == "dashscope":
            monkeypatch.setattr(dashscope, "base_http_api_url", f"{stub.address}/api/v1")
            monkeypatch.setenv("DASHSCOPE_API_KEY", REFUSED_KEY)
        else:
            monkeypatch.setenv("KB_LLM_BASE_URL", f"{stub.address}/v1")
            monkeypatch.setenv("KB_LLM_API_KEY", REFUSED_KEY)
        service = KnowledgeService(Settings.from_env(knowledge_dir=company_knowledge,
                                                     index_dir=company_knowledge.parent / "index"))
        answer = service.ask("在产品售后流程里，AM负责哪些事情？")  # a document question: it goes to the LLM

    assert stub.requests and all(REFUSED_KEY in r["headers"]["authorization"] for r in stub.requests)
    assert answer.route == "doc" and "语言模型暂时不可用" in answer.text and answer.sources
    out, err = capfd.readouterr()
    shown = [answer.text, answer.reason, answer.llm, service.llm_name, *(s.text for s in answer.sources)]
    for place, text in {"answer": "\n".join(shown), "logs": caplog.text, "stdout": out, "stderr": err}.items():
        assert REFUSED_KEY not in text, place
