"""Follow-up questions: a question that leans on the conversation ("那它的中文意思呢？", "主管呢？",
"第二个意思负责什么？", "And in Chinese?", "需要上传什么材料？") is rewritten into a standalone question before
it is decided; a question on a new topic is left as it is.

Without an LLM the rewrite comes from what the conversation was about, as the decision stage knows it: the
earlier user questions (the last few, each cut short) are routed with the service's router, each read in
the light of the one before, and their term mentions, the meanings of an ambiguous term, and their subject
are reused:

- an elliptical question ("QA呢？", "海外呢？", "What about interns?") puts its fragment in place of the part of
  the earlier question it stands beside (a term for a term, P2 for P1, the word closest in meaning and
  spelling), or, when the fragment asks for a name ("中文意思", "in Chinese"), asks that of the earlier term;
- an ordinal ("第二个意思", "the second meaning") names that meaning of the ambiguous term asked about;
- a pronoun (它, 这个, 他们, it, they) is replaced by the earlier question's terms or subject;
- a question with none of these cues gets the earlier subject put before it ("丧假，需要提交什么证明？").

Whether a rewrite is used is decided by evidence, not by the wording alone: the rewritten question is routed
too, and it is kept only when what answers it covers the words the user did type. A question with no cue is
rewritten only when the rewrite is answered better than the question alone; when the question opens with a
subject of its own (a noun: "公司的法定代表人是谁？") rather than a verb, adverb or question word ("需要上传
什么材料？"), only when it beats an answer the question already had by a clear margin, so a new topic the
knowledge cannot answer stays an abstention. "这个月工资什么时候发" keeps its own answer, and "员工食堂几点
开饭？" after a question about badges stays an abstention.

With an LLM configured, the LLM rewrites the question from the conversation first (as MaxKB's 问题优化 and
FastGPT's query enhancement do); its rewrite is checked and the rule is used instead when it loses the
question: empty, an answer instead of a question, far longer than asked, missing the names or most of the
words the user typed, or leaving a pronoun unresolved.
"""
from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import numpy as np

from agent.answer.router import RouteDecision, Router
from agent.answer.terms import Mention
from agent.answer.understand import asks_only_meaning, without_ways_of_asking
from agent.records import Term
from agent.text.normalize import fold, has_cjk, readable
from agent.text.stopwords import STOPWORDS
from agent.text.units import content_units

log = logging.getLogger(__name__)

MAX_TURNS = 3  # earlier user questions read for context: a follow-up leans on the last one or two
MAX_MESSAGES = 6  # earlier messages given to an LLM (the web chat keeps the same number)
MAX_TURN_CHARS = 200  # an earlier question is cut to this before it is routed again
MAX_MESSAGE_CHARS = 600  # an earlier message is cut to this before an LLM reads it
MAX_FRAGMENT_CHARS = 16  # "那…呢？" with more than this left is a question of its own, not a fragment
CACHE_SIZE = 512  # earlier turns as understood, so a conversation's turns are routed once each
COVERED = 0.5  # share of the user's own content words that the rewritten question's answer must contain
GAIN = 0.15  # a question with no cue: the rewrite must be this much more confident when both are answered
SIBLING = 0.86  # least cosine (plus spelling) for a word of the earlier question to stand beside a fragment
SURE = 0.9  # a stored answer this likely may answer a question with no subject of its own in other words

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
# Pronouns and demonstratives that point back; 他 not in 其他, 该 not in 应该, 这/那 only before 是/的/叫.
_ZH_PRONOUN = re.compile(
    r"(?:它们|它|他们|她们|(?<![其吉])他(?!人)|她|这些|那些|(?:这个|那个)(?![月周星礼季年天时])|这种|那种|这项|那项"
    r"|这类|那类|上述|前者|后者|(?<!应)该(?=[" + _CJK + r"])|这(?=是|的|叫|指)|那(?=是|的|叫|指))"
    r"(?:个)?(?:词语|词|缩写|术语|名词|简称|东西|概念|单词)?")
_EN_PRONOUN = re.compile(r"\b(?:it|its|they|them|their|this|that|these|those|he|she|him|her|his)\b(?:\s+one\b)?",
                         re.IGNORECASE)
_ZH_LEAD = re.compile(r"^(?:那么|那|还有|另外|然后|再问一下|再问|那如果|如果是|要是)[，,\s]*")
_EN_LEAD = re.compile(r"^(?:and\s+what\s+about|and\s+how\s+about|what\s+about|how\s+about|what\s+of|and|also)\b[\s,]*",
                      re.IGNORECASE)
_TRAIL = re.compile(r"(?:呢|呐|啊|呀|吧|嘞)?[\s?？。.!！~～]*$")
_ZH_QUESTION = re.compile(r"什么|啥|怎|如何|哪|谁|几|多少|多久|多长|多大|多高|多远|吗|么|是否|能否|可否|有没有|是不是|要不要|为何")
_EN_QUESTION = re.compile(r"\b(?:what|how|which|who|whom|when|where|why|whether|is|are|do|does|did|can|could|should"
                          r"|will|would|may)\b", re.IGNORECASE)
_ORDINALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
             "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4,
             "former": 1}
_ZH_ORDINAL = re.compile(r"第([一二两三四五六七八九十]|\d{1,2})(?:个|种|条)(?:意思|含义|解释|释义|意义|说法)?"
                         r"|第([一二两三四五六七八九十]|\d{1,2})(?=的|呢|[？?]|$)|(前者|后者)"
                         r"|(另一)(?:个|种)(?:意思|含义|解释|释义|意义|说法)?")
_EN_ORDINAL = re.compile(r"\bthe\s+(first|second|third|fourth|fifth|1st|2nd|3rd|4th|former|latter|last|other)"
                         r"(?:\s+(?:one|meaning|definition|sense|expansion))?\b", re.IGNORECASE)
_EN_PREPOSITION = re.compile(r"^(?:for|in|on|at|of|about|to|with|from|by)\s+", re.IGNORECASE)
_CODE = re.compile(r"^[A-Za-z]{0,3}\d{1,4}(?:\.\d+)?(?:[A-Za-z]{0,2}|%)$")  # P1, Q4, 2026, L3, 90%
_PARENTHESES = re.compile(r"[（(][^）)]*[）)]")
_SUBJECT_END = re.compile(r"(?:的|是|有|要|可以|需要|应该|还|都|在|该|得|了吗|由|被|给|对|向|跟|从|和|与)+$")
_EN_QUANTITY = frozenset("many much more most few several lot lots".split())
_EN_ARTICLE = re.compile(r"^(?:the|its|their)\s+", re.IGNORECASE)
_EN_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'&.-]*")


@dataclass(frozen=True)
class Turn:
    """An earlier question as understood: its standalone form, its decision, and the meanings of the last
    ambiguous term named so far in the conversation (what "第二个意思" counts)."""

    asked: str
    standalone: str
    decision: RouteDecision
    meanings: tuple[Term, ...] = ()


@dataclass
class Resolution:
    """The question to decide (`question`: the standalone one when rewritten), the rewrite ("" when asked as
    it is), its decision, and how the rewrite was made."""

    question: str
    rewritten: str
    decision: RouteDecision
    how: str = ""  # fragment | ordinal | pronoun | subject | llm; "" when left alone


def earlier_questions(history) -> list[str]:
    """The last MAX_TURNS user questions of a history of {"role", "content"} messages, each cut to
    MAX_TURN_CHARS; messages of other shapes are skipped."""
    found: list[str] = []
    for message in reversed(list(history or [])[-4 * MAX_TURNS:]):
        role, content = _role_and_text(message)
        if role != "user" or not content:
            continue
        text = readable(content).strip()[:MAX_TURN_CHARS]
        if any(ch.isalnum() for ch in text):
            found.append(text)
        if len(found) == MAX_TURNS:
            break
    return found[::-1]


def recent_messages(history, count: int = MAX_MESSAGES, limit: int = MAX_MESSAGE_CHARS) -> list[dict]:
    """The last `count` user and assistant messages, each cut to `limit` characters: what an LLM is given."""
    kept = []
    for message in list(history or [])[-4 * count:]:
        role, content = _role_and_text(message)
        if role in ("user", "assistant") and content:
            kept.append({"role": role, "content": readable(content)[:limit]})
    return kept[-count:]


def _role_and_text(message) -> tuple[str, str]:
    role = message.get("role") if isinstance(message, dict) else getattr(message, "role", None)
    content = message.get("content") if isinstance(message, dict) else getattr(message, "content", None)
    if isinstance(content, list):  # OpenAI's or Qwen-Agent's parts: only text counts
        content = "".join(p.get("text") or "" if isinstance(p, dict) else getattr(p, "text", "") or ""
                          for p in content)
    return (role if isinstance(role, str) else ""), (content.strip() if isinstance(content, str) else "")


