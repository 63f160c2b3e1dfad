"""Understanding questions by meaning, with the real bundled embedder over the company knowledge of
conftest.py: unseen ways of asking a term's meaning, English questions on Chinese FAQ entries, questions
the knowledge cannot answer (abstained on, with suggestions), and calibrated confidences."""
from __future__ import annotations

import numpy as np
import pytest

from agent.answer import evidence
from agent.answer.router import ASKS_MEANING
from agent.answer.term_intent import (CONFIDENT, PLACEHOLDER, WORDING_MODEL, WORDING_NGRAMS, WordingIntent,
                                      fit_wording, mask, per_embedder, training_questions)
from agent.answer.understand import unknown_terms
from tests.conftest import COMPANY_FAQ_ROWS

SALARY_ANSWER = COMPANY_FAQ_ROWS[2][2]


@pytest.fixture(scope="module")
def service(company_service):
    return company_service


@pytest.mark.parametrize("question", [
    "公司文件里的AM是什么意思",
    "AM是哪几个英文单词的缩写",
    "邮件里提到KAM，这是个什么岗位？",
])
def test_unseen_ways_of_asking_a_terms_meaning_get_the_glossary_answer(service, question):
    answer = service.ask(question)

    assert answer.route == "term" and not answer.abstained
    assert "Account Manager" in answer.text


def test_asking_what_a_term_does_is_not_taken_for_asking_its_meaning(service):
    understanding = service.router.understand("在产品售后流程里，AM负责哪些事情？")

    assert understanding.mentions and understanding.asks_meaning < 0.4


class CountingQueryVector:
    """Test double: the knowledge base's real `query_vector`, recording each text it is asked to embed."""

    def __init__(self, real):
        self.real, self.texts = real, []

    def __call__(self, text):
        self.texts.append(text)
        return self.real(text)


@pytest.fixture
def counted(service, monkeypatch) -> CountingQueryVector:
    counting = CountingQueryVector(service.router.kb.query_vector)
    monkeypatch.setattr(service.router.kb, "query_vector", counting)
    return counting


def test_a_wording_the_wording_classifier_is_sure_of_goes_to_the_glossary_without_an_embedding(service, counted):
    decision = service.router.route("公司文件里的AM是什么意思")

    assert decision.route == "term" and [t.abbreviation for t in decision.terms] == ["AM"]
    assert counted.texts == []


def test_a_question_about_what_a_term_does_embeds_itself_for_the_faq_but_not_its_masked_wording(service, counted):
    question = "在产品售后流程里，AM负责哪些事情？"

    decision = service.router.route(question)

    assert decision.route == "doc"
    assert question in counted.texts and mask(question, [(8, 10)]) not in counted.texts


def test_the_questions_vector_is_computed_once_and_only_when_read(service, counted):
    understanding = service.router.understand("公司文件里的AM是什么意思")
    assert counted.texts == []

    assert understanding.vector is not None and understanding.vector is understanding.vector
    assert counted.texts == ["公司文件里的AM是什么意思"]


def test_a_wording_the_wording_classifier_is_unsure_of_is_decided_on_the_embedders_vector(service):
    intent, query_vector = service.router.intent, service.router.kb.query_vector
    masked = f"{PLACEHOLDER}对应哪个缩写"
    embedded = []
    assert 1 - CONFIDENT < intent.wording.probability(masked) < CONFIDENT

    asks = intent.asks_meaning(masked, lambda text: embedded.append(text) or query_vector(text))

    assert embedded == [masked]
    assert asks == pytest.approx(intent.probability(query_vector(masked))) and asks >= ASKS_MEANING


def test_an_english_wording_is_always_decided_on_the_embedders_vector(service):
    intent, query_vector = service.router.intent, service.router.kb.query_vector
    masked = f"What if {PLACEHOLDER} fails?"  # few English questions in the data: the n-grams are sure and wrong
    embedded = []

    asks = intent.asks_meaning(masked, lambda text: embedded.append(text) or query_vector(text))

    assert embedded == [masked] and asks < ASKS_MEANING


