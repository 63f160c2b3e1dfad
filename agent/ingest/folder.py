"""The knowledge folder's layout: which sub-folder holds which kind of file, and which names are never
knowledge."""
from __future__ import annotations

from pathlib import Path

from agent.ingest.sheets import SHEET_EXTENSIONS

KIND_FOLDERS = {"glossary": "glossary", "faq": "faq", "docs": "doc"}
DOC_EXTENSIONS = {".pdf", ".docx", ".pptx", ".xlsx", ".xls", ".md", ".markdown", ".txt", ".html", ".htm"}
KIND_EXTENSIONS = {"glossary": SHEET_EXTENSIONS, "faq": SHEET_EXTENSIONS, "doc": DOC_EXTENSIONS}


def is_ignored_name(name: str) -> bool:
    """Office lock files, temporary and hidden files are never knowledge."""
    return name.startswith(("~$", ".~lock", ".")) or name.endswith((".tmp", ".part", "~"))


def scan_knowledge(knowledge_dir: Path) -> dict[str, tuple[str, Path]]:
    """Every knowledge file by its path relative to the folder, with its kind."""
    found: dict[str, tuple[str, Path]] = {}
    for folder, kind in KIND_FOLDERS.items():
        root = knowledge_dir / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink() and not any(is_ignored_name(p) for p in path.relative_to(root).parts):
                found[path.relative_to(knowledge_dir).as_posix()] = (kind, path)
    return found
