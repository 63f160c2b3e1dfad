"""Reading documents into located sections: every format is written by the test itself."""
from __future__ import annotations

import random
import zipfile
from pathlib import Path

import docx
import openpyxl
import pptx
import pytest
from pptx.util import Inches
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from agent.ingest.documents import ROWS_PER_SHEET_SECTION, read_sections
from agent.ingest.errors import KnowledgeFileError
from agent.records import Section

pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))


def write_pdf(path: Path, pages: list[str], **canvas_options) -> Path:
    """One page per string ("" makes a blank page), drawn in a Chinese CID font."""
    pdf = canvas.Canvas(str(path), **canvas_options)
    for text in pages:
        if text:
            pdf.setFont("STSong-Light", 12)
            pdf.drawString(72, 700, text)
        pdf.showPage()
    pdf.save()
    return path


def locations(sections: list[Section]) -> list[str]:
    return [section.location for section in sections]


# ---- pdf ---------------------------------------------------------------------------------------


def test_pdf_gives_one_section_per_page_located_by_page_number(tmp_path):
    path = write_pdf(tmp_path / "手册.pdf", ["售后流程：客户提交工单后，客服在24小时内响应。", "第二页：ERP 系统的账号由IT部门开通。"])

    sections = read_sections(path)

    assert sections == [
        Section("售后流程：客户提交工单后，客服在24小时内响应。", "p. 1"),
        Section("第二页：ERP 系统的账号由IT部门开通。", "p. 2"),
    ]


def test_pdf_blank_pages_are_skipped_but_page_numbers_stay_true(tmp_path):
    path = write_pdf(tmp_path / "a.pdf", ["第一页内容", "", "第三页内容"])

    assert locations(read_sections(path)) == ["p. 1", "p. 3"]


def test_pdf_without_any_text_is_refused_as_probably_scanned(tmp_path):
    path = write_pdf(tmp_path / "scan.pdf", ["", ""])

    with pytest.raises(KnowledgeFileError, match="no text layer.*scanned.*OCR"):
        read_sections(path)


def test_password_protected_pdf_is_refused_with_a_clear_error(tmp_path):
    path = write_pdf(tmp_path / "secret.pdf", ["机密内容"], encrypt="a-password")

    with pytest.raises(KnowledgeFileError, match="secret.pdf is password-protected"):
        read_sections(path)


