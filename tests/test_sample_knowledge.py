"""knowledge/ is what scripts/build_sample_knowledge.py writes: regenerated into a temporary folder, every file
holds the same content as the committed one (cell values, document and slide text, PDF text, text bytes), so
an edit made to one and not the other is caught."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.settings import REPO_ROOT

SAMPLE = REPO_ROOT / "knowledge"


def _content(path: Path):
    """What a reader of the file sees, without the container's own metadata (zip entries, timestamps)."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        import openpyxl

        workbook = openpyxl.load_workbook(path)
        return {sheet.title: ([list(row) for row in sheet.iter_rows(values_only=True)],
                              sorted(str(cells) for cells in sheet.merged_cells.ranges)) for sheet in workbook}
    if suffix == ".docx":
        import docx

        document = docx.Document(path)
        return ([p.text for p in document.paragraphs],
                [[[cell.text for cell in row.cells] for row in table.rows] for table in document.tables])
    if suffix == ".pptx":
        import pptx

        return [[shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
                for slide in pptx.Presentation(path).slides]
    if suffix == ".pdf":
        import pypdf

        return [page.extract_text() for page in pypdf.PdfReader(path).pages]
    return path.read_bytes()  # .md and .txt: the bytes are the content, encoding included


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "knowledge"
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "build_sample_knowledge.py"), "--out", str(out)],
                   check=True, cwd=REPO_ROOT, capture_output=True)
    return out


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_the_script_writes_exactly_the_files_in_knowledge(regenerated):
    assert _files(regenerated) == _files(SAMPLE)


@pytest.mark.parametrize("relative", _files(SAMPLE))
def test_each_regenerated_file_has_the_content_of_the_committed_one(regenerated, relative):
    committed = _content(SAMPLE / relative)

    assert committed, f"no content read from {relative}"
    assert _content(regenerated / relative) == committed
