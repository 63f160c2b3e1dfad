"""Bringing the index up to date with the knowledge folder: only added or changed files are parsed and
embedded, deleted files leave the index, a bad file is reported and never stops the rest.

The lexical part of a generation is cheap; vectors are not. `ingest(wait_for_vectors=False)` publishes
the generation with whatever vectors the cache already holds and returns the rest as a `PendingVectors`
job, whose `run()` embeds them and publishes the same generation again with its vectors complete."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from tqdm import tqdm

from agent.index import store
from agent.index.embedders import Embedder, create_embedder
from agent.index.vector_cache import VectorCache
from agent.index.vectors import VectorPlan, embed_missing, write_vectors
from agent.ingest.errors import KnowledgeFileError
from agent.ingest.faq import load_faq
from agent.ingest.glossary import load_glossary
from agent.index.lexical import LexicalIndex, TokenIds, Tokenizer, glossary_words
from agent.ingest.folder import KIND_EXTENSIONS, scan_knowledge
from agent.records import FaqEntry, Passage, Term
from agent.settings import Settings

log = logging.getLogger(__name__)

PARSE_VERSION = 5  # raise when parsing or lexical.TOKENS_VERSION changes, so every index is written again
BACKGROUND_NICENESS = 10  # added to the niceness of the thread that embeds a published index's vectors
@dataclass
class FileReport:
    path: str
    kind: str
    status: str  # ok | error | skipped
    terms: int = 0
    faq: int = 0
    chunks: int = 0
    warnings: list[str] = field(default_factory=list)
    sheets: list = field(default_factory=list)  # SheetLayout of each sheet read (dicts once back from the manifest)
    error: str | None = None
    hash: str = ""
    size: int = 0
    modified: float = 0.0


@dataclass
class IngestReport:
    files: list[FileReport]
    totals: dict[str, int]
    changed: bool
    changes: dict[str, list[str] | int] = field(default_factory=dict)
    pending: "PendingVectors | None" = None  # vectors still to embed, when not waited for

    def to_json(self) -> dict:
        files = [{k: v for k, v in dataclasses.asdict(f).items() if k not in {"hash", "size", "modified", "sheets"}}
                 for f in self.files]
        return {"files": files, "totals": self.totals, "changed": self.changed, "changes": self.changes}


@dataclass
class _Parsed:
    report: FileReport
    terms: list[Term] = field(default_factory=list)
    faq: list[FaqEntry] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)


def ingest(settings: Settings, show_progress: bool = False, embedder: Embedder | None = None,
           wait_for_vectors: bool = True) -> IngestReport:
    """Parse what changed, keep what did not, and publish a new index generation atomically: with every
    vector when `wait_for_vectors`, else with those already cached and a `pending` job for the rest.
    The embedder is loaded first, so a broken one stops the run before anything is written."""
    embedder = embedder or create_embedder(settings)
    wait_for_vectors = wait_for_vectors or settings.vector_store == "milvus"  # Milvus takes passages with vectors
    with store.ingest_lock(settings.index_dir):
        previous = _PreviousIndex.load(settings.index_dir)
        parse_key = files_parse_key(settings)
        files = scan_knowledge(settings.knowledge_dir)
        parsed: list[_Parsed] = []
        changed = set(previous.files) != set(files) or previous.parse_key != parse_key
        for relative, (kind, path) in files.items():
            item = _reuse_or_parse(relative, kind, path, previous, parse_key, settings)
            old = previous.files.get(relative, {})
            changed |= item.report.hash != old.get("hash") or item.report.status != old.get("status")
            parsed.append(item)
        vectors_current = previous.vectors.get("embedder") == embedder.name and previous.vectors.get("complete")
        if not changed and vectors_current and previous.generation is not None and not _milvus_empty(settings):
            # A run killed mid-way leaves its half-written generation; with nothing to publish it would stay.
            store.remove_stale_generations(settings.index_dir, keep=previous.generation.name)
            return _report(parsed, changed=False, changes={})
        generation = store.new_generation(settings.index_dir)
        try:
            passages, tokens, plan = _write_generation(generation, parsed, previous, parse_key, settings,
                                                       embedder.name)
            cache = VectorCache(settings.index_dir)
            if wait_for_vectors:
                with _progress_bar(show_progress) as progress:
                    embed_missing(plan, embedder, cache, progress)
            complete = _add_vectors(generation, plan, cache)
            if settings.vector_store == "milvus":
                parts = plan.complete_parts(cache)
                _milvus(settings).publish(passages, parts.get("passages", np.zeros((0, 1))), tokens.tokens())
        except BaseException:
            store.remove_stale_generations(settings.index_dir, keep=previous.generation.name
                                           if previous.generation else "")
            raise
        store.publish(settings.index_dir, generation)
        pending = None if complete else PendingVectors(settings, embedder, plan, generation.name)
        return _report(parsed, changed=True, changes=_changes(previous, parsed), pending=pending)


def files_parse_key(settings: Settings) -> str:
    """What a file's records depend on besides its bytes: a file read under another key is read again."""
    return f"v{PARSE_VERSION}/chunk={settings.chunk_size}/{settings.chunk_overlap}"


