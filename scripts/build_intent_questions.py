"""Build agent/answer/data/term_intent_questions.jsonl: the questions the term-intent classifier learns from.

Each question has its subject replaced by the placeholder XYZ, so the classifier learns how a question
asks, not which term it names. Positives ask only what a term means or what its other names are: the
term model's own question forms (train/forms.py) and a grammar of ways to ask, in Chinese and English.
Negatives ask something else about a subject: CMRC2018 questions (CC BY-SA 4.0, Cui et al. 2019; from
../shared/benchmarks) with their first noun masked, and questions that name a term but ask what the
documents say about it. Run: python scripts/build_intent_questions.py
"""
from __future__ import annotations

import itertools
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from train.forms import FORMS  # noqa: E402

PLACEHOLDER = "XYZ"
OUT = REPO / "agent" / "answer" / "data" / "term_intent_questions.jsonl"
CMRC = [REPO.parent / "shared" / "benchmarks" / "cmrc2018" / name
        for name in ("cmrc2018_dev.json", "cmrc2018_trial.json")]
NEGATIVES_FROM_CMRC = 1200
POSITIVES_FROM_GRAMMAR = 1500  # a sample of the grammar: enough wordings, and a quick fit for a new embedder
# "XYZ是什么分数": asking which kind of thing a term is, with any common noun as the kind (jieba's dictionary).
KIND_NOUNS = 2000  # the most frequent two-character nouns
KIND_QUESTIONS = 500
# A statement that names the subject, then a question about it: clauses of CMRC2018 passages with a noun
# masked, each followed by a way to ask the meaning (positive) or something else (negative), so the
# statement itself says nothing about the label.
CLAUSES = 500

# Ways to ask what a term means or what its other names are; {x} is the subject.
MEANING_CORES_ZH = """{x}是什么意思 {x}什么意思 {x}啥意思 {x}是啥 {x}是什么 什么是{x} {x}指什么 {x}指的是什么
{x}代表什么 {x}代表啥 {x}表示什么 {x}的含义 {x}的意思是 {x}的全称 {x}的全称是什么 {x}全称 {x}的英文全称
{x}英文全称是啥 {x}的中文名 {x}的中文名称是什么 {x}中文叫什么 {x}翻译成中文是什么 {x}的中文解释
{x}是哪几个英文单词的缩写 {x}是什么的缩写 {x}是什么的简称 {x}是哪个词的缩写 {x}展开是什么 {x}怎么解释
{x}用英文缩写怎么写 {x}的英文缩写 {x}的缩写是什么 {x}简称什么 {x}英文怎么说 {x}的英文名 {x}缩写成什么
解释一下{x} 解释下{x} 介绍一下{x}这个词 {x}这个词是什么意思 {x}这个缩写啥意思 {x}到底指什么
{x}是什么岗位 {x}是什么职位 {x}是个什么角色 {x}是什么东西""".split()
# "XYZ是什么系统": asking which kind of thing a term is also asks what it means.
KINDS_ZH = """系统 软件 平台 工具 协议 合同 税 费用 岗位 职位 部门 角色 流程 文件 表格 设备 标准 认证 证书 检验 测试 指标
服务 组织 机构 项目 产品 会议 东西 概念 术语 单位""".split()
KIND_CORES_ZH = ["{x}是什么{k}", "{x}是哪种{k}", "{x}是个什么{k}", "{x}是指哪个{k}"]
# A sentence that names the term, then the question: "合同里写着XYZ，XYZ是什么".
CONTEXTS_ZH = ["合同里写着{x}，", "群里有人提到{x}，", "领导让我准备{x}，", "培训时讲到{x}，", "系统提示要做{x}，",
               "客户问起{x}，", "报表里有一栏{x}，"]
