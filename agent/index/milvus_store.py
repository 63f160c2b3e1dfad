"""Passages and their vectors in Milvus, for several app replicas sharing one store.

One knowledge folder has one alias (`kb_<hash of the folder path>`); each published set of passages is a
new collection (a generation) and the alias is switched to it in one call, so searches see the old set or
the new one, never a mix. A publish that changes nothing writes nothing. Vectors come from the caller
(ingest already reuses the vectors of unchanged passages), so Milvus never embeds anything itself.

The lexical leg is Milvus's own full-text search: a BM25 function (k1 and b as bm25s uses them) over the
words this project's Tokenizer cuts (jieba search mode with the glossary's words), so both stores rank
with the same words. Each word is stored as a short hex key that Milvus's standard analyzer keeps whole
(Milvus Lite has no whitespace analyzer, and the standard one splits Chinese into characters). Milvus's
built-in jieba analyzer, tried first, found the right CMRC2018 article first for 72% of questions against
84% (first 20 articles). The dense leg is a cosine search over the vectors. Both are fused by weighted
standardised scores (agent.index.fusion), as KnowledgeBase does with bm25s and FAISS. Works with Milvus
Lite (`uri` is a file path; the `milvus-lite` package) and with a Milvus server (`uri` is http://host:19530, `token` its credentials).
"""
from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import numpy as np
from pymilvus import MilvusException

from agent.index.fusion import CANDIDATES, fuse_rankings
from agent.records import Passage, SearchHit

log = logging.getLogger(__name__)

BM25_K1, BM25_B = 1.5, 0.75  # bm25s's defaults, which the FAISS store's lexical leg uses
MAX_TEXT_CHARS = 65535  # Milvus's VARCHAR limit
MAX_WORDS = MAX_TEXT_CHARS // 18  # word keys are 17 characters and a space
BATCH = 500  # rows per insert call


def alias_for(knowledge_dir: Path) -> str:
    """The alias naming one knowledge folder's current passages (Milvus names allow [A-Za-z0-9_])."""
    return "kb_" + hashlib.sha1(str(Path(knowledge_dir).resolve()).encode()).hexdigest()[:16]


def word_keys(tokens: list[str]) -> str:
    """The Tokenizer's tokens as space-separated ASCII keys, one per token, that any Milvus analyzer
    leaves whole: "退货 运费 m&a" becomes "w1c6b… w8a0f… w77d2…"."""
    return " ".join("w" + hashlib.blake2b(t.encode(), digest_size=8).hexdigest() for t in tokens[:MAX_WORDS])


def passage_id(passage: Passage, words: str) -> str:
    """A row id that changes exactly when the passage or its words (a new glossary term) do."""
    return hashlib.sha1(f"{passage.source}\0{passage.location}\0{passage.text}\0{words}".encode()).hexdigest()


