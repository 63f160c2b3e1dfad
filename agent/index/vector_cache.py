"""Vectors already computed, by hash of (embedder name, kind, text), kept in the index folder across
generations: re-indexing embeds only texts it has not seen, and a change of embedder finds nothing cached.

The cache is a folder of shards, each written whole and renamed into place, so a run killed while
embedding keeps every shard it finished and the next run continues from there.
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FOLDER = "vector-cache"
COMPACT_AFTER_SHARDS = 32


def vector_key(embedder_name: str, kind: str, text: str) -> str:
    return hashlib.sha1(f"{embedder_name}\0{kind}\0{text}".encode("utf-8")).hexdigest()


class VectorCache:
    def __init__(self, index_dir: Path):
        self.folder = index_dir / FOLDER
        self._vectors: dict[str, np.ndarray] = {}
        self._shards: list[Path] = []
        for shard in sorted(self.folder.glob("shard-*.npz")):
            try:
                with np.load(shard) as data:
                    self._vectors.update(zip(data["keys"].astype(str), data["vectors"]))
                self._shards.append(shard)
            except Exception as exc:  # a damaged shard only costs its vectors being computed again
                log.warning("vector cache shard %s unreadable (%s); ignoring it", shard.name, exc)

    def get(self, key: str) -> np.ndarray | None:
        return self._vectors.get(key)

    def add(self, keys: list[str], vectors: np.ndarray) -> None:
        """Keep `vectors` (one row per key) in memory and on disk, as one new shard."""
        if not keys:
            return
        self._shards.append(self._write(keys, vectors))
        self._vectors.update(zip(keys, vectors))

    def compact(self, live: set[str]) -> None:
        """Rewrite the cache as one shard of the keys still in use, once shards or dead keys pile up."""
        dead = len(self._vectors.keys() - live)
        if len(self._shards) <= COMPACT_AFTER_SHARDS and dead <= len(live) // 4:
            return
        keys = sorted(live & self._vectors.keys())
        by_dimension: dict[int, list[str]] = {}
        for key in keys:
            by_dimension.setdefault(len(self._vectors[key]), []).append(key)
        written = [self._write(group, np.vstack([self._vectors[k] for k in group])) for group in by_dimension.values()]
        for shard in self._shards:
            shard.unlink(missing_ok=True)
        self._shards = written
        self._vectors = {key: self._vectors[key] for key in keys}
        log.info("vector cache compacted to %d vectors (%d dropped)", len(keys), dead)

    def _write(self, keys: list[str], vectors: np.ndarray) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"shard-{time.time_ns():020d}-{os.getpid()}"
        temporary = self.folder / f"tmp-{name}.npz"
        with open(temporary, "wb") as handle:
            np.savez(handle, keys=np.array(keys, dtype="S40"), vectors=np.asarray(vectors, dtype=np.float32))
            handle.flush()
            os.fsync(handle.fileno())
        final = self.folder / f"{name}.npz"
        os.replace(temporary, final)
        return final
