"""vzcore plugin hooks of vz-kerchunk: registers the ``kerchunk`` writer and reader.

Only cheap descriptors live here; the writer and reader modules are imported on first use.
JSON has no magic number worth the name, so the reader is chosen by extension (``.json``,
and ``.parq``/``.parquet`` for a directory of Parquet references) or with
``reader="kerchunk"``.
"""

from __future__ import annotations

from vzcore.registry import ReaderSpec, WriterSpec, register_readers, register_writers

_SPEC_URL = "https://fsspec.github.io/kerchunk/spec.html"

vz_register_writers = register_writers(
    WriterSpec(
        name="kerchunk",
        load="vz_kerchunk._writer:KerchunkWriter",
        description="kerchunk references, JSON (spec version 1, zarr v2 metadata) or dict",
        url=_SPEC_URL,
        extensions=(".json",),
    )
)
"""Registers the kerchunk JSON writer."""

vz_register_readers = register_readers(
    ReaderSpec(
        name="kerchunk",
        load="vz_kerchunk._reader:KerchunkReader",
        description="existing kerchunk references: JSON (spec v0/v1) or a Parquet directory",
        url=_SPEC_URL,
        extensions=(".json", ".parq", ".parquet"),
    )
)
"""Registers the reader of existing kerchunk references (JSON file or Parquet directory)."""
