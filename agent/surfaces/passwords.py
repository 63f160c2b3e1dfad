"""Passwords in KB_USERS: salted argon2id hashes made by `kb hash-password` (argon2-cffi), or plain text, which
the app accepts only while it listens on this machine alone (agent/surfaces/exposure.py)."""
from __future__ import annotations

import functools
import hmac

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

from agent.settings import ConfigError

HASH_PREFIX = "$argon2"
MIN_PASSWORD_CHARS = 12

_hasher = PasswordHasher()  # argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile), a random salt


@functools.cache
def _unknown_user_hash() -> str:
    """Checked against when the user name is unknown, so the time taken does not tell which names exist."""
    return _hasher.hash("no user has this password")


def hash_password(password: str) -> str:
    """The salted hash of `password`, for KB_USERS as `name:HASH`."""
    return _hasher.hash(password)


def is_password_hash(secret: str) -> bool:
    return secret.startswith(HASH_PREFIX)


def check_hash(setting: str, user: str, secret: str) -> None:
    """A hash that argon2 cannot read stops start-up, rather than refusing that user's every sign-in."""
    try:
        extract_parameters(secret)
    except (InvalidHashError, ValueError) as exc:
        raise ConfigError(f"{setting}: the password hash of {user} is not a hash made by `kb hash-password`") from exc


def password_matches(stored: str | None, offered: str) -> bool:
    """Whether `offered` is the password `stored` (a hash, or plain text compared in constant time)."""
    if stored is None:
        _verify(_unknown_user_hash(), offered)
        return False
    if is_password_hash(stored):
        return _verify(stored, offered)
    return hmac.compare_digest(stored.encode(), offered.encode())


def _verify(stored_hash: str, offered: str) -> bool:
    try:
        return _hasher.verify(stored_hash, offered)
    except (VerificationError, InvalidHashError):
        return False
