"""Knowledge the product was never tuned on: a hospital's glossary laid out differently from the sample
(English headers, a title row, a 备注 column), an FAQ with English headers on other topics, and documents in
Markdown and plain text. A case list written here, in its own words, is scored by `agent.surfaces.evaluation`.

Run with `python -m pytest -s tests/test_unseen_knowledge.py` to see the figures."""
from __future__ import annotations

import json

import pytest

from agent.surfaces.evaluation import Case, evaluate, format_table
from agent.answer.service import KnowledgeService
from agent.settings import Settings
from tests.conftest import _write_workbook, clear_assistant_env

GLOSSARY = [
    ["Ward Operations Glossary (Nursing Dept., 2026 edition)"],
    ["No.", "Abbreviation", "Full name", "Meaning", "备注"],
    [1, "ICU", "Intensive Care Unit", "重症监护室", "住院楼5层"],
    [2, "ED", "Emergency Department", "急诊科", None],
    [3, "OR", "Operating Room", "手术室", "门诊楼3层"],
    [4, "EMR", "Electronic Medical Record", "电子病历", None],
    [5, "DRG", "Diagnosis Related Groups", "疾病诊断相关分组", "医保支付方式"],
    [6, "NPO", "Nil Per Os", "禁食禁水", "术前医嘱常见"],
    [7, "PRN", "Pro Re Nata", "按需给药", None],
    [8, "CT", "Computed Tomography", "计算机断层扫描", "影像科"],
    [9, "CT", "Clinical Trial", "临床试验", "科研处"],
    [10, "MDT", "Multidisciplinary Team", "多学科诊疗团队", None],
    [11, "HIS", "Hospital Information System", "医院信息系统", "信息中心维护"],
    [12, "PACS", "Picture Archiving and Communication System", "影像归档和通信系统", None],
    [13, "DNR", "Do Not Resuscitate", "不予心肺复苏", "须患者或家属签字"],
    [14, "CSSD", "Central Sterile Supply Department", "消毒供应中心", None],
]
FAQ = [
    ["Question", "Answer", "Similar questions", "Category"],
    ["How do I apply for a staff parking permit?",
     "Fill in the parking permit form on the staff portal; the security office issues permits every Wednesday.",
     "Where do I get a parking pass?\nCan staff park in the hospital garage?", "Logistics"],
    ["夜班补贴是多少？", "每个夜班补贴150元，随当月工资一起发放。", "值夜班有补助吗\n夜班费怎么算", "薪酬"],
    ["医护人员的工作服在哪里领取？", "工作服在被服中心（后勤楼1层）领取，凭工牌每人每年可领4套。", "白大褂去哪里领\n工作服坏了怎么换", "后勤"],
    ["被针头扎伤后应该怎么处理？",
     "立即从近心端向远心端挤出伤口血液，用流动水冲洗，再用75%酒精消毒；30分钟内报告院感科并填写职业暴露登记表。",
     "针刺伤怎么处理\n被针扎了怎么办", "院感"],
    ["How often is hand hygiene training required?",
     "Every clinical staff member completes hand hygiene training once a year in the online learning system.",
     "Do I have to redo hand hygiene training?", "Infection control"],
    ["每年需要修多少继续医学教育学分？", "每年须取得继续医学教育学分25分，其中I类学分不少于10分。", "继续教育学分要求\n学分不够怎么办",
     "教学"],
    ["医师执业证书丢了怎么补办？", "在医务处领取补办申请表，附登报遗失声明，由医务处统一报卫健委补发，约需20个工作日。",
     "执业证遗失怎么办", "医务"],
]
WARD_RULES = """# 病区管理制度

## 探视管理

普通病房探视时间为每天15:00至19:00，每位患者同一时间最多2名探视者。
重症监护室实行限时探视：每天一次，15:00至15:30，每次限1名家属，探视前须穿隔离衣并进行手卫生。

## 交接班

护士交接班在患者床旁进行，交班内容包括生命体征、管路情况、皮肤状况和待执行医嘱。
交接班时发现的问题须在护理记录中写明并由双方签字。

## 医嘱执行

按需给药医嘱执行后，须在护理记录中写明给药时间、剂量和用药原因，并在1小时后评估效果。
禁食禁水医嘱须在床头挂牌提示，并告知患者及家属。
"""
EQUIPMENT_RULES = """设备维护规程

计算机断层扫描设备每日开机后须先进行球管预热和空气校准，校准结果记录在设备日志中。
医疗设备出现故障时，使用科室应立即停止使用并挂“故障停用”标识，通过报修系统报告医学工程部。
医学工程部接到报修后，须在2小时内到场处理；急救设备须在30分钟内到场。
"""
EMERGENCY_PROCEDURES = """# Emergency procedures

## Code Blue

A Code Blue is called for a patient in cardiac or respiratory arrest. Dial 5555 from any hospital phone and
state the building, floor and bed number. The resuscitation team must arrive within 3 minutes and bring the
emergency cart and defibrillator.

## Fire

On discovering a fire, follow the RACE steps: rescue, alarm, contain, extinguish or evacuate. Patients on
the same floor are moved horizontally beyond the nearest fire doors before any vertical evacuation.
"""

