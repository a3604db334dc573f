"""vzcore plugin hooks of vz-kerchunk: registers the ``kerchunk`` writer.

Only cheap descriptors live here; the writer module is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vzcore.hookspecs import hookimpl
from vzcore.registry import WriterSpec

if TYPE_CHECKING:
    from vzcore.registry import WriterRegistry


@hookimpl
def vz_register_writers(registry: WriterRegistry) -> None:
    """Register the kerchunk JSON writer."""
    registry.add(
        WriterSpec(
            name="kerchunk",
            load="vz_kerchunk._writer:KerchunkWriter",
            description="kerchunk references, JSON (spec version 1, zarr v2 metadata) or dict",
            url="https://fsspec.github.io/kerchunk/spec.html",
            extensions=(".json",),
        )
    )
