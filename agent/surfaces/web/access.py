"""Who may use the web app and who may change its knowledge.

KB_USERS turns on sign-in; KB_ADMINS (when set) limits uploads and re-indexing to those users. Without
KB_USERS the app is for the person at this machine: it listens on 127.0.0.1, and that person may manage the
knowledge; another --host is refused at start unless --insecure-open is given (agent/surfaces/exposure.py)."""
from __future__ import annotations

import logging
import re
from typing import Callable

from agent.settings import Settings
from agent.surfaces.passwords import password_matches

log = logging.getLogger(__name__)

LOCAL_HOST = "127.0.0.1"


def may_manage(settings: Settings, username: str | None) -> bool:
    if not settings.users:
        return True
    if username is None:
        return False
    return not settings.admins or username in settings.admins


def bind_host(settings: Settings, requested_host: str | None) -> str:
    """The address to listen on. An unauthenticated app stays on this machine unless the command line
    asks otherwise, so a KB_HOST left in a deployment file never exposes it by accident (and app.py refuses
    another address without sign-in unless --insecure-open is given)."""
    if requested_host:
        return requested_host
    if settings.users:
        return settings.host
    if settings.host != LOCAL_HOST:
        log.warning("KB_HOST=%s ignored: without KB_USERS the app only listens on %s (pass --host to override)",
                    settings.host, LOCAL_HOST)
    return LOCAL_HOST


def password_check(settings: Settings) -> Callable[[str, str], bool] | None:
    """Gradio's sign-in check for KB_USERS (salted hashes, or plain text compared in constant time); None when
    sign-in is off."""
    if not settings.users:
        return None
    passwords = dict(settings.users)

    def check(username: str, password: str) -> bool:
        return password_matches(passwords.get(username), password or "")

    return check


_BROWSER_ID = re.compile(r"[0-9a-f]{32}")


def conversation_owner(settings: Settings, username: str | None, browser_id: str | None) -> str | None:
    """Whose conversations a page sees: the signed-in user's with sign-in on (never a browser's, so another
    user's id in localStorage opens nothing), otherwise this browser's: the random id it keeps in localStorage
    (blocks.BROWSER_ID_SCRIPT), 32 hex digits. None when neither is known (the chat then keeps nothing)."""
    if settings.users:
        return f"user:{username}" if username else None
    if isinstance(browser_id, str) and _BROWSER_ID.fullmatch(browser_id):
        return f"browser:{browser_id}"
    return None
