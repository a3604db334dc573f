"""vzcore plugin hooks of vz-parquet: registers the ``parquet`` writer.

Only cheap descriptors live here; the writer module (and pyarrow) is imported on first use.
"""

from __future__ import annotations

from vzcore.registry import WriterSpec, register_writers

vz_register_writers = register_writers(
    WriterSpec(
        name="parquet",
        load="vz_parquet._writer:ParquetWriter",
        description="kerchunk references as Parquet (fsspec LazyReferenceMapper layout)",
        url="https://fsspec.github.io/kerchunk/advanced.html#parquet-storage",
        extensions=(".parq", ".parquet"),
    )
)
"""Registers the kerchunk Parquet writer."""
