"""Read a document dropped into knowledge/docs into sections of text that say where they were found.

One small reader per format, chosen by file extension, each leaning on that format's library. The
location of a section (page, slide, sheet or heading path) is what an answer cites, so every reader
keeps it. Errors come out as KnowledgeFileError in words a knowledge owner can act on.
"""
from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import groupby
from pathlib import Path

import docx
import openpyxl
import pptx
import pypdf
import xlrd
from bs4 import BeautifulSoup, Comment, NavigableString
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from pptx.shapes.base import BaseShape
from pptx.shapes.group import GroupShape

from agent.ingest.errors import KnowledgeFileError
from agent.ingest.sheets import refuse_zip_bomb
from agent.ingest.text_files import decode_text
from agent.records import Section

BEFORE_FIRST_HEADING = "beginning"  # location of text that comes before any heading
ROWS_PER_SHEET_SECTION = 50  # a longer sheet is cut into blocks of rows, so a citation stays precise
CHARS_PER_TEXT_PART = 1500  # plain text has no structure; its paragraphs are grouped into parts this big
MAX_HTML_BYTES = 10 * 2**20  # the HTML tree costs far more memory and time than the bytes; bigger pages are refused
MAX_HTML_DEPTH = 500  # each tag inserted into a deep tree walks its ancestors: 100,000 nested tags never finish
_ZIPPED_FORMATS = {".docx", ".pptx", ".xlsx"}

