"""The headline workflow, verbatim, on netCDF4 files: equal to xr.open_mfdataset(engine='netcdf4')."""

from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr

from vzcore.testing.samples import MINIMAL, open_originals

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
pytest.importorskip("netCDF4")
fsspec = pytest.importorskip("fsspec")

from .conftest import write_sample_files

COMBINE_VARIANTS = [
    pytest.param({}, id="xarray-defaults"),
    pytest.param({"data_vars": "minimal", "coords": "minimal", "compat": "override"}, id="minimal"),
]


def _headline(glob: str, out: str, **combine_kwargs):
    # This is the workflow from the README, verbatim apart from the combine arguments.
    virtual_ds = xr.open_mfdataset(
        glob, engine="virtualizarr", combine="by_coords", **combine_kwargs
    )
    virtual_ds.virtualize.to_kerchunk(out, format="json")
    fs = fsspec.filesystem("reference", fo=out)
    m = fs.get_mapper("")
    return xr.open_dataset(m, engine="kerchunk", chunks={})


@pytest.mark.filterwarnings("ignore:In a future version of xarray:FutureWarning")
@pytest.mark.parametrize("combine_kwargs", COMBINE_VARIANTS)
def test_workflow_equals_netcdf4_engine(tmp_path, combine_kwargs):
    paths = write_sample_files(tmp_path, n_files=10)
    out = str(tmp_path / "combined.json")
    ds = _headline(str(tmp_path / "sample_*.nc"), out, **combine_kwargs)
    expected = xr.open_mfdataset(paths, engine="netcdf4", combine="by_coords", **combine_kwargs)

    xr.testing.assert_identical(ds.load(), expected.load())
    for name in expected.variables:
        assert ds[name].dtype == expected[name].dtype, name
    # No valid value became NaN; zeros stayed zeros and ints stayed ints.
    assert ds["counts"].dtype == np.dtype("i4")
    assert int((ds["counts"] == 0).sum()) == int((expected["counts"] == 0).sum()) > 0
    assert int(ds["temp"].isnull().sum()) == 10 * 3
    assert ds.sizes["time"] == 40
    if combine_kwargs.get("data_vars") == "minimal":
        assert ds["elevation"].dims == ("lat", "lon")
    # Paths in the output are absolute file:// URLs.
    refs = fsspec.filesystem("reference", fo=out).references
    urls = {v[0] for v in refs.values() if isinstance(v, list)}
    for url in urls:
        assert url.startswith(("file:///", "{{")), url


def test_time_units_differing_per_file(tmp_path):
    paths = write_sample_files(tmp_path, n_files=3, per_file_units=True)
    out = str(tmp_path / "combined.json")
    ds = _headline(str(tmp_path / "sample_*.nc"), out, **MINIMAL)
    expected = open_originals(paths, combine="by_coords")
    np.testing.assert_array_equal(ds["time"].values, expected["time"].values)
    assert ds.sizes["time"] == 12
    assert len(np.unique(ds["time"].values)) == 12
    xr.testing.assert_identical(ds.load(), expected.load())


def test_same_result_through_bare_manifest_arrays(tmp_path):
    import vzcore

    paths = write_sample_files(tmp_path, n_files=4)
    vds = vzcore.open_virtual_mfdataset(
        [os.fspath(p) for p in paths[::-1]],
        **MINIMAL,
    )
    refs = vds.virtualize.to_kerchunk(format="dict")
    m = fsspec.filesystem("reference", fo=refs).get_mapper("")
    ds = xr.open_dataset(m, engine="zarr")
    # combine_attrs="drop_conflicts", vzcore's default: per-file attrs never fail
    expected = open_originals(paths, combine="by_coords", combine_attrs="drop_conflicts")
    xr.testing.assert_identical(ds.load(), expected.load())
    assert "source_file" not in ds.attrs  # differs per file: dropped
