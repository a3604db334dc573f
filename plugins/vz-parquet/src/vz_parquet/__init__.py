"""vz-parquet: kerchunk Parquet reference output for vzcore.

Installing this distribution registers the ``parquet`` writer with vzcore (entry point
``parquet`` in the ``vzcore`` group). Use it through
``ds.virtualize.to_kerchunk(path, format="parquet")`` or directly::

    from vz_parquet import ParquetWriter
    ParquetWriter().write(manifest_group, "combined.parq")

Nothing heavy (pyarrow) is imported until :class:`ParquetWriter` is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    __version__: str
    from vz_parquet._writer import ParquetWriter

__all__ = ["ParquetWriter", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "__version__":  # read from the installed metadata (= vzcore's version)
        from importlib.metadata import version

        return version("vz-parquet")
    if name == "ParquetWriter":
        from vz_parquet._writer import ParquetWriter

        return ParquetWriter
    raise AttributeError(f"module 'vz_parquet' has no attribute {name!r}")