class PendingVectors:
    """The vectors a just-published generation still lacks: `run()` embeds them (progress in `done` and
    `total`; `cancel()` stops it between batches) and publishes the generation again with them."""

    def __init__(self, settings: Settings, embedder: Embedder, plan: VectorPlan, generation: str):
        self.settings, self.embedder, self.plan, self.generation = settings, embedder, plan, generation
        self.done, self.total = 0, plan.total
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    def run(self) -> bool:
        """True when the generation was published with all its vectors; False when cancelled or when a
        newer generation replaced it meanwhile (the vectors stay cached for it). Embedder errors propagate."""
        cache = VectorCache(self.settings.index_dir)
        with _lower_priority():
            if not embed_missing(self.plan, self.embedder, cache, self._progress, lambda: self._cancelled):
                return False
        with store.ingest_lock(self.settings.index_dir):
            try:
                current = store.current_generation(self.settings.index_dir)
            except store.IndexMissing:
                return False
            if current.name != self.generation or self._cancelled:
                return False
            generation = store.new_generation(self.settings.index_dir)
            try:
                store.link_generation(current, generation)
                _add_vectors(generation, self.plan, VectorCache(self.settings.index_dir))
            except BaseException:
                store.remove_stale_generations(self.settings.index_dir, keep=current.name)
                raise
            store.publish(self.settings.index_dir, generation)
        log.info("vectors complete: %d texts embedded with %s", self.total, self.embedder.name)
        return True

    def _progress(self, done: int, total: int) -> None:
        if done * 10 // max(total, 1) != self.done * 10 // max(total, 1):
            log.info("vectors: %d of %d", done, total)
        self.done, self.total = done, total


@contextmanager
def _lower_priority() -> Iterator[None]:
    """The calling thread (and the threads it starts) at a lower CPU priority while it embeds, restored after:
    the app serves while its vectors are computed, and on 2 cores the embedding took the CPU its start-up and
    first answers needed. Where threads cannot be reniced (not Linux), nothing changes."""
    try:
        thread = threading.get_native_id()
        before = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, before + BACKGROUND_NICENESS)
    except (AttributeError, OSError):
        yield
        return
    try:
        yield
    finally:
        try:
            os.setpriority(os.PRIO_PROCESS, thread, before)
        except OSError:  # raising it back needs privileges an unprivileged process lacks: stays lower
            log.debug("could not restore the priority of thread %d", thread)


