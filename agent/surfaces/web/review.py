"""The knowledge owners' part of the 知识管理 tab: 待完善 (questions the knowledge did not answer well, grouped, with
one-click fixes), 命中测试 (how a question is understood and decided, logging nothing) and 统计 (figures and the
log as CSV). Only those who may manage the knowledge see it; every handler checks again, so a crafted call from a
reader's page changes nothing."""
from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import pandas as pd

from agent.answer import learning
from agent.answer.hit_test import HitTest, hit_test
from agent.answer.router import FACT, RouteDecision
from agent.answer.service import MAX_QUESTION_CHARS, KnowledgeService
from agent.ingest.faq import split_similar
from agent.ingest import supplements
from agent.ingest.supplements import FixRefused
from agent.records import ROUTES, FaqEntry
from agent.memory.database import MemoryDatabase, MemoryUnavailable
from agent.memory.question_log import QuestionLog
from agent.memory.review import LOW_CONFIDENCE, FixResult, QuestionGroup, Review
from agent.surfaces.web.access import may_manage
from agent.surfaces.web.render import as_text, reason_text, where_text

log = logging.getLogger(__name__)

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "heading": "知识维护",
        "tab_review": "待完善",
        "tab_hit_test": "命中测试",
        "tab_figures": "统计",
        "readers_only": "待完善、命中测试和统计只对管理员开放。",
        "refused": "没有权限：只有管理员可以查看和修改待完善的问题。",
        "review_help": "未找到答案、被点了 👎 或置信度低于 {low:.0%} 的问题，按意思分组，问得多的和最新的在前。"
                       "修正会写入 knowledge/faq/补充问答.xlsx 或 knowledge/glossary/补充术语.xlsx，并立即更新索引。",
        "refresh": "刷新",
        "no_groups": "没有待完善的问题。",
        "log_failed": "问题日志不可用（{error}），暂时无法列出待完善的问题。",
        "log_off": "问题日志已关闭（KB_LOG_QUESTIONS=off），没有可列出的问题。",
        "groups_label": "问题组（次数 · 问题）",
        "group_choice": "{count}× {question}{more}",
        "group_more": "（另有 {n} 种问法）",
        "group_heading": "#### {question}",
        "group_asked": "被问 {count} 次，最近一次 {newest}",
        "why_abstained": "未找到答案 {n} 次",
        "why_down": "👎 {n} 次",
        "why_low_confidence": "低置信度 {n} 次",
        "wordings": "问法：",
        "comments": "反馈意见：",
        "candidates": "助手考虑过的候选",
        "candidate_faq": "问答：{question}（{p:.0%}，{source}）",
        "candidate_term": "术语：{term}（{found_by} {score:.2f}）",
        "candidate_passage": "段落：{source}",
        "why_joined": "（{why}）",
        "why_separator": "，",
        "lang": "zh",  # reasons are shown in this language (render.reason_text)
        "decision": "判断：{route}，{reason}（置信度 {confidence:.0%}）",
        "decision_abstained": "判断：未找到答案，{reason}",
        "fix_similar": "加为已有问答的相似问题",
        "fix_similar_entry": "已有问答（候选在前）",
        "fix_similar_questions": "要加入的问法",
        "fix_similar_button": "加为相似问题",
        "fix_faq": "新建问答",
        "fix_faq_question": "问题",
        "fix_faq_answer": "答案",
        "fix_faq_similar": "相似问题（每行一个）",
        "fix_faq_button": "新建问答",
        "fix_term": "新增术语",
        "fix_term_abbreviation": "缩略语",
        "fix_term_english": "英文全称",
        "fix_term_chinese": "中文名称",
        "fix_term_definition": "定义",
        "fix_term_button": "新增术语",
        "pick_group": "请先在上面选择一个问题组。",
        "pick_entry": "请先选择一个已有问答。",
        "pick_wordings": "请先勾选要加入的问法。",
        "fix_incomplete_faq": "请填写问题和答案。",
        "fix_incomplete_term": "请至少填写缩略语、英文全称或中文名称中的一项。",
        "entry_choice": "{question} — {source}",
        "entry_candidate": "{question}（可能性 {p:.0%}）— {source}",
        "plan_faq_new": "将在 {path} 新增第 {row} 行：问题“{question}”，答案“{answer}”{similar}。",
        "plan_faq_update": "将改写 {path} 第 {row} 行：问题“{question}”的答案改为“{answer}”{similar}。",
        "plan_similar_list": "，相似问题：{similar}",
        "plan_similar_new": "将在 {path} 新增第 {row} 行：复制问答“{question}”（{source}）的问题和答案，"
                            "加上相似问题：{similar}。原文件不改动。",
        "plan_similar_update": "将在 {path} 第 {row} 行为问答“{question}”加上相似问题：{similar}。",
        "plan_term_new": "将在 {path} 新增第 {row} 行：术语 {term}{definition}。",
        "plan_term_update": "将改写 {path} 第 {row} 行：术语 {term}{definition}。",
        "plan_definition": "，定义“{definition}”",
        "plan_then": "确认后写入文件并立即更新索引。",
        "fix_confirm": "确认写入",
        "fix_cancel": "取消",
        "fix_done": "已写入 {path} 第 {row} 行，索引已更新，{fixed} 条问题移出待完善。",
        "fix_now": "现在问“{question}”，{decision}",
        "fix_refused": "未写入：{reason}",
        "fix_refresh_failed": "已写入 {path} 第 {row} 行，但更新索引失败：{error}",
        "fix_history_failed": "（修正记录未能写入问题日志：{error}）",
        "hit_question": "输入一个问题，看它如何被理解、有哪些候选和最终判断（不会记入问题日志）",
        "hit_button": "测试",
        "hit_understood": "理解：{question}",
        "hit_mentions": "提到的术语：{terms}",
        "hit_unknown": "术语表中没有的缩略语：{terms}",
        "hit_asks_meaning": "只问含义的可能性：{p:.0%}",
        "hit_vectors_on": "按意思比较：是",
        "hit_vectors_off": "按意思比较：否（没有可用的向量，只按字词比较）",
        "hit_none": "无",
        "hit_terms": "术语候选",
        "hit_faq": "问答候选",
        "hit_passages": "文档段落候选（答案可能性 {chance:.0%}）",
        "hit_passages_label": "文档段落候选",
        "col_term": "术语",
        "col_found_by": "依据",
        "col_score": "分数",
        "col_source": "来源",
        "col_question": "问题",
        "col_matched": "最接近的问法",
        "col_probability": "可能性",
        "col_passage": "段落",
        "passage_scores": "融合 {fused:.4f}\nBM25 {lexical:.2f} · 余弦 {dense:.3f}",
        "found_by_name": "名称",
        "found_by_spelling": "拼写相近",
        "found_by_meaning": "意思相近",
        "route_term": "术语",
        "route_fact": "常见问题",
        "route_doc": "文档",
        "route_tool": "工具",
        "figures_help": "最近 {days} 天：{questions} 个问题，未找到答案 {abstention:.0%}，"
                        "评价 {rated} 次（👍 {up_rate:.0%} · 👎 {down_rate:.0%}），待完善的提问 {open} 次。",
        "figures_per_day": "每天的问题数",
        "figures_learned": "从提问中学到：{labels} 条标注（确认 {right} 条说法，否定 {wrong} 条），{when} 学习。"
                           "已记录的问题因此改变的回答：{changes}。",
        "figures_learned_none": "还没有从提问中学习：用户点“是/不是”、👍/👎 或点选建议问题后，积累 {after} 条标注会自动学习"
                                "（也可运行 kb learn）。",
        "figures_no_change": "没有",
        "figures_to_confirm": "（待确认）",
        "figures_routes": "回答方式",
        "figures_day": "日期",
        "figures_count": "问题数",
        "figures_route": "方式",
        "figures_abstained": "未找到答案",
        "figures_csv": "导出问题日志（CSV）",
        "csv_file": "问题日志.csv",
    },
    "en": {
        "heading": "Knowledge upkeep",
        "tab_review": "To improve",
        "tab_hit_test": "Hit test",
        "tab_figures": "Figures",
        "readers_only": "To improve, the hit test and the figures are for administrators.",
        "refused": "Not allowed: only administrators may see and fix the questions to improve.",
        "review_help": "Questions that found no answer, were rated 👎 or were answered with a confidence below "
                       "{low:.0%}, grouped by meaning, most asked and newest first. Fixes are written to "
                       "knowledge/faq/补充问答.xlsx or knowledge/glossary/补充术语.xlsx and re-indexed at once.",
        "refresh": "Refresh",
        "no_groups": "No questions to improve.",
        "log_failed": "The question log is unavailable ({error}); the questions to improve cannot be listed.",
        "log_off": "The question log is off (KB_LOG_QUESTIONS=off): there are no questions to list.",
        "groups_label": "Question groups (count · question)",
        "group_choice": "{count}× {question}{more}",
        "group_more": " (+{n} other wordings)",
        "group_heading": "#### {question}",
        "group_asked": "Asked {count} times, last on {newest}",
        "why_abstained": "no answer {n}×",
        "why_down": "👎 {n}×",
        "why_low_confidence": "low confidence {n}×",
        "wordings": "Wordings:",
        "comments": "Feedback:",
        "candidates": "Candidates the assistant weighed",
        "candidate_faq": "FAQ: {question} ({p:.0%}, {source})",
        "candidate_term": "Term: {term} ({found_by} {score:.2f})",
        "candidate_passage": "Passage: {source}",
        "why_joined": " ({why})",
        "why_separator": ", ",
        "lang": "en",
        "decision": "Decision: {route}, {reason} (confidence {confidence:.0%})",
        "decision_abstained": "Decision: no answer, {reason}",
        "fix_similar": "Add as similar questions of an FAQ entry",
        "fix_similar_entry": "FAQ entry (candidates first)",
        "fix_similar_questions": "Wordings to add",
        "fix_similar_button": "Add similar questions",
        "fix_faq": "New FAQ entry",
        "fix_faq_question": "Question",
        "fix_faq_answer": "Answer",
        "fix_faq_similar": "Similar questions (one per line)",
        "fix_faq_button": "Create FAQ entry",
        "fix_term": "New glossary term",
        "fix_term_abbreviation": "Abbreviation",
        "fix_term_english": "English name",
        "fix_term_chinese": "Chinese name",
        "fix_term_definition": "Definition",
        "fix_term_button": "Add term",
        "pick_group": "Choose a question group above first.",
        "pick_entry": "Choose an FAQ entry first.",
        "pick_wordings": "Tick the wordings to add first.",
        "fix_incomplete_faq": "Fill in the question and the answer.",
        "fix_incomplete_term": "Fill in at least the abbreviation, the English or the Chinese name.",
        "entry_choice": "{question} — {source}",
        "entry_candidate": "{question} ({p:.0%} likely) — {source}",
        "plan_faq_new": "Adds row {row} to {path}: the question “{question}”, the answer “{answer}”{similar}.",
        "plan_faq_update": "Rewrites row {row} of {path}: the answer to “{question}” becomes “{answer}”{similar}.",
        "plan_similar_list": ", similar questions: {similar}",
        "plan_similar_new": "Adds row {row} to {path}: the question and answer of “{question}” ({source}) with the "
                            "similar questions {similar}. The original file is not changed.",
        "plan_similar_update": "Adds the similar questions {similar} to “{question}” in row {row} of {path}.",
        "plan_term_new": "Adds row {row} to {path}: the term {term}{definition}.",
        "plan_term_update": "Rewrites row {row} of {path}: the term {term}{definition}.",
        "plan_definition": ", defined as “{definition}”",
        "plan_then": "Confirm to write it; the index is updated at once.",
        "fix_confirm": "Write it",
        "fix_cancel": "Cancel",
        "fix_done": "Written to {path} row {row} and re-indexed; {fixed} questions left the list.",
        "fix_now": "Asked “{question}” now: {decision}",
        "fix_refused": "Not written: {reason}",
        "fix_refresh_failed": "Written to {path} row {row}, but re-indexing failed: {error}",
        "fix_history_failed": "(the fix could not be kept in the question log: {error})",
        "hit_question": "Type a question to see how it is understood, its candidates and the decision (not logged)",
        "hit_button": "Test",
        "hit_understood": "Understood as: {question}",
        "hit_mentions": "Glossary terms named: {terms}",
        "hit_unknown": "Abbreviations the glossary lacks: {terms}",
        "hit_asks_meaning": "Chance it asks only a meaning: {p:.0%}",
        "hit_vectors_on": "Compared by meaning: yes",
        "hit_vectors_off": "Compared by meaning: no (no vectors available; words only)",
        "hit_none": "none",
        "hit_terms": "Term candidates",
        "hit_faq": "FAQ candidates",
        "hit_passages": "Passage candidates (chance they answer: {chance:.0%})",
        "hit_passages_label": "Passage candidates",
        "col_term": "Term",
        "col_found_by": "Found by",
        "col_score": "Score",
        "col_source": "Source",
        "col_question": "Question",
        "col_matched": "Closest wording",
        "col_probability": "Chance",
        "col_passage": "Passage",
        "passage_scores": "fused {fused:.4f}\nBM25 {lexical:.2f} · cosine {dense:.3f}",
        "found_by_name": "name",
        "found_by_spelling": "spelling",
        "found_by_meaning": "meaning",
        "route_term": "glossary",
        "route_fact": "FAQ",
        "route_doc": "documents",
        "route_tool": "tool",
        "figures_help": "Last {days} days: {questions} questions, {abstention:.0%} without an answer, rated "
                        "{rated} times (👍 {up_rate:.0%} · 👎 {down_rate:.0%}), {open} asked questions to improve.",
        "figures_per_day": "Questions per day",
        "figures_learned": "Learned from the questions: {labels} labels ({right} wordings confirmed, {wrong} rejected), "
                           "{when}. Answers to logged questions that changed: {changes}.",
        "figures_learned_none": "Nothing learned from the questions yet: once users' Yes/No, 👍/👎 and clicked "
                                "suggestions add up to {after} labels it learns by itself (or run kb learn).",
        "figures_no_change": "none",
        "figures_to_confirm": " (to confirm)",
        "figures_routes": "How they were answered",
        "figures_day": "Day",
        "figures_count": "Questions",
        "figures_route": "Route",
        "figures_abstained": "no answer",
        "figures_csv": "Export the question log (CSV)",
        "csv_file": "question-log.csv",
    },
}
FIGURE_DAYS = 30
PASSAGE_PREVIEW_CHARS = 80


