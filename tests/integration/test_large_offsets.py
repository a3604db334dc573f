"""Offsets past 4 GiB stay exact while small files' manifests keep 4-byte positions.

A ``ChunkManifest`` stores offsets and lengths as ``uint32`` when every value fits and as
``uint64`` otherwise; a concatenation of both promotes to ``uint64``. The big file here is
an HDF5 file behind a 4 GiB user block, written sparse (a few KiB on disk).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr

import vzcore
from vzcore.manifests import ChunkManifest

h5py = pytest.importorskip("h5py")
fsspec = pytest.importorskip("fsspec")
pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")

# fsspec reads Parquet references through fastparquet, which pandas 3 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:The .fastparquet. engine is deprecated")

DATA = np.arange(20, dtype="f4").reshape(4, 5)


def _write(path, userblock=0, shift=0.0):
    with h5py.File(path, "w", userblock_size=userblock) as f:
        f.create_dataset("v", data=DATA + shift, chunks=(2, 5))
    return str(path)


def test_small_manifests_keep_four_byte_positions():
    m = ChunkManifest(["file:///a.nc"], np.zeros(3, np.uint8), [0, 8, 16], [8, 8, 8])
    assert m.offsets.dtype == m.lengths.dtype == np.uint32
    big = ChunkManifest(["file:///b.nc"], np.zeros(2, np.uint8), [2**32, 2**33], [8, 8])
    assert big.offsets.dtype == np.uint64
    assert big.lengths.dtype == np.uint32
    both = ChunkManifest.concatenate([m, big], axis=0)
    assert both.offsets.dtype == np.uint64
    assert both.offsets.tolist() == [0, 8, 16, 2**32, 2**33]
    assert both.paths == ("file:///a.nc", "file:///b.nc")


def test_a_file_past_four_gib_combines_with_a_small_one(tmp_path):
    big = _write(tmp_path / "big.h5", userblock=2**32)
    if os.stat(big).st_blocks * 512 > 2**30:  # pragma: no cover - no sparse files here
        pytest.skip("the file system does not keep sparse files")
    small = _write(tmp_path / "small.h5", shift=100.0)
    parts = [vzcore.open_virtual_dataset(p, reader="hdf5") for p in (big, small)]
    assert parts[0]["v"].data.manifest.offsets.dtype == np.uint64
    assert parts[1]["v"].data.manifest.offsets.dtype == np.uint32
    combined = xr.concat(parts, dim="phony_dim_0")
    assert combined["v"].data.manifest.offsets.min() > 0
    assert int(combined["v"].data.manifest.offsets.max()) > 2**32
    for fmt in ("json", "parquet"):
        out = str(tmp_path / f"refs.{fmt}")
        combined.virtualize.to_kerchunk(out, format=fmt)
        fs = fsspec.filesystem("reference", fo=out, remote_protocol="file")
        back = xr.open_dataset(fs.get_mapper(""), engine="zarr", consolidated=False)
        np.testing.assert_array_equal(back["v"].values, np.concatenate([DATA, DATA + 100.0]))
