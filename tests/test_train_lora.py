"""LoRA training, incremental training, evaluation and the adapter bar, on a tiny Qwen2 built here.

The tiny model (tests/tiny_qwen.py) starts from random weights, so the adapter learns two terms
in a few seconds of CPU; the figures only show the machinery works, not how a real model does.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from agent.llm.adapter_registry import AdapterBelowBarError, AdapterMissingError, check_adapter, read_manifest
from agent.llm.term_model import TermServerError, ask_term_adapter
from agent.records import Term
from agent.settings import Settings
from tests.tiny_qwen import build_tiny_qwen
from train.__main__ import main
from train.dataset import build_dataset, write_dataset
from train.evaluate import (
    COMMON_ABBREVIATIONS,
    HELDOUT_FORMS,
    HELDOUT_TERMS,
    MEMORISED_FORMS,
    NEW_TERMS,
    OLD_TERMS,
    run_evaluation,
)
from train.lora import LoraOptions, train_lora

AM = Term(("AM",), "Account Manager", "客户经理")
KPI = Term(("KPI",), "Key Performance Indicator", "关键绩效指标")
SLA = Term(("SLA",), "Service Level Agreement", "服务等级协议")
FAST = {"epochs": 10, "learning_rate": 1e-2, "batch_size": 8, "patience": 10, "gradient_checkpointing": False}
SHORT_REPLIES = 32  # tokens; a right answer is shorter, and the random base model's noise stops sooner
pytestmark = pytest.mark.slow  # nearly every test waits for the module's LoRA training and evaluation


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny matrices gain nothing from a second thread, and others share the cores."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return build_tiny_qwen(tmp_path_factory.mktemp("tiny-qwen"))


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    write_dataset(build_dataset([AM, KPI], eval_terms_fraction=0.0), folder, {})
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory, base, data):
    out = tmp_path_factory.mktemp("adapters") / "terms-v1"
    return train_lora(LoraOptions(base=base, data=data, out=out, **FAST))


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, base, data, trained) -> Path:
    """A copy of the trained adapter, evaluated (the original stays unevaluated)."""
    copy = tmp_path_factory.mktemp("evaluated") / "terms-v1"
    shutil.copytree(trained.adapter_dir, copy, ignore=shutil.ignore_patterns("checkpoints"))
    run_evaluation(base, data, copy, max_new_tokens=SHORT_REPLIES)
    return copy


def test_eval_loss_falls_during_training(trained):
    assert trained.eval_losses[-1] < trained.initial_eval_loss / 2
    assert trained.best_eval_loss == min(trained.eval_losses)


def test_adapter_is_saved_with_its_manifest(trained, base, data):
    manifest = read_manifest(trained.adapter_dir)

    assert (trained.adapter_dir / "adapter_model.safetensors").is_file()
    assert manifest.base_model == str(base)
    assert manifest.dataset_hash == json.loads((data / "dataset.json").read_text(encoding="utf-8"))["hash"]
    assert manifest.hyperparameters["rank"] == 16 and manifest.hyperparameters["alpha"] == 32
    assert manifest.hyperparameters["target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    assert set(manifest.trained_terms) == {"am", "kpi"}
    assert manifest.accuracy is None


def test_reloaded_adapter_answers_a_memorised_question_through_the_serving_path(trained, base):
    from agent.llm.local import generate_reply

    reply = generate_reply(base, trained.adapter_dir, [{"role": "user", "content": "什么是KPI？"}], max_new_tokens=40)
    base_reply = generate_reply(base, None, [{"role": "user", "content": "什么是KPI？"}], max_new_tokens=40)

    assert "Key Performance Indicator" in reply
    assert "Key Performance Indicator" not in base_reply


def test_evaluation_writes_base_and_adapter_figures_to_the_manifest(evaluated):
    manifest = read_manifest(evaluated)

    # the app asks an adapter only about abbreviations its glossary lacks, so its bar is measured on those
    assert manifest.accuracy == manifest.metrics["adapter"][COMMON_ABBREVIATIONS]["accuracy"]
    assert manifest.accuracy_measured_on == COMMON_ABBREVIATIONS
    assert manifest.evaluated_at
    for model in ("base", "adapter"):
        figures = manifest.metrics[model]
        assert {MEMORISED_FORMS, HELDOUT_FORMS, HELDOUT_TERMS, COMMON_ABBREVIATIONS} <= set(figures)
        assert "what_is" in figures[MEMORISED_FORMS]["by_form"]
        assert 0.0 <= figures["leaked_special_tokens_rate"] <= 1.0 and 0.0 <= figures["repetition_rate"] <= 1.0
    assert manifest.metrics["adapter"][MEMORISED_FORMS]["accuracy"] > manifest.metrics["base"][MEMORISED_FORMS]["accuracy"]


def test_an_unevaluated_adapter_is_refused(trained):
    with pytest.raises(AdapterBelowBarError, match="never evaluated"):
        check_adapter(trained.adapter_dir)


def test_an_adapter_below_the_accuracy_bar_is_refused_and_one_at_the_bar_accepted(evaluated):
    accuracy = read_manifest(evaluated).accuracy

    with pytest.raises(AdapterBelowBarError, match="below the required"):
        check_adapter(evaluated, min_accuracy=accuracy + 0.05)
    assert check_adapter(evaluated, min_accuracy=accuracy).name == "terms-v1"


def test_a_missing_adapter_is_refused(tmp_path):
    with pytest.raises(AdapterMissingError):
        check_adapter(tmp_path / "no-such-adapter")


def term_settings(**fields) -> Settings:
    return dataclasses.replace(Settings.from_env(), **fields)


def test_the_term_adapter_is_not_asked_when_none_is_configured():
    assert ask_term_adapter(term_settings(term_adapter=""), "什么是KPI？") is None


def test_the_term_adapter_answers_with_its_name_and_evaluated_accuracy(evaluated, base):
    accuracy = read_manifest(evaluated).accuracy
    settings = term_settings(term_adapter=str(evaluated), term_base=str(base), term_min_accuracy=accuracy)

    answer = ask_term_adapter(settings, "什么是KPI？")

    assert "Key Performance Indicator" in answer.text
    assert (answer.adapter_name, answer.accuracy) == ("terms-v1", accuracy)


def test_the_term_adapter_is_refused_below_the_configured_bar(evaluated, base):
    settings = term_settings(term_adapter=str(evaluated), term_base=str(base), term_min_accuracy=1.01)

    with pytest.raises(AdapterBelowBarError):
        ask_term_adapter(settings, "什么是KPI？")


def test_an_adapter_served_by_an_openai_compatible_server_is_asked_by_its_name(evaluated, stub_chat_server, caplog):
    """As vLLM serves it (`--lora-modules terms-v1=adapters/terms-v1`); the stub stands in for vLLM and
    records the request, which must name the adapter, carry the question alone and decode greedily."""
    from tests.stub_llm_server import STUB_REPLY

    accuracy = read_manifest(evaluated).accuracy
    settings = term_settings(term_adapter=str(evaluated), term_min_accuracy=accuracy, term_api_key="served-key",
                             term_base_url=f"{stub_chat_server.address}/v1")

    answer = ask_term_adapter(settings, "什么是KPI？")

    [request] = stub_chat_server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "terms-v1" and request["body"]["temperature"] == 0
    assert request["body"]["messages"] == [{"role": "user", "content": "什么是KPI？"}]
    assert request["headers"]["authorization"] == "Bearer served-key"
    assert (answer.text, answer.adapter_name, answer.accuracy) == (STUB_REPLY, "terms-v1", accuracy)
    assert stub_chat_server.address in answer.base_model
    assert "served-key" not in caplog.text + repr(settings) + answer.base_model  # the key stays a secret


def test_a_served_adapter_below_the_bar_is_refused_without_asking_the_server(evaluated, stub_chat_server):
    settings = term_settings(term_adapter=str(evaluated), term_min_accuracy=1.01,
                             term_base_url=f"{stub_chat_server.address}/v1")

    with pytest.raises(AdapterBelowBarError):
        ask_term_adapter(settings, "什么是KPI？")
    assert stub_chat_server.requests == []


def test_an_unreachable_term_model_server_is_a_clear_adapter_error(evaluated):
    from tests.app_process import free_port

    settings = term_settings(term_adapter=str(evaluated), term_min_accuracy=0.0,
                             term_base_url=f"http://127.0.0.1:{free_port()}/v1")

    with pytest.raises(TermServerError, match="did not answer"):
        ask_term_adapter(settings, "什么是KPI？")


def test_incremental_training_adds_new_terms_and_reports_retention(tmp_path, base, trained):
    grown = tmp_path / "data-v2"
    write_dataset(build_dataset([AM, KPI, SLA], eval_terms_fraction=0.0), grown, {})
    out = tmp_path / "terms-v2"

    result = train_lora(LoraOptions(base=base, data=grown, out=out, from_adapter=trained.adapter_dir, replay_ratio=0.5, **FAST))
    report = run_evaluation(base, grown, out, max_new_tokens=SHORT_REPLIES)

    manifest = read_manifest(out)
    assert manifest.new_terms == ["sla"]
    assert manifest.parent_adapter == str(trained.adapter_dir)
    assert set(manifest.trained_terms) == {"am", "kpi", "sla"}
    new_rows = sum(1 for line in (grown / "train.jsonl").read_text(encoding="utf-8").splitlines() if '"sla"' in line)
    assert result.train_rows == new_rows + round(0.5 * new_rows)
    adapter = report.adapter_metrics
    assert adapter[NEW_TERMS]["rows"] == new_rows and adapter[OLD_TERMS]["rows"] > 0
    assert adapter[NEW_TERMS]["accuracy"] > report.base[NEW_TERMS]["accuracy"]


def test_incremental_training_without_new_terms_is_refused(tmp_path, base, data, trained, capsys):
    code = main(["lora", "--base", str(base), "--data", str(data), "--out", str(tmp_path / "same"), "--from-adapter", str(trained.adapter_dir)])

    assert code == 1
    assert "nothing to train" in capsys.readouterr().err


def test_eval_and_list_commands_print_side_by_side_figures(evaluated, base, data, capsys):
    assert main(["eval", "--base", str(base), "--adapter", str(evaluated), "--data", str(data), "--max-rows", "5", "--max-new-tokens", "16"]) == 0
    table = capsys.readouterr().out
    assert "memorised_forms" in table and "adapter" in table and "leaked_special_tokens_rate" in table

    assert main(["list", "--root", str(evaluated.parent)]) == 0
    listing = capsys.readouterr().out
    assert "terms-v1" in listing and "heldout_forms" in listing


@pytest.fixture
def glossary_without_kpi(tmp_path, monkeypatch, write_workbook):
    """A service whose glossary knows SLA but not KPI, so only the term model can answer KPI."""
    from agent.answer.service import KnowledgeService

    for name in [n for n in __import__("os").environ if n.startswith("KB_")]:
        monkeypatch.delenv(name)
    knowledge = tmp_path / "knowledge"
    write_workbook(knowledge / "glossary" / "g.xlsx", {"术语": [["缩略语", "英文全称", "中文解释"],
                                                              ["SLA", "Service Level Agreement", "服务等级协议"]]})

    def service(**env):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return KnowledgeService(Settings.from_env(knowledge_dir=knowledge, index_dir=tmp_path / "index"))
    return service


def test_abbreviation_lookup_answers_a_term_the_glossary_lacks_from_the_adapter_labelled(
        glossary_without_kpi, evaluated, base):
    from agent.llm.adapter_registry import read_manifest
    from tools.abbreviation_lookup import abbreviation_lookup

    accuracy = read_manifest(evaluated).accuracy
    service = glossary_without_kpi(KB_TERM_ADAPTER=str(evaluated), KB_TERM_BASE=str(base),
                                   KB_TERM_MIN_ACCURACY=str(accuracy))

    result = abbreviation_lookup("KPI", service=service)

    assert result["found"] and result["model_generated"] and result["adapter"] == "terms-v1"
    assert "Key Performance Indicator" in result["answer"]
    assert "not from the glossary" in result["note"]
    assert abbreviation_lookup("SLA", service=service)["source"] == "glossary"


def test_asking_what_an_abbreviation_the_glossary_lacks_means_reaches_the_term_model_labelled(
        glossary_without_kpi, evaluated, base):
    from agent.llm.adapter_registry import read_manifest

    accuracy = read_manifest(evaluated).accuracy
    service = glossary_without_kpi(KB_TERM_ADAPTER=str(evaluated), KB_TERM_BASE=str(base),
                                   KB_TERM_MIN_ACCURACY=str(accuracy))

    answer = service.ask("KPI是什么意思？")

    assert answer.route == "term" and not answer.abstained
    assert "Key Performance Indicator" in answer.text
    assert "术语模型 terms-v1" in answer.text and "请核实" in answer.text
    assert answer.llm == "term model terms-v1"
    assert service.ask("SLA是什么意思？").text.startswith("SLA：Service Level Agreement")


def test_without_a_term_model_an_abbreviation_the_glossary_lacks_is_abstained_on(glossary_without_kpi):
    answer = glossary_without_kpi().ask("KPI是什么意思？")

    assert answer.route == "term" and answer.abstained
    assert "术语表中没有“KPI”的条目" in answer.text


def test_abbreviation_lookup_asks_the_adapter_in_the_glossary_s_spelling(glossary_without_kpi, evaluated,
                                                                         stub_chat_server):
    """Lower-case and full-width abbreviations reach the model as the glossary writes them."""
    from tools.abbreviation_lookup import abbreviation_lookup

    service = glossary_without_kpi(KB_TERM_ADAPTER=str(evaluated), KB_TERM_MIN_ACCURACY="0",
                                   KB_TERM_BASE_URL=f"{stub_chat_server.address}/v1")

    results = [abbreviation_lookup(spelling, service=service) for spelling in ("kpi", "ＫＰＩ", "客户经理")]

    asked = [request["body"]["messages"][-1]["content"] for request in stub_chat_server.requests]
    assert asked == ["什么是KPI？", "什么是KPI？", "什么是客户经理？"]
    assert all(r["found"] and r["model_generated"] for r in results)


def test_abbreviation_lookup_refuses_an_adapter_below_the_bar(glossary_without_kpi, evaluated, base):
    from tools.abbreviation_lookup import abbreviation_lookup

    from agent.llm.adapter_registry import read_manifest

    assert read_manifest(evaluated).accuracy < 1.0  # so a bar of 1 refuses it
    service = glossary_without_kpi(KB_TERM_ADAPTER=str(evaluated), KB_TERM_BASE=str(base),
                                   KB_TERM_MIN_ACCURACY="1")

    result = abbreviation_lookup("KPI", service=service)

    assert not result["found"] and "not used" in result["term_model"]
