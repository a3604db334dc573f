"""Scanning records every source file's size and mtime, and combining keeps them."""

from __future__ import annotations

import os

import pytest
import xarray as xr

import vzcore
from vzcore._urls import to_url
from vzcore.manifests import SourceInfo
from vzcore.testing.samples import MINIMAL

pytest.importorskip("vz_hdf5")


def expected(path: os.PathLike[str]) -> SourceInfo:
    st = os.stat(path)
    return SourceInfo(size=st.st_size, mtime=st.st_mtime)


def test_scan_records_size_and_mtime(sample_files) -> None:
    ds = vzcore.open_virtual_dataset(sample_files[0])
    assert dict(ds["temp"].data.manifest.sources) == {
        to_url(sample_files[0]): expected(sample_files[0])
    }
    assert ds.virtualize.to_group().sources() == {
        to_url(sample_files[0]): expected(sample_files[0])
    }


def test_combined_dataset_knows_every_file(sample_files) -> None:
    want = {to_url(p): expected(p) for p in sample_files}
    combined = vzcore.open_virtual_mfdataset(sample_files, combine="by_coords")
    assert combined.virtualize.to_group().sources() == want
    # Through xarray's own open_mfdataset (dask graphs replayed into manifests) as well.
    via_xarray = xr.open_mfdataset(
        sample_files,
        engine="virtualizarr",
        combine="by_coords",
        **MINIMAL,
    )
    assert via_xarray.virtualize.to_group().sources() == want
