"""Changing the knowledge from the web app: uploads and re-indexing, for those allowed to."""
from __future__ import annotations

import logging
from pathlib import Path

from agent.answer.service import KnowledgeService
from agent.surfaces.web.access import may_manage
from agent.surfaces.web.render import as_text
from agent.surfaces.web.uploads import UploadRejected, change_summary, rejection_line, save_upload, saved_line

log = logging.getLogger(__name__)


def refusal(service: KnowledgeService, username: str | None, labels: dict[str, str]) -> str | None:
    """The message for a user who may not change the knowledge; None for one who may."""
    if may_manage(service.settings, username):
        return None
    log.warning("user %r was refused a knowledge change", username)
    admins = "、".join(service.settings.admins) or "—"
    return as_text(labels["not_allowed"].format(admins=admins, user=username or "—"))


def upload_and_refresh(service: KnowledgeService, paths: list[str], kind: str, username: str | None,
                       labels: dict[str, str]) -> str:
    """Save each uploaded file that may be saved, then re-index once; the markdown says what happened."""
    refused = refusal(service, username, labels)
    if refused:
        return refused
    if not paths:
        return as_text(labels["upload_none"])
    lines, saved = [], set()
    settings = service.settings
    for path in paths:
        name = Path(path).name
        try:
            upload = save_upload(Path(path), name, kind, settings.knowledge_dir, settings.max_upload_mb)
        except UploadRejected as exc:
            lines.append(rejection_line(name, exc.message(labels), labels))
            continue
        log.info("user %r uploaded %s", username, upload.path)
        lines.append(saved_line(upload, labels))
        saved.add(upload.path)
    if saved:
        lines.append(refresh_summary(service, labels, saved))
    return "\n\n".join(lines)


def reindex(service: KnowledgeService, username: str | None, labels: dict[str, str]) -> str:
    return refusal(service, username, labels) or refresh_summary(service, labels)


def refresh_summary(service: KnowledgeService, labels: dict[str, str], uploaded: set[str] = frozenset()) -> str:
    try:
        report = service.refresh()
    except Exception as exc:  # the old index keeps answering; the user is told, the log gets the trace
        log.exception("re-indexing failed")
        return as_text(labels["refresh_failed"].format(error=f"{type(exc).__name__}: {exc}"))
    return change_summary(report, labels, uploaded)


def access_note(service: KnowledgeService, username: str | None, labels: dict[str, str]) -> str:
    """Who is signed in and whether they may change the knowledge, shown above the upload controls."""
    if not service.settings.users:
        return as_text(labels["access_local"])
    key = "access_manager" if may_manage(service.settings, username) else "access_reader"
    return as_text(labels[key].format(user=username or "—"))


def knowledge_owner_sections(app, service: KnowledgeService, database, readers_note) -> None:
    """待完善, 命中测试 and 统计 for those who may manage the knowledge, placed as sub-tabs where this is called
    inside the knowledge tab (agent/surfaces/web/review.py); `readers_note` tells everyone else they are hidden."""
    from agent.surfaces.web.review import build_review

    build_review(app, service, database, readers_note)
