"""Splitting located sections into passages for retrieval."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.ingest.chunking import PASSAGE_SEPARATORS, split_sections, split_text
from agent.records import Passage, Section

SENTENCES = [f"第{number}条：员工每月五日前提交报销单。" for number in range(1, 31)]


def test_short_section_becomes_one_passage_with_its_source_and_location():
    sections = [Section("客户提交工单后，客服在24小时内响应。", "售后流程 > 职责")]

    passages = split_sections(sections, "docs/手册.docx", chunk_size=300, chunk_overlap=60)

    assert passages == [Passage("客户提交工单后，客服在24小时内响应。", "docs/手册.docx", "售后流程 > 职责")]


def test_passages_never_exceed_chunk_size():
    sections = [Section("".join(SENTENCES), "p. 1"), Section("无标点的长文本" * 100, "p. 2")]

    passages = split_sections(sections, "a.pdf", chunk_size=60, chunk_overlap=20)

    assert len(passages) > 2
    assert all(len(passage.text) <= 60 for passage in passages)


def test_long_chinese_text_is_cut_at_sentence_ends_keeping_the_full_stop():
    passages = split_sections([Section("".join(SENTENCES), "p. 1")], "a.pdf", chunk_size=60, chunk_overlap=20)

    for passage in passages:
        assert passage.text.startswith("第")
        assert passage.text.endswith("。")


def test_neighbouring_passages_overlap_by_at_most_chunk_overlap():
    passages = split_sections([Section("".join(SENTENCES), "p. 1")], "a.pdf", chunk_size=60, chunk_overlap=20)

    for before, after in zip(passages, passages[1:]):
        shared_sentence = after.text.split("。")[0] + "。"
        assert before.text.endswith(shared_sentence)
        assert len(shared_sentence) <= 20


def test_without_overlap_passages_share_nothing_and_together_are_the_text():
    text = "".join(SENTENCES)

    passages = split_sections([Section(text, "p. 1")], "a.pdf", chunk_size=60, chunk_overlap=0)

    assert "".join(passage.text for passage in passages) == text


def test_every_sentence_is_in_some_passage():
    passages = split_sections([Section("".join(SENTENCES), "p. 1")], "a.pdf", chunk_size=60, chunk_overlap=20)

    for sentence in SENTENCES:
        assert any(sentence in passage.text for passage in passages)


def test_paragraph_breaks_are_preferred_over_sentence_ends():
    first = "第一段第一句。第一段第二句。"
    second = "第二段第一句。第二段第二句。"

    passages = split_sections([Section(f"{first}\n\n{second}", "p. 1")], "a.pdf", chunk_size=20, chunk_overlap=0)

    assert [passage.text for passage in passages] == [first, second]


def test_english_text_is_cut_at_sentence_ends():
    text = "Submit the ticket first. Support replies within a day. Escalate urgent cases by phone."

    passages = split_sections([Section(text, "p. 1")], "a.pdf", chunk_size=40, chunk_overlap=0)

    assert [passage.text for passage in passages] == [
        "Submit the ticket first.",
        "Support replies within a day.",
        "Escalate urgent cases by phone.",
    ]


def test_passages_never_cross_sections_and_keep_their_own_location():
    sections = [Section("".join(SENTENCES[:10]), "slide 1"), Section("".join(SENTENCES[10:20]), "slide 2")]

    passages = split_sections(sections, "deck.pptx", chunk_size=60, chunk_overlap=20)

    for passage in passages:
        source_section = next(section for section in sections if section.location == passage.location)
        assert passage.text in source_section.text
    assert {passage.location for passage in passages} == {"slide 1", "slide 2"}
    assert all(passage.source == "deck.pptx" for passage in passages)


# Texts made of the separators and a few characters, so every level of the recursion is reached.
_TEXT = st.lists(st.sampled_from(["\n\n", "\n", "。", "！", "？", "；", ". ", "? ", "! ", ";", " ", "报", "销", "单",
                                  "a", "b", "1"]), max_size=300).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=_TEXT, size=st.integers(1, 80), overlap=st.integers(0, 40))
def test_the_splitter_cuts_every_text_as_langchains_recursive_splitter_does(text, size, overlap):
    """split_text is langchain-text-splitters' RecursiveCharacterTextSplitter written out (the runtime install
    no longer carries that package); the index must not change with it."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    overlap = min(overlap, size)
    langchain = RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap,
                                               separators=PASSAGE_SEPARATORS, keep_separator="end")

    assert split_text(text, size, overlap) == langchain.split_text(text)


def test_the_splitter_cuts_the_sample_documents_as_langchains_does():
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from agent.ingest.documents import read_sections
    from agent.settings import REPO_ROOT

    langchain = RecursiveCharacterTextSplitter(chunk_size=300, chunk_overlap=60, separators=PASSAGE_SEPARATORS,
                                               keep_separator="end")
    sections = [s for path in sorted((REPO_ROOT / "knowledge" / "docs").iterdir()) for s in read_sections(path)]

    assert sections
    for section in sections:
        assert split_text(section.text, 300, 60) == langchain.split_text(section.text)
