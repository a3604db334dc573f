"""Appending refuses a batch whose CF decoding attributes differ from the repository's.

Issue 12 (leftover of item 5): a virtual variable appended along ``time`` becomes more
chunks of the same Zarr array, decoded with the repository's ``scale_factor``,
``add_offset``, ``_FillValue``, ``units``, ``calendar`` and data type. A batch that
disagrees would read back silently wrong, so it raises before anything is written, naming
the variable, the attribute and both values; the repository stays as it was. A batch that
agrees appends, and every value equals what xarray's netcdf4 engine reads from the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from vzcore.errors import CombineError, VZError

from .conftest import Repo

nc4 = pytest.importorskip("netCDF4")
xr = pytest.importorskip("xarray")

_BASE: dict[str, Any] = {
    "scale_factor": 0.1,
    "add_offset": 5.0,
    "_FillValue": -999,
    "units": "K",
    "dtype": "i2",
}


def _write(path: Path, day0: int, **changes: Any) -> Path:
    spec = {**_BASE, **changes}
    with nc4.Dataset(path, "w") as nc:
        nc.createDimension("time", 4)
        nc.createDimension("x", 3)
        t = nc.createVariable("time", "f8", ("time",))
        t.units = "days since 2000-01-01"
        t.calendar = spec.get("calendar", "standard")
        t[:] = np.arange(day0, day0 + 4)
        v = nc.createVariable(
            "temp", spec["dtype"], ("time", "x"), fill_value=spec["_FillValue"], chunksizes=(2, 3)
        )
        v.set_auto_maskandscale(False)
        v.scale_factor = spec["scale_factor"]
        v.add_offset = spec["add_offset"]
        v.units = spec["units"]
        raw = (np.arange(12).reshape(4, 3) + 10 * day0).astype(spec["dtype"])
        raw[1, 1] = spec["_FillValue"]
        v[:] = raw
        # A virtual time-like data variable: its calendar decodes its values.
        vt = nc.createVariable("valid", "f8", ("time",))
        vt.units = "days since 2000-01-01"
        vt.calendar = spec.get("valid_calendar", "standard")
        vt[:] = np.arange(day0, day0 + 4) + 0.5
    return path


def _open(path: Path) -> Any:
    import vzcore

    return vzcore.open_virtual_dataset(path)


def _committed(tmp_path: Path, files: list[Path]) -> Repo:
    repo = Repo(tmp_path / "repo", files)
    repo.commit(_open(files[0]), "first")
    return repo


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        pytest.param(
            {"scale_factor": 0.01},
            CombineError,
            r"variable 'temp' of the batch \(1 file\(s\): '[^']*b\.nc'\) along 'time': "
            r"scale_factor is 0\.01 in the batch but 0\.1 in the repository",
            id="scale_factor",
        ),
        pytest.param(
            {"add_offset": 0.0},
            CombineError,
            r"'temp' .*add_offset is 0\.0 in the batch but 5\.0 in the repository",
            id="add_offset",
        ),
        # netCDF-4 makes _FillValue the HDF5 fill value: the array's fill_value differs too.
        pytest.param(
            {"_FillValue": -1}, VZError, r"variable 'temp'.*fill_value: -999 vs -1", id="_FillValue"
        ),
        pytest.param(
            {"units": "degC"},
            CombineError,
            r"'temp' .*units is 'degC' in the batch but 'K' in the repository",
            id="units",
        ),
        pytest.param(
            {"scale_factor": 0.01, "units": "degC"},
            CombineError,
            r"scale_factor is 0\.01 in the batch but 0\.1 .*; units is 'degC'",
            id="two-attributes",
        ),
        pytest.param(
            {"valid_calendar": "noleap"},
            VZError,
            r"variable 'valid': it holds times in units 'days since 2000-01-01' "
            r"\(calendar 'noleap'\) but the repository's are 'days since 2000-01-01' "
            r"\(calendar 'standard'\)",
            id="calendar",
        ),
        pytest.param(
            {"dtype": "i4"}, VZError, r"variable 'temp'.*data_type.*'int16'.*'int32'", id="dtype"
        ),
    ],
)
def test_batch_with_other_decoding_attributes_is_refused(
    tmp_path: Path, changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    a = _write(tmp_path / "a.nc", 0)
    b = _write(tmp_path / "b.nc", 4, **changes)
    repo = _committed(tmp_path, [a, b])
    before = repo.open_zarr().load()
    session = repo.session()
    with pytest.raises(error, match=message):
        _open(b).virtualize.to_icechunk(session, append_dim="time")
    assert not session.has_uncommitted_changes
    xr.testing.assert_identical(repo.open_zarr().load(), before)
    with xr.open_dataset(a, engine="netcdf4") as expected:
        xr.testing.assert_equal(before, expected.load())


def test_batch_that_agrees_appends_values_equal_to_netcdf4(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.nc", 0)
    b = _write(tmp_path / "b.nc", 4)
    repo = _committed(tmp_path, [a, b])
    session = repo.session()
    _open(b).virtualize.to_icechunk(session, append_dim="time")
    session.commit("second")
    got = repo.open_zarr().load()
    expected = xr.open_mfdataset([a, b], engine="netcdf4", combine="by_coords").load()
    xr.testing.assert_equal(got, expected)
    assert np.isnan(got["temp"].values[1, 1])
    assert np.isnan(got["temp"].values[5, 1])
    raw = repo.open_zarr(mask_and_scale=False).load()
    with nc4.Dataset(a) as na, nc4.Dataset(b) as nb:
        na.set_auto_maskandscale(False)
        nb.set_auto_maskandscale(False)
        np.testing.assert_array_equal(
            raw["temp"].values, np.concatenate([na["temp"][:], nb["temp"][:]])
        )


@pytest.mark.parametrize("changes", [{"scale_factor": 0.01}, {"units": "degC"}])
def test_loaded_variable_with_other_attributes_is_refused(
    tmp_path: Path, changes: dict[str, Any]
) -> None:
    import vzcore

    a = _write(tmp_path / "a.nc", 0)
    b = _write(tmp_path / "b.nc", 4, **changes)
    repo = Repo(tmp_path / "repo", [a, b])
    session = repo.session()
    opened = vzcore.open_virtual_dataset(a, loadable_variables=["time", "temp"])
    opened.virtualize.to_icechunk(session)
    session.commit("first")
    before = repo.open_zarr().load()
    session = repo.session()
    batch = vzcore.open_virtual_dataset(b, loadable_variables=["time", "temp"])
    key = next(iter(changes))
    with pytest.raises(
        CombineError,
        match=rf"variable 'temp' of the batch along 'time': "
        rf"{key} is .* in the batch but .* loaded values are encoded",
    ):
        batch.virtualize.to_icechunk(session, append_dim="time")
    assert not session.has_uncommitted_changes
    xr.testing.assert_identical(repo.open_zarr().load(), before)


def test_loaded_times_in_other_units_are_reencoded(tmp_path: Path) -> None:
    import vzcore

    a = _write(tmp_path / "a.nc", 0)
    b = _write(tmp_path / "b.nc", 4)
    with nc4.Dataset(b, "a") as nc:  # same instants, other units
        nc["time"].units = "hours since 2000-01-05"
        nc["time"][:] = np.arange(4) * 24.0
    repo = Repo(tmp_path / "repo", [a, b])
    repo.commit(vzcore.open_virtual_dataset(a), "first")
    session = repo.session()
    vzcore.open_virtual_dataset(b).virtualize.to_icechunk(session, append_dim="time")
    session.commit("second")
    expected = xr.open_mfdataset([a, b], engine="netcdf4", combine="by_coords").load()
    xr.testing.assert_equal(repo.open_zarr().load(), expected)