def test_the_wording_classifier_ships_for_its_data_and_scores_as_sklearns_tfidf_would(tmp_path):
    from sklearn.feature_extraction.text import TfidfVectorizer

    wording = WordingIntent.load(tmp_path)
    assert list(tmp_path.iterdir()) == []  # the fit in data/ is for the questions as they are now
    saved = per_embedder("term_wording", WORDING_MODEL, fit_wording, tmp_path)
    reference = TfidfVectorizer(analyzer="char", ngram_range=WORDING_NGRAMS, sublinear_tf=True,
                                vocabulary=saved["ngrams"].tolist())
    reference.idf_ = saved["idf"]
    questions = training_questions()[0][::20] + [f"Someone  said\t{PLACEHOLDER}, WHAT is that?", "", "ＸＹＺ是啥"]

    expected = 1 / (1 + np.exp(-(reference.transform(questions) @ saved["weights"] + saved["bias"])))

    assert [wording.probability(q) for q in questions] == pytest.approx(expected, abs=1e-6)


def test_an_english_question_finds_the_chinese_faq_entry(service):
    answer = service.ask("When do we get paid each month?")

    assert answer.route == "fact" and answer.text == SALARY_ANSWER


@pytest.mark.parametrize("question", ["公司的股票代码是多少？", "ESS培训是什么？", "今天天气怎么样？"])
def test_a_question_the_knowledge_cannot_answer_is_abstained_on_without_sources(service, question):
    answer = service.ask(question)

    assert answer.abstained
    assert answer.sources == []
    assert "没有" in answer.text


def test_an_abbreviation_the_glossary_lacks_is_said_so_with_the_closest_terms(service):
    answer = service.ask("KAN是什么意思？")

    assert answer.route == "term" and answer.abstained
    assert "术语表中没有“KAN”的条目" in answer.text
    assert "KAM" in answer.suggestions


@pytest.mark.parametrize("question", ["KAM和QPS分别是什么？", "What do KAM and QPS stand for?"])
def test_a_known_term_asked_beside_an_unknown_one_is_answered_and_the_unknown_one_named(service, question):
    answer = service.ask(question)

    assert answer.route == "term" and not answer.abstained
    assert "Key Account Manager" in answer.text
    assert "QPS" in answer.text and ("术语表中没有“QPS”的条目" in answer.text or "no entry for QPS" in answer.text)
    assert [s.source for s in answer.sources] and "QPS" not in " ".join(s.text for s in answer.sources)


def test_a_faq_entry_close_but_not_sure_enough_is_offered_as_a_suggestion(service):
    answer = service.ask("工资条在哪里看")

    assert answer.abstained
    assert answer.suggestions[0] == "工资什么时候发？"
    assert "您是不是想问：\n1. 工资什么时候发？" in answer.text


def test_a_stored_question_asked_as_written_is_answered_with_high_confidence(service):
    answer = service.ask("忘记密码怎么办？")

    assert answer.route == "fact" and answer.confidence > 0.9


def test_abbreviation_like_words_the_glossary_lacks_are_found_but_capitalised_english_words_are_not(service):
    mentions = service.router.glossary.find("AM和QPS以及WHAT")

    found = [term.text for term in unknown_terms("AM和QPS以及WHAT", mentions)]

    assert found == ["QPS"]


def test_masking_replaces_each_term_with_the_placeholder():
    assert mask("在售后流程里AM负责哪些事情", [(6, 8)]) == f"在售后流程里{PLACEHOLDER}负责哪些事情"


