"""Putting an uploaded file into the knowledge folder safely, and saying what the re-index changed.

A file is accepted only with an extension its kind reads and under the size limit; its name is reduced
to a plain file name (no folders, no `..`, no control characters, Unicode normalised); it is written under
a hidden temporary name in its kind's folder and renamed, so the indexer never reads half a file."""
from __future__ import annotations

import logging
import os
import re
import shutil
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

from agent.index.build import IngestReport
from agent.ingest.folder import KIND_EXTENSIONS, KIND_FOLDERS, is_ignored_name
from agent.surfaces.web.render import as_text

log = logging.getLogger(__name__)

FOLDER_OF_KIND = {kind: folder for folder, kind in KIND_FOLDERS.items()}
MAX_NAME_CHARS = 120
_UNSAFE_CHARS = re.compile(r'[<>:"|?*]')
_SPACES = re.compile(r"\s+")
SHOWN_ITEMS = 20  # names listed per kind of change; the rest are counted


class UploadRejected(Exception):
    """An upload that was not saved; `key` and `params` pick and fill the message in the user's language."""

    def __init__(self, key: str, **params):
        super().__init__(key)
        self.key = key
        self.params = params

    def message(self, labels: dict[str, str]) -> str:
        params = dict(self.params)
        if "kind" in params:
            params["kind"] = labels.get(f"kind_{params['kind']}", params["kind"])
        return labels[self.key].format(**params)


@dataclass(frozen=True)
class SavedUpload:
    path: str  # relative to the knowledge folder
    replaced: bool


def safe_file_name(name: str) -> str:
    """The last component of an uploaded name, NFKC-normalised, without control or format characters,
    leading dots or characters Windows refuses, at most MAX_NAME_CHARS long (extension kept)."""
    name = unicodedata.normalize("NFKC", name or "")
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")  # NUL, controls, bidi overrides
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _SPACES.sub(" ", _UNSAFE_CHARS.sub("_", name)).strip()
    name = name.lstrip(".~$ ").rstrip(". ")
    stem, suffix = os.path.splitext(name)
    if len(name) > MAX_NAME_CHARS:
        name = stem[:MAX_NAME_CHARS - len(suffix)].rstrip() + suffix
    if not stem or is_ignored_name(name):
        raise UploadRejected("upload_bad_name")
    return name


def save_upload(source: Path, original_name: str, kind: str, knowledge_dir: Path, max_mb: float) -> SavedUpload:
    """Copy an uploaded file into knowledge_dir/<kind folder>/ under its safe name, replacing a file of
    that name; raise UploadRejected (nothing written) when the file may not go there."""
    name = safe_file_name(original_name)
    extension = Path(name).suffix.lower()
    if extension not in KIND_EXTENSIONS[kind]:
        raise UploadRejected("upload_bad_extension", ext=extension or name, kind=kind,
                             allowed=" ".join(sorted(KIND_EXTENSIONS[kind])))
    size = source.stat().st_size
    if size == 0:
        raise UploadRejected("upload_empty")
    if size > max_mb * 2**20:
        raise UploadRejected("upload_too_large", size=size / 2**20, limit=max_mb)
    folder = knowledge_dir / FOLDER_OF_KIND[kind]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.resolve().parent != folder.resolve():  # e.g. a symbolic link of that name pointing elsewhere
        raise UploadRejected("upload_bad_name")
    replaced = target.exists()
    temporary = folder / f".upload-{uuid.uuid4().hex}.part"
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    log.info("upload saved to %s (%d bytes%s)", target, size, ", replacing the old file" if replaced else "")
    return SavedUpload(target.relative_to(knowledge_dir).as_posix(), replaced)


def change_summary(report: IngestReport, labels: dict[str, str], uploaded: set[str] = frozenset()) -> str:
    """What a refresh changed, as safe markdown: totals, terms and FAQ questions added or removed, passage
    counts, and the files that failed (or, among those just uploaded, that gave warnings)."""
    totals = report.totals
    lines = [labels["refresh_done"].format(terms=totals["terms"], faq=totals["faq"], passages=totals["chunks"])
             if report.changed else labels["refresh_unchanged"]]
    changes = report.changes or {}
    for key in ("terms_added", "terms_removed", "faq_added", "faq_removed"):
        names = changes.get(key) or []
        if names:
            shown = "；".join(names[:SHOWN_ITEMS])
            more = labels["more_items"].format(count=len(names)) if len(names) > SHOWN_ITEMS else ""
            lines.append(f"**{labels[key]}** ({len(names)}): {as_text(shown)}{more}")
    if changes.get("passages_added") or changes.get("passages_removed"):
        lines.append(labels["passages_changed"].format(added=changes.get("passages_added", 0),
                                                      removed=changes.get("passages_removed", 0)))
    problems = [f for f in report.files if f.error or (f.path in uploaded and f.warnings)]
    if problems:
        lines.append(f"**{labels['file_problems']}**")
        for f in problems:
            detail = "；".join(x for x in (f.error or "", *f.warnings) if x)
            lines.append(f"- {as_text(f.path)}: {as_text(detail)}")
    return "\n\n".join(lines)


def rejection_line(name: str, reason: str, labels: dict[str, str]) -> str:
    return as_text(labels["upload_rejected"].format(name=name, reason=reason))


def saved_line(saved: SavedUpload, labels: dict[str, str]) -> str:
    return as_text(labels["upload_replaced" if saved.replaced else "upload_saved"].format(path=saved.path))
