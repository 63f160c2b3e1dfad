"""Why an answer is what it is, as codes with parameters.

The decision and the answer paths say which reasons hold (`Reason("faq_match", question=…)`); each surface words
them in its own language from the templates here. `Answer.reason` and `RouteDecision.reason` keep the English
wording for the API, the CLI and the question log. A new reason is one code with a template per language, and
tests/test_reasons.py checks that every code has both.
"""
from __future__ import annotations

from dataclasses import dataclass, field

TEMPLATES: dict[str, dict[str, str]] = {
    "en": {
        "understood_as": "understood as: {question}",
        "faq_match": "matches the FAQ question “{question}”",
        "faq_probable": "probably the FAQ question “{question}”",
        "asked_to_confirm": "asked to confirm",
        "tool_match": "matches the tool {tool}'s example “{question}”",
        "tool_probable": "probably the tool {tool} (its example “{question}”)",
        "tool_failed": "the tool failed",
        "term_meaning": "asks what the glossary term {terms} means",
        "term_meanings": "asks what the glossary term {terms} means (several meanings)",
        "term_unknown": "asks what {terms} means, which the glossary does not hold",
        "term_model": "answered by the term model {model}",
        "mentions_more": "mentions {terms} but asks more than its meaning",
        "no_term_or_faq": "no glossary term or FAQ entry answers it",
        "searched_documents": "searched the documents",
        "nothing_answers": "nothing in the knowledge answers it: the best passages cover {coverage} of the question",
        "nothing_answers_faq": "nothing in the knowledge answers it: the best passages cover {coverage} of the "
                               "question, the closest FAQ entry has a {chance} chance",
        "llm_failed": "the LLM failed, so the passages are quoted",
        "generated_template_tokens": "the generated answer leaks template tokens ({detail}), so the passages are quoted",
        "generated_empty": "the generated answer is empty, so the passages are quoted",
        "generated_loop": "the generated answer repeats itself, so the passages are quoted",
        "generated_no_citation": "the generated answer cites no passage, so the passages are quoted",
        "generated_unsupported": "the generated answer is not supported by the passages it cites ({unsupported} of "
                                 "{sentences} sentences), so the passages are quoted",
        "generated_timeout": "the generated answer took longer than {seconds} s, so the passages are quoted",
        "no_words": "no words in the question: nothing to look up",
    },
    "zh": {
        "understood_as": "理解为：{question}",
        "faq_match": "与常见问题“{question}”相符",
        "faq_probable": "可能是常见问题“{question}”",
        "asked_to_confirm": "请您确认",
        "tool_match": "与工具 {tool} 的示例问题“{question}”相符",
        "tool_probable": "可能是在问工具 {tool} 能回答的“{question}”",
        "tool_failed": "工具出错",
        "term_meaning": "询问术语表中 {terms} 的含义",
        "term_meanings": "询问术语表中 {terms} 的含义（有多个含义）",
        "term_unknown": "询问 {terms} 的含义，术语表中没有这个词",
        "term_model": "由术语模型 {model} 回答",
        "mentions_more": "提到了 {terms}，但问的不只是它的含义",
        "no_term_or_faq": "术语表和常见问题都不能回答",
        "searched_documents": "已检索文档",
        "nothing_answers": "知识库中没有答案：最相关的段落只覆盖问题的 {coverage}",
        "nothing_answers_faq": "知识库中没有答案：最相关的段落只覆盖问题的 {coverage}，最接近的常见问题相符的可能性为 {chance}",
        "llm_failed": "语言模型出错，因此直接引用原文",
        "generated_template_tokens": "生成的回答泄露了模板标记（{detail}），因此直接引用原文",
        "generated_empty": "生成的回答为空，因此直接引用原文",
        "generated_loop": "生成的回答在重复自己，因此直接引用原文",
        "generated_no_citation": "生成的回答没有引用资料，因此直接引用原文",
        "generated_unsupported": "生成的回答有 {unsupported}/{sentences} 句得不到所引资料的支持，因此直接引用原文",
        "generated_timeout": "生成回答超过 {seconds} 秒，因此直接引用原文",
        "no_words": "问题中没有文字，无从查找",
    },
}
SEPARATORS = {"en": "; ", "zh": "；"}


@dataclass(frozen=True)
class Reason:
    code: str
    params: dict[str, str] = field(default_factory=dict)

    def text(self, language: str = "en") -> str:
        return TEMPLATES[language][self.code].format(**self.params)


def because(code: str, **params) -> Reason:
    """A reason; parameters are shown as given, so numbers come formatted ("33%", "60")."""
    return Reason(code, {name: str(value) for name, value in params.items()})


def worded(reasons, language: str = "en") -> str:
    return SEPARATORS[language].join(reason.text(language) for reason in reasons)


def as_json(reasons) -> list[dict]:
    """For a client that words the reasons in its own language (`ask --json`, the API's `kb`)."""
    return [{"code": reason.code, "params": reason.params} for reason in reasons]


def from_json(items) -> list[Reason]:
    """Reasons as `dataclasses.asdict` stored them; codes this version does not know are left out."""
    return [Reason(item["code"], dict(item.get("params") or {})) for item in items or []
            if item.get("code") in TEMPLATES["en"]]
