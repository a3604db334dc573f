"""zarr-python 3 wrappers of the :mod:`vz_hdf5.codecs` codecs (``numcodecs.<id>`` names).

zarr format 3 documents name a numcodecs codec ``numcodecs.<id>``; zarr-python 3 finds the
class for such a name in its ``zarr.codecs`` entry points, which vz-hdf5 declares for the
classes here. Each decodes through the numcodecs codec of the same id.
"""

from __future__ import annotations

from zarr.codecs.numcodecs import _NumcodecsBytesBytesCodec

__all__ = ["LZF", "LZO", "Blosc2", "FilterMask", "ScaleOffset"]


class LZF(_NumcodecsBytesBytesCodec, codec_name="vz_hdf5_lzf"):
    """``numcodecs.vz_hdf5_lzf``: see :class:`vz_hdf5.codecs.HDF5LZF`."""


class LZO(_NumcodecsBytesBytesCodec, codec_name="vz_hdf5_lzo"):
    """``numcodecs.vz_hdf5_lzo``: see :class:`vz_hdf5.codecs.HDF5LZO`."""


class Blosc2(_NumcodecsBytesBytesCodec, codec_name="vz_hdf5_blosc2"):
    """``numcodecs.vz_hdf5_blosc2``: see :class:`vz_hdf5.codecs.HDF5Blosc2`."""


class ScaleOffset(_NumcodecsBytesBytesCodec, codec_name="vz_hdf5_scaleoffset"):
    """``numcodecs.vz_hdf5_scaleoffset``: see :class:`vz_hdf5.codecs.HDF5ScaleOffset`."""


class FilterMask(_NumcodecsBytesBytesCodec, codec_name="vz_hdf5_filter_mask"):
    """``numcodecs.vz_hdf5_filter_mask``: see :class:`vz_hdf5.codecs.HDF5FilterMask`."""
