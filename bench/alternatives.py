"""The retrieval we measure ourselves against, each behind the same small shape:
`rank(question) -> list of source file names, best chunk first` (duplicates allowed; callers dedupe).

- Qwen-Agent 0.0.34's built-in retrieval, through its own public classes: `DocParser` chunks the files
  exactly as `Assistant(files=...)` does, `KeywordSearch` (BM25 via rank_bm25 over jieba words) ranks
  them, and `HybridSearch` fuses it with a vector searcher registered through `@register_tool`.
  Qwen-Agent's own `VectorSearch` hard-codes DashScope embeddings (a key and the network), so the hybrid
  here uses `LocalVectorSearch`: the same steps as `VectorSearch.sort_by_scores` with the local MiniLM
  model in place of DashScope.
- The LangChain recipe the company started from: RecursiveCharacterTextSplitter(500, 50) +
  HuggingFaceEmbeddings + FAISS.from_documents + similarity_search.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

LANGCHAIN_CHUNK_SIZE = 500
LANGCHAIN_CHUNK_OVERLAP = 50


@lru_cache(maxsize=2)
def langchain_embeddings(model_path: str):
    """One HuggingFaceEmbeddings per model folder, shared by the LangChain recipe and the Qwen-Agent hybrid."""
    import warnings

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from langchain_community.embeddings import HuggingFaceEmbeddings

    with warnings.catch_warnings():  # deprecated in favour of langchain-huggingface, which is not installed
        warnings.simplefilter("ignore")
        return HuggingFaceEmbeddings(model_name=model_path)


def _cached_faiss_store(cache_dir: Path, documents: list, embeddings, model_path: str):
    """FAISS.from_documents, saved under a key of the chunk texts and the model so a rerun reuses it."""
    from langchain_community.vectorstores import FAISS

    digest = hashlib.sha256(model_path.encode())
    for document in documents:
        digest.update(document.page_content.encode())
        digest.update(json.dumps(document.metadata, sort_keys=True, ensure_ascii=False).encode())
    folder = cache_dir / digest.hexdigest()[:20]
    if (folder / "index.faiss").is_file():
        return FAISS.load_local(str(folder), embeddings, allow_dangerous_deserialization=True)  # our own file
    log.info("embedding %d chunks for %s", len(documents), cache_dir.name)
    store = FAISS.from_documents(documents, embeddings)
    store.save_local(str(folder))
    return store


class LangChainRecipe:
    """The starting point: fixed 500-character chunks, MiniLM embeddings, FAISS nearest neighbours."""

    name = "LangChain recipe (splitter 500/50 + HuggingFaceEmbeddings + FAISS)"

    def __init__(self, files: list[Path], embedding_model: str, cache_dir: Path):
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=LANGCHAIN_CHUNK_SIZE,
                                                  chunk_overlap=LANGCHAIN_CHUNK_OVERLAP)
        documents = splitter.create_documents([f.read_text(encoding="utf-8") for f in files],
                                              metadatas=[{"source": f.name} for f in files])
        self.chunks = len(documents)
        self._store = _cached_faiss_store(cache_dir, documents, langchain_embeddings(embedding_model), embedding_model)

    def rank(self, question: str, k: int = 50) -> list[str]:
        return [d.metadata["source"] for d in self._store.similarity_search(question, k=k)]


def _import_qwen_agent(workspace: Path) -> None:
    """Qwen-Agent caches parsed files under QWEN_AGENT_DEFAULT_WORKSPACE (default: ./workspace), read when
    it is imported; point it into the benchmark's work folder first."""
    os.environ.setdefault("QWEN_AGENT_DEFAULT_WORKSPACE", str(workspace))
    import qwen_agent.settings

    if Path(qwen_agent.settings.DEFAULT_WORKSPACE).resolve() != workspace.resolve():
        log.warning("Qwen-Agent was imported before the benchmark set its workspace; it caches in %s",
                    qwen_agent.settings.DEFAULT_WORKSPACE)
    logging.getLogger("qwen_agent_logger").setLevel(logging.WARNING)
    _register_searchers()