def review_labels(lang: str) -> dict[str, str]:
    return LABELS.get(lang, LABELS["en"])


def build_review(app: gr.Blocks, service: KnowledgeService, database: MemoryDatabase, readers_note: gr.Markdown) -> None:
    """Places 待完善, 命中测试 and 统计 as tabs where it is called (among the knowledge tab's sub-tabs) and wires
    their events; `app.load` shows them to those who may manage the knowledge only, and `readers_note` (which says
    they are for administrators) to everyone else."""
    settings = service.settings
    labels = review_labels(settings.ui_lang)
    question_log = QuestionLog(database, settings)
    review = Review(service, question_log)
    csv_dir = Path(tempfile.mkdtemp(prefix="kb-log-"))

    def allowed(request: gr.Request) -> bool:
        return may_manage(settings, request.username if request is not None else None)

    with gr.Tab(labels["tab_review"], id="review", visible=False, elem_id="kb-review-tab") as review_tab:
        gr.Markdown(labels["review_help"].format(low=LOW_CONFIDENCE))
        refresh = gr.Button(labels["refresh"], size="sm", elem_id="kb-review-refresh")
        note = gr.Markdown(elem_id="kb-review-note")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                groups = gr.Radio([], label=labels["groups_label"], elem_id="kb-review-groups")
                detail = gr.Markdown(elem_id="kb-review-detail")
            with gr.Column(scale=3, min_width=360):
                # One form at a time, the likeliest fix for the chosen group shown first (choose_group).
                with gr.Tabs(selected="faq", elem_id="kb-fix-tabs") as fix_tabs:
                    with gr.Tab(labels["fix_similar"], id="similar", elem_id="kb-fix-similar-tab"):
                        entry = gr.Dropdown([], value=None, label=labels["fix_similar_entry"], elem_id="kb-fix-entry")
                        wordings = gr.CheckboxGroup([], label=labels["fix_similar_questions"],
                                                    elem_id="kb-fix-wordings")
                        similar_button = gr.Button(labels["fix_similar_button"], variant="primary", interactive=False,
                                                   elem_id="kb-fix-similar-button")
                    with gr.Tab(labels["fix_faq"], id="faq", elem_id="kb-fix-faq-tab"):
                        faq_question = gr.Textbox(label=labels["fix_faq_question"], elem_id="kb-fix-question")
                        faq_answer = gr.Textbox(label=labels["fix_faq_answer"], lines=3, elem_id="kb-fix-answer")
                        faq_similar = gr.Textbox(label=labels["fix_faq_similar"], lines=2, elem_id="kb-fix-faq-similar")
                        faq_button = gr.Button(labels["fix_faq_button"], variant="primary", elem_id="kb-fix-faq-button")
                    with gr.Tab(labels["fix_term"], id="term", elem_id="kb-fix-term-tab"):
                        with gr.Row():
                            abbreviation = gr.Textbox(label=labels["fix_term_abbreviation"],
                                                      elem_id="kb-fix-abbreviation")
                            english = gr.Textbox(label=labels["fix_term_english"], elem_id="kb-fix-english")
                            chinese = gr.Textbox(label=labels["fix_term_chinese"], elem_id="kb-fix-chinese")
                        definition = gr.Textbox(label=labels["fix_term_definition"], elem_id="kb-fix-definition")
                        term_button = gr.Button(labels["fix_term_button"], variant="primary", elem_id="kb-fix-term-button")
                with gr.Group(visible=False, elem_id="kb-fix-confirm") as confirm_box:
                    plan_text = gr.Markdown(elem_id="kb-fix-plan")
                    with gr.Row():
                        confirm_button = gr.Button(labels["fix_confirm"], variant="primary", elem_id="kb-fix-confirm-button")
                        cancel_button = gr.Button(labels["fix_cancel"], elem_id="kb-fix-cancel")
                fix_result = gr.Markdown(elem_id="kb-fix-result")
        shown = gr.State([])  # the groups as listed, so a choice names the rows it stands for
        planned = gr.State(None)  # the fix the owner is asked to confirm (a FixPlan)
    with gr.Tab(labels["tab_hit_test"], id="hit-test", visible=False, elem_id="kb-hit-tab") as hit_tab:
        with gr.Row():
            hit_question = gr.Textbox(label=labels["tab_hit_test"], show_label=False,
                                      placeholder=labels["hit_question"], scale=8,
                                      max_length=MAX_QUESTION_CHARS, elem_id="kb-hit-question")
            hit_button = gr.Button(labels["hit_button"], variant="primary", scale=1, elem_id="kb-hit-button")
        hit_summary = gr.Markdown(elem_id="kb-hit-summary")
        # Few columns, given widths and wrapped, so every score is on screen without scrolling sideways.
        gr.Markdown(f"#### {labels['hit_terms']}")
        hit_terms = gr.Dataframe(label=labels["hit_terms"], show_label=False, interactive=False, wrap=True,
                                 latex_delimiters=[], elem_id="kb-hit-terms",
                                 column_widths=["36%", "14%", "10%", "40%"])
        gr.Markdown(f"#### {labels['hit_faq']}")
        hit_faq = gr.Dataframe(label=labels["hit_faq"], show_label=False, interactive=False, wrap=True,
                               latex_delimiters=[], elem_id="kb-hit-faq", column_widths=["30%", "30%", "10%", "30%"])
        hit_passages_heading = gr.Markdown(elem_id="kb-hit-passages-heading")
        hit_passages = gr.Dataframe(label=labels["hit_passages_label"], show_label=False, interactive=False,
                                    wrap=True, latex_delimiters=[], elem_id="kb-hit-passages",
                                    column_widths=["52%", "26%", "22%"])
    with gr.Tab(labels["tab_figures"], id="figures", visible=False, elem_id="kb-figures-tab") as figures_tab:
        figures_refresh = gr.Button(labels["refresh"], size="sm", elem_id="kb-figures-refresh")
        figures_note = gr.Markdown(elem_id="kb-figures-note")
        with gr.Row():
            per_day = gr.BarPlot(x="day", y="questions", title=labels["figures_per_day"],
                                 x_title=labels["figures_day"], y_title=labels["figures_count"],
                                 y_lim=[0, None], elem_id="kb-figures-per-day")
            routes = gr.BarPlot(x="route", y="questions", title=labels["figures_routes"],
                                x_title=labels["figures_route"], y_title=labels["figures_count"],
                                y_lim=[0, None], elem_id="kb-figures-routes")
        csv_button = gr.DownloadButton(labels["figures_csv"], size="sm", elem_id="kb-figures-csv")

    # ---- 待完善 --------------------------------------------------------------------------------------------

    def list_groups(request: gr.Request, selected: str | None = None):
        if not allowed(request):
            return [], gr.update(choices=[], value=None), labels["refused"]
        if not question_log.enabled:
            return [], gr.update(choices=[], value=None), labels["log_off"]
        try:
            found = review.groups(with_candidates=False)  # weighed when one is chosen: a page load stays quick
        except MemoryUnavailable as exc:
            return [], gr.update(choices=[], value=None), labels["log_failed"].format(error=type(exc).__name__)
        choices = [(_group_choice(group, labels), group.id) for group in found]
        value = selected if any(group.id == selected for group in found) else None
        return found, gr.update(choices=choices, value=value), "" if found else labels["no_groups"]

    def choose_group(group_id, listed: list[QuestionGroup], request: gr.Request):
        """The group's details and the fix forms filled from it. An FAQ entry is chosen for the owner only when
        the router would give it as the answer (router.FACT); below that nothing is, and the add button waits."""
        group = _find(listed, group_id)
        if group is None or not allowed(request):
            return (*cleared(), gr.update(visible=False), None, gr.update())
        review.weigh(group)
        entries = _entry_choices(service, group.candidates, labels)
        confident = [c.number for c in group.candidates.faq if c.probability >= FACT and c.number < len(service.kb.faq)]
        unknown = group.candidates.understanding.unknown_terms
        likeliest = "similar" if confident else "term" if unknown else "faq"
        return (group_detail(group, labels), gr.update(choices=entries, value=confident[0] if confident else None),
                gr.update(choices=group.questions, value=group.questions), group.question, "",
                "\n".join(group.questions[1:]), unknown[0].text if unknown else "", "", "", "",
                gr.update(interactive=bool(confident)), gr.update(visible=False), None, gr.Tabs(selected=likeliest))

    def cleared() -> tuple:
        """The group's details and every fix form emptied: after a fix nothing of the old group stays on screen."""
        return ("", gr.update(choices=[], value=None), gr.update(choices=[], value=[]), "", "", "", "", "", "", "",
                gr.update(interactive=False))

    def planned_fix(make_plan, request: gr.Request):
        """A fix described before it is written: the confirmation line and its buttons, or why it cannot be."""
        if not allowed(request):
            return labels["refused"], None, gr.update(visible=False), ""
        try:
            plan = make_plan()
        except FixRefused as exc:
            return labels["fix_refused"].format(reason=as_text(str(exc))), None, gr.update(visible=False), ""
        if isinstance(plan, str):
            return plan, None, gr.update(visible=False), ""
        return "", plan, gr.update(visible=True), plan.text

    def add_similar(entry_number, chosen, group_id, listed, request: gr.Request):
        def make_plan():
            group = _find(listed, group_id)
            if group is None:
                return labels["pick_group"]
            if entry_number is None or entry_number == "":
                return labels["pick_entry"]
            if not chosen:
                return labels["pick_wordings"]
            ids = [row for row, text in _rows_by_wording(group) if text in chosen]
            return plan_similar(service, review.find_entry(int(entry_number)), list(chosen), ids, labels)
        return planned_fix(make_plan, request)

    def create_faq(question, answer, similar_text, group_id, listed, request: gr.Request):
        def make_plan():
            if not (question or "").strip() or not (answer or "").strip():
                return labels["fix_incomplete_faq"]
            group = _find(listed, group_id)
            return plan_faq(service, question, answer, split_similar(similar_text or ""),
                            group.answer_ids if group is not None else [], labels)
        return planned_fix(make_plan, request)

    def add_term(abbreviation_text, english_text, chinese_text, definition_text, group_id, listed,
                 request: gr.Request):
        def make_plan():
            names = [n for n in (abbreviation_text, english_text, chinese_text) if (n or "").strip()]
            if not names:
                return labels["fix_incomplete_term"]
            group = _find(listed, group_id)
            return plan_term(service, abbreviation_text or "", english_text or "", chinese_text or "",
                             definition_text or "", group.answer_ids if group is not None else [], labels)
        return planned_fix(make_plan, request)

    def confirm_fix(plan: FixPlan | None, group_id, request: gr.Request):
        """Writes the confirmed fix. Once written, the group leaves the list and the page clears; a fix that
        was refused leaves the form as it was, to correct."""
        unchanged = tuple(gr.update() for _ in range(len(form)))
        if not allowed(request):
            return (labels["refused"], None, gr.update(visible=False), "", *list_groups(request), *unchanged)
        if plan is None:
            return ("", None, gr.update(visible=False), "", *list_groups(request, group_id), *unchanged)
        user = request.username if request is not None else None
        try:
            result = plan.write(review, user)
        except FixRefused as exc:
            message = labels["fix_refused"].format(reason=as_text(str(exc)))
            return (message, None, gr.update(visible=False), "", *list_groups(request, group_id), *unchanged)
        except MemoryUnavailable as exc:
            message = labels["fix_refused"].format(reason=labels["log_failed"].format(error=type(exc).__name__))
            return (message, None, gr.update(visible=False), "", *list_groups(request, group_id), *unchanged)
        return (fix_message(result, labels), None, gr.update(visible=False), "", *list_groups(request), *cleared())

    def cancel_fix():
        return None, gr.update(visible=False), ""

    listing = [shown, groups, note]
    form = [detail, entry, wordings, faq_question, faq_answer, faq_similar, abbreviation, english, chinese, definition,
            similar_button]
    refresh.click(list_groups, outputs=listing)
    groups.input(choose_group, inputs=[groups, shown], outputs=[*form, confirm_box, planned, fix_tabs])
    for picked in (entry, wordings):
        picked.input(lambda number, chosen: gr.update(interactive=number not in (None, "") and bool(chosen)),
                     inputs=[entry, wordings], outputs=similar_button)
    planning = [fix_result, planned, confirm_box, plan_text]
    similar_button.click(add_similar, inputs=[entry, wordings, groups, shown], outputs=planning)
    faq_button.click(create_faq, inputs=[faq_question, faq_answer, faq_similar, groups, shown], outputs=planning)
    term_button.click(add_term, inputs=[abbreviation, english, chinese, definition, groups, shown], outputs=planning)
    confirm_button.click(confirm_fix, inputs=[planned, groups], outputs=[*planning, *listing, *form])
    cancel_button.click(cancel_fix, outputs=[planned, confirm_box, plan_text])

    # ---- 命中测试 ------------------------------------------------------------------------------------------

    def run_hit_test(question, request: gr.Request):
        if not allowed(request):
            return labels["refused"], None, None, "", None
        if not (question or "").strip():
            return "", None, None, "", None
        result = hit_test(service.router, question[:MAX_QUESTION_CHARS])
        return (hit_summary_text(result, labels), terms_frame(result, labels), faq_frame(result, labels),
                f"#### {labels['hit_passages'].format(chance=result.passage_chance)}", passages_frame(result, labels))

    hit_outputs = [hit_summary, hit_terms, hit_faq, hit_passages_heading, hit_passages]
    hit_button.click(run_hit_test, inputs=hit_question, outputs=hit_outputs)
    hit_question.submit(run_hit_test, inputs=hit_question, outputs=hit_outputs)

    # ---- 统计 ----------------------------------------------------------------------------------------------

    def show_figures(request: gr.Request):
        if not allowed(request):
            return labels["refused"], None, None, None
        try:
            figures = review.figures(FIGURE_DAYS)
            # A folder per export: two admins exporting at once never write the same file.
            csv_path = Path(tempfile.mkdtemp(dir=csv_dir)) / labels["csv_file"]
            csv_path.write_text(review.csv(), encoding="utf-8-sig")  # the BOM lets Excel read the Chinese right
        except MemoryUnavailable as exc:
            return labels["log_failed"].format(error=type(exc).__name__), None, None, None
        day_frame = pd.DataFrame({"day": list(figures["per_day"]), "questions": list(figures["per_day"].values())})
        route_names = {"abstained": labels["figures_abstained"],
                       **{r: labels[f"route_{r}"] for r in ROUTES}}
        route_frame = pd.DataFrame({"route": [route_names.get(r, r) for r in figures["routes"]],
                                    "questions": list(figures["routes"].values())})
        summary = labels["figures_help"].format(days=FIGURE_DAYS, abstention=figures["abstention_rate"], **figures)
        return f"{summary}\n\n{learned_text(settings.index_dir, labels)}", day_frame, route_frame, str(csv_path)

    figure_outputs = [figures_note, per_day, routes, csv_button]
    figures_refresh.click(show_figures, outputs=figure_outputs)
    figures_tab.select(show_figures, outputs=figure_outputs)

    def page_opened(request: gr.Request):
        owner = allowed(request)
        listed, listing_update, note_text = list_groups(request) if owner else ([], gr.update(), "")
        shown_to_owners = [gr.update(visible=owner)] * 3
        return *shown_to_owners, gr.update(visible=not owner), listed, listing_update, note_text

    app.load(page_opened, outputs=[review_tab, hit_tab, figures_tab, readers_note, *listing])