_SPACES = re.compile(r"[ \t\f\xa0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def read_sections(path: Path) -> list[Section]:
    """The non-empty sections of the document at `path`, white space tidied, in reading order."""
    file_format = _FORMATS.get(path.suffix.lower())
    if file_format is None:
        supported = ", ".join(sorted(_FORMATS))
        raise KnowledgeFileError(
            f"{path.name}: unsupported file type '{path.suffix or '(none)'}'; save it as one of {supported}"
        )
    try:
        if path.suffix.lower() in _ZIPPED_FORMATS and zipfile.is_zipfile(path):
            refuse_zip_bomb(path)
        sections = list(file_format.read(path))
    except KnowledgeFileError:
        raise
    except OSError as exc:
        raise KnowledgeFileError(f"{path.name} could not be opened: {exc.strerror or exc}") from exc
    except Exception as exc:
        # Each library fails on a damaged file in its own way (zip, XML, stream errors...); the
        # owner needs one message saying what to do, and the chained exception keeps the detail.
        raise KnowledgeFileError(
            f"{path.name} could not be read as {file_format.kind}: it may be damaged, password-protected "
            f"or a different kind of file renamed. Open it in the program that made it, save it again "
            f"as {file_format.kind} and add it again"
        ) from exc
    tidied = (Section(_tidy_whitespace(section.text), section.location) for section in sections)
    return [section for section in tidied if section.text]


def _tidy_whitespace(text: str) -> str:
    """Collapse runs of spaces and tabs and trim lines, keeping paragraph breaks and every other character."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\v", "\n")
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# ---- pdf -------------------------------------------------------------------------------------


def _read_pdf(path: Path) -> Iterator[Section]:
    reader = pypdf.PdfReader(path)
    # Many PDFs are encrypted only to restrict printing or editing, and open with an empty password.
    if reader.is_encrypted and not reader.decrypt(""):
        raise KnowledgeFileError(
            f"{path.name} is password-protected; save a copy without a password and add that instead"
        )
    page_texts = [_pdf_page_text(page) for page in reader.pages]
    if not any(text.strip() for text in page_texts):
        raise KnowledgeFileError(
            f"{path.name} has no text layer: it is probably a scanned document. Run it through OCR "
            f"(save it as a searchable PDF) and add it again"
        )
    for number, text in enumerate(page_texts, start=1):
        yield Section(text, f"p. {number}")


@dataclass
class _PdfLine:
    text: str
    y: float  # baseline height on the page; larger is higher up
    size: float  # font size in points


_PDF_SENTENCE_END = tuple("。！？；：.!?;:")
_LIST_MARKER = re.compile(r"^\s*(?:[•●○■◆▪·\-–]|\d{1,3}[.)、．]|[（(]\d{1,3}[)）]|[一二三四五六七八九十]{1,3}[、.．]"
                          r"|[（(][一二三四五六七八九十]{1,3}[)）]|第[一二三四五六七八九十百\d]+[章节条])")
HEADING_SIZE_RATIO = 1.15  # a line this much larger than the body text is a heading
PARAGRAPH_GAP_RATIO = 1.3  # a gap this much wider than the usual line pitch starts a paragraph


def _pdf_page_text(page: pypdf.PageObject) -> str:
    """A page's text rebuilt from where its lines sit: lines of one paragraph joined (no break in mid-sentence),
    paragraphs apart by a blank line, and lines set larger than the body text standing alone as headings."""
    lines = _pdf_lines(page)
    if not lines:
        return page.extract_text() or ""
    body_size = _body_font_size(lines)
    pitches = sorted(a.y - b.y for a, b in zip(lines, lines[1:])
                     if abs(a.size - body_size) < 0.5 and abs(b.size - body_size) < 0.5 and a.y > b.y)
    pitch = pitches[len(pitches) // 2] if pitches else body_size * 1.5
    full_width = max((_display_width(line.text) for line in lines if abs(line.size - body_size) < 0.5), default=0)
    paragraphs: list[str] = []
    for previous, line in zip([None, *lines], lines):
        heading = line.size >= body_size * HEADING_SIZE_RATIO
        if previous is not None and _same_paragraph(previous, line, heading, body_size, pitch, full_width):
            paragraphs[-1] = _join_lines(paragraphs[-1], line.text)
        else:
            paragraphs.append(line.text)
    return "\n\n".join(paragraphs)


def _same_paragraph(previous: _PdfLine, line: _PdfLine, heading: bool, body_size: float, pitch: float,
                    full_width: int) -> bool:
    if abs(previous.size - line.size) >= 0.5:
        return False  # a heading ends, or begins
    if heading:
        return previous.y - line.y <= pitch * PARAGRAPH_GAP_RATIO * line.size / body_size  # a wrapped heading
    if not 0 < previous.y - line.y <= pitch * PARAGRAPH_GAP_RATIO:
        return False
    if _LIST_MARKER.match(line.text):
        return False
    short = _display_width(previous.text) < 0.85 * full_width
    return not (short and previous.text.rstrip().endswith(_PDF_SENTENCE_END))


def _pdf_lines(page: pypdf.PageObject) -> list[_PdfLine]:
    """The page's lines in drawing order, with their height and font size, from pypdf's text visitor."""
    lines: list[_PdfLine] = []
    open_line = False

    def visit(text: str, cm: list[float], tm: list[float], font: object, font_size: float) -> None:
        nonlocal open_line
        if not text:
            return
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        size = abs(font_size * (tm[3] or 1) * (cm[3] or 1))
        for number, part in enumerate(text.split("\n")):
            if number > 0:
                open_line = False
            if not part.strip():
                continue
            if open_line and lines and abs(lines[-1].y - y) < max(size, 1) / 2:
                lines[-1].text += part
            else:
                lines.append(_PdfLine(part, y, round(size, 1)))
                open_line = True

    page.extract_text(visitor_text=visit)
    for line in lines:
        line.text = _SPACES.sub(" ", line.text).strip()
    return [line for line in lines if line.text]


def _body_font_size(lines: list[_PdfLine]) -> float:
    """The font size most of the page's characters are set in."""
    weight: dict[float, int] = {}
    for line in lines:
        weight[line.size] = weight.get(line.size, 0) + len(line.text)
    return max(weight, key=weight.__getitem__)


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _join_lines(before: str, after: str) -> str:
    """Chinese lines join directly; English words across a line break keep a space between them."""
    if _display_width(before[-1:]) == 2 or _display_width(after[:1]) == 2:
        return before + after
    return f"{before} {after}"


# ---- headings: docx, markdown and html share one way of grouping text under headings ----------


def _sections_under_headings(blocks: Iterable[tuple[int, str]]) -> list[Section]:
    """Group blocks under the path of headings above them; a block of level 0 is body text.

    Each section starts with its own heading line, so the heading words are searchable too.
    """
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []
    for level, text in blocks:
        if level == 0:
            body.append(text)
            continue
        sections.append(_section_under(path, body))
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, text))
        body = []
    sections.append(_section_under(path, body))
    return sections


def _section_under(path: list[tuple[int, str]], body: list[str]) -> Section:
    location = " > ".join(title for _, title in path) or BEFORE_FIRST_HEADING
    if not any(line.strip() for line in body):
        return Section("", location)
    heading = [path[-1][1]] if path else []
    return Section("\n".join(heading + body), location)