def _add_vectors(generation: Path, plan: VectorPlan, cache: VectorCache) -> bool:
    """Write the parts whose vectors are all cached and record in the manifest what the generation holds;
    True when nothing is missing."""
    parts = plan.complete_parts(cache)
    write_vectors(generation, parts)
    complete = not plan.missing(cache)
    manifest_path = generation / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["vectors"] = {"embedder": plan.embedder_name, "complete": complete, "parts": sorted(parts)}
    manifest_path.unlink()  # it may be a hard link to the previous generation's manifest
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    if complete:
        cache.compact({key for keys in plan.keys.values() for key in keys})
    return complete


@contextmanager
def _progress_bar(show: bool) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr for the command line; a log line every tenth otherwise."""
    bar = tqdm(desc="embedding", unit="text", file=sys.stderr, disable=not show)
    logged = [-1]

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()
        if total and done * 10 // total != logged[0]:
            logged[0] = done * 10 // total
            log.info("vectors: %d of %d", done, total)
    try:
        yield update
    finally:
        bar.close()


def _reuse_or_parse(relative: str, kind: str, path: Path, previous: "_PreviousIndex", parse_key: str,
                    settings: Settings) -> _Parsed:
    stat = path.stat()
    report = FileReport(path=relative, kind=kind, status="ok", size=stat.st_size, modified=stat.st_mtime)
    old = previous.files.get(relative, {})
    if old and old.get("size") == stat.st_size and old.get("modified") == stat.st_mtime:
        report.hash = old["hash"]
    else:
        report.hash = _file_hash(path)
    if old.get("hash") == report.hash and previous.parse_key == parse_key and old.get("status") != "error":
        return previous.parsed(relative, report, old)  # a file that failed is read again: the cause may be gone
    if path.suffix.lower() not in KIND_EXTENSIONS[kind]:
        report.status = "skipped"
        report.warnings.append(f"'{path.suffix}' files are not read in {relative.split('/')[0]}/; "
                               f"supported: {', '.join(sorted(KIND_EXTENSIONS[kind]))}")
        return _Parsed(report)
    if stat.st_size > settings.max_file_mb * 2**20:
        return _failed(report, f"file is {stat.st_size / 2**20:.1f} MB, over the {settings.max_file_mb:g} MB "
                               "limit (KB_MAX_FILE_MB); split it or raise the limit", previous)
    started = time.perf_counter()
    try:
        item = _parse(relative, kind, path, report, settings)
    except KnowledgeFileError as exc:
        return _failed(report, str(exc), previous)
    except Exception as exc:  # a parser bug on one file must not stop the others
        log.exception("unexpected error reading %s", relative)
        return _failed(report, f"could not be read ({type(exc).__name__}: {exc})", previous)
    log.info("parsed %s in %.2fs", relative, time.perf_counter() - started)
    return item


def _parse(relative: str, kind: str, path: Path, report: FileReport, settings: Settings) -> _Parsed:
    if kind == "glossary":
        terms, warnings = load_glossary(path, relative, layouts=report.sheets)
        report.terms, report.warnings = len(terms), warnings
        return _Parsed(report, terms=terms)
    if kind == "faq":
        entries, warnings = load_faq(path, relative, layouts=report.sheets)
        passages = [faq_passage(e) for e in entries]
        report.faq, report.chunks, report.warnings = len(entries), len(passages), warnings
        return _Parsed(report, faq=entries, passages=passages)
    from agent.ingest.chunking import split_sections  # langchain and the document parsers load only when needed
    from agent.ingest.documents import read_sections

    passages = split_sections(read_sections(path), relative, settings.chunk_size, settings.chunk_overlap)
    if not passages:
        raise KnowledgeFileError("the document contains no text")
    report.chunks = len(passages)
    return _Parsed(report, passages=passages)


def faq_passage(entry: FaqEntry) -> Passage:
    """FAQ entries are searchable beside the documents: a question worded unlike any stored one can
    still find the entry through the words of its answer."""
    asked = "\n".join((entry.question, *entry.similar))
    return Passage(f"{asked}\n{entry.answer}", entry.source, entry.location)


def passage_tokens(tokenizer: Tokenizer, passage: Passage, entry: FaqEntry | None) -> list[str]:
    """What BM25 counts of a passage: an FAQ entry's questions keep their ways of asking, as the question
    searched with does (Tokenizer.question_tokens), so 哪天 links a question to a stored one asking for a day."""
    if entry is None:
        return tokenizer.tokens(passage.text)
    return tokenizer.question_tokens("\n".join((entry.question, *entry.similar))) + tokenizer.tokens(entry.answer)


def _failed(report: FileReport, reason: str, previous: "_PreviousIndex") -> _Parsed:
    """An unreadable file loses nothing: whatever its last good version gave stays in the index."""
    report.status, report.error = "error", reason
    kept = previous.parsed(report.path, FileReport(report.path, report.kind, "ok"), previous.files.get(report.path, {}))
    if kept.terms or kept.faq or kept.passages:
        report.warnings.append("the previously indexed version of this file is kept until it is fixed")
        report.terms, report.faq, report.chunks = len(kept.terms), len(kept.faq), len(kept.passages)
    return _Parsed(report, kept.terms, kept.faq, kept.passages)


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _PreviousIndex:
    """What the current generation already holds, so unchanged files are neither parsed nor embedded again."""

    def __init__(self, generation: Path | None, manifest: dict, records: dict[str, list]):
        self.generation = generation
        self.files: dict[str, dict] = manifest.get("files", {})
        self.parse_key = manifest.get("parse_key")
        self.vectors: dict = manifest.get("vectors", {})
        self.tokenizer_fingerprint = manifest.get("tokenizer_fingerprint")
        self._passages: list[Passage] = records.get("passages", [])
        self.by_source: dict[str, dict[str, list]] = {}
        for name, items in records.items():
            for item in items:
                self.by_source.setdefault(item.source, {}).setdefault(name, []).append(item)

    @classmethod
    def load(cls, index_dir: Path) -> "_PreviousIndex":
        try:
            generation = store.current_generation(index_dir)
            manifest = json.loads((generation / "manifest.json").read_text())
            records = {name: store.read_records(generation / file, kind)
                       for name, (file, kind) in store.RECORD_FILES.items()}
            return cls(generation, manifest, records)
        except store.IndexMissing:
            return cls(None, {}, {})
        except Exception as exc:  # a damaged index is rebuilt from the files, not trusted
            log.warning("previous index in %s unreadable (%s); rebuilding from the knowledge files", index_dir, exc)
            return cls(None, {}, {})

    def token_ids(self) -> tuple[TokenIds, dict[Passage, np.ndarray]]:
        """The previous generation's vocabulary (to be extended) and the token ids of every passage it
        indexed; read only when a new generation is written. Empty when there are none to reuse."""
        folder = self.generation / "lexical" if self.generation is not None else None
        try:
            vocabulary = json.loads((folder / "lexical_vocabulary.json").read_text(encoding="utf-8"))
            table = TokenIds.load(folder, vocabulary)
            rows = table.passages()
            if len(rows) != len(self._passages):
                raise ValueError(f"{len(rows)} passages' tokens for {len(self._passages)} passages")
        except Exception as exc:  # none yet (a first index, one without passages, an older layout), or damaged
            if folder is not None and folder.is_dir():
                log.warning("cached tokens unusable (%s); computing them again", exc)
            return TokenIds.empty(), {}
        return table, dict(zip(self._passages, rows))

    def parsed(self, relative: str, report: FileReport, old: dict) -> _Parsed:
        held = self.by_source.get(relative, {})
        report.status = old.get("status", report.status)
        report.error = old.get("error")
        report.warnings = list(old.get("warnings", []))
        report.sheets = list(old.get("sheets", []))
        report.terms, report.faq, report.chunks = old.get("terms", 0), old.get("faq", 0), old.get("chunks", 0)
        return _Parsed(report, held.get("terms", []), held.get("faq", []), held.get("passages", []))


def _write_generation(generation: Path, parsed: list[_Parsed], previous: _PreviousIndex, parse_key: str,
                      settings: Settings, embedder_name: str) -> tuple[list[Passage], TokenIds, VectorPlan]:
    """Write the generation's records and lexical index; returns its passages, their lexical tokens and
    the texts it needs vectors for (added by _add_vectors)."""
    terms = [t for item in parsed for t in item.terms]
    faq = [e for item in parsed for e in item.faq]
    passages = [p for item in parsed for p in item.passages]
    tokenizer = Tokenizer(glossary_words(terms))
    asked_in = {faq_passage(e): e for e in faq}
    if tokenizer.fingerprint == previous.tokenizer_fingerprint:
        table, cached = previous.token_ids()
    else:  # the glossary's words or the tokenizer changed how text is cut: every passage is tokenised again
        table, cached = TokenIds.empty(), {}
    rows = []
    for passage in passages:
        row = cached.get(passage)
        rows.append(row if row is not None else table.add(passage_tokens(tokenizer, passage, asked_in.get(passage))))
    tokens = table.with_passages(rows)
    for name, (file, _) in store.RECORD_FILES.items():
        store.write_records(generation / file, {"terms": terms, "faq": faq, "passages": passages}[name])
    if passages:  # bm25s cannot average the length of no passages; a glossary-only index needs none
        LexicalIndex.from_token_ids(tokens).save(generation / "lexical")
        tokens.save(generation / "lexical")
    manifest = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "knowledge_dir": str(settings.knowledge_dir),
        "parse_key": parse_key,
        "tokenizer_fingerprint": tokenizer.fingerprint,
        "files": {item.report.path: dataclasses.asdict(item.report) for item in parsed},
        "totals": {"terms": len(terms), "faq": len(faq), "chunks": len(passages)},
    }
    (generation / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return passages, tokens, VectorPlan.for_records(embedder_name, terms, faq, passages)


def _milvus(settings: Settings):
    from agent.index.milvus_store import MilvusPassageStore

    return MilvusPassageStore(settings.milvus_uri, settings.knowledge_dir, settings.milvus_token)


def _milvus_empty(settings: Settings) -> bool:
    """Switching an existing index to Milvus must fill it even when no knowledge file changed."""
    return settings.vector_store == "milvus" and _milvus(settings).current_collection() is None


def _report(parsed: list[_Parsed], changed: bool, changes: dict, pending: PendingVectors | None = None
            ) -> IngestReport:
    totals = {"terms": sum(len(i.terms) for i in parsed), "faq": sum(len(i.faq) for i in parsed),
              "chunks": sum(len(i.passages) for i in parsed)}
    return IngestReport([i.report for i in parsed], totals, changed, changes, pending)


def _changes(previous: _PreviousIndex, parsed: list[_Parsed]) -> dict:
    def term_names(terms) -> set[str]:
        return {" / ".join(x for x in (t.abbreviation, t.english, t.chinese) if x) for t in terms}

    old_terms = term_names(t for held in previous.by_source.values() for t in held.get("terms", []))
    new_terms = term_names(t for item in parsed for t in item.terms)
    old_faq = {e.question for held in previous.by_source.values() for e in held.get("faq", [])}
    new_faq = {e.question for item in parsed for e in item.faq}
    old_passages = {p for held in previous.by_source.values() for p in held.get("passages", [])}
    new_passages = {p for item in parsed for p in item.passages}
    return {
        "terms_added": sorted(new_terms - old_terms), "terms_removed": sorted(old_terms - new_terms),
        "faq_added": sorted(new_faq - old_faq), "faq_removed": sorted(old_faq - new_faq),
        "passages_added": len(new_passages - old_passages), "passages_removed": len(old_passages - new_passages),
    }