def learned_text(index_dir: Path, labels: dict[str, str]) -> str:
    """What `kb learn` or the app last learned from the question log (agent.answer.learning), for 统计."""
    learned = learning.load(index_dir)
    if learned is None:
        return labels["figures_learned_none"].format(after=learning.LEARN_AFTER)
    names = {"abstained": labels["figures_abstained"]}
    for route in ROUTES:
        names[route] = labels[f"route_{route}"]
        names[f"{route} (tentative)"] = labels[f"route_{route}"] + labels["figures_to_confirm"]

    def change_text(change: str) -> str:
        return " → ".join(names.get(kind, kind) for kind in change.split(" -> "))

    changes = "; ".join(f"{change_text(change)}: {count}" for change, count in learned.changes.items()) or \
        labels["figures_no_change"]
    return labels["figures_learned"].format(
        labels=learned.labels, right=sum(len(w) for w in learned.right.values()),
        wrong=sum(len(w) for w in learned.wrong.values()), changes=changes,
        when=time.strftime("%Y-%m-%d %H:%M", time.localtime(learned.learned_at)))


def _find(listed: list[QuestionGroup], group_id) -> QuestionGroup | None:
    return next((group for group in listed or [] if group.id == group_id), None)


def _rows_by_wording(group: QuestionGroup) -> list[tuple[str, str]]:
    """Each log row of the group with the wording it asked (the group keeps them in order of its rows)."""
    return list(zip(group.answer_ids, group.row_questions))


