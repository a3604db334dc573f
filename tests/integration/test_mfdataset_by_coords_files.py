"""combine="by_coords" through xarray names files it cannot order and never drops one.

Issue 12, item 2: ``xr.open_mfdataset(paths, engine="virtualizarr", combine="by_coords")``
gave xarray's bare "non monotonic" ``ValueError`` for overlapping files and silently kept
one of two files that start at the same coordinate (pydata/xarray#4077). Both now raise a
:class:`~vzcore.errors.CombineError` naming the two files and their ranges, on the engine
path and on ``xr.combine_by_coords`` over :func:`vzcore.open_virtual_dataset` results.
Files that tile the axis combine exactly as before.
"""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import xarray as xr

import vzcore
from vzcore.errors import CombineError
from vzcore.testing.samples import MINIMAL

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
nc4 = pytest.importorskip("netCDF4")
fsspec = pytest.importorskip("fsspec")

pytestmark = pytest.mark.filterwarnings("ignore:In a future version of xarray:FutureWarning")


def _write(path, t0, steps=4, step=1):
    """``steps`` days from day ``t0`` (``step`` apart; negative: a descending axis)."""
    with nc4.Dataset(path, "w") as nc:
        nc.createDimension("time", steps)
        nc.createDimension("x", 3)
        t = nc.createVariable("time", "i4", ("time",))
        t.units = "days since 2000-01-01"
        t[:] = t0 + step * np.arange(steps)
        v = nc.createVariable("v", "f4", ("time", "x"), chunksizes=(2, 3))
        v.units = "K"
        v[:] = np.arange(steps * 3, dtype="f4").reshape(steps, 3) + 100 * t0
    return str(path)


def _engine(paths):
    return xr.open_mfdataset(paths, engine="virtualizarr", combine="by_coords")


def _scanned(paths):
    return xr.combine_by_coords([vzcore.open_virtual_dataset(p) for p in paths])


PATHS = [pytest.param(_engine, id="engine"), pytest.param(_scanned, id="combine_by_coords")]


def _names(a, b):
    return rf"'[^']*{re.escape(a)}' \(time .*\) and '[^']*{re.escape(b)}' \(time .*\)"


@pytest.mark.parametrize("combine", PATHS)
def test_overlapping_files_name_both_files(tmp_path, combine):
    a = _write(tmp_path / "a.nc", 0)
    c = _write(tmp_path / "c.nc", 2)
    b = _write(tmp_path / "b.nc", 8)
    with pytest.raises(CombineError, match=_names("a.nc", "c.nc") + " overlap along 'time'"):
        combine([b, c, a])


@pytest.mark.parametrize("combine", PATHS)
def test_same_start_files_are_not_silently_reduced_to_one(tmp_path, combine):
    a = _write(tmp_path / "a.nc", 0)
    short = _write(tmp_path / "short.nc", 0, steps=2)
    b = _write(tmp_path / "b.nc", 4)
    # xarray alone keeps one of a/short and returns 8 or 6 steps without a word
    plain = xr.open_mfdataset([a, short, b], engine="netcdf4", combine="by_coords")
    assert plain.sizes["time"] in (6, 8)
    plain.close()
    with pytest.raises(
        CombineError,
        match=r"both start at time=2000-01-01 00:00:00 and "
        r"start at the same coordinate value but differ.*pydata/xarray#4077",
    ):
        combine([a, short, b])


@pytest.mark.parametrize("combine", PATHS)
def test_exact_duplicates_are_refused(tmp_path, combine):
    a = _write(tmp_path / "a.nc", 0)
    copy = str(tmp_path / "copy.nc")
    shutil.copy(a, copy)
    b = _write(tmp_path / "b.nc", 4)
    for paths, other in (([a, copy, b], "copy.nc"), ([a, b, a], "a.nc")):
        with pytest.raises(
            CombineError,
            match=_names("a.nc", other) + r" both start at .* hold the same coordinate values",
        ):
            combine(paths)


@pytest.mark.parametrize("combine", PATHS)
def test_the_same_file_twice_names_both(tmp_path, combine):
    """Only identical files: xarray found no dimension to order along and named no file."""
    a = _write(tmp_path / "a.nc", 0)
    copy = str(tmp_path / "copy.nc")
    shutil.copy(a, copy)
    with pytest.raises(
        CombineError,
        match=r"'[^']*a\.nc' and '[^']*copy\.nc' hold the same coordinate values "
        r"\(time .*\) \(the same file twice\?\).*combine='nested'",
    ):
        combine([a, copy])


def _write_times(path, times):
    with nc4.Dataset(path, "w") as nc:
        nc.createDimension("time", len(times))
        nc.createVariable("time", "i4", ("time",))[:] = times
        nc.createVariable("v", "f4", ("time",))[:] = np.arange(len(times))
    return str(path)