# ---- docx ------------------------------------------------------------------------------------

_DOCX_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])", re.IGNORECASE)


def _read_docx(path: Path) -> list[Section]:
    document = docx.Document(str(path))
    numbering = _DocxNumbering(document)
    blocks: list[tuple[int, str]] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            blocks.append((0, _docx_table_text(block)))
        elif block.text.strip():
            level = _docx_heading_level(block)
            marker = "" if level else numbering.marker(block)
            blocks.append((level, marker + block.text.strip()))
    return _sections_under_headings(blocks)


class _DocxNumbering:
    """Word keeps list numbers in formatting, not in the text; counting them here keeps "1." "2." and
    bullets in front of list items, so a numbered procedure still reads as steps."""

    def __init__(self, document: docx.document.Document):
        self._levels: dict[tuple[str, str], tuple[str, str]] = {}  # (numId, ilvl) -> (numFmt, lvlText)
        self._counters: dict[str, list[int]] = {}  # numId -> count per level
        try:
            numbering = document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            return  # a document without lists
        abstract = {a.get(qn("w:abstractNumId")): a for a in numbering.findall(qn("w:abstractNum"))}
        for num in numbering.findall(qn("w:num")):
            abstract_id = num.find(qn("w:abstractNumId"))
            definition = abstract.get(abstract_id.get(qn("w:val")) if abstract_id is not None else None)
            for level in definition.findall(qn("w:lvl")) if definition is not None else ():
                number_format, text = level.find(qn("w:numFmt")), level.find(qn("w:lvlText"))
                self._levels[(num.get(qn("w:numId")), level.get(qn("w:ilvl")))] = (
                    number_format.get(qn("w:val")) if number_format is not None else "decimal",
                    text.get(qn("w:val")) if text is not None else "%1.")

    def marker(self, paragraph: Paragraph) -> str:
        numbering = _docx_numbering_properties(paragraph)
        if numbering is None or numbering.numId is None or numbering.numId.val == 0:
            return ""
        num_id = str(numbering.numId.val)
        level = numbering.ilvl.val if numbering.ilvl is not None else 0
        number_format, text = self._levels.get((num_id, str(level)), ("decimal", f"%{level + 1}."))
        if number_format == "bullet":
            return "• "
        if number_format == "none":
            return ""
        counts = self._counters.setdefault(num_id, [0] * 9)
        counts[level] += 1
        counts[level + 1:] = [0] * (8 - level)
        marker = re.sub(r"%([1-9])", lambda m: str(counts[int(m[1]) - 1] or 1), text)
        return f"{marker} "


def _docx_numbering_properties(paragraph: Paragraph):
    """The list numbering of a paragraph, set on the paragraph itself or on its style (List Number)."""
    properties = paragraph._p.pPr
    if properties is not None and properties.numPr is not None:
        return properties.numPr
    style = paragraph.style
    while style is not None:
        style_properties = style.element.pPr
        if style_properties is not None and style_properties.numPr is not None:
            return style_properties.numPr
        style = style.base_style
    return None


def _docx_heading_level(paragraph: Paragraph) -> int:
    style_name = paragraph.style.name if paragraph.style is not None else ""
    match = _DOCX_HEADING_STYLE.match(style_name or "")
    return int(match[1]) if match else 0


def _docx_table_text(table: Table) -> str:
    rows = []
    for row in table.rows:
        # A cell merged across columns comes back once per column as the same object; groupby keeps one.
        cells = [" ".join(cell.text.split()) for cell, _ in groupby(row.cells)]  # a cell's own lines stay in its row
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


# ---- pptx ------------------------------------------------------------------------------------


def _read_pptx(path: Path) -> Iterator[Section]:
    presentation = pptx.Presentation(str(path))
    for number, slide in enumerate(presentation.slides, start=1):
        parts = [text for shape in slide.shapes for text in _pptx_shape_texts(shape)]
        notes_frame = slide.notes_slide.notes_text_frame if slide.has_notes_slide else None
        if notes_frame is not None and notes_frame.text.strip():
            parts.append(f"Notes: {notes_frame.text}")
        yield Section("\n".join(parts), f"slide {number}")


