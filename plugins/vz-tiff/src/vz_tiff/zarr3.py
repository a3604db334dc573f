"""zarr-python 3 wrappers of the codecs in :mod:`vz_tiff.codecs` (``numcodecs.vz_tiff_*``).

Each is a bytes-to-bytes codec to zarr format 3: ``vz_tiff_samples`` turns the decoded
strip into the chunk's bytes, which zarr's ``bytes`` codec then reads as the array's dtype.
"""

from __future__ import annotations

from zarr.codecs.numcodecs import _NumcodecsBytesBytesCodec

__all__ = ["TiffBitorder", "TiffJpeg", "TiffSamples"]


class TiffJpeg(_NumcodecsBytesBytesCodec, codec_name="vz_tiff_jpeg"):
    """``numcodecs.vz_tiff_jpeg``: see :class:`vz_tiff.codecs.TiffJpeg`."""


class TiffSamples(_NumcodecsBytesBytesCodec, codec_name="vz_tiff_samples"):
    """``numcodecs.vz_tiff_samples``: see :class:`vz_tiff.codecs.TiffSamples`."""


class TiffBitorder(_NumcodecsBytesBytesCodec, codec_name="vz_tiff_bitorder"):
    """``numcodecs.vz_tiff_bitorder``: see :class:`vz_tiff.codecs.TiffBitorder`."""
