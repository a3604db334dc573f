"""vzcore plugin hooks of vz-kerchunk: registers the ``kerchunk`` writer and reader.

Only cheap descriptors live here; the writer and reader modules are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vzcore.hookspecs import hookimpl
from vzcore.registry import ReaderSpec, WriterSpec

if TYPE_CHECKING:
    from vzcore.registry import ReaderRegistry, WriterRegistry


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


@hookimpl
def vz_register_readers(registry: ReaderRegistry) -> None:
    """Register the reader of existing kerchunk references (JSON file or Parquet directory).

    JSON has no magic number worth the name, so the reader is chosen by extension
    (``.json``, and ``.parq``/``.parquet`` for a directory of Parquet references) or with
    ``reader="kerchunk"``.
    """
    registry.add(
        ReaderSpec(
            name="kerchunk",
            load="vz_kerchunk._reader:KerchunkReader",
            description="existing kerchunk references: JSON (spec v0/v1) or a Parquet directory",
            url="https://fsspec.github.io/kerchunk/spec.html",
            extensions=(".json", ".parq", ".parquet"),
        )
    )