class FollowUps:
    """Rewrites follow-up questions for one router (one index generation)."""

    def __init__(self, router: Router):
        self.router = router
        self._turns: OrderedDict[tuple[str, str], Turn] = OrderedDict()
        self._lock = threading.Lock()

    # --- the entry point ---------------------------------------------------------------------------

    def resolve(self, question: str, history=None, llm: Callable[[list[dict], str], str] | None = None) -> Resolution:
        """The question to decide and its decision. `llm(messages, question)` returns the LLM's rewrite
        (raising when it fails); without it, or when its rewrite loses the question, the rule rewrites."""
        own = self.router.route(question)
        turns = earlier_questions(history)
        if not turns:
            return Resolution(question, "", own)
        context = self._context(turns)
        resolution = None
        if llm is not None and self._worth_asking(question, own):
            resolution = self._llm_resolution(question, own, context, history, llm)
        if resolution is None:
            resolution = self._rule_resolution(question, own, context)
        self._remember(question, context, resolution)
        return resolution

    # --- the conversation so far -------------------------------------------------------------------

    def _context(self, turns: list[str]) -> Turn:
        """The last earlier question as understood, each read in the light of the one before it."""
        context: Turn | None = None
        for asked in turns:
            key = (context.standalone if context else "", asked)
            with self._lock:
                known = self._turns.get(key)
                if known is not None:
                    self._turns.move_to_end(key)
            if known is None:
                own = self.router.route(asked)
                resolution = self._rule_resolution(asked, own, context) if context else Resolution(asked, "", own)
                known = self._turn(asked, resolution, context)
                self._store(key, known)
            context = known
        return context

    def _remember(self, question: str, context: Turn, resolution: Resolution) -> None:
        """Keep how this question was understood, for when it is an earlier turn of the next one."""
        self._store((context.standalone, question), self._turn(question, resolution, context))

    def _store(self, key: tuple[str, str], turn: Turn) -> None:
        with self._lock:
            self._turns[key] = turn
            self._turns.move_to_end(key)
            while len(self._turns) > CACHE_SIZE:
                self._turns.popitem(last=False)

    @staticmethod
    def _turn(asked: str, resolution: Resolution, before: Turn | None) -> Turn:
        meanings = ambiguous_meanings(resolution.decision.mentions) or (before.meanings if before else ())
        return Turn(asked, resolution.question, resolution.decision, meanings)

    # --- the rule ----------------------------------------------------------------------------------

    def _rule_resolution(self, question: str, own: RouteDecision, context: Turn) -> Resolution:
        candidate, how = self.rewrite(question, own, context)
        if not candidate or fold(candidate) == fold(question):
            return Resolution(question, "", own)
        decision = self.router.route(candidate)
        if self._keep(question, how, own, decision):
            return Resolution(candidate, candidate, decision, how)
        return Resolution(question, "", own)

    def rewrite(self, question: str, own: RouteDecision, context: Turn) -> tuple[str, str]:
        """The standalone question the rule makes of `question` after `context`, and how ("" when none)."""
        english = not has_cjk(question)
        text = question.strip()
        how = ""
        ordinal = _ordinal(text, english, context.meanings, context.standalone)
        if ordinal is not None:
            text, how = ordinal, "ordinal"
        fragment = _fragment(text, english)
        if fragment is not None:
            rewritten = self._with_fragment(fragment, context, english)
            return (_tidy(rewritten, english), how or "fragment") if rewritten else ("", "")
        mentions = self.router.glossary.find(text)
        pronouns = _pronouns(text, english, mentions)
        if pronouns:
            topic = self._topic(context, english)
            if topic:
                return _tidy(_replace_pronouns(text, pronouns, topic, english), english), how or "pronoun"
        if how:
            return _tidy(text, english), how
        if own.mentions or own.unknown_terms:
            return "", ""  # names its own term: a question of its own
        subject = self._topic(context, english)
        if not subject or fold(subject).replace(" ", "") in fold(text).replace(" ", ""):
            return "", ""  # no subject, or it names the earlier subject itself (the same question again)
        body = _strip_lead(text, english)
        if english:
            return f"About {subject}: {body[:1].upper()}{body[1:]}", "subject"
        return f"{subject}，{body}", "subject"

    def _keep(self, question: str, how: str, own: RouteDecision, rewritten: RouteDecision) -> bool:
        """Whether the rewritten question's decision is better evidence than the question's own."""
        english = not has_cjk(question)
        subjectless = how == "subject" and (_leads_on(question, english) or not english and not has_subject(question))
        if not covers_own_words(question, rewritten, self.router) and not (
                # "不够用怎么办？" after "员工邮箱容量多大？": an FAQ entry sure to answer it, in words of its own
                subjectless and rewritten.route == "fact" and rewritten.confidence >= SURE):
            return False
        if how == "fragment" and rewritten.route == "term" and not rewritten.abstained and \
                not _names_fragment(question, rewritten):
            return False  # "那年假呢？" after "AM代表什么职位？" is not a question about AM
        if how == "pronoun" and own.route == "term" and not own.abstained and _same_terms(own, rewritten):
            return False  # "这个AM是什么意思？": its pronoun points at its own term; the earlier one adds nothing
        if how in ("fragment", "ordinal", "pronoun"):
            # The wording points back: keep the rewrite unless it loses an answer the question had alone.
            return not rewritten.abstained or own.abstained
        if rewritten.abstained:
            return False
        if subjectless:
            # "需要提交什么证明？", "And who approves it?": it asks on about something not named in it.
            return own.abstained or rewritten.confidence >= own.confidence
        # It names what it asks about: the earlier subject must make a weak answer clearly better. A question
        # of its own that the knowledge cannot answer stays an abstention (a new topic).
        return not own.abstained and rewritten.confidence >= own.confidence + GAIN

    # --- what the earlier question was about -------------------------------------------------------

    def _topic(self, context: Turn, english: bool) -> str:
        """What a pronoun stands for (the earlier question's terms, else its subject), or the subject to put
        before a question with none of its own."""
        names = list(dict.fromkeys(m.text.strip() for m in context.decision.mentions))
        names += [u.text for u in context.decision.unknown_terms if u.text not in names]
        if names:
            return (" and " if english else "、").join(names[:2])
        return _subject(context.standalone, english)

    def _with_fragment(self, fragment: str, context: Turn, english: bool) -> str:
        """The earlier question with the fragment in place of what it stands beside; for a fragment that
        asks for a name ("中文意思", "in Chinese"), that name of the earlier term."""
        earlier = context.standalone
        core = _pronoun_prefix(english).sub("", fragment).strip()
        if not core:
            return ""
        if asks_only_meaning(core, []):
            topic = self._topic(context, english)
            if not topic:
                return ""
            if english:
                if _EN_PREPOSITION.match(core):
                    return f"What is {topic} {core}?"
                return f"What is the {_EN_ARTICLE.sub('', core)} of {topic}?"
            return f"{topic}的{core.removesuffix('的')}是什么？"
        if not english and core.endswith("的") and len(core) > 1:
            return core[:-1] + earlier  # "临时的呢？" after "门卡坏了怎么办？": 临时门卡坏了怎么办
        core = _new_part(core, earlier)
        span = self._sibling(core, earlier, context, english)
        if span is None:
            return f"{earlier.rstrip('?？ ')} {core}?" if english else core + earlier
        start, end = span
        replacement = _EN_PREPOSITION.sub("", core) if english else core
        return earlier[:start] + replacement + earlier[end:]

    def _sibling(self, fragment: str, earlier: str, context: Turn, english: bool) -> tuple[int, int] | None:
        """The span of the earlier question that the fragment stands beside: a term for a term, a code for a
        code (P2 for P1), otherwise the word closest in meaning and spelling; None when none is close."""
        fragment_core = _EN_PREPOSITION.sub("", fragment) if english else fragment
        fragment_mentions = self.router.glossary.find(fragment_core)
        names_term = bool(fragment_mentions) and sum(m.end - m.start for m in fragment_mentions) \
            >= 0.6 * len(fragment_core.strip())
        spans = _candidate_spans(earlier, context.decision, english)
        if not spans:
            return None
        if names_term:
            mentioned = [(s, e) for s, e, is_term in spans if is_term]
            if mentioned:
                return mentioned[0]
        if _CODE.match(fragment_core):
            coded = [(s, e) for s, e, _ in spans if _CODE.match(earlier[s:e])]
            if coded:
                return coded[0]
        words = [earlier[s:e] for s, e, _ in spans]
        kind = "" if english else _word_kind(fragment_core)
        starts = sorted({s for s, _, _ in spans})
        scores = np.array([_spelling(fragment_core, w) * 0.2 + _likeness(w, kind, starts.index(s), english)
                           + _parallel(fragment_core, w, english) for w, (s, _, _) in zip(words, spans)])
        vectors = self.router.kb.query_vectors([fragment_core, *words]) if self.router.kb.embedder_name else None
        if vectors is not None:
            cosines = vectors[1:] @ vectors[0]
            scores = scores + cosines - np.array([0.05 if is_term else 0.0 for _, _, is_term in spans])
            best = int(np.argmax(scores))
            return spans[best][:2] if scores[best] >= SIBLING else None
        best = int(np.argmax(scores))
        return spans[best][:2] if scores[best] > 0 else None

    # --- the LLM -----------------------------------------------------------------------------------

    def _worth_asking(self, question: str, own: RouteDecision) -> bool:
        """Whether to ask the LLM at all: not for a question that names a term of its own with nothing that
        points back (a new glossary question needs no rewrite and no LLM call)."""
        english = not has_cjk(question)
        if _fragment(question, english) is not None or _ZH_ORDINAL.search(question) or _EN_ORDINAL.search(question):
            return True
        mentions = self.router.glossary.find(question)
        return bool(_pronouns(question, english, mentions)) or not (own.mentions or own.unknown_terms)

    def _llm_resolution(self, question: str, own: RouteDecision, context: Turn, history,
                        llm: Callable[[list[dict], str], str]) -> Resolution | None:
        """The LLM's rewrite when it keeps the question; None to fall back to the rule."""
        try:
            reply = llm(recent_messages(history), question)
        except Exception as exc:  # a failing backend must not take the answer down; only the type is logged
            log.warning("LLM rewrite failed (%s); the rule rewrites the question", type(exc).__name__)
            return None
        rewritten = clean_llm_rewrite(reply)
        english = not has_cjk(question)
        mentions = self.router.glossary.find(question)
        points_back = bool(_pronouns(question, english, mentions)) or _fragment(question, english) is not None \
            or bool(_ZH_ORDINAL.search(question) or _EN_ORDINAL.search(question))
        if rewritten and fold(rewritten).rstrip("?？") == fold(question).rstrip("?？"):
            return None if points_back else Resolution(question, "", own, "llm")  # left alone by the LLM
        if not keeps_the_question(question, rewritten, self.router):
            log.info("LLM rewrite %r loses the question; the rule rewrites it", rewritten[:80])
            return None
        decision = self.router.route(rewritten)
        return Resolution(rewritten, rewritten, decision, "llm")


