"""The Gradio layout: a chat tab and a knowledge tab, wired to one KnowledgeService. Everything shown is
built by render, tables and manage; this module only places components and connects events."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from agent.ingest.folder import KIND_EXTENSIONS
from agent.ingest.sheets import SHEET_EXTENSIONS
from agent.answer.service import MAX_QUESTION_CHARS, KnowledgeService
from agent.memory.conversations import MAX_TITLE_CHARS, ConversationNotFound, Conversations
from agent.memory.database import MemoryDatabase, MemoryUnavailable
from agent.memory.question_log import QuestionLog
from agent.surfaces.web.access import conversation_owner, password_check
from agent.surfaces.web.chat import TENTATIVE_NO, TENTATIVE_YES, ChatMemory, ChatView, chat_turn, feedback_values
from agent.surfaces.web.labels import GRADIO_ARIA, GRADIO_STRINGS, GRADIO_TOASTS, labels_for
from agent.surfaces.web.page_language import PageLanguage
from agent.surfaces.web.manage import access_note, knowledge_owner_sections, reindex, upload_and_refresh
from agent.surfaces.web.render import example_questions, status_line
from agent.surfaces.web.review import review_labels
from agent.surfaces.web.tables import faq_table, files_table, glossary_table, write_glossary_template

CSS = """
.kb-badge { display: inline-block; padding: 1px 10px; border-radius: 10px; font-size: 0.85em; font-weight: 600;
            color: #fff; }
.kb-route-term { background: #2563eb; }
.kb-route-fact { background: #059669; }
.kb-route-doc { background: #b45309; }
.kb-route-tool { background: #7c3aed; }
.kb-abstained { background: #6b7280; }
.kb-tentative { background: #b45309; }
.kb-meta { color: var(--body-text-color); opacity: 0.72; font-size: 0.8em; margin-top: 4px; }
.kb-status { color: var(--body-text-color); font-size: 0.9em; padding: 6px 10px;
             background: var(--background-fill-secondary); border-radius: 6px; }
.kb-status-short { display: none; }
@media (max-width: 640px) {
  .kb-status-long { display: none; }
  .kb-status-short { display: inline; }
  #kb-subtitle { display: none; }
  #kb-title h2 { font-size: 1.25em; }
}
details.kb-source { border-left: 3px solid var(--border-color-primary); padding-left: 8px; margin: 4px 0;
                    font-size: 0.9em; }
details.kb-source summary { cursor: pointer; color: var(--body-text-color); }
/* The chat's clear button gets a row of its own, so it never sits on the top message. */
#kb-chat .icon-button-wrapper.top-panel { position: static; align-self: flex-end; margin: 4px 4px 0 auto; }
#kb-header { align-items: center; }
#kb-theme { flex-grow: 0; }
#kb-history label { width: 100%; min-width: 0; }
#kb-history label > span { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
/* The welcome's examples wait, as the question box does, until the page has opened its conversation. */
body:has(#kb-question textarea:disabled) #kb-chat button.example { pointer-events: none; opacity: 0.6; }
"""

# "Copy" on a message writes its plain text (render.copy_marker) instead of its markup: through the Clipboard
# API, or through the copy event of the hidden text area Gradio uses where that API is missing (plain http).
# Toasts Gradio writes in English are translated as they appear (labels.GRADIO_TOASTS, TOASTS below), and so are
# its screen-reader labels and tooltips (labels.GRADIO_ARIA, ARIA below); a message's label, which Gradio makes of
# its markup (badge, copy marker and all), becomes its words alone.
PAGE_SCRIPT = """
<script>
(() => {
  const toasts = TOASTS, aria = ARIA;
  const message = /^(user|bot)'s message: /;
  const relabel = (element) => {
    for (const name of ["aria-label", "title"]) {
      const value = element.getAttribute(name);
      if (!value) continue;
      let label = Object.hasOwn(aria.labels, value) ? aria.labels[value] : undefined;
      const role = value.match(message);
      if (role) {  // Gradio's label is the message's markup: its words instead (an inert parse runs nothing)
        const words = new DOMParser().parseFromString(value.slice(role[0].length), "text/html").body.textContent;
        label = aria[role[1] === "user" ? "question" : "answer"] + words.replace(/\\s+/g, " ").trim();
      }
      for (const [pattern, replacement] of aria.patterns) {
        const expression = new RegExp(pattern);
        if (label === undefined && expression.test(value)) label = value.replace(expression, replacement);
      }
      if (label !== undefined && label !== value) element.setAttribute(name, label);
    }
  };
  const translate = (element) => {  // text nodes only: Svelte keeps its anchors in the element
    for (const node of element.childNodes) {
      const text = node.nodeType === Node.TEXT_NODE ? node.data.trim() : "";
      if (!text) continue;
      if (element.classList.contains("toast-title") && toasts.titles[text]) node.data = toasts.titles[text] + " ";
      for (const [pattern, replacement] of toasts.messages) {
        const expression = new RegExp(pattern);
        if (expression.test(text)) node.data = text.replace(expression, replacement);
      }
    }
  };
  new MutationObserver(() => {
    document.querySelectorAll(".toast-title, .toast-message-text").forEach(translate);
    document.querySelectorAll("[aria-label], [title]").forEach(relabel);
    document.querySelectorAll("#kb-history label > span").forEach((title) => {  // one line each: whole on hover
      if (title.title !== title.textContent) title.title = title.textContent;
    });
  }).observe(document.documentElement, { childList: true, subtree: true, attributes: true,
                                         attributeFilter: ["aria-label", "title"] });
  const marker = /<!--kb-copy:([A-Za-z0-9+\\/=]*)-->/g;
  const plain = (text) => {
    const found = [...String(text).matchAll(marker)];
    if (!found.length) return text;
    return found.map((m) => new TextDecoder().decode(Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0))))
      .join("\\n\\n");
  };
  if (navigator.clipboard && navigator.clipboard.writeText) {
    const write = navigator.clipboard.writeText.bind(navigator.clipboard);
    navigator.clipboard.writeText = (text) => write(plain(text));
  }
  document.addEventListener("copy", (event) => {
    const value = event.target && event.target.value;
    if (typeof value === "string" && value.includes("<!--kb-copy:")) {
      event.clipboardData.setData("text/plain", plain(value));
      event.preventDefault();
    }
  }, true);
  const keepTheme = () => {  // the light or dark the user chose (THEME_TOGGLE_SCRIPT in blocks.py), over the system's
    const chosen = localStorage.getItem("kb-theme");
    if (chosen !== "dark" && chosen !== "light") return;
    if (document.body.classList.contains("dark") !== (chosen === "dark")) document.body.classList.toggle("dark");
    // The page's own background and scroll bars otherwise keep following the system's scheme.
    document.body.style.background = "var(--body-background-fill)";
    document.documentElement.style.colorScheme = chosen;
  };
  const watchTheme = () => {
    keepTheme();
    new MutationObserver(keepTheme).observe(document.body, { attributes: true, attributeFilter: ["class"] });
  };
  if (document.body) watchTheme(); else document.addEventListener("DOMContentLoaded", watchTheme);
  // On a phone the conversation list starts folded away, so the chat is what one sees first.
  if (matchMedia("(max-width: 640px)").matches) {
    const fold = setInterval(() => {
      const toggle = document.querySelector("#kb-sidebar.open .toggle-button");
      if (toggle) { toggle.click(); clearInterval(fold); }
    }, 200);
    setTimeout(() => clearInterval(fold), 30000);
  }
})();
</script>
"""

# Light or dark as the user last chose (localStorage), else as the system says (Gradio's default): the page's
# script (PAGE_SCRIPT) puts the choice back whenever Gradio sets the theme, and this toggles and keeps it.
THEME_TOGGLE_SCRIPT = """() => {
  const dark = !document.body.classList.contains("dark");
  localStorage.setItem("kb-theme", dark ? "dark" : "light");
  document.body.classList.toggle("dark", dark);
  document.body.style.background = "var(--body-background-fill)";
  document.documentElement.style.colorScheme = dark ? "dark" : "light";
}"""

# Questions answered at once in the chat (Gradio's default is one at a time: everyone would wait while one
# LLM answer streams). The service answers concurrently, as the HTTP API's thread pool already has it do.
CHAT_CONCURRENCY = 16
STATUS_EVERY_S = 2.0  # how often the status bar is refreshed while the vectors are being computed
MAX_COMMENT_CHARS = 1000  # what a 👎's comment may say: a sentence or two for the knowledge owners

# Without sign-in a browser keeps a random id (128 bits from its own random source) in localStorage, written
# before the page first asks the server anything; its conversations are found by it after a reload or a
# restart. (gr.BrowserState lost the id now and then when the page's load event set it.)
BROWSER_ID_SCRIPT = """() => {
  const key = "kb-browser-id";
  let id = localStorage.getItem(key);
  if (!/^[0-9a-f]{32}$/.test(id || "")) {
    id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem(key, id);
  }
  return id;
}"""


# The question box is disabled until the page has opened its conversation, so its autofocus is given back then.
FOCUS_QUESTION_SCRIPT = "() => { document.querySelector('#kb-question textarea')?.focus(); }"


def build_app(service: KnowledgeService, database: MemoryDatabase) -> gr.Blocks:
    settings = service.settings
    labels = labels_for(settings.ui_lang)
    template = write_glossary_template(
        Path(tempfile.mkdtemp(prefix="kb-template-")) / labels["template_file"], labels)
    kinds = [(labels[f"kind_{kind}"], kind) for kind in KIND_EXTENSIONS]
    accepted = sorted(set().union(*KIND_EXTENSIONS.values()))
    conversations = Conversations(database, settings)
    memory = ChatMemory(conversations if conversations.enabled else None, QuestionLog(database, settings))

    def indexing() -> dict | None:
        """The vectors' progress while they are computed in the background; None once done or given up."""
        kb = service.kb
        if kb.vectors_complete or service.vector_error or kb.embedder_error:
            return None
        return service.vector_progress

    def status() -> str:
        return status_line(service.kb, service.llm_name, labels, service.last_refresh_error, indexing())

    def status_tick():
        """The status bar again, and the timer kept on only while the vectors are being computed."""
        return status(), gr.Timer(active=indexing() is not None)

    def knowledge_views(glossary_query: str, faq_query: str):
        kb = service.kb
        return (status(), files_table(kb.file_reports, labels), glossary_table(kb.terms, glossary_query, labels),
                faq_table(kb.faq, faq_query, labels))

    def owner_of(request: gr.Request, browser_id) -> str | None:
        return conversation_owner(settings, request.username, browser_id)

    def conversation_list(owner: str | None, selected: str = ""):
        """The sidebar: the owner's conversations, the open one selected, and a note when there are none."""
        if memory.conversations is None:
            return gr.update(choices=[], value=None, visible=False), labels["history_off"]
        try:
            summaries = memory.conversations.summaries(owner) if owner else []
        except MemoryUnavailable as exc:
            return gr.update(choices=[], value=None), labels["history_failed"].format(error=type(exc).__name__)
        choices = [(summary.title, summary.id) for summary in summaries]
        value = selected if any(id_ == selected for _, id_ in choices) else None
        return gr.update(choices=choices, value=value, visible=True), "" if choices else labels["history_empty"]

    def shown(chat: list[dict], view: ChatView) -> dict:
        """The chat's messages with the ratings they were given, so 👍 / 👎 show again after a reload."""
        return gr.update(value=chat, feedback_value=feedback_values(view))

    def ask(question, chat, view, browser_id, request: gr.Request):
        owner, user = owner_of(request, browser_id), request.username
        words_only = indexing() is not None
        for messages, kept in chat_turn(service, memory, labels, question, chat or [], view or ChatView(), owner, user,
                                        words_only):
            yield "", shown(messages, kept), kept, kept.note

    def ask_selected(chat, view, browser_id, request: gr.Request, selected: gr.SelectData):
        """A clicked suggestion ("您是不是想问") or welcome example is asked as the next question; 是 / 不是 under a
        tentative answer rates it (ChatMemory.confirm)."""
        value = selected.value["text"] if isinstance(selected.value, dict) else selected.value
        if value in (TENTATIVE_YES, TENTATIVE_NO):
            chat, view, told = memory.confirm(chat or [], view or ChatView(), value == TENTATIVE_YES,
                                              request.username, labels)
            tell(told)
            yield "", shown(chat, view), view, view.note
            return
        yield from ask(value, chat, view, browser_id, request)

    def after_turn(view, browser_id, request: gr.Request):
        listed = conversation_list(owner_of(request, browser_id), view.conversation_id)
        return (*listed, *conversation_tools(view.conversation_id, browser_id, request), gr.update(visible=False))

    def open_conversation(conversation_id, browser_id, request: gr.Request):
        chat, view = memory.open(owner_of(request, browser_id), conversation_id or "", labels)
        return (shown(chat, view), view, view.note, *conversation_tools(view.conversation_id, browser_id, request),
                gr.update(visible=False))

    def conversation_tools(conversation_id, browser_id, request) -> tuple:
        """The rename box with the open conversation's title, and rename and delete shown only while one is open."""
        return _title(conversation_id, browser_id, request), gr.update(visible=bool(conversation_id))

    def _title(conversation_id, browser_id, request) -> str:
        owner = owner_of(request, browser_id)
        if not conversation_id or not owner or memory.conversations is None:
            return ""
        try:
            return next((s.title for s in memory.conversations.summaries(owner) if s.id == conversation_id), "")
        except MemoryUnavailable:
            return ""

    def new_chat(browser_id, request: gr.Request):
        return (shown([], ChatView()), ChatView(), "", "", gr.update(visible=False), gr.update(visible=False),
                *conversation_list(owner_of(request, browser_id)))

    def rename(title, view, browser_id, request: gr.Request):
        owner = owner_of(request, browser_id)
        if memory.conversations is not None and owner and view.conversation_id:
            try:
                memory.conversations.rename(owner, view.conversation_id, title)
            except ValueError:
                gr.Warning(labels["title_empty"])
            except ConversationNotFound:
                gr.Warning(labels["conversation_missing"])
            except MemoryUnavailable as exc:
                gr.Warning(labels["history_failed"].format(error=type(exc).__name__))
        return conversation_list(owner, view.conversation_id)

    def delete(confirmed, view, browser_id, request: gr.Request):
        owner = owner_of(request, browser_id)
        if not confirmed:
            return gr.update(), view, gr.update(), gr.update(), gr.update(), gr.update()
        if memory.conversations is not None and owner and view.conversation_id:
            try:
                memory.conversations.delete(owner, view.conversation_id)
            except ConversationNotFound:
                pass  # deleted already, in another tab
            except MemoryUnavailable as exc:
                gr.Warning(labels["history_failed"].format(error=type(exc).__name__))
                return gr.update(), view, gr.update(), gr.update(), *conversation_list(owner, view.conversation_id)
        return shown([], ChatView()), ChatView(), "", gr.update(visible=False), *conversation_list(owner)

    def rate(view, request: gr.Request, liked: gr.LikeData):
        """👍 / 👎 stored with the answer; a 👎 opens the box that asks, optionally, what was wrong."""
        index = liked.index if isinstance(liked.index, int) else liked.index[0]
        tell(memory.rate(view, index, liked.liked if isinstance(liked.liked, bool) else None, request.username, labels))
        return view, gr.update(visible=bool(view.commenting)), ""

    def send_comment(text, view, request: gr.Request):
        tell(memory.comment(view, text, request.username, labels))
        return view, gr.update(visible=False), ""

    def skip_comment(view):
        view.commenting = ""
        return view, gr.update(visible=False), ""

    def tell(message: str) -> None:
        """What storing a rating came to, as a toast: thanks, or a warning that it was not saved."""
        if message:
            (gr.Info if message in (labels["feedback_saved"], labels["comment_saved"]) else gr.Warning)(message)

    def upload(paths, kind, glossary_query, faq_query, request: gr.Request):
        result = upload_and_refresh(service, list(paths or []), kind, request.username, labels)
        return (result, None, *knowledge_views(glossary_query, faq_query))

    def page_opened(browser_id, glossary_query, faq_query, request: gr.Request):
        """Each visit sees the knowledge as it is now, and the conversation it was in (the latest one)."""
        owner = owner_of(request, browser_id)
        listed, note = conversation_list(owner)
        latest = next(iter(listed.get("choices") or []), (None, ""))[1]
        chat, view = memory.open(owner, latest, labels)
        listed["value"] = latest or None
        return (listed, note, shown(chat, view), view, *conversation_tools(view.conversation_id, browser_id, request),
                access_note(service, request.username, labels), *knowledge_views(glossary_query, faq_query))

    def chat_controls():
        """The question box, send and new chat, usable once the page has opened its conversation: before, a question
        or a new chat would be overwritten by page_opened's chat, view and sidebar when they arrive (on a slow
        server, after the answer, which then vanished from the page and was missing from the sidebar)."""
        return gr.update(interactive=True), gr.update(interactive=True), gr.update(interactive=True)

    def rescan(glossary_query, faq_query, request: gr.Request):
        return (reindex(service, request.username, labels), *knowledge_views(glossary_query, faq_query))

    with gr.Blocks(title=labels["title"], analytics_enabled=False) as app:
        browser_id = gr.Textbox(visible=False)  # set from localStorage by BROWSER_ID_SCRIPT
        view = gr.State(ChatView())
        with gr.Sidebar(label=labels["history_heading"], elem_id="kb-sidebar", width=280):
            new_chat_button = gr.Button(labels["new_chat"], variant="primary", elem_id="kb-new-chat",
                                        interactive=False)  # until page_opened (chat_controls)
            history_note = gr.Markdown(elem_id="kb-history-note")
            history = gr.Radio(choices=[], label=labels["history_heading"], show_label=False, container=False,
                               elem_id="kb-history")
            with gr.Group(visible=False, elem_id="kb-conversation-tools") as conversation_tools_group:
                title_box = gr.Textbox(label=labels["rename_placeholder"], show_label=False,
                                       placeholder=labels["rename_placeholder"], max_length=MAX_TITLE_CHARS,
                                       elem_id="kb-rename", container=False)
                with gr.Row():
                    rename_button = gr.Button(labels["rename"], size="sm", elem_id="kb-rename-button")
                    delete_button = gr.Button(labels["delete"], size="sm", variant="stop", elem_id="kb-delete")
                confirmed = gr.Checkbox(visible=False)  # the browser's "delete?" confirmation
        with gr.Row(equal_height=True, elem_id="kb-header"):
            gr.Markdown(f"## {labels['title']}", elem_id="kb-title")
            theme = gr.Button(labels["theme_toggle"], size="sm", scale=0, min_width=96, elem_id="kb-theme")
        gr.Markdown(labels["subtitle"], elem_id="kb-subtitle")
        status_bar = gr.HTML(status(), elem_id="kb-status")
        status_timer = gr.Timer(STATUS_EVERY_S, active=indexing() is not None)
        with gr.Tabs():
            with gr.Tab(labels["tab_chat"], id="chat"):
                chat_note = gr.Markdown(elem_id="kb-chat-note")
                chatbot = gr.Chatbot(show_label=False, height="62vh", min_height=380, elem_id="kb-chat",
                                     latex_delimiters=[], allow_tags=False, buttons=["copy"],
                                     feedback_options=("Like", "Dislike"), placeholder=labels["welcome"],
                                     examples=[{"text": q} for q in example_questions(service.kb, labels)])
                with gr.Row():
                    question = gr.Textbox(label=labels["question_label"], show_label=False,
                                          placeholder=labels["question_placeholder"], scale=8,
                                          max_length=MAX_QUESTION_CHARS, elem_id="kb-question", autofocus=True,
                                          interactive=False)  # until page_opened (chat_controls)
                    send = gr.Button(labels["send"], variant="primary", scale=1, elem_id="kb-send", interactive=False)
                with gr.Row(visible=False, elem_id="kb-comment") as comment_box:  # after a 👎
                    comment = gr.Textbox(label=labels["comment_label"], placeholder=labels["comment_placeholder"],
                                         max_length=MAX_COMMENT_CHARS, scale=6, elem_id="kb-comment-text")
                    comment_send = gr.Button(labels["comment_send"], variant="primary", scale=1,
                                             elem_id="kb-comment-send")
                    comment_skip = gr.Button(labels["comment_skip"], scale=1, elem_id="kb-comment-skip")
            with gr.Tab(labels["tab_knowledge"], id="knowledge"):
                # Sub-tabs, so each part fits a laptop's screen: files, the glossary, the FAQ, then the owners' 待完善,
                # 命中测试 and 统计 (web/review.py).
                with gr.Tabs(elem_id="kb-knowledge-tabs"):
                    with gr.Tab(labels["tab_files"], id="files", elem_id="kb-files-tab"):
                        access = gr.Markdown(elem_id="kb-access")
                        readers_note = gr.Markdown(review_labels(settings.ui_lang)["readers_only"], visible=False,
                                                   elem_id="kb-owners-readers")
                        with gr.Row(equal_height=False):
                            with gr.Column(scale=2, min_width=320):
                                kind = gr.Radio(kinds, value="glossary", label=labels["upload_kind"], elem_id="kb-kind")
                                gr.Markdown(labels["upload_help"].format(
                                    sheets=" ".join(sorted(SHEET_EXTENSIONS)),
                                    docs=" ".join(sorted(KIND_EXTENSIONS["doc"])),
                                    limit=service.settings.max_upload_mb), elem_id="kb-upload-help")
                            files = gr.File(label=labels["upload_files"], file_count="multiple", file_types=accepted,
                                            elem_id="kb-upload", scale=3, height=140)
                        with gr.Row():
                            upload_button = gr.Button(labels["upload_button"], variant="primary",
                                                      elem_id="kb-upload-button")
                            rescan_button = gr.Button(labels["reindex_button"], elem_id="kb-reindex")
                            gr.DownloadButton(labels["template_button"], value=str(template), elem_id="kb-template")
                        result = gr.Markdown(elem_id="kb-upload-result")
                        file_list = gr.Dataframe(files_table(service.kb.file_reports, labels),
                                                 label=labels["files_heading"], show_label=False, interactive=False,
                                                 wrap=True, latex_delimiters=[], max_height=360, elem_id="kb-files",
                                                 column_widths=["13%", "9%", "7%", "6%", "5%", "9%", "21%", "11%",
                                                                "8%", "11%"])
                    with gr.Tab(labels["glossary_heading"], id="glossary", elem_id="kb-glossary-tab"):
                        glossary_query = gr.Textbox(label=labels["glossary_search_label"], show_label=False,
                                                    placeholder=labels["search_placeholder"],
                                                    elem_id="kb-glossary-search")
                        glossary = gr.Dataframe(glossary_table(service.kb.terms, "", labels),
                                                label=labels["glossary_heading"], show_label=False, interactive=False,
                                                wrap=True, latex_delimiters=[], max_height=480, elem_id="kb-glossary",
                                                column_widths=["14%", "32%", "30%", "24%"])
                    with gr.Tab(labels["faq_heading"], id="faq", elem_id="kb-faq-tab"):
                        faq_query = gr.Textbox(label=labels["faq_search_label"], show_label=False,
                                               placeholder=labels["search_placeholder"], elem_id="kb-faq-search")
                        faq = gr.Dataframe(faq_table(service.kb.faq, "", labels), label=labels["faq_heading"],
                                           show_label=False, interactive=False, wrap=True, latex_delimiters=[],
                                           max_height=480, elem_id="kb-faq",
                                           column_widths=["18%", "22%", "38%", "8%", "14%"])
                    knowledge_owner_sections(app, service, database, readers_note)

        chat_io = dict(inputs=[question, chatbot, view, browser_id], outputs=[question, chatbot, view, chat_note],
                       show_progress_on=[chatbot], concurrency_limit=CHAT_CONCURRENCY, concurrency_id="chat")
        listing = dict(inputs=[view, browser_id], outputs=[history, history_note, title_box, conversation_tools_group,
                                                           comment_box], show_progress="hidden")
        question.submit(ask, **chat_io).then(after_turn, **listing)
        send.click(ask, **chat_io).then(after_turn, **listing)
        selected_io = dict(inputs=[chatbot, view, browser_id], outputs=[question, chatbot, view, chat_note],
                           show_progress_on=[chatbot], concurrency_limit=CHAT_CONCURRENCY, concurrency_id="chat")
        chatbot.option_select(ask_selected, **selected_io).then(after_turn, **listing)
        chatbot.example_select(ask_selected, **selected_io).then(after_turn, **listing)
        commenting = [view, comment_box, comment]
        chatbot.like(rate, inputs=[view], outputs=commenting)
        comment_send.click(send_comment, inputs=[comment, view], outputs=commenting)
        comment.submit(send_comment, inputs=[comment, view], outputs=commenting)
        comment_skip.click(skip_comment, inputs=[view], outputs=commenting)
        history.input(open_conversation, inputs=[history, browser_id],
                      outputs=[chatbot, view, chat_note, title_box, conversation_tools_group, comment_box])
        new_chat_io = dict(inputs=[browser_id], outputs=[chatbot, view, chat_note, title_box, conversation_tools_group,
                                                         comment_box, history, history_note])
        new_chat_button.click(new_chat, **new_chat_io)
        chatbot.clear(new_chat, **new_chat_io)  # the chat's own 🗑 starts afresh; the stored conversation stays
        rename_button.click(rename, inputs=[title_box, view, browser_id], outputs=[history, history_note])
        delete_button.click(None, js=f"() => confirm({json.dumps(labels['delete_confirm'])})", outputs=[confirmed]).then(
            delete, inputs=[confirmed, view, browser_id],
            outputs=[chatbot, view, title_box, conversation_tools_group, history, history_note])
        views = [status_bar, file_list, glossary, faq]
        theme.click(None, js=THEME_TOGGLE_SCRIPT)
        status_timer.tick(status_tick, outputs=[status_bar, status_timer], show_progress="hidden")
        # A re-index may start computing vectors again: once it is done the status bar is shown afresh and the timer
        # follows the vectors (they may even be complete by then: one new term's take a moment).
        watch_indexing = dict(fn=status_tick, outputs=[status_bar, status_timer], show_progress="hidden")
        upload_button.click(upload, inputs=[files, kind, glossary_query, faq_query],
                            outputs=[result, files, *views]).then(**watch_indexing)
        rescan_button.click(rescan, inputs=[glossary_query, faq_query], outputs=[result, *views]).then(**watch_indexing)
        glossary_query.change(lambda q: glossary_table(service.kb.terms, q, labels), glossary_query, glossary)
        faq_query.change(lambda q: faq_table(service.kb.faq, q, labels), faq_query, faq)
        app.load(None, js=BROWSER_ID_SCRIPT, outputs=[browser_id]).then(
            page_opened, [browser_id, glossary_query, faq_query],
            [history, history_note, chatbot, view, title_box, conversation_tools_group, access, *views]).then(
            chat_controls, outputs=[question, send, new_chat_button], show_progress="hidden").then(
            None, js=FOCUS_QUESTION_SCRIPT).then(**watch_indexing)
    return app


def launch_options(service: KnowledgeService, host: str, port: int) -> dict:
    """Arguments for app.launch(): address, sign-in, upload limit, the page's styles and scripts, and Gradio's
    own words in the interface language."""
    labels = labels_for(service.settings.ui_lang)
    return {"server_name": host, "server_port": port, "auth": password_check(service.settings),
            "auth_message": labels["login_message"], "max_file_size": int(service.settings.max_upload_mb * 2**20),  # bytes: "0.5mb" would not parse
            "css": CSS, "head": page_script(service.settings.ui_lang), "i18n": gradio_i18n(service.settings.ui_lang), "footer_links": [],
            "show_error": False,
            "app_kwargs": {"middleware": [Middleware(PageLanguage, lang=service.settings.ui_lang)]}}


def page_script(lang: str) -> str:
    toasts = GRADIO_TOASTS.get(lang, {"titles": {}, "messages": []})
    aria = GRADIO_ARIA.get(lang, GRADIO_ARIA["en"])
    return PAGE_SCRIPT.replace("TOASTS", json.dumps(toasts, ensure_ascii=False)).replace(
        "ARIA", json.dumps(aria, ensure_ascii=False), 1)


def gradio_i18n(lang: str) -> gr.I18n:
    """Gradio's own strings its translation lacks (copy, like), for the browser locales of the language."""
    strings = GRADIO_STRINGS.get(lang, {})
    locales = ("zh", "zh-CN", "zh-TW") if lang == "zh" else ("en",)
    return gr.I18n(**{locale: strings for locale in locales})
