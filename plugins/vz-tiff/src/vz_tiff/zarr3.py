"""zarr-python 3 wrapper of :class:`vz_tiff.codecs.TiffJpeg` (``numcodecs.vz_tiff_jpeg``)."""

from __future__ import annotations

from zarr.codecs.numcodecs import _NumcodecsBytesBytesCodec

__all__ = ["TiffJpeg"]


class TiffJpeg(_NumcodecsBytesBytesCodec, codec_name="vz_tiff_jpeg"):
    """``numcodecs.vz_tiff_jpeg``: see :class:`vz_tiff.codecs.TiffJpeg`."""