def test_without_an_embedder_the_lexical_calibration_is_used():
    model = evidence.calibration("faq", None)

    assert model.features == tuple(f for f in model.features if f not in {"cosine", "cosine_z", "cosine_bg",
                                                                           "answer_cosine"})
    assert model.probability({"lexical": 1.0, "coverage": 1.0, "names_missing": 0.0, "english": 0.0}) > 0.9
    assert model.probability({"lexical": 0.1, "coverage": 0.1, "names_missing": 1.0, "english": 0.0}) < 0.1


@pytest.mark.parametrize("question", ["", "   ", "😀😀😀", "？！……"])
def test_a_question_without_words_is_refused_clearly(service, question):
    answer = service.ask(question)

    assert answer.abstained and answer.sources == [] and answer.suggestions == []
    assert "请输入一个问题" in answer.text


def test_a_glossary_name_is_also_found_without_its_bracketed_note():
    from agent.answer.terms import GlossaryMatcher
    from agent.records import Term

    sku = Term(("SKU",), "Stock Keeping Unit", "库存量单位（单品编码）")
    matcher = GlossaryMatcher([sku])

    assert [m.text for m in matcher.find("库存量单位的英文简称叫什么")] == ["库存量单位"]
    assert [m.text for m in matcher.find("单品编码怎么写成英文")] == ["单品编码"]


def test_a_bracketed_note_that_explains_is_not_taken_for_a_name():
    from agent.answer.terms import name_variants

    assert name_variants("损益（表）") == ["损益（表）", "损益", "损益表"]
    assert "“国标”的拼音缩写" not in name_variants("国家标准（“国标”的拼音缩写）")
    assert "drug" not in name_variants("Over-The-Counter (drug)")


def test_words_of_one_kind_are_told_from_synonyms_by_the_thesaurus():
    from agent.text.synonyms import same_kind

    assert same_kind("产假", "婚假") and same_kind("陪产假", "婚假")
    assert not same_kind("领证", "结婚") and not same_kind("婚假", "婚假")


def test_a_question_about_another_thing_of_the_same_kind_is_flagged_as_a_near_miss():
    from agent.records import FaqEntry

    entry = FaqEntry("婚假有几天？", "婚假为3天。", ("结婚可以休几天假",))

    assert evidence.other_kind("产假有几天？", entry) == 1.0
    assert evidence.other_kind("领证了能休几天假", entry) == 0.0


def test_a_passage_on_another_thing_of_the_kind_asked_about_is_marked_however_it_is_cut():
    passage = "年假有多少天？ 我有几天年假 累计工作满1年不满10年的，年假5天。"

    assert evidence.names_other_kind("产假一共有多少天？", [passage]) == 1.0
    assert evidence.names_other_kind("年假一共有多少天？", [passage]) == 0.0


@pytest.mark.slow
def test_an_english_question_gets_the_chinese_words_its_knowledge_uses():
    from agent.text.bilingual import chinese_pairs, chinese_words, uses_word

    pairs = chinese_pairs(["年假可延续至次年。产品保修期为1年。"])
    words = chinese_words("How long is the warranty, and can annual leave be carried over?",
                          lambda word: uses_word(pairs, word))

    assert words["warranty"] == ["保修"]
    assert words["annual leave"] == ["年假"]
    assert all(uses_word(pairs, w) for found in words.values() for w in found)


def test_a_near_miss_naming_another_leave_of_the_same_kind_is_not_given_the_stored_answer(service):
    annual_leave_answer = COMPANY_FAQ_ROWS[1][2]

    answer = service.ask("产假怎么申请？")

    assert answer.text != annual_leave_answer and not (answer.route == "fact" and not answer.abstained)