# --- rewriting by rule -------------------------------------------------------------------------------


def _pronoun_prefix(english: bool) -> re.Pattern:
    """A pronoun at the start of a fragment ("它的中文意思", "its Chinese name"): the fragment is about the
    earlier topic, so the pronoun goes."""
    return _EN_PRONOUN_PREFIX if english else _ZH_PRONOUN_PREFIX


_ZH_PRONOUN_PREFIX = re.compile(r"^(?:" + _ZH_PRONOUN.pattern + r")的?")
_EN_PRONOUN_PREFIX = re.compile(r"^(?:its|their|it|this|that)\b\s*", re.IGNORECASE)


def _leads_on(question: str, english: bool) -> bool:
    """Starts with 那/还有/and/what about: it continues the conversation."""
    match = (_EN_LEAD if english else _ZH_LEAD).match(question.strip())
    return bool(match and match.end() > 0)


def has_subject(question: str) -> bool:
    """Whether a Chinese question opens with what it is about (a noun: "公司的法定代表人是谁？", "年假一共有多少
    天？") rather than with a verb, adverb or question word ("需要上传什么材料？", "最长能订多久？", "忘了怎么办？"),
    which leaves its subject to the conversation."""
    import jieba.posseg

    single: list[str] = []
    for token in jieba.posseg.cut(_strip_lead(question, False)):
        word, flag = token.word, token.flag
        if not word.strip() or not any(ch.isalnum() for ch in word):
            continue
        if len(word) == 1 and has_cjk(word) and word not in STOPWORDS:
            single.append(word)  # 年 + 假: a word jieba does not know, cut into characters
            continue
        if len(single) >= 2:
            return True
        if single:
            return False
        return flag.startswith(("n", "t", "s")) or flag in ("eng", "j", "vn")
    return len(single) >= 2


