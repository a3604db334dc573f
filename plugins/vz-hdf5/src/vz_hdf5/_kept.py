"""The bound shared by the reader's per-process caches of decoded messages and values.

Files of one product repeat most of their metadata byte for byte, so the reader keeps what
it decoded (attribute messages, dataset message sets, converted attribute values, messages
known to hold no heap reference) across files. Per-file values (a ``history`` attribute, a
dataset whose B-tree moves) add entries that never recur: a cache that reaches the bound is
emptied and learns again, so that a long run over many products keeps caching the messages
of the product at hand instead of stopping at the first few thousand files.
"""

from __future__ import annotations

from typing import Any

KEPT_ENTRIES = 4096
"""Entries a cache holds before it is emptied (each at most a few hundred bytes)."""


def make_room(cache: dict[Any, Any] | set[Any]) -> None:
    """Empty ``cache`` when it holds :data:`KEPT_ENTRIES` entries (before one is added)."""
    if len(cache) >= KEPT_ENTRIES:
        cache.clear()