def _pptx_shape_texts(shape: BaseShape) -> Iterator[str]:
    if isinstance(shape, GroupShape):
        for member in shape.shapes:
            yield from _pptx_shape_texts(member)
    if shape.has_text_frame and shape.text_frame.text.strip():
        yield shape.text_frame.text
    if shape.has_table:
        for row in shape.table.rows:
            cells = [cell.text.strip() for cell in row.cells]
            if any(cells):
                yield " | ".join(cells)


# ---- xlsx / xls ------------------------------------------------------------------------------


def _read_xlsx(path: Path) -> Iterator[Section]:
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            yield from _sheet_sections(sheet.title, sheet.iter_rows(min_row=1, values_only=True))
    finally:
        workbook.close()


def _read_xls(path: Path) -> Iterator[Section]:
    def cell_value(cell: xlrd.sheet.Cell, datemode: int) -> object:
        if cell.ctype == xlrd.XL_CELL_DATE:
            return xlrd.xldate_as_datetime(cell.value, datemode)
        if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
            return None
        return bool(cell.value) if cell.ctype == xlrd.XL_CELL_BOOLEAN else cell.value

    book = xlrd.open_workbook(str(path))
    for sheet in book.sheets():
        rows = ([cell_value(cell, book.datemode) for cell in sheet.row(index)] for index in range(sheet.nrows))
        yield from _sheet_sections(sheet.name, rows)


def _sheet_sections(sheet_name: str, rows: Iterable[Sequence[object]]) -> Iterator[Section]:
    """The first non-empty row is the header; every later row reads `header: value; header: value`. A row of
    one cell above a wider header is the table's title ("2026年区域销售目标（单位：万元）"): it heads the text
    instead of naming the columns."""
    location = f"sheet {sheet_name}"
    filled = [(number, cells) for number, cells in
              ((number, [_cell_text(value) for value in row]) for number, row in enumerate(rows, start=1)) if any(cells)]
    title: list[str] = []
    if len(filled) > 1 and _cells_filled(filled[0][1]) == 1 and _cells_filled(filled[1][1]) > 1:
        title = [next(cell for cell in filled[0][1] if cell)]
        filled = filled[1:]
    if not filled:
        return
    header = filled[0][1]
    lines = [(number, _row_text(header, cells)) for number, cells in filled[1:]]
    if not lines:  # a sheet of a single line (a note, a title) is text, not a table
        yield Section("\n".join(title + [" | ".join(cell for cell in header if cell)]), location)
    elif len(lines) <= ROWS_PER_SHEET_SECTION:
        yield Section("\n".join(title + [text for _, text in lines]), location)
    else:
        for start in range(0, len(lines), ROWS_PER_SHEET_SECTION):
            block = lines[start : start + ROWS_PER_SHEET_SECTION]
            yield Section("\n".join(title + [text for _, text in block]), f"{location} rows {block[0][0]}-{block[-1][0]}")


def _cells_filled(cells: list[str]) -> int:
    return sum(1 for cell in cells if cell)


def _row_text(header: list[str], cells: list[str]) -> str:
    pairs = []
    for index, value in enumerate(cells):
        if not value:
            continue
        name = header[index] if index < len(header) else ""
        pairs.append(f"{name}: {value}" if name else value)
    return "; ".join(pairs)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().replace("\r\n", " ").replace("\n", " ")


# ---- markdown --------------------------------------------------------------------------------

