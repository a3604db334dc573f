"""vzcore plugin hooks of vz-parquet: registers the ``parquet`` writer.

Only cheap descriptors live here; the writer module (and pyarrow) is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vzcore.hookspecs import hookimpl
from vzcore.registry import WriterSpec

if TYPE_CHECKING:
    from vzcore.registry import WriterRegistry


@hookimpl
def vz_register_writers(registry: WriterRegistry) -> None:
    """Register the kerchunk Parquet writer."""
    registry.add(
        WriterSpec(
            name="parquet",
            load="vz_parquet._writer:ParquetWriter",
            description="kerchunk references as Parquet (fsspec LazyReferenceMapper layout)",
            url="https://fsspec.github.io/kerchunk/advanced.html#parquet-storage",
            extensions=(".parq", ".parquet"),
        )
    )
