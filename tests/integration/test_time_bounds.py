"""CF time bounds (``time:bounds = "time_bnds"``) decode with their time variable's units.

A bounds variable usually has no ``units`` of its own: xarray gives it the time variable's
``units`` and ``calendar`` when it decodes. Files whose time units differ (``days since``
each file's first day) used to combine into references whose bounds all decoded with the
combined time's units: silently wrong dates for every file but the first.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import vzcore
from vzcore.errors import CombineError

netCDF4 = pytest.importorskip("netCDF4")  # noqa: N816  # the module's name
pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
fsspec = pytest.importorskip("fsspec")


def _write(path, i: int, *, per_file_units: bool, calendar: str = "standard", own_units=False):
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("time", None)
        ds.createDimension("nv", 2)
        ds.createDimension("y", 2)
        t = ds.createVariable("time", "f8", ("time",))
        t.units = (
            f"days since 2000-01-{1 + 4 * i:02d}" if per_file_units else "days since 2000-01-01"
        )
        t.calendar = calendar
        t.bounds = "time_bnds"
        start = 0 if per_file_units else 4 * i
        t[:] = start + np.arange(4) + 0.5
        b = ds.createVariable("time_bnds", "f8", ("time", "nv"))
        if own_units:
            b.units = t.units
        b[:] = np.stack([start + np.arange(4), start + np.arange(4) + 1], axis=1)
        ds.createVariable("v", "f4", ("time", "y"))[:] = np.full((4, 2), i, "f4")


def _files(tmp_path, **kwargs):
    paths = [tmp_path / f"f{i}.nc" for i in range(3)]
    for i, path in enumerate(paths):
        _write(path, i, **kwargs)
    return paths


def _read(vds, out):
    vds.virtualize.to_kerchunk(str(out), format="json")
    mapper = fsspec.filesystem("reference", fo=str(out)).get_mapper("")
    return xr.open_dataset(mapper, engine="kerchunk").load()


@pytest.mark.parametrize("calendar", ["standard", "noleap"])
@pytest.mark.parametrize("entry", ["engine", "open_virtual_mfdataset"])
def test_bounds_of_files_with_their_own_time_units(tmp_path, entry, calendar):
    paths = _files(tmp_path, per_file_units=True, calendar=calendar)
    expected = xr.open_mfdataset(paths, engine="netcdf4", combine="by_coords").load()
    if entry == "engine":
        vds = xr.open_mfdataset(paths, engine="virtualizarr", combine="by_coords")
    else:
        vds = vzcore.open_virtual_mfdataset(paths)
    got = _read(vds, tmp_path / "out.json")
    assert got["time_bnds"].dtype == expected["time_bnds"].dtype
    assert got["time_bnds"].values.tolist() == expected["time_bnds"].values.tolist()
    assert got["time"].values.tolist() == expected["time"].values.tolist()


def test_bounds_are_loaded_by_default_with_their_coordinate(tmp_path):
    (path, *_) = _files(tmp_path, per_file_units=True)
    vds = vzcore.open_virtual_dataset(str(path))
    assert isinstance(vds["time_bnds"].data, np.ndarray)
    assert vds["time_bnds"].dtype == np.dtype("datetime64[ns]")  # decoded as xarray does
    with xr.open_dataset(path, engine="netcdf4") as original:
        assert vds["time_bnds"].values.tolist() == original["time_bnds"].values.tolist()


def test_virtual_bounds_whose_units_differ_between_files_are_refused(tmp_path):
    paths = _files(tmp_path, per_file_units=True)
    with pytest.raises(CombineError, match="'units' differs between") as info:
        vzcore.open_virtual_mfdataset(paths, loadable_variables=["time"])
    assert "time_bnds" in str(info.value)
    assert "f1.nc" in str(info.value)
    vds = xr.open_mfdataset(
        paths, engine="virtualizarr", combine="by_coords", loadable_variables=["time"]
    )
    with pytest.raises(CombineError, match="units"):
        vds.virtualize.to_kerchunk(str(tmp_path / "refused.json"), format="json")
    assert not (tmp_path / "refused.json").exists()


def test_virtual_bounds_carry_their_units_into_the_references(tmp_path):
    paths = _files(tmp_path, per_file_units=False)
    expected = xr.open_mfdataset(paths, engine="netcdf4", combine="by_coords").load()
    vds = vzcore.open_virtual_mfdataset(paths, loadable_variables=["time"])
    assert not isinstance(vds["time_bnds"].data, np.ndarray)
    out = tmp_path / "virtual.json"
    got = _read(vds, out)
    assert got["time_bnds"].values.tolist() == expected["time_bnds"].values.tolist()
    attrs = json.loads(json.loads(out.read_text())["refs"]["time_bnds/.zattrs"])
    assert attrs["units"] == "days since 2000-01-01"  # decodes on its own
    assert attrs["calendar"] == "standard"


def test_bounds_with_their_own_units_keep_them(tmp_path):
    paths = _files(tmp_path, per_file_units=False, own_units=True, calendar="noleap")
    vds = vzcore.open_virtual_mfdataset(paths, loadable_variables=["time"])
    # their own units; the calendar they lack comes from time, as xarray's decoder does
    assert vds["time_bnds"].attrs == {"units": "days since 2000-01-01", "calendar": "noleap"}
