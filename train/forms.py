"""The ways people ask about a term, each a named form, kept apart by use so evaluation stays honest.

Train forms are what the adapter learns from (the company's five questions come first). Valid forms
decide early stopping and the best checkpoint. Eval forms are never seen in training or in model
selection, so their accuracy says how the adapter copes with phrasings nobody wrote down.
"""
from __future__ import annotations

from dataclasses import dataclass

TRAIN = "train"
VALID = "valid"
EVAL = "eval"

ABOUT_ABBREVIATION = "abbreviation"  # asks what an abbreviation means
ABOUT_ENGLISH = "english"  # names the English full name, asks for the abbreviation
ABOUT_CHINESE = "chinese"  # names the Chinese name, asks for the abbreviation


@dataclass(frozen=True)
class QuestionForm:
    """One phrasing. `{x}` stands for the subject; `spelling` says how an abbreviation is written in it."""

    form_id: str
    text: str
    about: str
    use: str  # TRAIN | VALID | EVAL
    spelling: str = "as_written"  # as_written | lower | full_width

    def question(self, subject: str) -> str:
        return self.text.format(x=respell(subject, self.spelling))


def respell(subject: str, spelling: str) -> str:
    """Write a subject the way a hurried colleague might: lower case or full-width letters."""
    if spelling == "lower":
        return subject.lower()
    if spelling == "full_width":
        return "".join(_full_width(ch) for ch in subject)
    return subject


def _full_width(ch: str) -> str:
    if "!" <= ch <= "~":
        return chr(ord(ch) + 0xFEE0)
    return ch


FORMS: tuple[QuestionForm, ...] = (
    # The five questions the company's first dataset used.
    QuestionForm("what_is", "什么是{x}？", ABOUT_ABBREVIATION, TRAIN),
    QuestionForm("stands_for", "{x}代表什么？", ABOUT_ABBREVIATION, TRAIN),
    QuestionForm("english_full_name", "{x}的英文全称是什么？", ABOUT_ABBREVIATION, TRAIN),
    QuestionForm("chinese_meaning", "{x}的中文含义是什么？", ABOUT_ABBREVIATION, TRAIN),
    QuestionForm("abbreviation_of_english", "{x}的缩略语是什么？", ABOUT_ENGLISH, TRAIN),
    # Further phrasings, English questions, terms inside a sentence, unusual spellings.
    QuestionForm("meaning", "{x}是什么意思？", ABOUT_ABBREVIATION, TRAIN),
    QuestionForm("full_name", "{x}的全称是什么？", ABOUT_ABBREVIATION, TRAIN),
    QuestionForm("explain", "请解释一下{x}。", ABOUT_ABBREVIATION, TRAIN),
    QuestionForm("en_stand_for", "What does {x} stand for?", ABOUT_ABBREVIATION, TRAIN),
    QuestionForm("en_what_is", "What is {x}?", ABOUT_ABBREVIATION, TRAIN),
    QuestionForm("in_sentence_minutes", "会议纪要里提到的{x}是什么意思？", ABOUT_ABBREVIATION, TRAIN),
    QuestionForm("in_sentence_email", "我在邮件里看到{x}，这是指什么？", ABOUT_ABBREVIATION, TRAIN),
    QuestionForm("meaning_lower", "{x}是什么意思？", ABOUT_ABBREVIATION, TRAIN, spelling="lower"),
    QuestionForm("what_is_full_width", "什么是{x}？", ABOUT_ABBREVIATION, TRAIN, spelling="full_width"),
    QuestionForm("en_abbreviation_for", "What is the abbreviation for {x}?", ABOUT_ENGLISH, TRAIN),
    QuestionForm("abbreviation_of_chinese", "{x}的英文缩写是什么？", ABOUT_CHINESE, TRAIN),
    # Used only to pick the best checkpoint and stop early.
    QuestionForm("refers_to", "{x}指什么？", ABOUT_ABBREVIATION, VALID),
    QuestionForm("en_explain", "Could you explain {x}?", ABOUT_ABBREVIATION, VALID),
    QuestionForm("in_sentence_report", "周报里写的{x}是啥？", ABOUT_ABBREVIATION, VALID),
    QuestionForm("english_shortened", "{x}缩写成什么？", ABOUT_ENGLISH, VALID),
    # Held out: never in training, never used to choose a checkpoint.
    QuestionForm("abbreviation_of_what", "{x}是什么的缩写？", ABOUT_ABBREVIATION, EVAL),
    QuestionForm("polite_what_is", "请问{x}是什么？", ABOUT_ABBREVIATION, EVAL),
    QuestionForm("refers_to_exactly", "{x}具体指的是什么？", ABOUT_ABBREVIATION, EVAL),
    QuestionForm("en_meaning_of", "What's the meaning of {x}?", ABOUT_ABBREVIATION, EVAL),
    QuestionForm("in_sentence_colleague", "同事说的{x}到底是什么意思？", ABOUT_ABBREVIATION, EVAL),
    QuestionForm("in_sentence_contract", "这份合同里出现了{x}，请问它代表什么？", ABOUT_ABBREVIATION, EVAL),
    QuestionForm("stands_for_lower", "{x}代表什么意思？", ABOUT_ABBREVIATION, EVAL, spelling="lower"),
    QuestionForm("what_is_full_width_plain", "{x}是什么？", ABOUT_ABBREVIATION, EVAL, spelling="full_width"),
    QuestionForm("english_written_short", "{x}通常简写成什么？", ABOUT_ENGLISH, EVAL),
    QuestionForm("en_which_abbreviation", "Which abbreviation stands for {x}?", ABOUT_ENGLISH, EVAL),
    QuestionForm("abbreviation_of_chinese_short", "{x}的缩写是什么？", ABOUT_CHINESE, EVAL),
)


def forms_for(use: str) -> tuple[QuestionForm, ...]:
    return tuple(form for form in FORMS if form.use == use)