def write_laid_out_pdf(path: Path, flowables: list[tuple[str, str]]) -> Path:
    """A PDF typeset as word processors do: ("h", text) a 16-point heading, ("p", text) an 11-point paragraph
    wrapped over several lines."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    heading = ParagraphStyle("h", fontName="STSong-Light", fontSize=16, leading=22, spaceAfter=8)
    body = ParagraphStyle("p", fontName="STSong-Light", fontSize=11, leading=16, spaceAfter=8, wordWrap="CJK")
    english = ParagraphStyle("e", parent=body, wordWrap=None)
    styles = {"h": heading, "p": body, "e": english}
    SimpleDocTemplate(str(path)).build([Paragraph(text, styles[kind]) for kind, text in flowables])
    return path


PRICE_RULE = "特价申请须由客户经理在系统中提交，写明客户名称、产品型号、数量和申请价格，并附上竞争对手报价等依据。" * 2
PRICE_RULE_EN = ("Special prices must be requested by the account manager in the system, stating the customer, the "
                 "product, the quantity and the requested price, with competitor quotes attached as evidence.")


def test_pdf_paragraphs_are_rebuilt_without_mid_sentence_line_breaks_and_headings_stand_apart(tmp_path):
    path = write_laid_out_pdf(tmp_path / "价格.pdf", [("h", "第三章 特价审批"), ("p", PRICE_RULE), ("e", PRICE_RULE_EN),
                                                       ("h", "3.1 审批权限"), ("p", "低于AIP的报价须经销售总监审批。")])

    [section] = read_sections(path)

    assert section.location == "p. 1"
    assert section.text.split("\n\n") == ["第三章 特价审批", PRICE_RULE, PRICE_RULE_EN, "3.1 审批权限",
                                          "低于AIP的报价须经销售总监审批。"]


def test_pdf_list_items_stay_on_their_own_lines(tmp_path):
    pdf = canvas.Canvas(str(tmp_path / "步骤.pdf"))
    pdf.setFont("STSong-Light", 12)
    for number, text in enumerate(["退货步骤：", "1. 客户提交退货申请；", "2. 客户经理审核；", "3. 仓库收货。"]):
        pdf.drawString(72, 700 - 16 * number, text)
    pdf.save()

    [section] = read_sections(tmp_path / "步骤.pdf")

    assert section.text.split("\n\n") == ["退货步骤：", "1. 客户提交退货申请；", "2. 客户经理审核；", "3. 仓库收货。"]


# ---- docx --------------------------------------------------------------------------------------


def test_docx_paragraphs_are_grouped_under_their_heading_path(tmp_path):
    document = docx.Document()
    document.add_paragraph("本手册适用于全体员工。")
    document.add_heading("售后流程", level=1)
    document.add_paragraph("客户提交工单。")
    document.add_heading("职责", level=2)
    document.add_paragraph("客服负责首次响应。")
    document.add_paragraph("技术支持负责排查。")
    document.add_heading("报销制度", level=1)
    document.add_paragraph("每月五日前提交。")
    path = tmp_path / "手册.docx"
    document.save(path)

    sections = read_sections(path)

    assert sections == [
        Section("本手册适用于全体员工。", "beginning"),
        Section("售后流程\n客户提交工单。", "售后流程"),
        Section("职责\n客服负责首次响应。\n技术支持负责排查。", "售后流程 > 职责"),
        Section("报销制度\n每月五日前提交。", "报销制度"),
    ]


def test_docx_heading_without_body_gives_no_section(tmp_path):
    document = docx.Document()
    document.add_heading("售后流程", level=1)
    document.add_heading("职责", level=2)
    document.add_paragraph("客服负责首次响应。")
    path = tmp_path / "a.docx"
    document.save(path)

    assert locations(read_sections(path)) == ["售后流程 > 职责"]


def test_docx_tables_become_text_rows_under_their_heading(tmp_path):
    document = docx.Document()
    document.add_heading("响应时限", level=1)
    table = document.add_table(rows=3, cols=2)
    for row, (level, hours) in zip(table.rows, [("等级", "时限"), ("紧急", "2小时"), ("一般", "24小时")]):
        row.cells[0].text, row.cells[1].text = level, hours
    path = tmp_path / "a.docx"
    document.save(path)

    assert read_sections(path) == [Section("响应时限\n等级 | 时限\n紧急 | 2小时\n一般 | 24小时", "响应时限")]


def test_docx_cell_merged_across_columns_is_read_once(tmp_path):
    document = docx.Document()
    table = document.add_table(rows=1, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 1))
    merged.text = "合并单元格"
    table.cell(0, 2).text = "右侧"
    path = tmp_path / "a.docx"
    document.save(path)

    assert read_sections(path)[0].text == "合并单元格 | 右侧"


def test_docx_numbered_and_bulleted_lists_keep_their_numbers(tmp_path):
    document = docx.Document()
    document.add_heading("退货流程", level=1)
    document.add_paragraph("客户提交退货申请。", style="List Number")
    document.add_paragraph("客户经理审核。", style="List Number")
    document.add_paragraph("退货运费由公司承担。", style="List Bullet")
    path = tmp_path / "a.docx"
    document.save(path)

    assert read_sections(path)[0].text == "退货流程\n1. 客户提交退货申请。\n2. 客户经理审核。\n• 退货运费由公司承担。"


def test_docx_table_cell_of_several_lines_stays_in_its_row(tmp_path):
    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "客户经理"
    table.cell(0, 1).text = "受理诉求"
    table.cell(0, 1).add_paragraph("跟踪工单直至关闭")
    path = tmp_path / "a.docx"
    document.save(path)

    assert read_sections(path)[0].text == "客户经理 | 受理诉求 跟踪工单直至关闭"


# ---- pptx --------------------------------------------------------------------------------------


def test_pptx_gives_one_section_per_slide_with_title_body_table_and_notes(tmp_path):
    presentation = pptx.Presentation()
    first = presentation.slides.add_slide(presentation.slide_layouts[1])  # title and content
    first.shapes.title.text = "售后流程"
    first.placeholders[1].text = "客户提交工单后，客服在24小时内响应。"
    first.notes_slide.notes_text_frame.text = "讲解时强调时限。"
    second = presentation.slides.add_slide(presentation.slide_layouts[5])  # title only
    second.shapes.title.text = "响应时限"
    table = second.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(6), Inches(1)).table
    table.cell(0, 0).text, table.cell(0, 1).text = "等级", "时限"
    table.cell(1, 0).text, table.cell(1, 1).text = "紧急", "2小时"
    path = tmp_path / "培训.pptx"
    presentation.save(path)

    sections = read_sections(path)

    assert sections == [
        Section("售后流程\n客户提交工单后，客服在24小时内响应。\nNotes: 讲解时强调时限。", "slide 1"),
        Section("响应时限\n等级 | 时限\n紧急 | 2小时", "slide 2"),
    ]


# ---- xlsx --------------------------------------------------------------------------------------


def test_xlsx_gives_one_section_per_sheet_with_rows_as_header_value_pairs(tmp_path):
    workbook = openpyxl.Workbook()
    prices = workbook.active
    prices.title = "价格"
    prices.append(["产品", "价格", "备注"])
    prices.append(["标准版", 1200, "含一年维护"])
    prices.append(["企业版", 5000.0, None])
    contacts = workbook.create_sheet("联系人")
    contacts.append(["部门", "邮箱"])
    contacts.append(["售后部", "service@example.com"])
    path = tmp_path / "价目表.xlsx"
    workbook.save(path)

    sections = read_sections(path)

    assert sections == [
        Section("产品: 标准版; 价格: 1200; 备注: 含一年维护\n产品: 企业版; 价格: 5000", "sheet 价格"),
        Section("部门: 售后部; 邮箱: service@example.com", "sheet 联系人"),
    ]


def test_xlsx_header_may_start_below_blank_rows(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "表"
    sheet["B3"], sheet["C3"] = "缩写", "含义"
    sheet["B4"], sheet["C4"] = "SLA", "服务等级协议"
    path = tmp_path / "a.xlsx"
    workbook.save(path)

    assert read_sections(path) == [Section("缩写: SLA; 含义: 服务等级协议", "sheet 表")]


def test_big_sheet_is_cut_into_blocks_located_by_spreadsheet_row_numbers(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "工单"
    sheet.append(["编号", "状态"])
    row_count = 2 * ROWS_PER_SHEET_SECTION + 5
    for number in range(1, row_count + 1):
        sheet.append([number, "已关闭"])
    path = tmp_path / "a.xlsx"
    workbook.save(path)

    sections = read_sections(path)

    last_row = row_count + 1
    assert locations(sections) == [
        f"sheet 工单 rows 2-{ROWS_PER_SHEET_SECTION + 1}",
        f"sheet 工单 rows {ROWS_PER_SHEET_SECTION + 2}-{2 * ROWS_PER_SHEET_SECTION + 1}",
        f"sheet 工单 rows {2 * ROWS_PER_SHEET_SECTION + 2}-{last_row}",
    ]
    assert sections[0].text.splitlines()[0] == "编号: 1; 状态: 已关闭"
    assert sections[-1].text.splitlines()[-1] == f"编号: {row_count}; 状态: 已关闭"


# ---- markdown ----------------------------------------------------------------------------------


def test_markdown_is_split_by_headings_located_by_heading_path(tmp_path):
    path = tmp_path / "流程.md"
    path.write_text(
        "前言文字。\n\n# 售后流程\n\n客户提交工单。\n\n第二段说明。\n\n## 职责\n\n客服负责首次响应。\n\n# 报销\n\n每月五日前提交。\n",
        encoding="utf-8",
    )

    sections = read_sections(path)

    assert sections == [
        Section("前言文字。", "beginning"),
        Section("售后流程\n\n客户提交工单。\n\n第二段说明。", "售后流程"),
        Section("职责\n\n客服负责首次响应。", "售后流程 > 职责"),
        Section("报销\n\n每月五日前提交。", "报销"),
    ]


def test_markdown_hash_lines_inside_code_fences_are_not_headings(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("# 部署\n\n```bash\n# 安装依赖\npip install -r requirements.txt\n```\n", encoding="utf-8")

    sections = read_sections(path)

    assert locations(sections) == ["部署"]
    assert "# 安装依赖" in sections[0].text


# ---- txt ---------------------------------------------------------------------------------------

TXT_CONTENT = "售后流程：客户提交工单后，客服在24小时内响应。\n\n报销制度：每月五日前提交报销单。"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_txt_is_read_in_utf8_or_gbk(tmp_path, encoding):
    path = tmp_path / "说明.txt"
    path.write_bytes(TXT_CONTENT.encode(encoding))

    assert read_sections(path) == [Section(TXT_CONTENT, "part 1")]


def test_very_short_gbk_txt_is_read_as_chinese_not_as_another_east_asian_encoding(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("售后".encode("gbk"))

    assert read_sections(path) == [Section("售后", "part 1")]


def test_long_txt_is_grouped_into_numbered_parts_at_paragraph_breaks(tmp_path):
    paragraphs = [f"第{number}段：" + "内容" * 200 for number in range(1, 6)]  # about 400 characters each
    path = tmp_path / "a.txt"
    path.write_text("\n\n".join(paragraphs), encoding="utf-8")

    sections = read_sections(path)

    assert len(sections) > 1
    assert locations(sections) == [f"part {number}" for number in range(1, len(sections) + 1)]
    assert "\n\n".join(section.text for section in sections) == "\n\n".join(paragraphs)


def test_white_space_is_tidied_but_characters_and_paragraph_breaks_are_kept(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("  客户   提交\t\t工单，（全角标点）ＡＢＣ  \r\n第二行\r\n\r\n\r\n\r\n第二段", encoding="utf-8")

    assert read_sections(path)[0].text == "客户 提交 工单，（全角标点）ＡＢＣ\n第二行\n\n第二段"


# ---- html --------------------------------------------------------------------------------------


def test_html_headings_give_locations_and_scripts_and_styles_are_dropped(tmp_path):
    path = tmp_path / "帮助.html"
    path.write_text(
        """<!DOCTYPE html><html><head><title>帮助</title><style>p { color: red; }</style></head>
        <body>
          <script>var leaked = "不应出现";</script>
          <h1>售后流程</h1>
          <p>客户提交工单后，
             客服在<b>24小时</b>内响应。</p>
          <!-- 注释不应出现 -->
          <h2>职责</h2>
          <ul><li>客服负责首次响应。</li><li>技术支持负责排查。</li></ul>
          <table><tr><th>等级</th><th>时限</th></tr><tr><td>紧急</td><td>2小时</td></tr></table>
        </body></html>""",
        encoding="utf-8",
    )

    sections = read_sections(path)

    assert sections == [
        Section("售后流程\n\n客户提交工单后， 客服在24小时内响应。", "售后流程"),
        Section("职责\n\n客服负责首次响应。\n技术支持负责排查。\n\n等级 | 时限\n紧急 | 2小时", "售后流程 > 职责"),
    ]
    all_text = "\n".join(section.text for section in sections)
    for hidden in ("leaked", "不应出现", "color", "注释"):
        assert hidden not in all_text


# ---- files that cannot be read -----------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".pdf", ".docx", ".pptx", ".xlsx", ".xls"])
def test_random_bytes_in_a_binary_format_give_an_error_the_owner_can_act_on(tmp_path, suffix):
    path = tmp_path / f"损坏{suffix}"
    path.write_bytes(random.Random(0).randbytes(4096))

    with pytest.raises(KnowledgeFileError, match=f"损坏\\{suffix} could not be read as .*save it again"):
        read_sections(path)


def test_zip_that_is_not_a_word_document_gives_an_error_the_owner_can_act_on(tmp_path):
    path = tmp_path / "改名.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a word document")

    with pytest.raises(KnowledgeFileError, match=r"could not be read as a Word document \(\.docx\)"):
        read_sections(path)


def test_unsupported_file_type_is_refused_naming_the_type(tmp_path):
    path = tmp_path / "旧格式.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0")

    with pytest.raises(KnowledgeFileError, match=r"unsupported file type '\.doc'.*\.docx"):
        read_sections(path)