def _strip_lead(text: str, english: bool) -> str:
    return (_EN_LEAD if english else _ZH_LEAD).sub("", text.strip(), count=1).strip()


def _fragment(question: str, english: bool) -> str | None:
    """What is left of an elliptical question ("那QA呢？" -> "QA", "And in Chinese?" -> "in Chinese"), or
    None when the question is not one: it must start with 那/and/what about or end with 呢, and what is
    left must be short and ask nothing of its own."""
    text = question.strip()
    lead = (_EN_LEAD if english else _ZH_LEAD).match(text)
    has_lead = bool(lead and lead.end() > 0)
    body = text[lead.end():] if has_lead else text
    trail = _TRAIL.search(body)
    ends_with_ne = "呢" in trail.group() if trail else False
    body = body[:trail.start()].strip() if trail else body.strip()
    if not body:
        return None
    if not (has_lead or ends_with_ne):
        # Only a name asked for ("Chinese name?", "中文意思？"): nothing in it says of what.
        return body if asks_only_meaning(body, []) and _pronoun_prefix(english).sub("", body).strip() else None
    if english:
        if len(body.split()) > 6 or _EN_QUESTION.search(body):
            return None
    elif len(body) > MAX_FRAGMENT_CHARS or _ZH_QUESTION.search(body):
        return None
    return body


def _ordinal(question: str, english: bool, meanings: tuple[Term, ...], earlier: str = "") -> str | None:
    """The question with "第二个意思" / "the second meaning" replaced by that meaning's name, when the
    conversation asked about an ambiguous term with that many meanings; "另一个" / "the other one" is the
    meaning of two that the earlier question did not name. None otherwise."""
    if len(meanings) < 2:
        return None
    match = (_EN_ORDINAL if english else _ZH_ORDINAL).search(question)
    if match is None:
        return None
    word = next(g for g in match.groups() if g)
    if word in ("后者", "latter", "last"):
        number = len(meanings)
    elif word.lower() in ("另一", "other"):
        named = [n for n, term in enumerate(meanings, 1) if meaning_name(term, english) in earlier
                 or meaning_name(term, not english) in earlier]
        number = 0 if len(meanings) != 2 else (3 - named[0] if len(named) == 1 else 2)
    elif word == "前者":
        number = 1
    else:
        number = _ORDINALS.get(word.lower()) or (int(word) if word.isdigit() else 0)
    if not 1 <= number <= len(meanings):
        return None
    name = meaning_name(meanings[number - 1], english)
    if not name:
        return None
    start, end = match.span()
    return question[:start] + name + question[end:]


