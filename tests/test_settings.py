"""Settings are checked when the program starts: a bad value stops it with one line that names the variable,
from `python -m agent` and from app.py alike, instead of a traceback at the first question or search."""
from __future__ import annotations

import inspect

import pytest

import app
from agent.llm.adapter_registry import check_adapter
from agent.llm.local import generate_reply
from agent.settings import ConfigError, Settings
from agent.surfaces import cli

pytestmark = pytest.mark.usefixtures("no_kb_env")

BAD_VALUES = [
    ({"KB_CHUNK_SIZE": "abc"}, "KB_CHUNK_SIZE"),
    ({"KB_CHUNK_SIZE": "0"}, "KB_CHUNK_SIZE"),
    ({"KB_CHUNK_SIZE": "300.5"}, "KB_CHUNK_SIZE"),
    ({"KB_CHUNK_OVERLAP": "-1"}, "KB_CHUNK_OVERLAP"),
    ({"KB_CHUNK_SIZE": "200", "KB_CHUNK_OVERLAP": "200"}, "KB_CHUNK_OVERLAP"),
    ({"KB_CHUNK_OVERLAP": "400"}, "KB_CHUNK_OVERLAP"),  # above the default size
    ({"KB_MAX_FILE_MB": "0"}, "KB_MAX_FILE_MB"),
    ({"KB_MAX_FILE_MB": "-5"}, "KB_MAX_FILE_MB"),
    ({"KB_MAX_FILE_MB": "nan"}, "KB_MAX_FILE_MB"),
    ({"KB_MAX_UPLOAD_MB": "inf"}, "KB_MAX_UPLOAD_MB"),
    ({"KB_PORT": "0"}, "KB_PORT"),
    ({"KB_PORT": "65536"}, "KB_PORT"),
    ({"KB_PORT": "http"}, "KB_PORT"),
    ({"KB_TERM_MIN_ACCURACY": "1.5"}, "KB_TERM_MIN_ACCURACY"),
    ({"KB_TERM_MIN_ACCURACY": "-0.1"}, "KB_TERM_MIN_ACCURACY"),
    ({"KB_TERM_MIN_ACCURACY": "90%"}, "KB_TERM_MIN_ACCURACY"),
    ({"KB_LLM_MAX_NEW_TOKENS": "0"}, "KB_LLM_MAX_NEW_TOKENS"),
    ({"KB_LLM_MAX_NEW_TOKENS": "-512"}, "KB_LLM_MAX_NEW_TOKENS"),
    ({"KB_WATCH_DEBOUNCE_S": "-1"}, "KB_WATCH_DEBOUNCE_S"),
    ({"KB_LLM_BASE_URL": "localhost:8000/v1"}, "KB_LLM_BASE_URL"),
    ({"KB_TERM_BASE_URL": "vllm:8000"}, "KB_TERM_BASE_URL"),
    ({"KB_VECTOR_STORE": "chroma"}, "KB_VECTOR_STORE"),
    ({"KB_UI_LANG": "fr"}, "KB_UI_LANG"),
    ({"KB_USERS": "alice"}, "KB_USERS"),
    ({"KB_DENSE_WEIGHT": "high"}, "KB_DENSE_WEIGHT"),
]


def _set(monkeypatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("env, variable", BAD_VALUES,
                         ids=[" ".join(f"{name}={value}" for name, value in env.items()) for env, _ in BAD_VALUES])
def test_a_bad_value_is_refused_with_a_message_that_names_the_variable(monkeypatch, env, variable):
    _set(monkeypatch, env)

    with pytest.raises(ConfigError) as refused:
        Settings.from_env()

    assert variable in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("env", [
    {"KB_CHUNK_SIZE": "200", "KB_CHUNK_OVERLAP": "199"},
    {"KB_CHUNK_OVERLAP": "0"},
    {"KB_PORT": "1", "KB_TERM_MIN_ACCURACY": "0", "KB_WATCH_DEBOUNCE_S": "0"},
    {"KB_PORT": "65535", "KB_TERM_MIN_ACCURACY": "1", "KB_MAX_FILE_MB": "0.5"},
    {"KB_LLM_BASE_URL": "HTTPS://gateway.example/v1", "KB_TERM_BASE_URL": "http://vllm:8000/v1"},
])
def test_values_at_the_edges_of_their_range_are_accepted(monkeypatch, env):
    _set(monkeypatch, env)

    Settings.from_env()


def test_unset_variables_take_the_documented_defaults():
    settings = Settings.from_env()

    assert (settings.chunk_size, settings.chunk_overlap, settings.max_file_mb) == (300, 60, 50.0)
    assert (settings.port, settings.host, settings.max_upload_mb) == (7860, "127.0.0.1", 20.0)
    assert (settings.llm_max_new_tokens, settings.term_min_accuracy, settings.llm_model) == (512, 0.9, "qwen-plus")


def test_the_llm_and_adapter_code_default_to_the_settings_defaults():
    """One place for each default: the adapter bar and the answer length come from Settings."""
    assert _default(check_adapter, "min_accuracy") == Settings.from_env().term_min_accuracy
    assert _default(generate_reply, "max_new_tokens") == Settings.from_env().llm_max_new_tokens


def _default(function, parameter: str):
    return inspect.signature(function).parameters[parameter].default


@pytest.mark.parametrize("start", [
    lambda folder: cli.main(["ingest", "--knowledge", str(folder)]),
    lambda folder: cli.main(["ask", "AM是什么意思", "--knowledge", str(folder), "--json"]),
    lambda folder: app.main(["--knowledge", str(folder), "--no-watch"]),
], ids=["python -m agent ingest", "python -m agent ask", "python app.py"])
def test_the_cli_and_the_app_stop_with_one_line_that_names_the_variable(monkeypatch, capsys, tmp_path, start):
    (tmp_path / "knowledge").mkdir()
    monkeypatch.setenv("KB_CHUNK_OVERLAP", "500")

    status = start(tmp_path / "knowledge")

    err = capsys.readouterr().err
    assert status == 2
    assert err.strip().splitlines() == ["error: KB_CHUNK_OVERLAP=500 must be smaller than KB_CHUNK_SIZE=300"]
    assert not (tmp_path / ".knowledge-index").exists()  # stopped before any work