def test_an_entry_that_stands_out_only_by_its_english_similar_question_is_trusted_less(service):
    question = "Can I take annual leave next week?"
    candidates = {c.entry.question: c for c in service.router.faq_candidates(service.router.understand(question))}
    pulled = candidates["可以居家办公吗？"]
    model = evidence.calibration("faq", service.kb.embedder_name)

    # The work-from-home entry stands out by its English row "Can I work from home?"; the annual-leave
    # entry has no English row, so nothing is said of it.
    assert pulled.features["own_language_lead"] > 0
    assert candidates["年假如何申请？"].features["own_language_lead"] == 0
    assert pulled.probability < model.probability({**pulled.features, "own_language_lead": 0.0})
    answer = service.ask(question)
    assert not (answer.route == "fact" and answer.text.startswith(COMPANY_FAQ_ROWS[4][2]))


def test_only_the_entry_ahead_of_all_others_has_a_positive_margin(service):
    candidates = service.router.faq_candidates(service.router.understand("每个月几号发薪水？"))

    assert candidates[0].entry.question == "工资什么时候发？"
    assert candidates[0].features["margin"] > 0 and candidates[0].features["answer_margin"] > 0
    assert all(c.features["margin"] <= 0 for c in candidates[1:])


@pytest.mark.slow
def test_an_english_word_known_only_inside_longer_glosses_finds_the_knowledges_word():
    from agent.text.bilingual import chinese_pairs, chinese_words, uses_word

    pairs = chinese_pairs(["费用报销须在30天内提交。审批通过后办理离职手续。"])
    words = chinese_words("When are reimbursements paid, and who approves the office move?",
                          lambda word: uses_word(pairs, word))

    assert words["reimbursements"] == ["报销"]  # CEDICT: 报销 "to apply for reimbursement"
    assert "离职" not in words.get("office", [])  # "office" has glosses of its own; "to leave office" is not one


@pytest.mark.slow
def test_english_words_are_looked_up_in_their_dictionary_forms_and_specific_words_inside_longer_glosses():
    from agent.text.bilingual import chinese_pairs, chinese_words, uses_word

    pairs = chinese_pairs(["领取结婚证后可休婚假。加班须事先申请，当天审批。试用期为3个月。"])
    words = chinese_words("I'm getting married; how is overtime approved on the day I start my probation?",
                          lambda word: uses_word(pairs, word))

    assert words["getting married"] == ["结婚"]  # "get married" -> 结婚, each word in its dictionary form
    assert words["overtime"] == ["加班"]  # its own glosses (加时, 超时) are not the knowledge's; "work overtime" is
    assert words["probation"] == ["试用"]  # 缓刑 is not the knowledge's; "on probation" -> 试用
    assert "当天" not in words.get("day", [])  # "day" ends a hundred glosses: a known one among them is chance


def test_an_english_question_is_covered_by_an_entry_only_as_far_as_the_entry_says_its_words():
    from agent.answer.understand import Understanding

    married = Understanding("I'm getting married. How much time off do I get?", [], [], 0.0,
                            {"getting married": ["结婚"], "time": ["时间"]})
    vice_presidents = Understanding("Which cabin class are vice presidents allowed to fly?", [], [], 0.0,
                                    {"vice presidents": ["副总裁"]})

    assert evidence.translated_coverage(married, "婚假有几天？结婚可以休几天假") == pytest.approx(2 / 3)
    assert evidence.translated_coverage(married, "结婚 时间") == 1.0
    # One phrase of six words said: the entry does not cover the question, however close its vector.
    assert evidence.translated_coverage(vice_presidents, "境外出差还需分管副总裁批准") < 0.5
    assert evidence.translated_coverage(Understanding("婚假有几天？", [], [], 0.0), "婚假为3天") == 0.0


@pytest.mark.slow
def test_a_possessive_is_looked_up_without_its_s_and_whats_stays_a_way_of_asking():
    from agent.text.bilingual import chinese_pairs, chinese_words, uses_word

    pairs = chinese_pairs(["华北区域全年目标。如何申请？"])
    words = chinese_words("What's North China's target?", lambda word: uses_word(pairs, word))

    assert words["north china"] == ["华北"]
    assert not any(key.startswith("what") for key in words)  # "what's" is "what is", not 如何