_MARKDOWN_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.+?)(?:\s+#+)?\s*$")
_MARKDOWN_FENCE = re.compile(r"^ {0,3}(?:```|~~~)")


def _read_markdown(path: Path) -> list[Section]:
    return _sections_under_headings(_markdown_blocks(decode_text(path.read_bytes())))


def _markdown_blocks(text: str) -> Iterator[tuple[int, str]]:
    """Each line of `text` as (heading level, heading title) or (0, line); `#` inside code fences is code."""
    in_fence = False
    for line in text.splitlines():
        if _MARKDOWN_FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _MARKDOWN_HEADING.match(line)
        yield (len(heading[1]), heading[2].strip()) if heading else (0, line)


# ---- html ------------------------------------------------------------------------------------

_HTML_HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
_HTML_INVISIBLE = ["script", "style", "noscript", "template", "head"]
_HTML_LINES = ["li", "tr", "dt", "dd"]  # end a line
_HTML_BLOCKS = [  # stand apart as paragraphs
    "p", "div", "table", "ul", "ol", "dl", "pre", "blockquote",
    "section", "article", "header", "footer", "main", "nav", "aside", "figure", "figcaption", "hr",
]


def _read_html(path: Path) -> list[Section]:
    """HTML becomes Markdown-style lines (headings as `#` lines), then shares the Markdown grouping."""
    data = path.read_bytes()
    if len(data) > MAX_HTML_BYTES:
        raise KnowledgeFileError(f"{path.name} is {len(data) / 2**20:.1f} MB of HTML, over the "
                                 f"{MAX_HTML_BYTES // 2**20} MB limit for web pages; save it as PDF or split it")
    soup = BeautifulSoup(decode_text(data), "html.parser")
    if _tree_depth(soup) > MAX_HTML_DEPTH:
        raise KnowledgeFileError(f"{path.name} nests its tags more than {MAX_HTML_DEPTH} deep, which no real page "
                                 "does; it is probably generated or damaged. Save it as PDF and add that instead")
    for element in soup(_HTML_INVISIBLE):
        element.decompose()
    for comment in soup.find_all(string=lambda string: isinstance(string, Comment)):
        comment.extract()
    # In HTML, white space inside text (source line breaks included) is one space, except in <pre>.
    for string in soup.find_all(string=True):
        if type(string) is NavigableString and string.find_parent("pre") is None:
            string.replace_with(re.sub(r"\s+", " ", string))
    for line_break in soup.find_all("br"):
        line_break.replace_with("\n")
    for cell in soup.find_all(["td", "th"]):
        if cell.find_previous_sibling(["td", "th"]) is not None:
            cell.insert_before(" | ")
    for heading in soup.find_all(_HTML_HEADINGS):
        title = " ".join(heading.get_text(" ").split())
        heading.replace_with(f"\n{'#' * int(heading.name[1])} {title}\n" if title else "\n")
    for line in soup.find_all(_HTML_LINES):
        line.insert_after("\n")
    for block in soup.find_all(_HTML_BLOCKS):
        block.insert_before("\n")
        block.insert_after("\n")
    return _sections_under_headings(_markdown_blocks(soup.get_text()))


def _tree_depth(soup: BeautifulSoup) -> int:
    """How deeply the tags nest, found without recursion (a deep tree would overflow the stack)."""
    deepest, stack = 0, [(soup, 0)]
    while stack:
        element, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in getattr(element, "contents", ()) if child.name)
    return deepest


# ---- txt -------------------------------------------------------------------------------------


def _read_txt(path: Path) -> Iterator[Section]:
    """Plain text has no headings: blank-line-separated paragraphs are grouped into numbered parts."""
    text = decode_text(path.read_bytes())
    paragraphs = [paragraph for paragraph in re.split(r"\n\s*\n", text) if paragraph.strip()]
    for number, part in enumerate(_grouped_paragraphs(paragraphs, CHARS_PER_TEXT_PART), start=1):
        yield Section(part, f"part {number}")


def _grouped_paragraphs(paragraphs: list[str], max_chars: int) -> Iterator[str]:
    """Consecutive paragraphs joined into groups of up to `max_chars` (a longer paragraph stands alone)."""
    group: list[str] = []
    size = 0
    for paragraph in paragraphs:
        if group and size + len(paragraph) > max_chars:
            yield "\n\n".join(group)
            group, size = [], 0
        group.append(paragraph)
        size += len(paragraph)
    if group:
        yield "\n\n".join(group)


# ---- dispatch --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Format:
    read: Callable[[Path], Iterable[Section]]
    kind: str  # as a knowledge owner would name it, e.g. "a Word document (.docx)"


_FORMATS: dict[str, _Format] = {
    ".pdf": _Format(_read_pdf, "a PDF document (.pdf)"),
    ".docx": _Format(_read_docx, "a Word document (.docx)"),
    ".pptx": _Format(_read_pptx, "a PowerPoint presentation (.pptx)"),
    ".xlsx": _Format(_read_xlsx, "an Excel workbook (.xlsx)"),
    ".xls": _Format(_read_xls, "an Excel 97-2003 workbook (.xls)"),
    ".md": _Format(_read_markdown, "a Markdown file (.md)"),
    ".txt": _Format(_read_txt, "a text file (.txt)"),
    ".html": _Format(_read_html, "a web page (.html)"),
    ".htm": _Format(_read_html, "a web page (.htm)"),
}