def meaning_name(term: Term, english: bool) -> str:
    """The name a rewritten question uses for one meaning: its Chinese name without remarks in brackets
    (自由贸易区), or its English name in an English question."""
    chinese = _PARENTHESES.sub("", term.chinese).strip()
    return (term.english or chinese) if english else (chinese or term.english)


def ambiguous_meanings(mentions: list[Mention]) -> tuple[Term, ...]:
    """The meanings of the last mention with several, in the order the glossary answer lists them."""
    for mention in reversed(mentions):
        meanings = tuple(dict.fromkeys(mention.terms))
        if len({(t.english, t.chinese) for t in meanings}) > 1:
            return meanings
    return ()


def _pronouns(question: str, english: bool, mentions: list[Mention]) -> list[tuple[int, int]]:
    """Spans of pronouns that point back, outside glossary mentions ("IT" is a term, not "it")."""
    pattern = _EN_PRONOUN if english else _ZH_PRONOUN
    taken = [(m.start, m.end) for m in mentions]
    found = []
    for match in pattern.finditer(question):
        start, end = match.span()
        if start == end or any(s < end and start < e for s, e in taken):
            continue
        found.append((start, end))
    return found


def _replace_pronouns(question: str, spans: list[tuple[int, int]], topic: str, english: bool) -> str:
    pieces, last = [], 0
    for start, end in spans:
        pieces.append(question[last:start])
        pieces.append(topic)  # "its full name" -> "RSD full name": the router reads names, not grammar
        last = end
    pieces.append(question[last:])
    text = "".join(pieces)
    return _strip_lead(text, english) if not english else re.sub(r"^(?:and|also)\s+", "", text, flags=re.I)


def _tidy(text: str, english: bool) -> str:
    """One clean question: no leading 那/and, "…呢" that asks nothing made into "…是什么", one question mark."""
    text = text.strip()
    if english:
        text = re.sub(r"^(?:and|also)\s+", "", text, flags=re.I)
        text = text[:1].upper() + text[1:]
        return text.rstrip(" ?.!") + "?"
    text = _strip_lead(text, english) or text
    body = text.rstrip(" ？?。!！")
    if body.endswith("呢") and not _ZH_QUESTION.search(body[:-1]):
        body = body[:-1] + "是什么"
    elif body.endswith("呢"):
        body = body[:-1]
    return body + "？"


def _subject(question: str, english: bool) -> str:
    """What an earlier question is about, to put before a question with no subject: in Chinese the words
    before its first question word ("丧假有几天？" -> 丧假, "工牌丢了怎么办？" -> 工牌丢了), in English its
    longest run of content words ("How do I book a meeting room?" -> meeting room)."""
    if english:
        runs, current = [], []
        for word in _EN_WORD.findall(question):
            if word.lower() in STOPWORDS or word.lower() in _EN_QUANTITY or _EN_QUESTION.fullmatch(word):
                if current:
                    runs.append(current)
                current = []
            else:
                current.append(word)
        if current:
            runs.append(current)
        best = max(reversed(runs), key=len, default=[])  # the object, late in an English question
        best = [w for w in best if w.lower() not in ("apply", "connect", "request", "get", "find", "use", "know")] or best
        return " ".join(best)
    body = _strip_lead(question, english)
    match = _ZH_QUESTION.search(body)
    head = body[:match.start()] if match else body
    head = re.sub(r"[\s，,。？?！!、：:]+$", "", head)
    head = _SUBJECT_END.sub("", head).strip("，,。 ")
    if len(head) < 2:  # the question starts by asking ("怎么申请年假？"): its words after the asking
        rest = _ZH_QUESTION.sub(" ", body)
        head = " ".join(w for w in re.split(r"[\s，,。？?！!]+", rest) if len(w) >= 2)[:12].strip()
    return head


def _word_kind(text: str) -> str:
    """"n" for a noun-like last word (jieba's part of speech), "v" for a verb, "" otherwise."""
    import jieba.posseg

    flags = [t.flag for t in jieba.posseg.cut(text) if t.word.strip() and t.word not in STOPWORDS]
    if not flags:
        return ""
    flag = flags[-1]
    return "n" if flag[0] in "nst" or flag in ("eng", "j", "b") else "v" if flag[0] == "v" else ""


