"""Entry point of the ``tiff`` plugin: registers the TIFF reader descriptor.

Only cheap descriptors live here; tifffile and imagecodecs are imported when the reader is
first used.
"""

from __future__ import annotations

from vzcore.registry import Magic, ReaderSpec, register_readers

__all__ = ["TIFF_MAGIC", "vz_register_readers"]

TIFF_MAGIC = (Magic(b"II*\x00"), Magic(b"MM\x00*"), Magic(b"II+\x00"), Magic(b"MM\x00+"))
"""Classic TIFF and BigTIFF headers, little- and big-endian."""

vz_register_readers = register_readers(
    ReaderSpec(
        name="tiff",
        load="vz_tiff._reader:TiffReader",
        description="TIFF, BigTIFF, GeoTIFF and COG files (tifffile)",
        url="https://github.com/vzcore/vzcore/tree/main/plugins/vz-tiff",
        extensions=(".tif", ".tiff", ".gtiff", ".cog", ".btf", ".tf8", ".ome.tif"),
        magic=TIFF_MAGIC,
    )
)
"""Registers the ``tiff`` reader (TIFF, BigTIFF, GeoTIFF, COG)."""