class _LiteTimestampNoise(logging.Filter):
    """Milvus Lite 3.x has no AllocTimestamp RPC; pymilvus asks for it after creating an index, gets
    UNIMPLEMENTED and carries on, but the in-process gRPC server logs a traceback at ERROR each time."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], NotImplementedError))


logging.getLogger("grpc._server").addFilter(_LiteTimestampNoise())


class MilvusPassageStore:
    def __init__(self, uri: str, knowledge_dir: Path, token: str = ""):
        from pymilvus import MilvusClient

        self.client = MilvusClient(uri=uri, token=token) if token else MilvusClient(uri=uri)
        self.alias = alias_for(knowledge_dir)

    def current_collection(self) -> str | None:
        """The generation the alias points at, or None before the first publish."""
        if self.alias not in self.client.list_aliases().get("aliases", []):
            return None
        return self.client.describe_alias(self.alias)["collection_name"]

    def passage_ids(self) -> set[str]:
        collection = self.current_collection()
        if collection is None:
            return set()
        rows = self._loaded(collection, lambda: self.client.query(self.alias, filter='id != ""', output_fields=["id"]))
        return {row["id"] for row in rows}

    def publish(self, passages: list[Passage], vectors: np.ndarray, tokens: list[list[str]]) -> dict[str, int]:
        """Make `passages` (with `vectors`, one unit-length row each, and the Tokenizer's `tokens` of each)
        the searchable set, switching over at once; older generations are dropped. Returns how many
        passages were added and removed."""
        if not len(passages) == len(vectors) == len(tokens):
            raise ValueError(f"{len(passages)} passages, {len(vectors)} vectors and {len(tokens)} token lists")
        wanted = {}
        for passage, vector, words in zip(passages, vectors, map(word_keys, tokens)):
            wanted[passage_id(passage, words)] = (passage, vector, words)
        present = self.passage_ids()
        changes = {"added": len(wanted.keys() - present), "removed": len(present - wanted.keys())}
        if self.current_collection() is not None and not changes["added"] and not changes["removed"]:
            return changes
        collection = f"{self.alias}_g{time.time_ns()}"
        self._create_collection(collection, int(vectors.shape[1]) if len(vectors) else 1)
        rows = [{"id": key, "text": p.text[:MAX_TEXT_CHARS], "words": words, "source": p.source,
                 "location": p.location, "vector": np.asarray(v, dtype=np.float32).tolist()}
                for key, (p, v, words) in wanted.items()]
        for start in range(0, len(rows), BATCH):
            self.client.insert(collection, rows[start:start + BATCH])
        self.client.flush(collection)
        self._point_alias_at(collection)
        log.info("milvus: %s now serves %d passages (+%d, -%d)", self.alias, len(rows), changes["added"],
                 changes["removed"])
        return changes

    def search(self, query_tokens: list[str], query_vector: np.ndarray | None, k: int = 5,
               dense_weight: float = 0.0, lexical_weight: float = 1.0) -> list[SearchHit]:
        """Passages for a question (its Tokenizer tokens and vector), best first: Milvus BM25 and cosine
        rankings fused by weighted standardised scores (agent.index.fusion)."""
        collection = self.current_collection()
        if collection is None:
            return []
        legs = []
        if lexical_weight > 0 and query_tokens:
            legs.append((1, self._search_leg(collection, word_keys(query_tokens), "sparse", "BM25")))
        if dense_weight > 0 and query_vector is not None:
            vector = np.asarray(query_vector, dtype=np.float32).tolist()
            legs.append((2, self._search_leg(collection, vector, "vector", "COSINE")))
        entities = {hit["id"]: hit["entity"] for _, hits in legs for hit in hits}
        rankings = {slot: [(hit["id"], _score(hit, slot)) for hit in hits] for slot, hits in legs}
        fused = fuse_rankings(rankings.get(1, []), rankings.get(2, []), lexical_weight, dense_weight)[:k]
        return [SearchHit(Passage(entities[key]["text"], entities[key]["source"], entities[key]["location"]),
                          score, lexical, dense) for key, score, lexical, dense in fused]

    def _search_leg(self, collection: str, query, field: str, metric: str) -> list[dict]:
        """One leg's hits."""
        return self._loaded(collection, lambda: self.client.search(
            self.alias, data=[query], anns_field=field, limit=CANDIDATES, output_fields=["text", "source", "location"],
            search_params={"metric_type": metric})[0])

    def _loaded(self, collection: str, call):
        """`call()`, repeated once after loading the collection when Milvus finds it released (Milvus Lite
        re-opens indexed collections released, even mid-run; an operator may release one on a server)."""
        try:
            return call()
        except MilvusException as error:
            if "load" not in str(error).lower():
                raise
            log.warning("milvus: collection %s was not loaded; loading it", collection)
            self.client.load_collection(collection)
            return call()

    def drop(self) -> None:
        """Remove this knowledge folder's alias and every generation of it."""
        if self.alias in self.client.list_aliases().get("aliases", []):
            self.client.drop_alias(self.alias)
        for collection in self._generations():
            self.client.drop_collection(collection)

    def _create_collection(self, name: str, dimension: int) -> None:
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=40)
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT_CHARS)
        schema.add_field("words", DataType.VARCHAR, max_length=MAX_TEXT_CHARS, enable_analyzer=True,
                         analyzer_params={"tokenizer": "standard"})
        schema.add_field("source", DataType.VARCHAR, max_length=2048)
        schema.add_field("location", DataType.VARCHAR, max_length=1024)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(Function(name="text_bm25", function_type=FunctionType.BM25,
                                     input_field_names=["words"], output_field_names=["sparse"]))
        index = self.client.prepare_index_params()
        index.add_index("vector", index_type="FLAT", metric_type="COSINE")
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                        params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
        self.client.create_collection(name, schema=schema, index_params=index)

    def _point_alias_at(self, collection: str) -> None:
        if self.current_collection() is None:
            self.client.create_alias(collection, self.alias)
        else:
            self.client.alter_alias(collection, self.alias)
        for old in self._generations():
            if old != collection:
                self.client.drop_collection(old)

    def _generations(self) -> list[str]:
        return [name for name in self.client.list_collections() if name.startswith(f"{self.alias}_g")]


def _score(hit: dict, slot: int) -> float:
    """A hit's score on the FAISS store's scale: Milvus Lite reports BM25 negated, and Milvus's BM25 keeps
    the (k1 + 1) factor that bm25s's Lucene variant drops (the router's relevance check reads the score)."""
    distance = abs(float(hit["distance"]))
    return distance / (BM25_K1 + 1) if slot == 1 else distance
