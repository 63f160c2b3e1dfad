"""The index folder on disk: complete generations side by side, and a CURRENT pointer switched atomically.

A new generation is written in full into its own folder, flushed, and only then does CURRENT move to it
(os.replace is atomic). A crash at any moment leaves CURRENT naming a complete generation.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from agent.records import FaqEntry, Passage, Term

POINTER = "CURRENT"
GENERATION_PREFIX = "gen-"


class IndexMissing(Exception):
    """No complete index has been written yet."""


def current_generation(index_dir: Path) -> Path:
    pointer = index_dir / POINTER
    if not pointer.is_file():
        raise IndexMissing(f"no index in {index_dir}; run `python -m agent ingest` first")
    folder = index_dir / pointer.read_text().strip()
    if not (folder / "manifest.json").is_file():
        raise IndexMissing(f"index pointer in {index_dir} names a missing generation {folder.name}")
    return folder


def new_generation(index_dir: Path) -> Path:
    index_dir.mkdir(parents=True, exist_ok=True)
    folder = index_dir / f"{GENERATION_PREFIX}{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns()}"
    folder.mkdir()
    return folder


def publish(index_dir: Path, generation: Path) -> None:
    """Make `generation` the current index, then remove older generations nobody points at. Everything the
    new pointer leads to reaches the disk before the pointer does, so a power cut cannot leave CURRENT
    naming files that were still in the page cache."""
    _fsync_tree(generation)
    _fsync_dir(index_dir)  # the generation's own entry
    temporary = index_dir / f"{POINTER}.tmp-{os.getpid()}"
    with open(temporary, "w") as handle:
        handle.write(generation.name)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, index_dir / POINTER)
    _fsync_dir(index_dir)
    remove_stale_generations(index_dir, keep=generation.name)


def link_generation(source: Path, target: Path) -> None:
    """Fill `target` with `source`'s files as hard links (copies where the file system has none), so a
    generation that only adds files to another costs no copying."""
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(exist_ok=True)
            continue
        try:
            os.link(path, destination)
        except OSError:
            shutil.copy2(path, destination)


def remove_stale_generations(index_dir: Path, keep: str) -> None:
    for folder in index_dir.glob(f"{GENERATION_PREFIX}*"):
        if folder.name != keep:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """One writer per index at a time, across processes (app replicas, a CLI run beside the app)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / "ingest.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_records(path: Path, records: list) -> None:
    """One JSON object per line. Records are flat (strings, numbers, tuples of strings), so their fields are
    read directly: dataclasses.asdict copies every value deeply, which took a second per 10k passages."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    names = [f.name for f in dataclasses.fields(records[0])] if records else []
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(encode({name: getattr(record, name) for name in names}) + "\n" for record in records)


def read_records(path: Path, record_type: type) -> list:
    if not path.is_file():
        return []
    tuple_fields = {f.name for f in dataclasses.fields(record_type) if "tuple" in str(f.type)}
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            data = json.loads(line)
            for name in tuple_fields:
                data[name] = tuple(data.get(name) or ())
            records.append(record_type(**data))
    return records


RECORD_FILES = {"terms": ("terms.jsonl", Term), "faq": ("faq.jsonl", FaqEntry), "passages": ("passages.jsonl", Passage)}


def _fsync_tree(folder: Path) -> None:
    """Every file's data and every folder's entries, deepest first."""
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        elif path.is_dir():
            _fsync_dir(path)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
