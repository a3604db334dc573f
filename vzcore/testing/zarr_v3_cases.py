"""Files and checks for writers of zarr format 3 references (tests only).

Shared by the writers of kerchunk JSON and Parquet references with zarr format 3 metadata:

- :data:`FLOATS` and :data:`INTS`: compressible 40 x 50 arrays (HDF5 filters such as blosc
  leave chunks they cannot shrink unfiltered, a filter mask vz-hdf5 refuses);
- :func:`hdf5plugin_registered` and :func:`hdf5_codec_cases`: HDF5 filters (h5py's and
  hdf5plugin's) with the zarr 3 codec each must become;
- :func:`write_hdf5_codecs`: an HDF5 file with one dataset per codec case;
- :func:`add_hdf5_missing_chunks`: HDF5 datasets with chunks never written (fill values);
- :func:`write_netcdf4_fill_values`: a netCDF4 file whose variables exercise fill values
  (``_FillValue``, the default fill without an attribute, packed ints, a scalar never
  written);
- :func:`time_and_station`: two in-memory variables (CF time, strings) for a group;
- :func:`assert_same_as_read`: values and dtype equal, zarr's native byte order expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "FLOATS",
    "INTS",
    "add_hdf5_missing_chunks",
    "assert_same_as_read",
    "hdf5_codec_cases",
    "hdf5plugin_registered",
    "time_and_station",
    "write_hdf5_codecs",
    "write_netcdf4_fill_values",
]

FLOATS = (np.sin(np.arange(40 * 50) / 50) * 100).round(2).astype("<f4").reshape(40, 50)
INTS = (np.arange(40 * 50) // 7 - 100).astype("<i4").reshape(40, 50)


def hdf5plugin_registered() -> Any:
    """Return the hdf5plugin module with its filters registered (the test skips without)."""
    import pytest

    hdf5plugin = pytest.importorskip("hdf5plugin")
    # netCDF4's wheels point HDF5_PLUGIN_PATH at their own filter builds, which win over
    # hdf5plugin's when netCDF4 is imported first; force hdf5plugin's registration.
    hdf5plugin.register(force=True)
    return hdf5plugin


def hdf5_codec_cases() -> dict[str, tuple[np.ndarray, dict[str, Any], str]]:
    """Return ``{dataset name: (values, h5py create_dataset options, zarr 3 codec name)}``."""
    hdf5plugin = hdf5plugin_registered()
    return {
        "zlib": (FLOATS, {"compression": "gzip", "compression_opts": 4}, "numcodecs.zlib"),
        "shuffle_zlib": (INTS, {"shuffle": True, "compression": "gzip"}, "numcodecs.shuffle"),
        "fletcher32": (INTS, {"fletcher32": True, "compression": "gzip"}, "numcodecs.fletcher32"),
        "blosc": (
            FLOATS,
            dict(hdf5plugin.Blosc(cname="zstd", clevel=5, shuffle=hdf5plugin.Blosc.BITSHUFFLE)),
            "blosc",
        ),
        "blosc_lz4": (INTS, dict(hdf5plugin.Blosc(cname="lz4", clevel=9)), "blosc"),
        "zstd": (FLOATS, dict(hdf5plugin.Zstd(clevel=3)), "zstd"),
        "bz2": (INTS, dict(hdf5plugin.BZip2(blocksize=5)), "numcodecs.bz2"),
        "big_endian": (FLOATS.astype(">f8"), {"compression": "gzip", "shuffle": True}, "bytes"),
        "big_endian_raw": (INTS.astype(">i2"), {}, "bytes"),
    }


def write_hdf5_codecs(path: Path) -> dict[str, tuple[np.ndarray, dict[str, Any], str]]:
    """Write :func:`hdf5_codec_cases` with h5py in (20, 25) chunks; return the cases."""
    import h5py

    cases = hdf5_codec_cases()
    with h5py.File(path, "w") as f:
        for name, (data, kwargs, _) in cases.items():
            f.create_dataset(name, data=data, chunks=(20, 25), **kwargs)
    return cases


def add_hdf5_missing_chunks(f: Any) -> None:
    """Create, in the open h5py file ``f``, datasets with chunks never written.

    ``sparse`` (<i2, fill value -5, gzip; two of four chunks written, one with zeros),
    ``sparse_nan`` (>f4, fill value NaN; one of three chunks written) and ``never_written``
    (u1, fill value 9, no storage at all).
    """
    d = f.create_dataset(
        "sparse", shape=(8, 8), chunks=(4, 4), dtype="<i2", fillvalue=-5, compression="gzip"
    )
    d[0:4, 4:8] = np.arange(16, dtype="i2").reshape(4, 4)
    d[4:8, 0:4] = 0
    e = f.create_dataset("sparse_nan", shape=(8,), chunks=(3,), dtype=">f4", fillvalue=np.nan)
    e[0:3] = [1, 0, 2]
    g = f.create_dataset("never_written", shape=(5,), chunks=(5,), dtype="u1", fillvalue=9)
    assert g.id.get_storage_size() == 0


def write_netcdf4_fill_values(path: Path) -> Path:
    """Write, with netCDF4-python, variables whose missing and fill values must survive.

    ``t`` float32 with ``_FillValue`` -9999 (two chunks never written, written fill values
    too), ``i`` int32 with the default fill and no attribute (half never written), ``p``
    int16 packed with ``scale_factor``/``add_offset`` and ``_FillValue`` -1, ``s`` a scalar
    never written.
    """
    import pytest

    nc4 = pytest.importorskip("netCDF4")
    with nc4.Dataset(path, "w") as nc:
        nc.createDimension("y", 8)
        nc.createDimension("x", 6)
        t = nc.createVariable(
            "t", "f4", ("y", "x"), chunksizes=(4, 3), zlib=True, fill_value=np.float32(-9999)
        )
        t[0:4, 0:3] = np.arange(12, dtype="f4").reshape(4, 3)
        t[4:8, 3:6] = -9999  # written fill values are masked too
        i = nc.createVariable("i", "i4", ("y", "x"), chunksizes=(4, 3))  # default fill, no attr
        i[0:4, :] = 0
        p = nc.createVariable("p", "i2", ("y",), chunksizes=(2,), fill_value=np.int16(-1))
        p.scale_factor = 0.5
        p.add_offset = 10.0
        p[0:2] = [1.0, 20.0]
        nc.createVariable("s", "f8", ())  # scalar, never written
    return path


def time_and_station() -> dict[str, Any]:
    """In-memory variables ``time`` (4 CF-encoded <i8 days) and ``station`` (5 strings)."""
    from vzcore.group import Variable

    return {
        "time": Variable(
            ("time",),
            np.array([0, 1, 2, 31], dtype="<i8"),
            {"units": "days since 2000-01-01", "calendar": "proleptic_gregorian"},
        ),
        "station": Variable(("x",), np.array(["Oslo", "Zürich", "", "a", "b"], dtype=object), {}),
    }


def assert_same_as_read(got: np.ndarray, want: np.ndarray) -> None:
    """Assert every value and the dtype (zarr returns big-endian data in native order)."""
    assert got.shape == want.shape
    if want.dtype.kind == "O":
        assert got.tolist() == want.tolist()
        return
    assert got.dtype == want.dtype.newbyteorder("="), (got.dtype, want.dtype)
    if want.dtype.kind in "fc":  # NaN payloads may differ (v3 "NaN" is the canonical NaN)
        assert np.array_equal(got, want, equal_nan=True)
    else:
        assert got.tobytes() == want.astype(got.dtype).tobytes()
