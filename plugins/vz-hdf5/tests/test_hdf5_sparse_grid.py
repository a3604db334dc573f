"""Chunk grids far larger than their stored chunks are refused before any memory is taken.

A chunked HDF5 dataset may declare any extent and store few chunks (or a damaged dataspace
may declare 2^60 elements): a chunk manifest holds an entry per grid cell, so such a grid
would take gigabytes (or more memory than exists) for a handful of references. Found by
feeding byte-mutated real files through the corpus checker: a 40 KB file whose dataspace
became 609,885,356,132 elements took 6 GB and the writer then hung building 595 million
chunk keys.
"""

from __future__ import annotations

from pathlib import Path

import fsspec
import h5py
import numpy as np
import pytest
import vzcore
import xarray as xr
from vzcore.errors import UnsupportedFeatureError, VZSkippedPartsWarning

from vz_hdf5 import _reader


def _write(path: Path, extent: int, stored: int) -> None:
    with h5py.File(path, "w") as f:
        d = f.create_dataset("sparse", shape=(extent,), chunks=(10,), dtype="i4")
        for i in range(stored):
            d[i * 10 : i * 10 + 10] = np.arange(i * 10, i * 10 + 10)
        f.create_dataset("dense", data=np.arange(50.0), chunks=(10,))


def _read_back(ds: xr.Dataset) -> xr.Dataset:
    """The dataset as xarray reads it back from kerchunk references (raw values)."""
    refs = ds.virtualize.to_kerchunk(format="dict")
    store = fsspec.filesystem("reference", fo=refs).get_mapper("")
    return xr.open_dataset(
        store, engine="zarr", zarr_format=2, consolidated=False, mask_and_scale=False
    )


def test_a_huge_sparse_grid_is_refused_without_allocating(tmp_path: Path) -> None:
    path = tmp_path / "huge.h5"
    _write(path, 2**60, 2)  # 1.15e17 grid cells: a dense manifest would take ~2 EB
    with pytest.raises(UnsupportedFeatureError) as info:
        vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    msg = str(info.value)
    assert "'/sparse'" in msg
    assert repr(path.as_uri()) in msg
    assert "sparse chunk grid" in msg
    assert "of which the file stores 2" in msg
    assert "drop_variables=['sparse']" in msg  # a remedy that works:
    ds = vzcore.open_virtual_dataset(str(path), drop_variables=["sparse"])
    assert list(ds.data_vars) == ["dense"]
    with pytest.warns(VZSkippedPartsWarning, match="sparse chunk grid"):
        ds = vzcore.open_virtual_dataset(
            str(path), loadable_variables=[], reader_options={"skip_unsupported": True}
        )
    np.testing.assert_array_equal(_read_back(ds)["dense"].values, np.arange(50.0))


@pytest.mark.parametrize(("stored", "refused"), [(9, True), (10, False)])
def test_the_limit_counts_stored_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stored: int, refused: bool
) -> None:
    # A grid over the limit is kept when at least one cell in SPARSE_RATIO is stored.
    monkeypatch.setattr(_reader, "SPARSE_GRID_CELLS", 100)
    path = tmp_path / "grid.h5"
    _write(path, 10 * 160, stored)  # 160 cells, over the limit of 100
    if refused:
        with pytest.raises(UnsupportedFeatureError, match="160 grid cells, of which the file"):
            vzcore.open_virtual_dataset(str(path), loadable_variables=[])
        return
    out = _read_back(vzcore.open_virtual_dataset(str(path), loadable_variables=[]))
    with h5py.File(path) as f:
        np.testing.assert_array_equal(out["sparse"].values, f["sparse"][:])
