"""The Gradio layout: a chat tab and a knowledge tab, wired to one KnowledgeService. Everything shown is
built by render, tables and manage; this module only places components and connects events."""
from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from agent.ingest.folder import KIND_EXTENSIONS
from agent.ingest.sheets import SHEET_EXTENSIONS
from agent.answer.service import MAX_QUESTION_CHARS, KnowledgeService
from agent.surfaces.web.access import password_check
from agent.surfaces.web.chat import chat_turn
from agent.surfaces.web.labels import labels_for
from agent.surfaces.web.manage import access_note, reindex, upload_and_refresh
from agent.surfaces.web.render import example_questions, status_line
from agent.surfaces.web.tables import faq_table, files_table, glossary_table, write_glossary_template

CSS = """
.kb-badge { display: inline-block; padding: 1px 10px; border-radius: 10px; font-size: 0.85em; font-weight: 600;
            color: #fff; }
.kb-route-term { background: #2563eb; }
.kb-route-fact { background: #059669; }
.kb-route-doc { background: #d97706; }
.kb-abstained { background: #6b7280; }
.kb-meta { color: #6b7280; font-size: 0.8em; margin-top: 4px; }
.kb-status { color: #374151; font-size: 0.9em; padding: 6px 10px; background: #f3f4f6; border-radius: 6px; }
details.kb-source { border-left: 3px solid #d1d5db; padding-left: 8px; margin: 4px 0; font-size: 0.9em; }
details.kb-source summary { cursor: pointer; color: #374151; }
"""