def _group_choice(group: QuestionGroup, labels: dict[str, str]) -> str:
    more = labels["group_more"].format(n=len(group.questions) - 1) if len(group.questions) > 1 else ""
    return labels["group_choice"].format(count=group.count, question=group.question, more=more)


def _entry_choices(service: KnowledgeService, candidates: HitTest | None,
                   labels: dict[str, str]) -> list[tuple[str, int]]:
    """Every FAQ entry as (question — source, number), the group's candidates first with their chance."""
    faq = service.kb.faq
    chance = {c.number: c.probability for c in (candidates.faq if candidates is not None else []) if c.number < len(faq)}
    order = list(dict.fromkeys([*chance, *range(len(faq))]))
    return [(labels["entry_candidate" if n in chance else "entry_choice"].format(
        question=faq[n].question, source=faq[n].source, p=chance.get(n, 0.0)), n) for n in order]


# ---- what a fix will write, said before it is written -------------------------------------------------------

@dataclass
class FixPlan:
    """A fix the owner is asked to confirm: which Review method writes it, with what, and the line that says
    what will change, in which file and row."""

    kind: str  # "faq" | "similar" | "term"
    arguments: dict
    answer_ids: list[str] = field(default_factory=list)
    text: str = ""

    def write(self, review: Review, user: str | None) -> FixResult:
        method = {"faq": review.create_faq, "similar": review.add_similar, "term": review.add_term}[self.kind]
        return method(**self.arguments, answer_ids=self.answer_ids, user=user)


