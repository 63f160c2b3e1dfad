"""The wording of a follow-up: the closed classes of words it is made of (referring words, openers that
continue the conversation, question words, ordinals), matched as whole words or jieba tokens, and what they
tell: what is left of a fragment, which words refer back, what a question is about, whether it opens with a
subject, which meaning an ordinal counts, and the words the user typed that say what is asked about. They
are grammar, not wordings of any question."""
from __future__ import annotations

import re

from agent.answer.understand import asks_only_meaning, without_ways_of_asking
from agent.records import Term
from agent.text.normalize import has_cjk
from agent.text.stopwords import STOPWORDS

MAX_FRAGMENT_CHARS = 16  # what is left of a question that asks nothing of its own, at most, to be a fragment

ZH_REFERRING = frozenset("它 它们 他 他们 她 她们 这 那 这个 那个 这些 那些 这种 那种 这项 那项 该 此 其 此事 上述".split())
EN_REFERRING = re.compile(r"\b(?:it|its|they|them|their|this|that|these|those|he|she|him|her|his)\b", re.I)
ZH_LEAD = re.compile(r"^(?:那么|那|还有|另外|然后|再问一下|那如果|如果是|要是)[，,\s]*")
EN_LEAD = re.compile(r"^(?:and\s+(?:what|how)\s+about|what\s+about|how\s+about|and|also)\b[\s,]*", re.I)
_TRAIL = re.compile(r"(?:呢|啊|呀|吧)?[\s?？。.!！~～]*$")
ZH_QUESTION = re.compile(r"什么|啥|怎|如何|哪|谁|几|多少|多久|多长|多大|吗|么|是否|能否|有没有|是不是|要不要|为何")
EN_QUESTION = re.compile(r"\b(?:what|how|which|who|when|where|why|whether|is|are|do|does|did|can|could|should"
                         r"|will|would|may)\b", re.I)
_ORDINALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "first": 1, "second": 2, "third": 3,
             "fourth": 4, "fifth": 5, "前者": 1, "former": 1}
ZH_ORDINAL = re.compile(r"第([一二两三四五]|\d)(?:个|种|条)?(?:意思|含义|解释|释义|说法)?|(前者|后者)|(另一)(?:个|种)")
EN_ORDINAL = re.compile(r"\bthe\s+(first|second|third|fourth|fifth|former|latter|last|other)"
                        r"(?:\s+(?:one|meaning|definition|sense))?\b", re.I)
EN_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'&.-]*")


def fragment(question: str, english: bool) -> str | None:
    """What is left of a question that asks nothing of its own ("那QA呢？" -> "QA", "And in Chinese?" -> "in
    Chinese"): it continues (那/and before, 呢 after) or asks only for a name ("英文全称？"), is short and has
    no question word; None when the question asks something itself."""
    text = question.strip()
    body = (EN_LEAD if english else ZH_LEAD).sub("", text, count=1)
    trail = _TRAIL.search(body)
    continues = body != text or "呢" in trail.group()  # opens with 那/and or ends with 呢: it continues
    body = body[:trail.start()].strip()
    if not body or (EN_QUESTION.search(body) if english else ZH_QUESTION.search(body)):
        return None
    if not continues:  # a short question that is not one continues only when it asks only for a name
        return body if asks_only_meaning(body, []) and referring(body, english) == [] else None
    return body if (len(body.split()) <= 6 if english else len(body) <= MAX_FRAGMENT_CHARS) else None


def points_back(question: str) -> bool:
    """Whether the wording itself points back: a referring word, an ordinal, or a fragment."""
    english = not has_cjk(question)
    ordinal = EN_ORDINAL if english else ZH_ORDINAL
    return bool(referring(question, english) or ordinal.search(question) or fragment(question, english) is not None)


def referring(question: str, english: bool) -> list[tuple[int, int]]:
    """Spans of the words that refer back: jieba tokens of the closed class in Chinese (so 其他 and 应该 are
    not 他 and 该), pronouns in English."""
    if english:  # "IT" in capitals is a term, not "it"
        return [m.span() for m in EN_REFERRING.finditer(question) if not (m.group().isupper() and len(m.group()) > 1)]
    import jieba

    return [(s, e) for word, s, e in jieba.tokenize(question) if word in ZH_REFERRING]


def replace_spans(question: str, spans: list[tuple[int, int]], topic: str) -> str:
    for start, end in reversed(spans):
        question = question[:start] + topic + question[end:]  # "its full name" -> "RSD full name": names count
    return question


