"""What `python app.py` refuses before it listens, so that a deployment file left as shipped never serves.

- Off this machine (any address but loopback) it needs sign-in (KB_USERS) with hashed passwords, unless
  `--insecure-open` says the network is trusted; that flag is warned about at every start.
- A placeholder password, token or key (change-me, the examples of the docs and deploy/env, a password under
  12 characters, an API token under 16) is refused wherever it listens.

Each refusal is one ConfigError line that names the setting and never shows the secret."""
from __future__ import annotations

import ipaddress
from functools import cache
from pathlib import Path

from agent.settings import ConfigError, Settings
from agent.surfaces.passwords import MIN_PASSWORD_CHARS, check_hash, is_password_hash

MIN_TOKEN_CHARS = 16
PLACEHOLDER_WORDS_FILE = Path(__file__).resolve().parent / "data" / "placeholder_secrets.txt"
MAKE_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine alone (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name or an address that may reach the network


def check_exposure(settings: Settings, host: str, insecure_open: bool = False) -> list[str]:
    """Raises ConfigError when the app must not start on `host` with these settings; otherwise returns the
    warnings to print (one: --insecure-open given)."""
    check_secrets(settings)
    local = is_loopback(host)
    if not local and not settings.users and not insecure_open:
        raise ConfigError(f"listening on {host} without sign-in is refused: set KB_USERS (hashes made by "
                          "`kb hash-password`), listen on 127.0.0.1, or pass --insecure-open on a trusted network")
    plain = [user for user, password in settings.users if not is_password_hash(password)]
    if not local and plain:
        raise ConfigError(f"KB_USERS holds a plain-text password for {', '.join(plain)}: listening on {host} needs "
                          "hashes made by `kb hash-password` (plain text is accepted on 127.0.0.1 only)")
    if insecure_open:
        return [f"--insecure-open: listening on {host}"
                + (" without sign-in: anyone who reaches it may read and change the knowledge"
                   if not settings.users else "; without API tokens the knowledge may be changed over the API")]
    return []


def check_secrets(settings: Settings) -> None:
    """Placeholder or short passwords, tokens and keys stop start-up with the setting (and user or entry) named."""
    for user, password in settings.users:
        if is_password_hash(password):
            check_hash("KB_USERS", user, password)
        elif is_placeholder(password) or len(password) < MIN_PASSWORD_CHARS:
            raise ConfigError(f"KB_USERS: the password of {user} is a placeholder or shorter than "
                              f"{MIN_PASSWORD_CHARS} characters; set a real one, hashed by `kb hash-password`")
    for setting, tokens in (("KB_API_TOKENS", settings.api_tokens), ("KB_ADMIN_TOKENS", settings.admin_tokens)):
        for number, token in enumerate(tokens, 1):
            if is_placeholder(token) or len(token) < MIN_TOKEN_CHARS:
                raise ConfigError(f"{setting} entry {number} is a placeholder or shorter than {MIN_TOKEN_CHARS} "
                                  f"characters; make one with {MAKE_TOKEN}")
    keys = {"DASHSCOPE_API_KEY": settings.dashscope_api_key, "KB_LLM_API_KEY": settings.llm_api_key,
            "KB_EMBEDDING_API_KEY": settings.embedding_api_key, "KB_TERM_API_KEY": settings.term_api_key,
            "KB_MILVUS_TOKEN": settings.milvus_token}
    for setting, key in keys.items():
        if key and is_placeholder(key):
            raise ConfigError(f"{setting} is a placeholder; set the real key or leave it unset")


def is_placeholder(secret: str) -> bool:
    """Whether `secret` contains a word of placeholder_secrets.txt (letter case ignored)."""
    folded = secret.lower()
    return any(word in folded for word in _placeholder_words())


@cache
def _placeholder_words() -> tuple[str, ...]:
    lines = PLACEHOLDER_WORDS_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))
