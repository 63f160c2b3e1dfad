"""The one list of function words: they say how a question is asked, not what it is about. BM25's idf
would mostly ignore them, but the relevance check and question comparison must not count them."""
from __future__ import annotations

# The words that say what kind of thing is asked for (a day, a person, a place, an amount, a way, a reason):
# two questions sharing one ask for the same kind of answer, which declarative text does not state this way.
ASKING_WORDS = frozenset(
    "什么 怎么 怎样 如何 哪些 哪个 哪里 哪儿 为什么 多少 几 谁 多长 多久 多大 多远 几天 几个 几点 几号 哪天 什么时候 "
    "怎么办 怎么样 what which who whom how why when where".split()
)
STOPWORDS = ASKING_WORDS | frozenset(
    "的 了 是 在 和 与 及 或 也 都 就 而 吗 呢 吧 啊 呀 么 "
    "请问 请 一下 我 我们 你 你们 他 她 它 这 那 这个 那个 有 没有 要 会 能 可以 "
    "时候 需要 应该 是否 还 "
    "分别 各自 具体 主要 一般 通常 大概 "
    "a an the is are was were be been to of in on at for and or "
    "does do did can could should would will i me my we our you your it its this that with by from about "
    "please tell get there any some".split()
)
# Single Chinese characters of the same kind (interrogatives, particles, pronouns), for character-level
# comparison where jieba's words are not used.
STOP_CHARS = frozenset("的了是吗呢吧啊呀么什怎哪谁几请问我你您他她它们这那个一下在有和与或及要该应可以能如何样办到得着过就都也还很")
