"""Embedding backends, one file each, registered by name; `KB_EMBEDDER` picks one (see agent/settings.py).

Adding a backend is one new file with a class decorated `@register_embedder("name")`; nothing else changes.
"""
from __future__ import annotations

from agent.index.embedders.base import EMBEDDERS, Embedder, create_embedder, register_embedder

__all__ = ["EMBEDDERS", "Embedder", "create_embedder", "register_embedder"]
