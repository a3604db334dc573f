"""open_virtual_mfdataset: parallel scanning, per-file errors and combine errors."""

from __future__ import annotations

import concurrent.futures as cf

import numpy as np
import pytest
import xarray as xr

import vzcore
from vzcore.errors import CombineError, VZSkippedFilesWarning
from vzcore.testing.samples import MINIMAL

pytest.importorskip("vz_hdf5")
pytest.importorskip("netCDF4")

from .conftest import write_sample_files


@pytest.fixture
def files(tmp_path):
    return write_sample_files(tmp_path, n_files=6)


def _manifests(ds):
    return {k: v.data.manifest for k, v in ds.data_vars.items()}


@pytest.mark.parametrize("parallel", [False, "threads", "processes", "executor", "dask"])
def test_parallel_modes_give_the_serial_result(files, parallel):
    serial = vzcore.open_virtual_mfdataset(files, **MINIMAL)
    if parallel == "executor":
        with cf.ThreadPoolExecutor(2) as pool:
            ds = vzcore.open_virtual_mfdataset(files, parallel=pool, **MINIMAL)
    else:
        ds = vzcore.open_virtual_mfdataset(files, parallel=parallel, **MINIMAL)
    assert _manifests(ds) == _manifests(serial)
    np.testing.assert_array_equal(ds["time"].values, serial["time"].values)


def test_by_coords_orders_files_given_out_of_order(files):
    shuffled = [files[i] for i in (3, 0, 5, 1, 4, 2)]
    ds = vzcore.open_virtual_mfdataset(shuffled, **MINIMAL)
    assert (np.diff(ds["time"].values) > np.timedelta64(0, "D")).all()
    names = [p.rsplit("/", 1)[1] for p in ds["temp"].data.manifest.path_array()[::2, 0, 0]]
    assert names == [f"sample_{i:03d}.nc" for i in range(6)]


def test_errors_warn_and_skip_list_the_bad_file(files, tmp_path):
    bad = tmp_path / "sample_999.nc"
    bad.write_bytes(files[0].read_bytes()[:300])  # truncated HDF5
    paths = [*files, bad]
    with pytest.raises(vzcore.VZError):
        vzcore.open_virtual_mfdataset(paths, **MINIMAL)
    with pytest.warns(VZSkippedFilesWarning, match="sample_999.nc"):
        ds = vzcore.open_virtual_mfdataset(paths, errors="warn", **MINIMAL)
    assert ds.encoding["skipped_files"] == [str(bad)]
    ds = vzcore.open_virtual_mfdataset(paths, errors="skip", **MINIMAL)
    assert ds.encoding["skipped_files"] == [str(bad)]
    assert ds.sizes["time"] == 24


def test_missing_variable_names_the_file(files):
    ds = xr.open_dataset(files[2], engine="netcdf4")
    odd = files[2].with_name("odd.nc")
    ds.drop_vars("wind").to_netcdf(odd)
    ds.close()
    paths = [files[0], files[1], odd]
    with pytest.raises(
        CombineError, match=r"'wind' is in .*sample_000\.nc' but missing from .*odd\.nc"
    ):
        vzcore.open_virtual_mfdataset(
            paths,
            combine="nested",
            concat_dim="time",
            data_vars="all",
            coords="minimal",
            compat="override",
        )


def test_chunks_that_do_not_tile_raise(tmp_path):
    import pandas as pd

    paths = []
    start = 0
    for i, n in enumerate((10, 7, 10)):
        t = pd.date_range("2000-01-01", periods=27, freq="D")[start : start + n]
        start += n
        ds = xr.Dataset({"v": (("time",), np.arange(n, dtype="f4"))}, coords={"time": t})
        p = tmp_path / f"t{i}.nc"
        ds.to_netcdf(p, encoding={"v": {"chunksizes": (5,), "zlib": True}})
        paths.append(p)
    # A compressed partial chunk cannot be cut to its length (uncompressed ones can: see
    # test_variable_chunks.py, which joins them with a rectilinear chunk grid).
    with pytest.raises(
        CombineError,
        match=r"t1\.nc' has 7 elements along 'time', not a whole number of chunks of 5, and .*t2\.nc' follows it",
    ):
        vzcore.open_virtual_mfdataset(paths, **MINIMAL)
    # Files of whole chunks followed by one ragged last file combine exactly.
    ds = vzcore.open_virtual_mfdataset([paths[0], paths[2]], **MINIMAL)
    assert ds["v"].shape == (20,)


def test_dask_distributed_local_cluster_with_process_workers(files):
    distributed = pytest.importorskip("distributed")
    serial = vzcore.open_virtual_mfdataset(files, **MINIMAL)
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            host="127.0.0.1",
        ) as cluster,
        distributed.Client(cluster),
    ):
        ds = vzcore.open_virtual_mfdataset(files, parallel="dask", **MINIMAL)
    assert _manifests(ds) == _manifests(serial)


def test_progress_bar_counts_the_files(files, capfd):
    vzcore.open_virtual_mfdataset(files, progress=True, parallel="threads")
    err = capfd.readouterr().err
    assert "scanning: 100%" in err
    assert "6/6 [" in err
    vzcore.open_virtual_mfdataset(files)  # progress="auto": not a terminal here
    assert capfd.readouterr().err == ""