MEANING_CORES_EN = [
    "what does {x} mean", "what does {x} stand for", "what is {x}", "what's {x}", "what is {x} short for",
    "what's the meaning of {x}", "what is the full name of {x}", "define {x}", "explain {x}",
    "could you explain {x}", "{x} meaning", "{x} stands for what", "what is the abbreviation for {x}",
    "how do you abbreviate {x}", "what is {x} in Chinese", "what's the Chinese name for {x}",
    "what is the English name of {x}", "expand {x}", "what is meant by {x}", "which abbreviation stands for {x}",
]
PREFIXES_ZH = ["", "请问", "请问一下", "我想知道", "想问下", "你好，", "公司文件里的", "邮件里提到的", "会上说的",
               "同事说的", "听说", "文档里写的", "周报里的", "系统里显示的"]
SUFFIXES_ZH = ["", "？", "?", "呀", "呢？", "啊"]
PREFIXES_EN = ["", "hi, ", "quick question: ", "in our docs, ", "sorry, "]
SUFFIXES_EN = ["?", "", " ?"]

# Questions that name a subject but ask what the documents or policies say about it.
OTHER_ASKS = """{x}负责哪些事情 {x}负责什么工作 {x}的职责有哪些 {x}的审批流程是什么 {x}怎么申请 {x}在哪里办理
{x}需要提交什么材料 {x}多久更新一次 {x}由谁审批 {x}的报价流程是怎样的 {x}和客户怎么对接 {x}的考核标准是什么
{x}什么时候截止 {x}要提前几天提交 {x}超过期限怎么办 {x}的费用怎么报销 {x}的联系人是谁 在售后流程里{x}要做什么
{x}可以直接报价吗 {x}的权限有哪些 {x}出了问题找谁 {x}每个月要交什么 {x}的流程有几步 {x}需要谁签字
{x}的标准是多少 {x}怎么计算 {x}在哪个系统里填 {x}有哪些注意事项 {x}如何配置 {x}为什么被驳回""".split()
OTHER_ASKS_EN = [
    "who is responsible for {x}", "how do I apply for {x}", "when is the {x} deadline", "who approves {x}",
    "how is {x} calculated", "where do I submit {x}", "what are the steps of {x}", "how often is {x} updated",
    "can {x} give a quote directly", "what documents does {x} need", "who should I contact about {x}",
    "why was my {x} rejected", "how do I reset {x}", "what is the process for {x}",
]


