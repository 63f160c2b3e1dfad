"""A tiny Qwen2 chat model built offline, so tests can run real transformers code without downloads.

`build_tiny_qwen(folder)` trains a byte-level BPE tokenizer on a small built-in Chinese + English
corpus, wrapped as a Qwen2 tokenizer with Qwen's special tokens and ChatML chat template by the same
`train.scratch_base.build_tokenizer` the CPU rehearsal base model uses; then it builds a
randomly initialised `Qwen2ForCausalLM` (2 layers, hidden 64) and saves both with `save_pretrained`,
so `AutoTokenizer.from_pretrained(folder)` and `AutoModelForCausalLM.from_pretrained(folder)` load it.
The weights are random but seeded: the same folder contents come out on every run. A folder already
holding a build of this version is reused as is, so a test session can share one build.

Use it from a test (run with `python -m pytest`, so the repository root is importable):

    from tests.tiny_qwen import build_tiny_qwen

    @pytest.fixture(scope="module")
    def tiny_model(tmp_path_factory):
        return build_tiny_qwen(tmp_path_factory.mktemp("tiny-qwen"))

The tokenizer's eos is `<|im_end|>` and pad is `<|endoftext|>`, as in Qwen2.5-Instruct; the
generation config stops on either. Greedy replies are varied text (not one repeated token).
"""
from __future__ import annotations

import json
from pathlib import Path

from train.scratch_base import ENDOFTEXT, IM_END, build_tokenizer

TINY_QWEN_VERSION = "1"
BUILD_MARKER = "tiny_qwen_build.json"

CORPUS = [
    "AM 客户经理 Account Manager",
    "PM 产品经理 Product Manager",
    "KA 重点客户 Key Account",
    "SLA 服务等级协议 Service Level Agreement",
    "KPI 关键绩效指标 Key Performance Indicator",
    "OKR 目标与关键成果 Objectives and Key Results",
    "CRM 客户关系管理 Customer Relationship Management",
    "ERP 企业资源计划 Enterprise Resource Planning",
    "POC 概念验证 Proof of Concept",
    "SOP 标准作业程序 Standard Operating Procedure",
    "HR 人力资源 Human Resources",
    "BD 商务拓展 Business Development",
    "AM 是什么意思？AM 是客户经理（Account Manager）的缩写。",
    "请问 SLA 指的是什么？SLA 是服务等级协议。",
    "What does KPI stand for? KPI means Key Performance Indicator.",
    "报销流程：提交申请，经理审批，财务付款。",
    "年假怎么申请？在人事系统中提交请假单。",
    "The account manager owns the relationship with the customer.",
    "售后服务由客户经理协调，技术支持团队负责处理工单。",
    "公司的知识库包含术语表、常见问题和制度文档。",
    "Please answer the question using the glossary and the documents.",
    "你好，我是企业知识助手，可以解释公司缩写和回答常见问题。",
    "QA 质量保证 Quality Assurance",
    "R&D 研发 Research and Development",
    "FAQ 常见问题 Frequently Asked Questions",
    "IT 信息技术 Information Technology",
    "CFO 首席财务官 Chief Financial Officer",
    "差旅标准：一线城市住宿每晚不超过五百元。",
    "新员工入职第一周需要完成安全培训和系统账号开通。",
    "合同审批需要法务部门和财务部门共同签字。",
    "How do I reset my password? Open the IT portal and choose reset password.",
    "Expense claims must be submitted within thirty days of the purchase.",
    "根据制度文档第三章，加班需要提前在系统中申请。",
    "If the glossary has several meanings for one abbreviation, list all of them.",
]


def build_tiny_qwen(folder: Path, vocab_size: int = 1200) -> Path:
    """Build (or reuse) the tiny Qwen2 chat model in `folder` and return the folder."""
    folder = Path(folder)
    marker = folder / BUILD_MARKER
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == _build_record(vocab_size):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(CORPUS, vocab_size, model_max_length=2048)
    tokenizer.save_pretrained(folder)
    _build_model(tokenizer).save_pretrained(folder)
    marker.write_text(json.dumps(_build_record(vocab_size)), encoding="utf-8")
    return folder


def _build_record(vocab_size: int) -> dict:
    return {"version": TINY_QWEN_VERSION, "vocab_size": vocab_size}


def _build_model(tokenizer):
    """A seeded, randomly initialised Qwen2ForCausalLM sized for the tokenizer."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    eos_ids = [tokenizer.convert_tokens_to_ids(IM_END), tokenizer.convert_tokens_to_ids(ENDOFTEXT)]
    pad_id = tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        initializer_range=0.2,  # wide enough that greedy decoding yields varied text, not one repeated token
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=eos_ids[0],
        pad_token_id=pad_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=eos_ids, pad_token_id=pad_id, bos_token_id=None, do_sample=False
    )
    return model
