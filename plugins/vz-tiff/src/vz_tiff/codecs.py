"""numcodecs codecs of vz-tiff, found by readers of virtual references through entry points.

``vz_tiff_jpeg`` decodes the JPEG strips and tiles of TIFF files that keep their
quantization and Huffman tables once, in the JPEGTables tag (GDAL's usual JPEG TIFF), so
that each strip or tile is an abbreviated JPEG stream. Its configuration carries the
tables base64-encoded (``"tables"``) with the colour spaces and bits per sample, and
decoding is imagecodecs' ``jpeg_decode(..., tables=...)``, as tifffile does. It is
imagecodecs' own numcodecs JPEG codec under an id that vz-hdf5-style entry points register
(``numcodecs.codecs`` for zarr format 2, ``zarr.codecs`` through :mod:`vz_tiff.zarr3` for
zarr format 3 and Icechunk), so readers need no ``register_codecs()`` call of their own.
"""

from __future__ import annotations

from imagecodecs.numcodecs import Jpeg

__all__ = ["TiffJpeg"]


class TiffJpeg(Jpeg):
    """JPEG with the TIFF file's shared tables (``tables``: base64 in the configuration)."""

    codec_id = "vz_tiff_jpeg"