UNORDERABLE = {
    "unordered-file": (
        {"a.nc": [0, 1, 2], "shuffled.nc": [5, 3, 4]},
        (
            r"'[^']*shuffled\.nc': its 'time' coordinate \(time 5 … 4, 3 values\) is "
            r"neither increasing nor decreasing.*combine='nested'"
        ),
    ),
    "ascending-and-descending": (
        {"down.nc": [9, 8, 7], "up.nc": [0, 1, 2]},
        (
            r"'[^']*up\.nc' \(time 0 … 2, 3 values\) ascends and '[^']*down\.nc' "
            r"\(time 9 … 7, 3 values\) descends along 'time'"
        ),
    ),
}


@pytest.mark.parametrize("combine", PATHS)
@pytest.mark.parametrize("case", list(UNORDERABLE))
def test_files_that_cannot_be_ordered_are_named(tmp_path, combine, case):
    files, message = UNORDERABLE[case]
    with pytest.raises(CombineError, match=message):
        combine([_write_times(tmp_path / name, times) for name, times in files.items()])


@pytest.mark.parametrize("combine", PATHS)
def test_an_unordered_coordinate_every_file_shares_is_a_bystander(tmp_path, combine):
    """As in xarray: a dimension on which all files agree is not ordered along."""
    paths = []
    for i in range(2):
        with nc4.Dataset(tmp_path / f"s{i}.nc", "w") as nc:
            nc.createDimension("time", 2)
            nc.createDimension("station", 3)
            nc.createVariable("time", "i4", ("time",))[:] = [2 * i, 2 * i + 1]
            nc.createVariable("station", "i4", ("station",))[:] = [5, 3, 4]
            nc.createVariable("v", "f4", ("time", "station"))[:] = np.full((2, 3), i, "f4")
        paths.append(str(tmp_path / f"s{i}.nc"))
    ds = combine(paths[::-1])
    assert ds["time"].values.tolist() == [0, 1, 2, 3]
    assert ds["station"].values.tolist() == [5, 3, 4]


def test_nested_combine_of_overlapping_files_is_still_allowed(tmp_path):
    """Only combine_by_coords needs an order: concatenating as given works as in xarray."""
    a = _write(tmp_path / "a.nc", 0)
    c = _write(tmp_path / "c.nc", 2)
    ds = xr.open_mfdataset(
        [a, c],
        engine="virtualizarr",
        combine="nested",
        concat_dim="time",
        **MINIMAL,
    )
    back = xr.open_dataset(
        fsspec.filesystem("reference", fo=ds.virtualize.to_kerchunk(format="dict")).get_mapper(""),
        engine="zarr",
        chunks=None,
    )
    expected = xr.concat([xr.open_dataset(p, engine="netcdf4") for p in (a, c)], "time")
    np.testing.assert_array_equal(back["v"].values, expected["v"].values)
    np.testing.assert_array_equal(back["time"].values, expected["time"].values)


@pytest.mark.parametrize("combine", PATHS)
@pytest.mark.parametrize("step", [1, -1], ids=["ascending", "descending"])
def test_files_that_tile_the_axis_combine_as_before(tmp_path, combine, step):
    starts = [0, 4, 8] if step == 1 else [11, 7, 3]
    paths = [_write(tmp_path / f"f{i}.nc", t0, step=step) for i, t0 in enumerate(starts)]
    ds = combine(paths[::-1])
    assert type(ds.xindexes["time"]).__name__ == "PandasIndex"  # as before: a plain index
    refs = ds.virtualize.to_kerchunk(format="dict")
    back = xr.open_dataset(
        fsspec.filesystem("reference", fo=refs).get_mapper(""), engine="zarr", chunks=None
    )
    expected = xr.open_mfdataset(paths, engine="netcdf4", combine="by_coords")
    for name in ("v", "time"):
        np.testing.assert_array_equal(back[name].values, expected[name].values)
        assert back[name].dtype == expected[name].dtype
    expected.close()


def test_the_xarray_functions_the_checks_look_for_exist():
    """If xarray renames them, the checks above stop working: this test says so first."""
    from xarray.structure import combine

    assert hasattr(combine._combine_single_variable_hypercube, "__code__")
    assert hasattr(combine._infer_concat_order_from_coords, "__code__")


def test_source_index_survives_copies_and_decays_on_selection(tmp_path):
    a = _write(tmp_path / "a.nc", 0)
    ds = xr.open_dataset(a, engine="virtualizarr", chunks={})
    assert ds.xindexes["time"].source.endswith("a.nc")
    assert ds.copy(deep=True).xindexes["time"].source == ds.xindexes["time"].source
    assert type(ds.isel(time=slice(0, 2)).xindexes["time"]).__name__ == "PandasIndex"


def test_open_virtual_mfdataset_checks_after_an_index_replacing_preprocess(tmp_path):
    """The engine's checks ride on the index a preprocess may replace; vzcore's own
    combine checks the files after preprocess, so a same-start file is still named."""
    a = _write(tmp_path / "a.nc", 0)
    short = _write(tmp_path / "short.nc", 0, steps=2)
    b = _write(tmp_path / "b.nc", 4)
    with pytest.raises(
        CombineError, match=r"a\.nc' .* and '[^']*short\.nc' .* overlap along 'time'"
    ):
        vzcore.open_virtual_mfdataset(
            [a, short, b],
            combine="by_coords",
            preprocess=lambda ds: ds.assign_coords(time=ds["time"].values),
        )
