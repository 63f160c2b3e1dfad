"""Check the TEST case files against the knowledge they are written for.

Run from the repository root (after `python bench/cases/test/new_company/build.py`):

    python bench/cases/test/check.py

For every file below it checks that each line is valid JSON with the expected fields and
kind; that every anchor (expect_contains / expect_any) occurs, whitespace ignored, in the
text of the file named by expect_source; that a paraphrase's anchors occur in the answer of
the FAQ entry it names (expect_entry) and that near misses name a stored question; that
the key words of every abstain case (listed below, or in new_company/build.py) occur
nowhere in that knowledge; that the counts per kind are as documented in README.md;
and that every question is unique across all of bench/cases/**.jsonl (and differs from
the stored FAQ questions and their similar questions).

Source text: .xlsx with openpyxl (every sheet, every cell); .docx with python-docx;
.pptx with python-pptx; .pdf with pdfplumber or pypdf; .md/.txt as UTF-8 or GBK. A
source whose reader is not installed is skipped with a printed note.
Exit status 0 when everything holds, 1 otherwise.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

from openpyxl import load_workbook

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
CASES_ROOT = REPO / "bench" / "cases"

KNOWLEDGE = {
    "sample": {"root": REPO / "knowledge", "faq": "faq/员工常见问题.xlsx",
               "columns": ("问题", "相似问题", "答案")},
    "tune": {"root": CASES_ROOT / "tune_knowledge", "faq": "faq/员工问答.xlsx",
             "columns": ("标准问题", "相似问题", "回答")},
    "new_company": {"root": HERE / "new_company", "faq": "faq/员工服务问答.xlsx",
                    "columns": ("常见问题", "其他问法", "参考答案")},
}

# file -> (knowledge, expected counts per kind)
FILES = {
    "sample/faq.jsonl": ("sample", {"paraphrase": 30, "near_miss": 12}),
    "sample/unanswerable.jsonl": ("sample", {"unrelated": 15}),
    "sample/terms.jsonl": ("sample", {"term": 15}),
    "sample/docs.jsonl": ("sample", {"doc": 12}),
    "sample/followups.jsonl": ("sample", {"followup": 10}),
    "sample/english.jsonl": ("sample", {"english": 8}),
    "tune_knowledge_faq.jsonl": ("tune", {"paraphrase": 25, "near_miss": 10, "unrelated": 8}),
    "new_company/cases.jsonl": ("new_company", None),  # counts from build.EXPECTED
}
FOLLOWUP_REWRITTEN = {"sample/followups.jsonl": (6, 4), "new_company/cases.jsonl": (5, 3)}

# Key words of the abstain questions of the sample and tune files: none may occur anywhere
# in that knowledge (case-insensitive). new_company's lists live in its build.py.
ABSENT = {
    # sample near misses
    "老人去世可以请几天假": ["去世", "丧"],
    "请病假工资照发吗": ["病假工资", "照发"],
    "实习证明找谁盖章": ["实习证明"],
    "居家办公有网费补贴吗": ["网费"],
    "订会议室能顺便订茶歇吗": ["茶歇"],
    "家属能跟着一起做体检吗": ["家属"],
    "内购能分期付款吗": ["分期"],
    "手表泡水了还给保吗": ["泡水", "进水", "防水"],
    "公司有企业年金吗": ["年金"],
    "发票开错了能换开吗": ["换开", "红冲", "开错"],
    "对绩效打分不服怎么申诉": ["申诉"],
    "发错的邮件能撤回吗": ["撤回"],
    # sample unanswerable
    "公司年会抽奖有什么奖品": ["年会", "抽奖"],
    "MBO是什么意思": ["MBO"],
    "星河电子的股票代码是多少": ["股票"],
    "今天午饭食堂有啥菜": ["食堂"],
    "下周北京天气怎么样": ["天气"],
    "公司有没有员工班车": ["班车"],
    "Which river is the longest in Africa?": ["africa", "nile", "尼罗河"],
    "谁是你的开发者": ["开发者"],
    "员工可以带宠物来上班吗": ["宠物"],
    "TWS耳机的降噪原理是什么": ["降噪"],
    "公司有没有健身房": ["健身"],
    "Does the company offer stock options?": ["stock option", "期权", "股票"],
    "圆周率小数点后第五位是几": ["圆周率"],
    "讲个笑话听听": ["笑话"],
    "LTV是什么缩写": ["LTV"],
    # sample follow-up on a new, unanswerable topic
    "公司年会一般在哪办": ["年会"],
    # tune near misses
    "婚礼礼金公司给多少": ["礼金", "贺礼"],
    "冬天有取暖补贴吗": ["取暖", "冬"],
    "安全帽多久换一顶": ["安全帽"],
    "电工证复审公司管吗": ["电工"],
    "宿舍能自己装空调吗": ["空调"],
    "宿舍可以做饭吗": ["做饭", "烹饪"],
    "收入证明怎么开": ["收入证明"],
    "体检可以带家属吗": ["家属"],
    "发票开错了能作废重开吗": ["重开", "开错"],
    "工牌挂绳坏了去哪领新的": ["挂绳"],
    # tune unrelated
    "公司今年营收多少": ["营收"],
    "BI报表在哪看": ["BI报表", "商业智能"],
    "冷链车温度要控制在多少度": ["冷链"],
    "今晚国足比赛几点开始": ["国足"],
    "你叫什么名字": ["名字"],
    "How do I become a franchise partner?": ["franchise", "加盟"],
    "公司在外省有分公司吗": ["分公司"],
    "一吨等于多少斤": ["多少斤", "吨"],
}

KINDS = {"paraphrase", "near_miss", "unrelated", "term", "doc", "followup", "english"}
ROUTES = {"term", "fact", "doc"}
SIMILAR_SPLIT = re.compile(r"[\n；;|／]")
QKEY = re.compile(r"[\s？?！!。.，,、：:；;“”\"'（）()\-]+")
notes: list[str] = []


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def qkey(q: str) -> str:
    return QKEY.sub("", q).lower()


def has_cjk(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text))


# ---------------------------------------------------------------------------
# Text extraction
# ---------------------------------------------------------------------------
def xlsx_text(path: Path) -> str:
    wb = load_workbook(path, read_only=True, data_only=True)
    parts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            parts.extend(str(c) for c in row if c is not None)
    return "\n".join(parts)


def docx_text(path: Path) -> str | None:
    try:
        import docx  # python-docx
    except ImportError:
        return None
    d = docx.Document(str(path))
    parts = [p.text for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            parts.extend(c.text for c in row.cells)
    return "\n".join(parts)


def pptx_text(path: Path) -> str | None:
    try:
        import pptx  # python-pptx
    except ImportError:
        return None
    parts = []
    for slide in pptx.Presentation(str(path)).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
            if getattr(shape, "has_table", False) and shape.has_table:
                for row in shape.table.rows:
                    parts.extend(c.text for c in row.cells)
    return "\n".join(parts)


def pdf_text(path: Path) -> str | None:
    try:
        import pdfplumber
        with pdfplumber.open(str(path)) as pdf:
            return "\n".join(page.extract_text() or "" for page in pdf.pages)
    except ImportError:
        pass
    try:
        import pypdf
    except ImportError:
        return None
    return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(str(path)).pages)


def plain_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gbk")


def file_text(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return xlsx_text(path)
    if suffix == ".docx":
        return docx_text(path)
    if suffix == ".pptx":
        return pptx_text(path)
    if suffix == ".pdf":
        return pdf_text(path)
    if suffix in (".md", ".txt", ".html", ".csv"):
        return plain_text(path)
    return None


class Knowledge:
    def __init__(self, name: str, spec: dict):
        self.name = name
        root: Path = spec["root"]
        self.texts: dict[str, str | None] = {}
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            if not path.is_file() or rel.startswith(".") or "/." in rel:
                continue
            if path.parent == root:  # README.md, build.py, cases.jsonl are not knowledge
                continue
            text = file_text(path)
            if text is None:
                if path.suffix.lower() in (".docx", ".pptx", ".pdf"):
                    notes.append(f"{name}: no reader installed for {rel}; its anchors are skipped")
                    self.texts[path.name] = None
                continue
            self.texts[path.name] = text
        self.squashed = {n: squash(t) for n, t in self.texts.items() if t is not None}
        self.lower = "\n".join(t for t in self.texts.values() if t).lower()
        # FAQ entries: standard question -> (answer, similar questions)
        q_col, sim_col, a_col = spec["columns"]
        ws = load_workbook(root / spec["faq"], read_only=True).active
        rows = [["" if c is None else str(c) for c in r] for r in ws.iter_rows(values_only=True)]
        header_i = next(i for i, r in enumerate(rows) if q_col in r and a_col in r)
        header = rows[header_i]
        qi, si, ai = header.index(q_col), header.index(sim_col), header.index(a_col)
        self.entries: dict[str, tuple[str, list[str]]] = {}
        for r in rows[header_i + 1:]:
            if r[qi].strip():
                sims = [s.strip() for s in SIMILAR_SPLIT.split(r[si]) if s.strip()]
                self.entries[r[qi].strip()] = (squash(r[ai]), sims)
        self.stored = {qkey(q) for q in self.entries} | {qkey(s) for _, sims in self.entries.values() for s in sims}


def load_build():
    spec = importlib.util.spec_from_file_location("new_company_build", HERE / "new_company" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def all_questions() -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for path in sorted(CASES_ROOT.rglob("*.jsonl")):
        rel = path.relative_to(CASES_ROOT).as_posix()
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                q = json.loads(line).get("question", "")
            except ValueError:
                continue
            seen.setdefault(qkey(q), []).append(rel)
    return seen


def check_file(rel: str, know: Knowledge, expected: dict, absent: dict, everywhere: dict) -> list[str]:
    errors: list[str] = []
    path = HERE / rel
    if not path.exists():
        return [f"{rel}: missing"]
    counts: dict[str, int] = {}
    rewritten = [0, 0]
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{rel}:{n}"
        try:
            case = json.loads(line)
        except ValueError as exc:
            errors.append(f"{where}: invalid JSON ({exc})")
            continue
        q = case.get("question")
        kind = case.get("kind")
        if not isinstance(q, str) or not q.strip():
            errors.append(f"{where}: no question")
            continue
        if kind not in KINDS:
            errors.append(f"{where}: bad kind {kind!r}")
            continue
        counts[kind] = counts.get(kind, 0) + 1
        if len(everywhere.get(qkey(q), [])) > 1:
            errors.append(f"{where}: question not unique ({everywhere[qkey(q)]}): {q}")
        if qkey(q) in know.stored:
            errors.append(f"{where}: repeats a stored FAQ question: {q}")
        if kind in ("paraphrase", "near_miss") and case.get("expect_entry") not in know.entries:
            errors.append(f"{where}: expect_entry {case.get('expect_entry')!r} is not a stored question")
        if kind == "english" and has_cjk(q):
            errors.append(f"{where}: english case with Chinese text: {q}")
        if kind == "followup":
            hist = case.get("history")
            if not isinstance(hist, list) or not hist or not all(isinstance(h, str) for h in hist):
                errors.append(f"{where}: followup needs a history list")
            if not isinstance(case.get("expect_rewritten"), bool):
                errors.append(f"{where}: followup needs expect_rewritten true/false")
            else:
                rewritten[0 if case["expect_rewritten"] else 1] += 1
        if not isinstance(case.get("expect_abstain"), bool):
            errors.append(f"{where}: expect_abstain must be true/false")
        if case.get("expect_abstain"):
            if kind not in ("near_miss", "unrelated", "followup"):
                errors.append(f"{where}: kind {kind} cannot abstain")
            if any(k in case for k in ("expect_route", "expect_any", "expect_contains", "expect_source")):
                errors.append(f"{where}: abstain case carries route/anchors")
            words = absent.get(q)
            if not words:
                errors.append(f"{where}: abstain case has no key words to check: {q}")
            for w in words or []:
                if w.lower() in know.lower:
                    errors.append(f"{where}: abstain key word {w!r} occurs in the {know.name} knowledge: {q}")
            continue
        if kind in ("near_miss", "unrelated"):
            errors.append(f"{where}: {kind} must abstain")
        route, src = case.get("expect_route"), case.get("expect_source")
        if route not in ROUTES:
            errors.append(f"{where}: bad route {route!r}")
        if kind == "paraphrase" and route != "fact":
            errors.append(f"{where}: paraphrase must route fact")
        if src not in know.texts:
            errors.append(f"{where}: unknown source {src!r}")
            continue
        anchors = list(case.get("expect_contains", [])) + list(case.get("expect_any", []))
        if not anchors or not all(isinstance(a, str) and a.strip() for a in anchors):
            errors.append(f"{where}: needs anchors")
            continue
        if know.texts[src] is None:
            continue  # note already printed
        for a in anchors:
            if squash(a) not in know.squashed[src]:
                errors.append(f"{where}: anchor {a!r} not found in {src}")
            if kind == "paraphrase" and case.get("expect_entry") in know.entries \
                    and squash(a) not in know.entries[case["expect_entry"]][0]:
                errors.append(f"{where}: anchor {a!r} not in the answer of {case['expect_entry']}")
    if counts != expected:
        errors.append(f"{rel}: counts {counts} != {expected}")
    if rel in FOLLOWUP_REWRITTEN and tuple(rewritten) != FOLLOWUP_REWRITTEN[rel]:
        errors.append(f"{rel}: rewritten true/false {tuple(rewritten)} != {FOLLOWUP_REWRITTEN[rel]}")
    return errors


def main() -> int:
    build = load_build()
    absent = dict(ABSENT)
    absent.update({q: w for _, q, w in build.NEAR_MISSES})
    absent.update({q: w for q, w in build.UNRELATED})
    absent.update({f["question"]: f["absent"] for f in build.FOLLOWUPS if f.get("expect_abstain")})
    knowledge = {name: Knowledge(name, spec) for name, spec in KNOWLEDGE.items()}
    everywhere = all_questions()
    errors: list[str] = []
    total = 0
    for rel, (kname, expected) in FILES.items():
        if expected is None:
            expected = build.EXPECTED
        file_errors = check_file(rel, knowledge[kname], expected, absent, everywhere)
        errors += file_errors
        n = sum(1 for line in (HERE / rel).read_text(encoding="utf-8").splitlines()) if (HERE / rel).exists() else 0
        total += n
        print(f"{'ok  ' if not file_errors else 'FAIL'} {rel}: {n} cases {expected}")
    for note in notes:
        print("note:", note)
    for e in errors:
        print("FAIL:", e)
    if errors:
        print(f"{len(errors)} problem(s)")
        return 1
    print(f"all {total} cases checked: JSON, fields, anchors, abstain key words, counts, unique questions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