GLOSSARY_FILE = "Ward_Glossary.xlsx"
FAQ_FILE = "staff_faq.xlsx"
CASES = [
    # term: what an abbreviation or name means, asked in many ways
    Case("EMR 指什么", "term", ("电子病历",), expect_source=GLOSSARY_FILE),
    Case("PACS的中文名称是什么", "term", ("影像归档和通信系统",), expect_source=GLOSSARY_FILE),
    Case("What is the full name of DRG?", "term", ("Diagnosis Related Groups",), expect_source=GLOSSARY_FILE),
    Case("重症监护室的英文缩写", "term", ("ICU",), expect_source=GLOSSARY_FILE),
    Case("MDT代表的是什么", "term", ("多学科诊疗团队",), expect_source=GLOSSARY_FILE),
    Case("Could you explain what NPO means?", "term", ("Nil Per Os",), expect_source=GLOSSARY_FILE),
    Case("DNR是啥意思", "term", ("不予心肺复苏",), expect_source=GLOSSARY_FILE),
    Case("prn是什么意思", "term", ("按需给药",), expect_source=GLOSSARY_FILE),
    Case("消毒供应中心英文全称", "term", ("Central Sterile Supply Department",), expect_source=GLOSSARY_FILE),
    Case("What does HIS stand for?", "term", ("Hospital Information System",), expect_source=GLOSSARY_FILE),
    Case("CT是什么意思？", "term", ("计算机断层扫描", "临床试验"), expect_source=GLOSSARY_FILE),
    Case("Ｉｃｕ是什么", "term", ("重症监护室",), expect_source=GLOSSARY_FILE),
    Case("OR是什么意思", "term", ("Operating Room",), expect_source=GLOSSARY_FILE),
    # fact: stored questions and paraphrases of them
    Case("How do I get a parking permit?", "fact", ("every Wednesday",), expect_source=FAQ_FILE),
    Case("夜班有补贴吗？", "fact", ("150元",), expect_source=FAQ_FILE),
    Case("白大褂在哪领", "fact", ("被服中心",), expect_source=FAQ_FILE),
    Case("被针头扎伤了应该怎么做", "fact", ("院感科",), expect_source=FAQ_FILE),
    Case("How often do we need hand hygiene training?", "fact", ("once a year",), expect_source=FAQ_FILE),
    Case("继续医学教育学分每年要多少", "fact", ("25分",), expect_source=FAQ_FILE),
    Case("执业证书遗失了如何补办", "fact", ("医务处",), expect_source=FAQ_FILE),
    Case("夜班费怎么算？", "fact", ("150元",), expect_source=FAQ_FILE),
    Case("工作服破了能换新的吗", "fact", ("被服中心",), expect_source=FAQ_FILE),
    # doc: passages in the documents, some found only through a glossary name the question does not use
    Case("ICU探视一次可以待多久？", "doc", expect_any=("15:30", "15:00至15:30"), expect_source="病区管理制度.md"),
    Case("普通病房每天几点可以探视？", "doc", expect_any=("15:00至19:00",), expect_source="病区管理制度.md"),
    Case("护士交接班在哪里进行？", "doc", expect_any=("床旁",), expect_source="病区管理制度.md"),
    Case("PRN医嘱执行后需要记录哪些内容？", "doc", expect_any=("给药时间",), expect_source="病区管理制度.md"),
    Case("CT设备每天开机后要先做什么？", "doc", expect_any=("球管预热",), expect_source="设备维护规程.txt"),
    Case("医疗设备坏了应该报告给哪个部门？", "doc", expect_any=("医学工程部",), expect_source="设备维护规程.txt"),
    Case("How fast must the resuscitation team arrive for a Code Blue?", "doc", expect_any=("3 minutes",),
         expect_source="emergency_procedures.md"),
    Case("What are the RACE steps when there is a fire?", "doc", expect_any=("rescue, alarm",),
         expect_source="emergency_procedures.md"),
    Case("急救设备报修后多久必须有人到场？", "doc", expect_any=("30分钟",), expect_source="设备维护规程.txt"),
    Case("交班时发现的问题要怎么处理？", "doc", expect_any=("双方签字",), expect_source="病区管理制度.md"),
    Case("Can my family visit on Saturday or Sunday?", "doc"),  # "or" is a word here, not Operating Room
    # doc, abstaining: nothing in the knowledge answers these
    Case("医院明年会扩建新院区吗？", "doc", expect_any=("没有找到",)),
    Case("What will the weather be like tomorrow?", "doc", expect_any=("nothing in the knowledge base",)),
    Case("What is his room number?", "doc", expect_any=("nothing in the knowledge base",)),  # his, not HIS
]


