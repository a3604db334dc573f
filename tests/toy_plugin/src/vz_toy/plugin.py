"""Registers the toy reader with vzcore."""

from __future__ import annotations

from typing import Any

import vzcore
from vzcore.registry import Magic, ReaderSpec


@vzcore.hookimpl
def vz_register_readers(registry: Any) -> None:
    """Register the toy reader."""
    registry.add(
        ReaderSpec(
            name="toy",
            load="vz_toy._reader:ToyReader",
            description="VZTOY demo format",
            extensions=(".toy",),
            magic=(Magic(b"VZTOY\x00"),),
        )
    )