def _candidate_spans(text: str, decision: RouteDecision, english: bool) -> list[tuple[int, int, bool]]:
    """Parts of an earlier question a fragment may stand beside: its term mentions whole, and its content
    words and pairs of adjacent ones ("一线城市", "regular staff"), as (start, end, is_term)."""
    import jieba

    terms = [(m.start, m.end) for m in decision.mentions if text[m.start:m.end] == m.text]
    terms += [(u.start, u.end) for u in decision.unknown_terms if text[u.start:u.end] == u.text]
    spans = [(s, e, True) for s, e in terms]
    inside = lambda s, e: any(a < e and s < b for a, b in terms)  # noqa: E731
    if english:
        words = [(m.start(), m.end()) for m in _EN_WORD.finditer(text)
                 if m.group().lower() not in STOPWORDS and not _EN_QUESTION.fullmatch(m.group())]
        words = [(s, e) for s, e in words if not inside(s, e)]
        spans += [(s, e, False) for s, e in words]
        spans += [(a, d, False) for (a, b), (c, d) in zip(words, words[1:]) if text[b:c] == " "]
        return spans
    run: list[tuple[int, int]] = []  # single characters in a row: a word jieba does not know (年 + 假)

    def close_run():
        if len(run) >= 2:
            spans.append((run[0][0], run[-1][1], False))
        run.clear()

    for word, start, end in jieba.tokenize(text):
        if inside(start, end) or word in STOPWORDS or _ZH_QUESTION.fullmatch(word) or not word.strip() \
                or not any(ch.isalnum() for ch in word):
            close_run()
            continue
        if len(word) == 1 and not word.isascii():
            if run and run[-1][1] != start:
                close_run()
            run.append((start, end))
            continue
        close_run()
        spans.append((start, end, False))
    close_run()
    words = sorted(s for s in spans if not s[2])
    spans += [(a, d, False) for (a, b, _), (c, d, _) in zip(words, words[1:]) if b == c]
    return sorted(set(spans))


def _likeness(word: str, kind: str, place: int, english: bool) -> float:
    """Small preferences, for Chinese: a word of the same kind as the fragment (noun for noun), and the first
    words, where a Chinese question names what it asks about ("经理呢？" after "普通员工去一线城市出差……")."""
    if english:
        return 0.0
    return (0.02 if kind and _word_kind(word) == kind else 0.0) + max(0.0, 0.04 - 0.02 * place)


def _parallel(fragment: str, word: str, english: bool) -> float:
    """English phrases of the same length that share a word stand side by side ("overseas trips" beside
    "domestic trips", not beside "trips")."""
    if not english:
        return 0.0
    a, b = fragment.lower().split(), word.lower().split()
    return 0.05 if len(a) == len(b) > 1 and set(a) & set(b) else 0.0


def _new_part(fragment: str, earlier: str) -> str:
    """A fragment whose words the earlier question has but for a number keeps only the number ("低于90%呢？"
    after "AAP低于AIP的95%由谁审批？" stands beside 95%)."""
    match = re.search(r"[A-Za-z]{0,3}\d+(?:\.\d+)?%?", fragment)
    if match is None or match.group() == fragment:
        return fragment
    rest = [part.strip() for part in (fragment[:match.start()], fragment[match.end():]) if part.strip()]
    return match.group() if all(part in earlier for part in rest) else fragment


def _spelling(a: str, b: str) -> float:
    """Characters in common over characters in either (境内/境外, 第一季度/第四季度), for Chinese; 0 for Latin."""
    if not has_cjk(a) or not has_cjk(b):
        return 0.0
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb)


# --- is the rewrite good evidence ------------------------------------------------------------------------


def own_words(question: str) -> str:
    """What the user typed that says what is asked about: without pronouns, ordinals, 那/and, and the ways
    of asking for a meaning or a name."""
    english = not has_cjk(question)
    text = (_EN_PRONOUN if english else _ZH_PRONOUN).sub(" ", question)
    text = (_EN_ORDINAL if english else _ZH_ORDINAL).sub(" ", text)
    text = _strip_lead(text, english)
    text = without_ways_of_asking(text)
    if english:
        return " ".join(re.findall(r"[a-z0-9'&-]+", text))
    import jieba

    return " ".join(w for w in jieba.lcut(text) if w.strip() and w not in STOPWORDS)


def own_content(question: str) -> set[str]:
    """The content units of the user's own words (see own_words)."""
    return content_units(own_words(question))


def _same_terms(own: RouteDecision, rewritten: RouteDecision) -> bool:
    """Whether both decisions answer from the glossary with the same terms."""
    return rewritten.route == "term" and not rewritten.abstained and \
        {id(t) for t in own.terms} == {id(t) for t in rewritten.terms}


def _names_fragment(question: str, decision: RouteDecision) -> bool:
    """Whether a glossary answer is about the fragment the user typed ("QA呢？"), not only about the earlier
    term the fragment was put beside."""
    from agent.answer.evidence import passage_relevance

    words = own_words(question)
    return not content_units(words) or passage_relevance(words, [], evidence_text(decision)) >= COVERED