def _next_row(rows: list[int]) -> int:
    """The row a supplement file's next new record takes: after its last one, below the header row."""
    return max(rows, default=1) + 1


def _quoted(text: str, limit: int = 60) -> str:
    text = " ".join((text or "").split())
    return as_text(text if len(text) <= limit else text[:limit] + "…")


def plan_faq(service: KnowledgeService, question: str, answer: str, similar: list[str], answer_ids: list[str],
             labels: dict[str, str]) -> FixPlan:
    """A new entry in the FAQ supplement file, or, for a question it already holds, that row's new answer."""
    own = [e for e in service.kb.faq if e.source == supplements.FAQ_FILE]
    same = next((e for e in own if e.question == question.strip()), None)
    more = labels["plan_similar_list"].format(similar=_quoted("、".join(similar))) if similar else ""
    key = "plan_faq_update" if same is not None else "plan_faq_new"
    text = labels[key].format(path=supplements.FAQ_FILE, row=same.row if same else _next_row([e.row for e in own]),
                              question=_quoted(question), answer=_quoted(answer), similar=more)
    return FixPlan("faq", {"question": question, "answer": answer, "similar": similar}, list(answer_ids),
                   f"{text}\n\n{labels['plan_then']}")


def plan_similar(service: KnowledgeService, target: FaqEntry, similar: list[str], answer_ids: list[str],
                 labels: dict[str, str]) -> FixPlan:
    """New wordings of an entry: on its own row when the supplement file holds it (or a row repeating it), else
    on a new row there that repeats its question and answer (nobody's own sheet is written)."""
    own = [e for e in service.kb.faq if e.source == supplements.FAQ_FILE]
    same = next((e for e in own if (e.question, e.answer) == (target.question, target.answer)), None)
    key = "plan_similar_update" if same is not None else "plan_similar_new"
    text = labels[key].format(path=supplements.FAQ_FILE, row=same.row if same else _next_row([e.row for e in own]),
                              question=_quoted(target.question), similar=_quoted("、".join(similar)),
                              source=as_text(where_text(target.source, target.location, labels)))
    # Named by its question, not its number: a fix written meanwhile may renumber the entries.
    return FixPlan("similar", {"entry": target.question, "similar": similar}, list(answer_ids),
                   f"{text}\n\n{labels['plan_then']}")