def build_app(service: KnowledgeService) -> gr.Blocks:
    labels = labels_for(service.settings.ui_lang)
    template = write_glossary_template(
        Path(tempfile.mkdtemp(prefix="kb-template-")) / labels["template_file"], labels)
    kinds = [(labels[f"kind_{kind}"], kind) for kind in KIND_EXTENSIONS]
    accepted = sorted(set().union(*KIND_EXTENSIONS.values()))

    def status() -> str:
        return status_line(service.kb, service.llm_name, labels, service.last_refresh_error)

    def knowledge_views(glossary_query: str, faq_query: str):
        kb = service.kb
        return (status(), files_table(kb.file_reports, labels), glossary_table(kb.terms, glossary_query, labels),
                faq_table(kb.faq, faq_query, labels))

    def ask(question, chat, history):
        for shown, kept in chat_turn(service, labels, question, chat or [], history or []):
            yield "", shown, kept

    def ask_suggestion(chat, history, selected: gr.SelectData):
        """A clicked "您是不是想问" option is asked as the next question."""
        yield from ask(selected.value, chat, history)

    def upload(paths, kind, glossary_query, faq_query, request: gr.Request):
        result = upload_and_refresh(service, list(paths or []), kind, request.username, labels)
        return (result, None, *knowledge_views(glossary_query, faq_query))

    def page_opened(glossary_query, faq_query, request: gr.Request):
        """Each visit sees the knowledge as it is now, not as it was when the app started."""
        return (access_note(service, request.username, labels), *knowledge_views(glossary_query, faq_query))

    def rescan(glossary_query, faq_query, request: gr.Request):
        return (reindex(service, request.username, labels), *knowledge_views(glossary_query, faq_query))

    with gr.Blocks(title=labels["title"], analytics_enabled=False) as app:
        gr.Markdown(f"## {labels['title']}\n{labels['subtitle']}")
        status_bar = gr.HTML(status(), elem_id="kb-status")
        with gr.Tabs():
            with gr.Tab(labels["tab_chat"], id="chat"):
                chatbot = gr.Chatbot(show_label=False, height="65vh", min_height=420, elem_id="kb-chat",
                                     latex_delimiters=[], allow_tags=False, feedback_options=None, buttons=["copy"])
                history = gr.State([])
                with gr.Row():
                    question = gr.Textbox(show_label=False, placeholder=labels["question_placeholder"], scale=8,
                                          max_length=MAX_QUESTION_CHARS, elem_id="kb-question", autofocus=True)
                    send = gr.Button(labels["send"], variant="primary", scale=1, elem_id="kb-send")
                gr.Examples([[q] for q in example_questions(service.kb, labels)], inputs=question,
                            label=labels["examples"], elem_id="kb-examples")
                clear = gr.Button(labels["clear"], size="sm")
            with gr.Tab(labels["tab_knowledge"], id="knowledge"):
                access = gr.Markdown(elem_id="kb-access")
                gr.Markdown(f"### {labels['upload_heading']}\n" + labels["upload_help"].format(
                    sheets=" ".join(sorted(SHEET_EXTENSIONS)), docs=" ".join(sorted(KIND_EXTENSIONS["doc"])),
                    limit=service.settings.max_upload_mb))
                with gr.Row():
                    kind = gr.Radio(kinds, value="glossary", label=labels["upload_kind"], elem_id="kb-kind", scale=1)
                    files = gr.File(label=labels["upload_files"], file_count="multiple", file_types=accepted,
                                    elem_id="kb-upload", scale=2)
                with gr.Row():
                    upload_button = gr.Button(labels["upload_button"], variant="primary", elem_id="kb-upload-button")
                    rescan_button = gr.Button(labels["reindex_button"], elem_id="kb-reindex")
                    gr.DownloadButton(labels["template_button"], value=str(template), elem_id="kb-template")
                result = gr.Markdown(elem_id="kb-upload-result")
                gr.Markdown(f"### {labels['files_heading']}")
                file_list = gr.Dataframe(files_table(service.kb.file_reports, labels), interactive=False, wrap=True,
                                         latex_delimiters=[], elem_id="kb-files")
                gr.Markdown(f"### {labels['glossary_heading']}")
                glossary_query = gr.Textbox(show_label=False, placeholder=labels["search_placeholder"],
                                            elem_id="kb-glossary-search")
                glossary = gr.Dataframe(glossary_table(service.kb.terms, "", labels), interactive=False, wrap=True,
                                        latex_delimiters=[], max_height=400, elem_id="kb-glossary",
                                        column_widths=["14%", "32%", "30%", "24%"])
                gr.Markdown(f"### {labels['faq_heading']}")
                faq_query = gr.Textbox(show_label=False, placeholder=labels["search_placeholder"],
                                       elem_id="kb-faq-search")
                faq = gr.Dataframe(faq_table(service.kb.faq, "", labels), interactive=False, wrap=True,
                                   latex_delimiters=[], max_height=400, elem_id="kb-faq",
                                   column_widths=["18%", "22%", "38%", "8%", "14%"])

        chat_io = dict(inputs=[question, chatbot, history], outputs=[question, chatbot, history])
        question.submit(ask, **chat_io)
        send.click(ask, **chat_io)
        chatbot.option_select(ask_suggestion, inputs=[chatbot, history], outputs=[question, chatbot, history])
        clear.click(lambda: ([], []), outputs=[chatbot, history])
        views = [status_bar, file_list, glossary, faq]
        upload_button.click(upload, inputs=[files, kind, glossary_query, faq_query],
                            outputs=[result, files, *views])
        rescan_button.click(rescan, inputs=[glossary_query, faq_query], outputs=[result, *views])
        glossary_query.change(lambda q: glossary_table(service.kb.terms, q, labels), glossary_query, glossary)
        faq_query.change(lambda q: faq_table(service.kb.faq, q, labels), faq_query, faq)
        app.load(page_opened, [glossary_query, faq_query], [access, *views])
    return app


def launch_options(service: KnowledgeService, host: str, port: int) -> dict:
    """Arguments for app.launch(): address, sign-in, upload limit and the page's styles."""
    labels = labels_for(service.settings.ui_lang)
    return {"server_name": host, "server_port": port, "auth": password_check(service.settings),
            "auth_message": labels["login_message"], "max_file_size": f"{service.settings.max_upload_mb:g}mb",
            "css": CSS, "footer_links": [], "show_error": False}