def evidence_text(decision: RouteDecision) -> str:
    """What answers a decision: the glossary rows, the FAQ entry, or the first passages."""
    if decision.abstained:
        return ""
    if decision.route == "term":
        return " ".join(" ".join((*t.abbreviations, t.english, t.chinese, *t.aliases, t.definition))
                        for t in decision.terms)
    if decision.route == "fact" and decision.faq is not None:
        entry = decision.faq.entry
        return " ".join((entry.question, *entry.similar, entry.answer))
    return " ".join(h.passage.text for h in decision.hits[:3])


def covers_own_words(question: str, decision: RouteDecision, router: Router) -> bool:
    """Whether what answers the rewritten question still answers what the user typed (a rewrite must not
    answer the earlier question instead of this one): a glossary answer names every term the user named; an
    FAQ entry or passages contain at least half of the user's own words (evidence.passage_relevance). An
    abstention is judged by the caller; a question of pronouns and ways of asking has nothing to cover, and
    an English question's words are not looked for in Chinese evidence."""
    from agent.answer.evidence import passage_relevance

    if decision.abstained:
        return True
    if decision.route == "term":
        named = {fold(m.text) for m in router.glossary.find(question)}
        return named <= {fold(m.text) for m in decision.mentions}
    words = own_words(question)
    text = evidence_text(decision)
    if not content_units(words) or (not has_cjk(question) and has_cjk(text)):
        return True
    return passage_relevance(words, [], text) >= COVERED


# --- checking an LLM's rewrite ---------------------------------------------------------------------------

_ANSWER_PREFIX = re.compile(r"^(?:改写后的问题|改写后|改写|独立问题|问题|rewritten question|standalone question|question)"
                            r"\s*[:：]\s*", re.IGNORECASE)


def clean_llm_rewrite(reply) -> str:
    """The first non-empty line of the LLM's reply, without quotes or a "改写后的问题：" label."""
    text = readable(reply if isinstance(reply, str) else "")
    for line in text.splitlines():
        line = line.strip().strip("\"'“”‘’「」`")
        line = _ANSWER_PREFIX.sub("", line).strip().strip("\"'“”‘’「」`")
        if line:
            return line
    return ""


def keeps_the_question(question: str, rewritten: str, router: Router) -> bool:
    """Whether an LLM's rewrite is still the user's question: not empty, a question and not an answer, not
    far longer, every name the user typed still there, most of the user's words still there, and no
    pronoun left that pointed back."""
    if not rewritten or not any(ch.isalnum() for ch in rewritten):
        return False
    if len(rewritten) > max(4 * len(question), len(question) + 120) or len(rewritten) > 400:
        return False
    english = not has_cjk(rewritten)
    asks = (_EN_QUESTION.search(rewritten) if english else _ZH_QUESTION.search(rewritten)) \
        or rewritten.rstrip().endswith(("?", "？", "呢"))
    if not asks:
        return False
    folded = fold(rewritten)
    compact = folded.replace(" ", "")
    mentions = router.glossary.find(question)
    names = [m.text for m in mentions] + [u.text for u in router.understand(question).unknown_terms]
    if any(fold(name).replace(" ", "") not in compact for name in names):
        return False
    units = own_content(question)
    if units and sum(1 for u in units if u in compact) / len(units) < COVERED:
        return False
    before = _pronouns(question, not has_cjk(question), mentions)
    after = _pronouns(rewritten, english, router.glossary.find(rewritten))
    return not before or len(after) < len(before)


# --- asking an LLM ---------------------------------------------------------------------------------------

REWRITE_PROMPT_ZH = """下面是员工与企业知识助手的对话记录，以及员工的最新问题。
请结合对话记录，把最新问题改写成一个不看对话也能理解的完整问题：把“它、这个、他们”等代词换成所指的内容，补全“那……呢？”之类省略的部分。
要求：保持提问者的语言；不要回答问题；不要添加对话中没有的信息；如果最新问题本身已经完整，或者与对话内容无关，就原样输出。
只输出改写后的问题，不要输出其他内容。

对话记录：
{conversation}

最新问题：{question}"""


def rewrite_with_llm(llm, messages: list[dict], question: str) -> str:
    """Ask a Qwen-Agent chat model to rewrite `question` as a standalone question, given the conversation
    (`messages`, already cut short). Returns its reply as text; raises when the backend fails."""
    from qwen_agent.llm.schema import USER, Message

    names = {"user": "用户", "assistant": "助手"}
    conversation = "\n".join(f"{names.get(m['role'], m['role'])}：{m['content']}" for m in messages) or "（无）"
    prompt = REWRITE_PROMPT_ZH.format(conversation=conversation, question=question[:MAX_TURN_CHARS * 2])
    response = llm.chat(messages=[Message(role=USER, content=prompt)], stream=False)
    for message in reversed(response or []):
        content = message.get("content") if isinstance(message, dict) else message.content
        if isinstance(content, str) and content.strip():
            return content
    return ""
