"""Trained LoRA adapters (weights git-ignored, manifests kept) and the code that lists, checks and asks them."""
from adapters.registry import (
    DEFAULT_MIN_ACCURACY,
    AdapterBelowBarError,
    AdapterError,
    AdapterManifest,
    AdapterMissingError,
    check_adapter,
    list_adapters,
    read_manifest,
    write_manifest,
)
from adapters.term_model import TermModelAnswer, ask_term_adapter

__all__ = [
    "DEFAULT_MIN_ACCURACY",
    "AdapterBelowBarError",
    "AdapterError",
    "AdapterManifest",
    "AdapterMissingError",
    "TermModelAnswer",
    "ask_term_adapter",
    "check_adapter",
    "list_adapters",
    "read_manifest",
    "write_manifest",
]