def plan_term(service: KnowledgeService, abbreviation: str, english: str, chinese: str, definition: str,
              answer_ids: list[str], labels: dict[str, str]) -> FixPlan:
    """A new row in the glossary supplement file, or, for names it already holds, that row's new definition."""
    names = (abbreviation.strip(), english.strip(), chinese.strip())
    own = [t for t in service.kb.terms if t.source == supplements.GLOSSARY_FILE]
    same = next((t for t in own if (t.abbreviation, t.english, t.chinese) == names), None)
    key = "plan_term_update" if same is not None else "plan_term_new"
    text = labels[key].format(path=supplements.GLOSSARY_FILE, row=same.row if same else _next_row([t.row for t in own]),
                              term=_quoted(" / ".join(n for n in names if n)),
                              definition=labels["plan_definition"].format(definition=_quoted(definition))
                              if definition.strip() else "")
    return FixPlan("term", {"abbreviation": abbreviation, "english": english, "chinese": chinese,
                            "definition": definition}, list(answer_ids), f"{text}\n\n{labels['plan_then']}")


def group_detail(group: QuestionGroup, labels: dict[str, str]) -> str:
    why = labels["why_separator"].join(labels[f"why_{reason}"].format(n=n) for reason, n in group.why.items() if n)
    lines = [labels["group_heading"].format(question=as_text(group.question)),
             labels["group_asked"].format(count=group.count, newest=_when(group.newest))
             + (labels["why_joined"].format(why=why) if why else ""),
             "", labels["wordings"], *[f"- {as_text(q)}" for q in group.questions]]
    if group.comments:
        lines += ["", labels["comments"], *[f"- {as_text(c)}" for c in group.comments[:5]]]
    if group.candidates is not None:
        lines += ["", f"**{labels['candidates']}**", *candidate_lines(group.candidates, labels)]
    return "\n".join(lines)


