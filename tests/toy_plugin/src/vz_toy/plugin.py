"""Registers the toy reader with vzcore."""

from __future__ import annotations

from vzcore.registry import Magic, ReaderSpec, register_readers

vz_register_readers = register_readers(
    ReaderSpec(
        name="toy",
        load="vz_toy._reader:ToyReader",
        description="VZTOY demo format",
        extensions=(".toy",),
        magic=(Magic(b"VZTOY\x00"),),
    )
)