def positives(rng: random.Random, clauses: list[str]) -> list[str]:
    forms = [form.text.format(x=PLACEHOLDER) for form in FORMS]
    questions = []
    for core, prefix, suffix in itertools.product(MEANING_CORES_ZH, PREFIXES_ZH, SUFFIXES_ZH):
        questions.append(prefix + core.format(x=PLACEHOLDER) + suffix)
    for core, kind, prefix in itertools.product(KIND_CORES_ZH, KINDS_ZH, PREFIXES_ZH[:8]):
        questions.append(prefix + core.format(x=PLACEHOLDER, k=kind) + "？")
    for context, core in itertools.product(CONTEXTS_ZH, MEANING_CORES_ZH[:12] + KIND_CORES_ZH):
        questions.append(context.format(x=PLACEHOLDER) + core.format(x=PLACEHOLDER, k="东西") + "？")
    for core, prefix, suffix in itertools.product(MEANING_CORES_EN, PREFIXES_EN, SUFFIXES_EN):
        text = prefix + core.format(x=PLACEHOLDER) + suffix
        questions.append(text[0].upper() + text[1:])
    kinds = rng.sample(kind_nouns(), KIND_QUESTIONS)
    questions_of_kind = [rng.choice(PREFIXES_ZH) + rng.choice(KIND_CORES_ZH).format(x=PLACEHOLDER, k=kind) +
                         rng.choice(SUFFIXES_ZH) for kind in kinds]
    in_context = [clause + rng.choice(("，", "，", " ")) + rng.choice(MEANING_CORES_ZH).format(x=PLACEHOLDER) +
                  rng.choice(SUFFIXES_ZH) for clause in clauses[:CLAUSES // 2]]
    in_context += [clause + rng.choice(("是什么意思", "是啥意思", "指的是什么")) + rng.choice(SUFFIXES_ZH)
                   for clause in clauses[CLAUSES // 2:CLAUSES]]
    return forms + rng.sample(questions, POSITIVES_FROM_GRAMMAR) + questions_of_kind + in_context


def kind_nouns() -> list[str]:
    """Frequent two-character nouns of jieba's dictionary, less those that CMRC2018 questions put after 什么
    to ask for an attribute (什么时候, 什么地方, 什么颜色)."""
    import re

    import jieba

    attributes = {m for q in cmrc_questions() for m in re.findall(r"什么([\u4e00-\u9fff]{2})", q)}
    nouns = []
    for line in (Path(jieba.__file__).parent / "dict.txt").read_text(encoding="utf-8").splitlines():
        word, frequency, tag = line.split()
        if tag == "n" and len(word) == 2 and word not in attributes:
            nouns.append((int(frequency), word))
    return [word for _, word in sorted(nouns, reverse=True)[:KIND_NOUNS]]


def cmrc_questions() -> list[str]:
    return [qa["question"] for paragraph in _cmrc_paragraphs() for qa in paragraph["qas"]]


def cmrc_clauses(rng: random.Random) -> list[str]:
    """Short clauses of CMRC2018 passages with a noun masked: statements that name a subject."""
    import re

    pieces = [piece for paragraph in _cmrc_paragraphs() for piece in re.split(r"[，。；！？：,;!?:\s]", paragraph["context"])
              if 5 <= len(piece) <= 14 and not re.search(r"[“”\"《》（）()A-Za-z0-9]", piece)]
    rng.shuffle(pieces)
    clauses = []
    for piece in pieces:
        masked = mask_first_noun(piece)
        if masked is not None:
            clauses.append(masked)
        if len(clauses) >= 2 * CLAUSES:
            break
    return clauses


def _cmrc_paragraphs() -> list[dict]:
    paragraphs = []
    for path in CMRC:
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            paragraphs += article["paragraphs"]
    return paragraphs


def mask_first_noun(text: str) -> str | None:
    import jieba.posseg

    words = list(jieba.posseg.cut(text))
    nouns = [i for i, w in enumerate(words) if w.flag.startswith(("n", "nr", "ns", "nz", "eng")) and len(w.word) >= 2]
    if not nouns:
        return None
    words[nouns[0]].word = PLACEHOLDER
    return "".join(w.word for w in words)


def negatives(rng: random.Random, clauses: list[str]) -> list[str]:
    cmrc = cmrc_questions()
    rng.shuffle(cmrc)
    masked = []
    for question in cmrc:
        question = mask_first_noun(question)
        if question is None:
            continue
        masked.append(question)
        if len(masked) >= NEGATIVES_FROM_CMRC:
            break
    masked += [clause + rng.choice(("，", "，", " ")) + rng.choice(OTHER_ASKS).format(x=PLACEHOLDER) +
               rng.choice(SUFFIXES_ZH) for clause in clauses[CLAUSES:]]
    asks = [prefix + ask.format(x=PLACEHOLDER) + suffix
            for ask, prefix, suffix in itertools.product(OTHER_ASKS, PREFIXES_ZH[:6], SUFFIXES_ZH[:3])]
    asks += [(prefix + ask.format(x=PLACEHOLDER) + "?").capitalize()
             for ask, prefix in itertools.product(OTHER_ASKS_EN, PREFIXES_EN)]
    return masked + asks


def main() -> None:
    rng = random.Random(13)
    clauses = cmrc_clauses(rng)
    positive = list(dict.fromkeys(positives(rng, clauses)))
    negative = [q for q in dict.fromkeys(negatives(rng, clauses)) if q not in set(positive)]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as out:
        for label, questions in ((1, positive), (0, negative)):
            for question in questions:
                out.write(json.dumps({"question": question, "asks_meaning": label}, ensure_ascii=False) + "\n")
    print(f"{OUT.relative_to(REPO)}: {len(positive)} asking a meaning, {len(negative)} asking something else")


if __name__ == "__main__":
    main()