def candidate_lines(result: HitTest, labels: dict[str, str]) -> list[str]:
    lines = ["- " + labels["candidate_faq"].format(question=as_text(c.entry.question), p=c.probability,
                                                  source=as_text(where_text(c.entry.source, c.entry.location, labels)))
             for c in result.faq[:3]]
    lines += ["- " + labels["candidate_term"].format(term=as_text(_term_name(c.term)), score=c.score,
                                                   found_by=labels[f"found_by_{c.found_by}"]) for c in result.terms[:3]]
    lines += ["- " + labels["candidate_passage"].format(
        source=as_text(where_text(h.passage.source, h.passage.location, labels))) for h in result.passages[:2]]
    return lines + ["", decision_line(result.decision, labels)]


def decision_line(decision: RouteDecision, labels: dict[str, str]) -> str:
    """The router's decision with its reason in the page's language (render.reason_text)."""
    reason = as_text(reason_text(decision.reasons, labels, decision.route, decision.abstained))
    if decision.abstained:
        return labels["decision_abstained"].format(reason=reason)
    return labels["decision"].format(route=labels[f"route_{decision.route}"], reason=reason,
                                     confidence=decision.confidence)


def fix_message(result: FixResult, labels: dict[str, str]) -> str:
    written = result.written
    if result.refresh_error:
        text = labels["fix_refresh_failed"].format(path=written.path, row=written.row,
                                                   error=as_text(result.refresh_error))
    else:
        text = labels["fix_done"].format(path=written.path, row=written.row, fixed=result.fixed)
    if result.decision is not None and result.question:
        text += "\n\n" + labels["fix_now"].format(question=as_text(result.question),
                                                   decision=decision_line(result.decision, labels))
    if result.history_error:
        text += "\n\n" + labels["fix_history_failed"].format(error=as_text(result.history_error))
    return text