@lru_cache(maxsize=1)
def _register_searchers() -> None:
    """Two searchers added to Qwen-Agent's tool registry, its public extension point."""
    from rank_bm25 import BM25Okapi
    from qwen_agent.tools.base import register_tool
    from qwen_agent.tools.search_tools.base_search import BaseSearch
    from qwen_agent.tools.search_tools.keyword_search import KeywordSearch, parse_keyword, split_text_into_keywords

    @register_tool("keyword_search_tokenized_once")
    class KeywordSearchTokenizedOnce(KeywordSearch):
        """`KeywordSearch.sort_by_scores` line for line, except that the chunks' keywords and the BM25Okapi
        model are computed once per document set instead of on every query (the original re-tokenises
        the whole corpus for each question: about half a second per CMRC2018 question here).
        `QwenAgentRetrieval.check_keyword_search_unchanged` compares both on sample questions."""

        name = "keyword_search_tokenized_once"
        _built_for: tuple | None = None
        _bm25 = None

        def sort_by_scores(self, query, docs, **kwargs):
            wordlist = parse_keyword(query)
            if not wordlist:
                return []
            all_chunks = [chunk for doc in docs for chunk in doc.raw]
            key = tuple((doc.url, len(doc.raw)) for doc in docs)
            if self._built_for != key:
                self._bm25 = BM25Okapi([split_text_into_keywords(x.content) for x in all_chunks])
                self._built_for = key
            doc_scores = self._bm25.get_scores(wordlist)
            chunk_and_score = [(chk.metadata["source"], chk.metadata["chunk_id"], score)
                               for chk, score in zip(all_chunks, doc_scores)]
            chunk_and_score.sort(key=lambda item: item[2], reverse=True)
            return chunk_and_score

    @register_tool("local_vector_search")
    class LocalVectorSearch(BaseSearch):
        """`VectorSearch.sort_by_scores` with HuggingFaceEmbeddings over the local model named by
        cfg['embedding_model'] instead of DashScopeEmbeddings, and the FAISS store built once per document
        set (and cached on disk under cfg['cache_dir']) instead of on every query."""

        def __init__(self, cfg=None):
            super().__init__(cfg)
            self._model = self.cfg["embedding_model"]
            self._cache_dir = Path(self.cfg["cache_dir"])
            self._built_for: tuple | None = None
            self._store = None

        def sort_by_scores(self, query, docs, **kwargs):
            from langchain_core.documents import Document

            try:
                query_json = json.loads(query)
                if "text" in query_json:
                    query = query_json["text"]
            except (json.decoder.JSONDecodeError, TypeError):
                pass
            key = tuple((doc.url, len(doc.raw)) for doc in docs)
            if self._built_for != key:
                chunks = [Document(page_content=chk.content[:2000], metadata=chk.metadata)
                          for doc in docs for chk in doc.raw]
                self._store = _cached_faiss_store(self._cache_dir, chunks, langchain_embeddings(self._model),
                                                  self._model)
                self._built_for = key
            found = self._store.similarity_search_with_score(query, k=self._store.index.ntotal)
            return [(chk.metadata["source"], chk.metadata["chunk_id"], score) for chk, score in found]


class QwenAgentRetrieval:
    """Qwen-Agent's retrieval over a set of files, chunked by its own DocParser with its defaults."""

    def __init__(self, files: list[Path], workspace: Path, embedding_model: str):
        _import_qwen_agent(workspace)
        from qwen_agent.tools.doc_parser import DocParser, Record
        from qwen_agent.tools.search_tools.hybrid_search import HybridSearch
        from qwen_agent.tools.search_tools.keyword_search import KeywordSearch

        parser = DocParser({"path": str(workspace / "doc_parser")})
        self.docs = [Record(**parser.call({"url": str(f)})) for f in files]
        self.chunks = sum(len(d.raw) for d in self.docs)
        self._original_keyword = KeywordSearch()
        self.keyword = _registered("keyword_search_tokenized_once")({})
        self.hybrid = HybridSearch({"rag_searchers": ["keyword_search_tokenized_once", "local_vector_search"],
                                    "embedding_model": embedding_model,
                                    "cache_dir": str(workspace / "vector_search")})

    def rank_keyword(self, question: str) -> list[str]:
        """Also the ranking of Qwen-Agent's default `Assistant(files=...)` searchers, keyword_search +
        front_page_search: with more than one file front_page_search returns nothing, and reciprocal-rank
        fusion of a single ranking keeps its order."""
        return [Path(url).name for url, _, _ in self.keyword.sort_by_scores(question, self.docs)]

    def rank_hybrid(self, question: str) -> list[str]:
        return [Path(url).name for url, _, _ in self.hybrid.sort_by_scores(question, self.docs)]

    def check_keyword_search_unchanged(self, questions: list[str]) -> int:
        """How many of `questions` get exactly the same ranking from the once-tokenised keyword search as
        from Qwen-Agent's unmodified KeywordSearch (which re-tokenises everything per query)."""
        same = 0
        for question in questions:
            original = self._original_keyword.sort_by_scores(question, self.docs)
            same += original == self.keyword.sort_by_scores(question, self.docs)
        return same


def _registered(name: str):
    from qwen_agent.tools.base import TOOL_REGISTRY

    return TOOL_REGISTRY[name]
