"""vz-parquet: kerchunk Parquet reference output for vzcore.

Installing this distribution registers the ``parquet`` writer with vzcore (entry point
``parquet`` in the ``vzcore`` group). Use it through
``ds.virtualize.to_kerchunk(path, format="parquet")`` or directly::

    from vz_parquet import ParquetWriter
    ParquetWriter().write(manifest_group, "combined.parq")

Nothing heavy (pyarrow) is imported until :class:`ParquetWriter` is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vzcore.registry import package_getattr

if TYPE_CHECKING:
    __version__: str
    from vz_parquet._writer import ParquetWriter

__all__ = ["ParquetWriter", "__version__"]


__getattr__ = package_getattr(
    __name__, "vz-parquet", {"ParquetWriter": "vz_parquet._writer:ParquetWriter"}
)
