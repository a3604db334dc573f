"""Offsets that jump by 256 MiB or more read back exactly through fsspec (fastparquet).

fastparquet, which fsspec's ``LazyReferenceMapper`` reads record files with, decodes
``DELTA_BINARY_PACKED`` blocks of 29 bits or more per value wrongly: a record whose offsets
jump from one large file to the next, or from a chunk past 256 MiB to a missing chunk's 0,
would send readers to the wrong bytes (an error, or silently wrong values where the wrong
offset still lies inside a file). Such columns are written ``PLAIN``. The files here sit
behind a 512 MiB HDF5 user block, written sparse (a few KiB on disk).
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow.parquet as pq
import pytest
import vzcore
import xarray as xr

h5py = pytest.importorskip("h5py")
fsspec = pytest.importorskip("fsspec")
pytest.importorskip("vz_hdf5")
pytest.importorskip("fastparquet")

# fsspec reads Parquet references through fastparquet, which pandas 3 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:The .fastparquet. engine is deprecated")

DATA = np.arange(40, dtype="f4").reshape(8, 5)


def _write(path, userblock, shift, missing_rows=False):
    with h5py.File(path, "w", userblock_size=userblock) as f:
        v = f.create_dataset("v", shape=DATA.shape, dtype="f4", chunks=(2, 5), fillvalue=-1)
        if missing_rows:  # chunks 1 and 3 never written: missing, offset 0 between large ones
            v[0:2], v[4:6] = DATA[0:2] + shift, DATA[4:6] + shift
        else:
            v[...] = DATA + shift
    if os.stat(path).st_blocks * 512 > 2**28:  # pragma: no cover - no sparse files here
        pytest.skip("the file system does not keep sparse files")
    return str(path)


def _read_back(target, zarr_format=2):
    fs = fsspec.filesystem("reference", fo=target, remote_protocol="file")
    return xr.open_zarr(fs.get_mapper(""), zarr_format=zarr_format)["v"].values


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_offsets_jumping_between_large_files_read_back_exactly(tmp_path, zarr_format):
    files = [_write(tmp_path / f"f{i}.h5", 2**29 * (i % 2 == 0), 100.0 * i) for i in range(4)]
    combined = xr.concat(
        [vzcore.open_virtual_dataset(p, reader="hdf5") for p in files], dim="phony_dim_0"
    )
    target = str(tmp_path / "refs.parquet")
    combined.virtualize.to_kerchunk(target, format="parquet", zarr_format=zarr_format)
    encodings = pq.read_metadata(f"{target}/v/refs.0.parq").row_group(0).column(1).encodings
    assert "DELTA_BINARY_PACKED" not in encodings  # the jump forces PLAIN
    expected = np.concatenate([DATA + 100.0 * i for i in range(4)])
    np.testing.assert_array_equal(_read_back(target, zarr_format), expected)


def test_missing_chunks_between_chunks_past_256_mib_read_back_exactly(tmp_path):
    path = _write(tmp_path / "holes.h5", 2**29, 0.0, missing_rows=True)
    target = str(tmp_path / "refs.parquet")
    vzcore.open_virtual_dataset(path, reader="hdf5").virtualize.to_kerchunk(
        target, format="parquet"
    )
    expected = np.full(DATA.shape, -1, "f4")
    expected[0:2], expected[4:6] = DATA[0:2], DATA[4:6]
    np.testing.assert_array_equal(_read_back(target), expected)


def test_small_jumps_keep_delta_encoding(tmp_path):
    path = _write(tmp_path / "small.h5", 0, 0.0)
    target = str(tmp_path / "refs.parquet")
    vzcore.open_virtual_dataset(path).virtualize.to_kerchunk(target, format="parquet")
    encodings = pq.read_metadata(f"{target}/v/refs.0.parq").row_group(0).column(1).encodings
    assert "DELTA_BINARY_PACKED" in encodings
    np.testing.assert_array_equal(_read_back(target), DATA)