def hit_summary_text(result: HitTest, labels: dict[str, str]) -> str:
    understanding = result.understanding
    none = labels["hit_none"]
    mentions = "、".join(dict.fromkeys(m.text.strip() for m in understanding.mentions)) or none
    unknown = "、".join(u.text for u in understanding.unknown_terms) or none
    return "\n".join([
        f"- {labels['hit_understood'].format(question=as_text(result.question))}",
        f"- {labels['hit_mentions'].format(terms=as_text(mentions))}",
        f"- {labels['hit_unknown'].format(terms=as_text(unknown))}",
        f"- {labels['hit_asks_meaning'].format(p=understanding.asks_meaning)}",
        f"- {labels['hit_vectors_on'] if result.by_meaning else labels['hit_vectors_off']}",
        "", f"**{decision_line(result.decision, labels)}**"])


def terms_frame(result: HitTest, labels: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame([[_term_name(c.term), labels[f"found_by_{c.found_by}"], f"{c.score:.2f}",
                          where_text(c.term.source, c.term.location, labels)] for c in result.terms],
                        columns=[labels["col_term"], labels["col_found_by"], labels["col_score"], labels["col_source"]])


def faq_frame(result: HitTest, labels: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame([[c.entry.question, c.matched_question, f"{c.probability:.0%}",
                          where_text(c.entry.source, c.entry.location, labels)] for c in result.faq],
                        columns=[labels["col_question"], labels["col_matched"], labels["col_probability"],
                                 labels["col_source"]])


def passages_frame(result: HitTest, labels: dict[str, str]) -> pd.DataFrame:
    """A passage's three scores share one column (fused, then BM25 and cosine below), so the table fits."""
    return pd.DataFrame([[_preview(h.passage.text), where_text(h.passage.source, h.passage.location, labels),
                          labels["passage_scores"].format(fused=h.score, lexical=h.lexical_score, dense=h.dense_score)]
                         for h in result.passages],
                        columns=[labels["col_passage"], labels["col_source"], labels["col_score"]])


def _term_name(term) -> str:
    return " / ".join(n for n in (term.abbreviation, term.english, term.chinese) if n)


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PASSAGE_PREVIEW_CHARS else text[:PASSAGE_PREVIEW_CHARS] + "…"


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))
