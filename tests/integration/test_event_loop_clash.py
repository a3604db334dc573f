"""Issue 12, item 10: vzcore after xarray's kerchunk engine read from S3 in the same process.

xarray's kerchunk engine (through zarr's fsspec store) adds ``asynchronous: True`` to the
``remote_options`` dict it is given. The user's dict then asks fsspec for an asynchronous
S3 filesystem, bound to no running loop, and blocking calls on it failed with a bare
``RuntimeError: Loop is not running``. vzcore now always asks for a blocking filesystem.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
pytest.importorskip("s3fs")
nc4 = pytest.importorskip("netCDF4")

import vzcore
from vzcore.testing.servers import S3Server


def _sample(path: Path) -> np.ndarray:
    values = np.arange(12, dtype="f4").reshape(3, 4) * 1.5
    with nc4.Dataset(path, "w") as ds:
        ds.createDimension("y", 3)
        ds.createDimension("x", 4)
        ds.createVariable("v", "f4", ("y", "x"), chunksizes=(1, 4))[:] = values
    return values


def test_vzcore_after_kerchunk_engine_on_s3(vz_s3: S3Server, tmp_path: Path) -> None:
    values = _sample(tmp_path / "a.nc")
    vz_s3.filesystem().put_file(str(tmp_path / "a.nc"), f"{vz_s3.bucket}/loop/a.nc")
    url = f"s3://{vz_s3.bucket}/loop/a.nc"
    so = vz_s3.storage_options
    refs = tmp_path / "refs" / "s3.json"
    refs.parent.mkdir()
    vzcore.open_virtual_dataset(url, storage_options=so).virtualize.to_kerchunk(str(refs))

    with xr.open_dataset(
        str(refs),
        engine="kerchunk",
        storage_options={"remote_protocol": "s3", "remote_options": so},
    ) as ds:
        np.testing.assert_array_equal(ds["v"].load().values, values)
    # What made the clash: the engine's stack marks the caller's options asynchronous.
    # (If a later fsspec/zarr stops doing that, the test still checks the calls below.)
    before = dict(so)

    vds = vzcore.open_virtual_dataset(url, storage_options=so)
    assert vds["v"].shape == (3, 4)
    report = vzcore.verify(str(refs), storage_options=so, deep=True)
    assert report.ok, str(report)
    assert report.chunks_decoded == 3
    paths = vzcore.open_virtual_mfdataset(
        f"s3://{vz_s3.bucket}/loop/*.nc",
        storage_options=so,
        combine="nested",
        concat_dim="t",
    )
    assert paths["v"].shape == (1, 3, 4)
    assert so == before, "vzcore changed the caller's storage_options"


def test_explicit_asynchronous_option_is_ignored_for_blocking_reads(
    vz_s3: S3Server, tmp_path: Path
) -> None:
    values = _sample(tmp_path / "b.nc")
    vz_s3.filesystem().put_file(str(tmp_path / "b.nc"), f"{vz_s3.bucket}/loop/b.nc")
    plain = {k: v for k, v in vz_s3.storage_options.items() if k != "asynchronous"}
    so = {**plain, "asynchronous": True}
    url = f"s3://{vz_s3.bucket}/loop/b.nc"
    vds = vzcore.open_virtual_dataset(url, storage_options=so)
    report = vzcore.verify(vds, storage_options=so, deep=True)
    assert report.ok, str(report)
    assert report.chunks_decoded == 3
    loaded = vzcore.open_virtual_dataset(url, storage_options=so, loadable_variables=["v"])
    np.testing.assert_array_equal(loaded["v"].values, values)
    assert so["asynchronous"] is True
