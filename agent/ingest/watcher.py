"""Live knowledge updates: a file dropped, changed or removed under the knowledge folder brings a re-index a
moment later, without anyone pressing a button.

Copying a batch of files fires many events; they are gathered until the folder has been quiet for
`debounce_s`, and the files' sizes must then hold still for a short look, so one burst becomes one re-index
and a file still being copied is not read half-written. Office lock files and temporary files are ignored.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from agent.ingest.folder import KIND_FOLDERS, is_ignored_name

log = logging.getLogger(__name__)

STABLE_LOOK_S = 0.3  # how long sizes must hold still after the quiet period


class KnowledgeWatcher:
    """Calls `on_change()` once after each burst of changes to knowledge files under `knowledge_dir`."""

    def __init__(self, knowledge_dir: Path, on_change: Callable[[], object], debounce_s: float = 2.0):
        self.knowledge_dir = Path(knowledge_dir)
        self.on_change = on_change
        self.debounce_s = debounce_s
        self._changed_at: float | None = None
        self._wake = threading.Condition()
        self._stopping = False
        self._observer = Observer()
        self._worker = threading.Thread(target=self._run, name="knowledge-watcher", daemon=True)

    def start(self) -> "KnowledgeWatcher":
        self.knowledge_dir.mkdir(parents=True, exist_ok=True)
        self._observer.schedule(_EventFilter(self), str(self.knowledge_dir), recursive=True)
        self._observer.start()
        self._worker.start()
        log.info("watching %s for knowledge changes (re-index %.1f s after the last one)", self.knowledge_dir,
                 self.debounce_s)
        return self

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        self._observer.stop()
        self._observer.join(timeout=5)
        self._worker.join(timeout=60)

    def file_changed(self, path: str) -> None:
        """Note a change to `path`; only glossary/, faq/ and docs/ hold knowledge (an index folder placed
        in the knowledge folder must not set off a re-index each time it is written), and never lock files."""
        try:
            parts = Path(path).relative_to(self.knowledge_dir).parts
        except ValueError:
            return
        if not parts or parts[0] not in KIND_FOLDERS or any(is_ignored_name(part) for part in parts):
            return
        with self._wake:
            self._changed_at = time.monotonic()
            self._wake.notify_all()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and self._changed_at is None:
                    self._wake.wait()
                if self._stopping:
                    return
                quiet_for = time.monotonic() - self._changed_at
                if quiet_for < self.debounce_s:
                    self._wake.wait(self.debounce_s - quiet_for)
                    continue
                self._changed_at = None
            if not self._sizes_hold_still():
                with self._wake:
                    self._changed_at = self._changed_at or time.monotonic()
                continue
            self._call_on_change()

    def _sizes_hold_still(self) -> bool:
        """A copy that writes without events in between (some network shares) still shows as a growing size."""
        before = self._sizes()
        time.sleep(STABLE_LOOK_S)
        return self._sizes() == before

    def _sizes(self) -> dict[str, tuple[int, float]]:
        sizes = {}
        for path in self.knowledge_dir.rglob("*"):
            try:
                if path.is_file():
                    stat = path.stat()
                    sizes[str(path)] = (stat.st_size, stat.st_mtime)
            except OSError:  # removed while looking
                continue
        return sizes

    def _call_on_change(self) -> None:
        try:
            self.on_change()
        except Exception:  # the watcher outlives a failed re-index; the next change tries again
            log.exception("re-indexing after a knowledge change failed")


class _EventFilter(FileSystemEventHandler):
    """Passes the paths of created, changed, moved and deleted entries on; opening and reading are no change."""

    def __init__(self, watcher: KnowledgeWatcher):
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in {"created", "modified", "moved", "deleted", "closed"}:
            return
        if event.is_directory and event.event_type == "modified":
            return  # a folder's listing changing is reported again for the file itself
        for path in (event.src_path, getattr(event, "dest_path", "")):
            if path:
                self.watcher.file_changed(path if isinstance(path, str) else path.decode())
