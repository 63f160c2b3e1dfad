"""Text folding shared by matching and search: full/half width, case and white space."""
from __future__ import annotations

import re
import unicodedata

_SPACE_RUN = re.compile(r"[\s\u3000]+")
_INLINE_SPACE = re.compile(r"[^\S\n]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_cell(value: object) -> str:
    """A spreadsheet cell as display text: control characters gone, one space between words, line breaks
    kept (they separate similar questions), blank lines dropped."""
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    text = _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = (_INLINE_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


# Control characters (tab and line breaks aside) and lone surrogates (undecodable bytes read with
# errors="surrogateescape") mean nothing in a question, and a surrogate breaks every UTF-8 writer downstream.
_UNREADABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def readable(text: str) -> str:
    """Text without control characters and lone surrogates."""
    return _UNREADABLE.sub("", text)


def fold(text: str) -> str:
    """Compare-form of text: NFKC (full-width to half-width), lower case, single spaces."""
    text = unicodedata.normalize("NFKC", text)
    return _SPACE_RUN.sub(" ", text).strip().casefold()


def fold_compact(text: str) -> str:
    """Compare-form with all white space removed, for matching that ignores spacing."""
    return fold(text).replace(" ", "")


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)
