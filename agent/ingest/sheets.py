"""Reading spreadsheet files (xlsx, xls, csv) into plain rows, and keeping the sheets whose columns can be
understood (agent/ingest/columns.py says which column holds what).

Shared by the glossary and FAQ loaders; real sheets have title rows, blank rows and varying header words.
"""
from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.ingest.columns import Layout, SheetKind, describe_inferred, find_layout
from agent.ingest.errors import KnowledgeFileError
from agent.ingest.text_files import decode_text
from agent.text.normalize import clean_cell

SHEET_EXTENSIONS = {".xlsx", ".xlsm", ".xls", ".csv"}
MAX_UNZIPPED_BYTES = 300 * 1024 * 1024  # a zip bomb in disguise is refused before it is opened
MAX_CELLS_PER_SHEET = 5_000_000  # a sheet claiming a huge used range (XFD1048576) is cut here, not read to the end
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass
class Sheet:
    name: str
    rows: list[list[str]]  # cleaned cell texts; rows[i] is spreadsheet row i + 1
    truncated: bool = False  # over max_rows rows
    cells_truncated: bool = False  # over MAX_CELLS_PER_SHEET cells


def read_sheets(path: Path, max_rows: int) -> list[Sheet]:
    """Every sheet of a workbook (a csv is one sheet), cells cleaned to text, at most max_rows rows each."""
    suffix = path.suffix.lower()
    if suffix not in SHEET_EXTENSIONS:
        raise KnowledgeFileError(f"unsupported spreadsheet type '{suffix}'; use .xlsx, .xls or .csv")
    if suffix == ".csv":
        return [_read_csv(path, max_rows)]
    head = path.read_bytes()[:8]
    if suffix in {".xlsx", ".xlsm"}:
        if head == _OLE_MAGIC:
            raise KnowledgeFileError(
                "the workbook is password-protected (encrypted); save a copy without a password and drop that in"
            )
        return _read_xlsx(path, max_rows)
    return _read_xls(path, max_rows)


def refuse_zip_bomb(path: Path) -> None:
    """Office files are zip archives; one that would unpack beyond MAX_UNZIPPED_BYTES is refused unopened."""
    try:
        with zipfile.ZipFile(path) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise KnowledgeFileError(f"not a valid {path.suffix} file (it is damaged or has another format)") from exc
    if unzipped > MAX_UNZIPPED_BYTES:
        raise KnowledgeFileError(
            f"the file unpacks to {unzipped // 2**20} MB, over the {MAX_UNZIPPED_BYTES // 2**20} MB limit"
        )


def _read_xlsx(path: Path, max_rows: int) -> list[Sheet]:
    import openpyxl

    refuse_zip_bomb(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise KnowledgeFileError(f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from exc
    try:
        return [_capped_sheet(worksheet.title, worksheet.iter_rows(values_only=True), max_rows)
                for worksheet in workbook.worksheets]
    finally:
        workbook.close()


def _read_xls(path: Path, max_rows: int) -> list[Sheet]:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except Exception as exc:
        raise KnowledgeFileError(f"not a readable .xls workbook ({exc}); try saving it as .xlsx") from exc
    return [_capped_sheet(sheet.name, (sheet.row_values(i) for i in range(sheet.nrows)), max_rows)
            for sheet in book.sheets()]


def _read_csv(path: Path, max_rows: int) -> Sheet:
    import csv
    import io

    text = decode_text(path.read_bytes())
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    return _capped_sheet(path.stem, csv.reader(io.StringIO(text), dialect), max_rows)


def _capped_sheet(name: str, rows: Iterable[Sequence[object]], max_rows: int) -> Sheet:
    """Cleaned rows, trailing empty cells dropped, stopping at max_rows rows or MAX_CELLS_PER_SHEET cells."""
    sheet, cells = Sheet(name, []), 0
    for values in rows:
        if len(sheet.rows) >= max_rows:
            sheet.truncated = True
            break
        row = [clean_cell(v) for v in values]
        while row and not row[-1]:
            row.pop()
        cells += len(row)
        if cells > MAX_CELLS_PER_SHEET:
            sheet.cells_truncated = True
            break
        sheet.rows.append(row)
    return sheet


def readable_sheets(path: Path, kind: SheetKind, max_rows: int, warnings: list[str]) -> list[tuple[Sheet, Layout]]:
    """The sheets of a file whose columns can be understood, each on its own; the others become warnings,
    and a file where no sheet can be understood is an error that says what the sheet needs."""
    found = []
    for sheet in read_sheets(path, max_rows):
        layout = find_layout(sheet.rows, kind)
        if layout is None:
            if any(any(row) for row in sheet.rows):
                warnings.append(f"工作表“{sheet.name}”未读取：{kind.needs}")
            continue
        if layout.inferred:
            warnings.append(f"工作表“{sheet.name}”{describe_inferred(layout, kind)}")
        if sheet.truncated:
            warnings.append(f"sheet '{sheet.name}' has more than {max_rows} rows; only the first {max_rows} were read")
        if sheet.cells_truncated:
            warnings.append(f"sheet '{sheet.name}' has more than {MAX_CELLS_PER_SHEET} cells; only the first "
                            f"{len(sheet.rows)} rows were read")
        found.append((sheet, layout))
    if not found:
        raise KnowledgeFileError(f"无法识别这个文件的列：{kind.needs}（no sheet has recognisable columns; "
                                 f"the header row needs {kind.header_hint}）")
    return found


def cell(row: list[str], column: int | None) -> str:
    if column is None or column >= len(row):
        return ""
    return row[column]