@pytest.fixture(scope="module")
def hospital_service(tmp_path_factory) -> KnowledgeService:
    root = tmp_path_factory.mktemp("hospital") / "knowledge"
    _write_workbook(root / "glossary" / GLOSSARY_FILE, {"Glossary": GLOSSARY}, merged={"Glossary": ["A1:E1"]})
    _write_workbook(root / "faq" / FAQ_FILE, {"Staff FAQ": FAQ})
    (root / "docs" / "nursing").mkdir(parents=True)
    (root / "docs" / "nursing" / "病区管理制度.md").write_text(WARD_RULES, encoding="utf-8")
    (root / "docs" / "设备维护规程.txt").write_text(EQUIPMENT_RULES, encoding="utf-8")
    (root / "docs" / "emergency_procedures.md").write_text(EMERGENCY_PROCEDURES, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        clear_assistant_env(patch)
        yield KnowledgeService(Settings.from_env(knowledge_dir=root, index_dir=root.parent / "index"))


@pytest.fixture(scope="module")
def summary(hospital_service) -> dict:
    hospital_service.warm_up()  # latencies per question, as `python -m agent eval` measures them
    result = evaluate(hospital_service.ask, CASES)
    print("\nUnseen knowledge (hospital), evaluated through agent.surfaces.evaluation:\n" + format_table(result))
    print(json.dumps({k: v for k, v in result.items() if k != "failures"}, ensure_ascii=False))
    return result


def test_unseen_glossary_sheet_is_read_with_every_row(hospital_service):
    terms = hospital_service.kb.terms

    assert len(terms) == len(GLOSSARY) - 2
    icu = next(t for t in terms if t.abbreviation == "ICU")
    assert (icu.english, icu.chinese, icu.note) == ("Intensive Care Unit", "重症监护室", "住院楼5层")
    assert icu.location == "Glossary row 3"


def test_unseen_faq_sheet_is_read_with_its_similar_questions(hospital_service):
    entries = hospital_service.kb.faq

    assert len(entries) == len(FAQ) - 1
    assert entries[0].similar == ("Where do I get a parking pass?", "Can staff park in the hospital garage?")


def test_the_case_list_covers_every_route():
    routes = [case.expect_route for case in CASES]

    assert len(CASES) >= 25
    assert {route: routes.count(route) >= 8 for route in ("term", "fact", "doc")} == {
        "term": True, "fact": True, "doc": True}


def test_route_accuracy_on_unseen_knowledge_is_at_least_ninety_percent(summary):
    assert summary["route_accuracy"] >= 0.9, summary["failures"]


def test_answer_accuracy_on_unseen_knowledge_is_at_least_ninety_percent(summary):
    assert summary["answer_accuracy"] >= 0.9, summary["failures"]