def tidy(text: str, english: bool) -> str:
    """One clean question: no leading 那/and, "…呢" that asks nothing made into "…是什么", one question mark."""
    if english:
        text = re.sub(r"^(?:and|also)\s+", "", text.strip(), flags=re.I)
        return text[:1].upper() + text[1:].rstrip(" ?.!") + "?"
    body = (ZH_LEAD.sub("", text.strip(), count=1) or text).rstrip(" ？?。!！")
    if body.endswith("呢"):
        body = body[:-1] + ("" if ZH_QUESTION.search(body[:-1]) else "是什么")
    return body + "？"


def subject(question: str, english: bool) -> str:
    """What a question is about: in Chinese the words before its first question word ("丧假有几天？" -> 丧假),
    in English its longest run of content words, the last of equals ("How do I book a meeting room?")."""
    if english:
        runs, current = [], []
        for word in EN_WORD.findall(question):
            if word.lower() in STOPWORDS or EN_QUESTION.fullmatch(word):
                runs, current = runs + [current] * bool(current), []
            else:
                current.append(word)
        return " ".join(max(reversed(runs + [current]), key=len, default=[]))
    body = ZH_LEAD.sub("", question.strip(), count=1)
    match = ZH_QUESTION.search(body)
    head = re.sub(r"(?:的|是|有|要|可以|需要|应该|都|在|了|由|被|给|对|和)+$", "",
                  re.sub(r"[\s，,。？?！!、：:]+$", "", body[:match.start()] if match else body))
    return head if len(head) >= 2 else ""


def has_subject(question: str) -> bool:
    """Whether a Chinese question opens with what it is about (a noun, jieba's part of speech) rather than
    with a verb, adverb or question word, which leaves its subject to the conversation."""
    import jieba.posseg

    tokens = [t for t in jieba.posseg.cut(ZH_LEAD.sub("", question.strip(), count=1))
              if t.word.strip() and any(ch.isalnum() for ch in t.word)]
    single = 0  # 年 + 假: a word jieba does not know, cut into characters
    for token in tokens:
        if len(token.word) == 1 and has_cjk(token.word) and token.word not in STOPWORDS:
            single += 1
            continue
        return single >= 2 or not single and (token.flag.startswith(("n", "t", "s")) or token.flag in ("eng", "j", "vn"))
    return single >= 2


def pick_meaning(question: str, english: bool, meanings: tuple[Term, ...], earlier: str) -> str | None:
    """The question with "the second meaning" replaced by that meaning's name, when the conversation named
    an ambiguous term with that many; "the other" is the meaning of two the earlier question did not name."""
    match = (EN_ORDINAL if english else ZH_ORDINAL).search(question) if len(meanings) >= 2 else None
    if match is None:
        return None
    word = next(g for g in match.groups() if g).lower()
    if word in ("后者", "latter", "last"):
        number = len(meanings)
    elif word in ("另一", "other"):
        named = [n for n, term in enumerate(meanings, 1) if meaning_name(term, english) in earlier]
        number = 0 if len(meanings) != 2 else 3 - named[0] if len(named) == 1 else 2
    else:
        number = _ORDINALS.get(word) or (int(word) if word.isdigit() else 0)
    if not 1 <= number <= len(meanings):
        return None
    return question[:match.start()] + meaning_name(meanings[number - 1], english) + question[match.end():]


def meaning_name(term: Term, english: bool) -> str:
    """One meaning's name: its Chinese name without remarks in brackets, or its English name in English."""
    chinese = re.sub(r"[（(][^）)]*[）)]", "", term.chinese).strip()
    return (term.english or chinese) if english else (chinese or term.english)


def own_words(question: str) -> str:
    """What the user typed that says what is asked about: without referring words, ordinals, openers and
    the ways of asking for a meaning or a name."""
    english = not has_cjk(question)
    if english:
        text = EN_ORDINAL.sub(" ", EN_REFERRING.sub(" ", EN_LEAD.sub("", question.strip())))
        return " ".join(re.findall(r"[a-z0-9'&-]+", without_ways_of_asking(text)))
    import jieba

    text = without_ways_of_asking(ZH_ORDINAL.sub(" ", ZH_LEAD.sub("", question.strip())))
    return " ".join(w for w in jieba.lcut(text) if w.strip() and w not in STOPWORDS and w not in ZH_REFERRING)
