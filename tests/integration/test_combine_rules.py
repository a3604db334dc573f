"""open_virtual_mfdataset's combine rules: what joins exactly, and what raises naming two files.

Every success is written to kerchunk references and read back with plain xarray, value for
value against the originals; every failure must be a CombineError naming the variable, both
files and what differs, through vzcore's own API and through xr.open_mfdataset + .virtualize.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import vzcore
from vzcore.errors import CombineError, VZSkippedFilesWarning
from vzcore.testing.samples import MINIMAL, open_originals

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
pytest.importorskip("netCDF4")
fsspec = pytest.importorskip("fsspec")

from .conftest import write_sample_files

TIMES = pd.date_range("2000-01-01", periods=100, freq="D")


def _nc(
    path,
    t0,
    n,
    *,
    var_encoding=None,
    attrs=None,
    var_attrs=None,
    dtype="f4",
    lat=None,
    extra=False,
    static=True,
):
    """One file of ``n`` daily steps from day ``t0``: temp(time, lat) chunked (5, 3), zlib 4."""
    lat = np.array([-10.0, 0.0, 10.0]) if lat is None else np.asarray(lat)
    values = (np.arange(n * lat.size, dtype="f8").reshape(n, lat.size) + 1000 * t0).astype(dtype)
    ds = xr.Dataset(
        {
            "temp": (("time", "lat"), values, {"units": "K", **(var_attrs or {})}),
            "elevation": (("lat",), np.array([1.0, 2.0, 3.0])[: lat.size], {"units": "m"}),
        },
        coords={"time": TIMES[t0 : t0 + n], "lat": ("lat", lat)},
        attrs={"title": "rules", "history": f"written as {path.name}", **(attrs or {})},
    )
    encoding = {
        "temp": {
            "zlib": True,
            "complevel": 4,
            "chunksizes": (5, lat.size),
            "_FillValue": None,
            **(var_encoding or {}),
        },
        "elevation": {"_FillValue": None},
        "time": {"units": "days since 2000-01-01", "dtype": "i4"},
    }
    if extra:
        ds["extra"] = ds["temp"]
        encoding["extra"] = encoding["temp"]
    if not static:
        ds = ds.drop_vars("elevation")
        del encoding["elevation"]
    ds.to_netcdf(path, engine="netcdf4", encoding=encoding)
    return path


def _read_back(vds):
    refs = vds.virtualize.to_kerchunk(format="dict")
    return xr.open_dataset(fsspec.filesystem("reference", fo=refs).get_mapper(""), engine="zarr")


def _originals(paths):
    parts = []
    for p in paths:
        with xr.open_dataset(p, engine="netcdf4") as ds:
            parts.append(ds.load())
    return parts


def _files(ds, name="temp"):
    """The file names the chunks of ``name`` point into, in chunk order along axis 0."""
    arr = ds[name].data.manifest.path_array()
    return [p.rsplit("/", 1)[1] for p in arr.reshape(arr.shape[0], -1)[:, 0]]


# -- what works -------------------------------------------------------------------------


def test_three_files_by_coords_given_out_of_order(tmp_path):
    paths = [_nc(tmp_path / f"f{i}.nc", 10 * i, 10) for i in range(3)]
    vds = vzcore.open_virtual_mfdataset([paths[2], paths[0], paths[1]])
    assert _files(vds) == ["f0.nc", "f0.nc", "f1.nc", "f1.nc", "f2.nc", "f2.nc"]
    back = _read_back(vds)
    expected = xr.concat(
        _originals(paths),
        dim="time",
        **MINIMAL,
        join="exact",
    )
    np.testing.assert_array_equal(back["time"].values, TIMES[:30].values)
    np.testing.assert_array_equal(back["temp"].values, expected["temp"].values)
    assert back["temp"].dtype == np.dtype("f4")


def test_static_variable_is_not_broadcast(tmp_path):
    paths = [_nc(tmp_path / f"f{i}.nc", 10 * i, 10) for i in range(3)]
    vds = vzcore.open_virtual_mfdataset(paths)
    assert vds["elevation"].dims == ("lat",)
    assert vds["elevation"].data.manifest.nchunks == 1
    assert "time" not in vds["lat"].dims
    back = _read_back(vds)
    assert back["elevation"].dims == ("lat",)
    np.testing.assert_array_equal(back["elevation"].values, [1.0, 2.0, 3.0])


def test_per_file_attributes_do_not_fail_and_conflicts_are_dropped(tmp_path):
    paths = [
        _nc(
            tmp_path / f"f{i}.nc",
            10 * i,
            10,
            attrs={"source_file": i},
            var_attrs={"comment": f"file {i}"},
        )
        for i in range(3)
    ]
    vds = vzcore.open_virtual_mfdataset(paths)
    assert vds.attrs["title"] == "rules"
    assert "history" not in vds.attrs
    assert "source_file" not in vds.attrs
    assert "comment" not in vds["temp"].attrs
    assert vds["temp"].attrs["units"] == "K"
    # xarray's own default (combine_attrs="override") is still available.
    assert vzcore.open_virtual_mfdataset(paths, combine_attrs="override").attrs["source_file"] == 0


def test_partial_chunk_only_in_the_last_file_combines_exactly(tmp_path):
    # 10, 10 and 7 steps in chunks of 5: the last file's partial chunk ends the grid.
    paths = [
        _nc(tmp_path / "a.nc", 0, 10),
        _nc(tmp_path / "b.nc", 10, 10),
        _nc(tmp_path / "c.nc", 20, 7),
    ]
    for vds in (
        vzcore.open_virtual_mfdataset([paths[2], paths[1], paths[0]]),
        vzcore.open_virtual_mfdataset(paths, combine="nested", concat_dim="time"),
    ):
        assert vds["temp"].shape == (27, 3)
        assert vds["temp"].data.chunk_shape == (5, 3)
        assert _files(vds) == ["a.nc"] * 2 + ["b.nc"] * 2 + ["c.nc"] * 2
        back = _read_back(vds)
        expected = np.concatenate([o["temp"].values for o in _originals(paths)])
        np.testing.assert_array_equal(back["temp"].values, expected)
        np.testing.assert_array_equal(back["time"].values, TIMES[:27].values)


def test_nested_combine_skips_unreadable_files_and_lists_them(tmp_path):
    paths = [_nc(tmp_path / f"f{i}.nc", 10 * i, 10) for i in range(3)]
    bad = tmp_path / "bad.nc"
    bad.write_bytes(paths[0].read_bytes()[:200])
    with pytest.warns(VZSkippedFilesWarning, match=r"skipped 1 file.*bad\.nc"):
        vds = vzcore.open_virtual_mfdataset(
            [paths[0], bad, paths[1]], combine="nested", concat_dim="time", errors="warn"
        )
    assert vds.encoding["skipped_files"] == [str(bad)]
    assert vds["temp"].shape == (20, 3)
    with pytest.raises(vzcore.VZError, match="nested list"):
        vzcore.open_virtual_mfdataset(
            [[paths[0], bad], [paths[1], paths[2]]],
            combine="nested",
            concat_dim=["time", None],
            errors="skip",
        )


# -- what raises, naming both files ------------------------------------------------------


def _pair(tmp_path, **second):
    return [_nc(tmp_path / "a.nc", 0, 10), _nc(tmp_path / "b.nc", 10, 10, **second)]


MISMATCHES = [
    pytest.param(
        {"var_encoding": {"complevel": 5}},
        "'temp': codecs differ between '{a}' ([shuffle(elementsize=4), zlib(level=4)]) and "
        "'{b}' ([shuffle(elementsize=4), zlib(level=5)])",
        id="codecs",
    ),
    pytest.param(
        # Along lat (not concatenated); along time they may differ (a rectilinear grid).
        {"var_encoding": {"chunksizes": (5, 1)}},
        "'temp': chunk shapes differ between '{a}' ((5, 3)) and '{b}' ((5, 1))",
        id="chunk-shape",
    ),
    pytest.param(
        {"dtype": "f8"},
        "'temp': dtypes differ between '{a}' (<f4) and '{b}' (<f8)",
        id="dtype",
    ),
    pytest.param(
        {"var_encoding": {"_FillValue": np.float32(-1.0)}},
        # Without missing chunks the fill value is moot; the CF attribute still differs.
        "'temp': attribute '_FillValue' differs between '{a}' (",
        id="fill-value",
    ),
    pytest.param(
        {"var_attrs": {"units": "degC"}},
        "'temp': attribute 'units' differs between '{a}' ('K') and '{b}' ('degC')",
        id="cf-units",
    ),
]


@pytest.mark.parametrize(("second", "message"), MISMATCHES)
def test_mismatch_raises_combine_error_naming_both_files(tmp_path, second, message):
    a, b = _pair(tmp_path, **second)
    expected = re.escape(message.format(a=a, b=b))
    for paths in ([a, b], [b, a]):
        with pytest.raises(CombineError, match=expected):
            vzcore.open_virtual_mfdataset(paths)
    with pytest.raises(CombineError, match=expected):
        vzcore.open_virtual_mfdataset([a, b], combine="nested", concat_dim="time")


def test_scale_factor_differing_per_file_is_refused(tmp_path):
    packed = {"dtype": "i2", "_FillValue": np.int16(-32767)}
    a = _nc(tmp_path / "a.nc", 0, 10, var_encoding={**packed, "scale_factor": 0.5})
    b = _nc(tmp_path / "b.nc", 10, 10, var_encoding={**packed, "scale_factor": 0.25})
    with pytest.raises(
        CombineError,
        match=re.escape(
            f"'temp': attribute 'scale_factor' differs between '{a}' (0.5) and '{b}' (0.25)"
        ),
    ):
        vzcore.open_virtual_mfdataset([a, b])


def test_chunks_that_do_not_tile_raise_naming_the_short_file_and_the_next(tmp_path):
    a, b, c = (
        _nc(tmp_path / "a.nc", 0, 10),
        _nc(tmp_path / "b.nc", 10, 7),
        _nc(tmp_path / "c.nc", 17, 10),
    )
    expected = (
        f"'temp': '{b}' has 7 elements along 'time', not a whole number of chunks of "
        f"5, and '{c}' follows it"
    )
    with pytest.raises(CombineError, match=re.escape(expected)):
        vzcore.open_virtual_mfdataset([c, a, b])
    with pytest.raises(CombineError, match=re.escape(expected)):
        vzcore.open_virtual_mfdataset([a, b, c], combine="nested", concat_dim="time")
    # The short file given last in a nested combine is fine (it is last along time there).
    vds = vzcore.open_virtual_mfdataset([a, c, b], combine="nested", concat_dim="time")
    assert vds["temp"].shape == (27, 3)


def test_missing_variable_names_both_files(tmp_path):
    a, b, c = (_nc(tmp_path / f"{n}.nc", 10 * i, 10) for i, n in enumerate("abc"))
    b2 = _nc(tmp_path / "b2.nc", 10, 10, static=False)
    c2 = _nc(tmp_path / "c2.nc", 20, 10, extra=True)
    with pytest.raises(
        CombineError, match=re.escape(f"'extra' is in '{c2}' but missing from '{a}'")
    ):
        vzcore.open_virtual_mfdataset([a, b, c2])
    with pytest.raises(
        CombineError, match=re.escape(f"'extra' is in '{c2}' but missing from '{a}'")
    ):
        vzcore.open_virtual_mfdataset([c2, a, b], combine="nested", concat_dim="time")
    # by_coords groups files by their variables: b2 lacks the static 'elevation', so its
    # 'temp' would be merged with, not concatenated to, the others'.
    with pytest.raises(
        CombineError,
        match=re.escape(
            f"'elevation' is in '{a}' but missing from '{b2}', whose other variables ('temp') are "
            "concatenated with it"
        ),
    ):
        vzcore.open_virtual_mfdataset([a, b2, c])
    # Nested: a static variable is not concatenated, so one file's copy is enough.
    vds = vzcore.open_virtual_mfdataset([a, b2, c], combine="nested", concat_dim="time")
    assert vds["elevation"].dims == ("lat",)
    assert vds["temp"].shape == (30, 3)


def test_non_concatenated_coordinates_are_compared_by_value(tmp_path):
    a = _nc(tmp_path / "a.nc", 0, 10)
    b = _nc(tmp_path / "b.nc", 10, 10, lat=[-10.0, 0.5, 10.0])
    with pytest.raises(
        CombineError,
        match=re.escape(
            f"'lat': values differ between '{a}' (first file) and '{b}' (first difference at "
            "index 1: np.float64(0.0) vs np.float64(0.5), 1 differ)"
        ),
    ):
        vzcore.open_virtual_mfdataset([a, b], combine="nested", concat_dim="time")
    # by_coords sees lat differ and would concatenate along it: the ranges overlap.
    with pytest.raises(CombineError, match=re.escape(f"'{a}' (lat -10.0 … 10.0) and '{b}'")):
        vzcore.open_virtual_mfdataset([a, b])
    # Explicit compat/join="override" keep the first file's coordinate without checking.
    vds = vzcore.open_virtual_mfdataset(
        [a, b], combine="nested", concat_dim="time", compat="override", join="override"
    )
    np.testing.assert_array_equal(vds["lat"].values, [-10.0, 0.0, 10.0])


def test_lengths_of_other_dimensions_must_match(tmp_path):
    a = _nc(tmp_path / "a.nc", 0, 10)
    b = _nc(tmp_path / "b.nc", 10, 10, lat=[-10.0, 0.0])
    with pytest.raises(
        CombineError,
        match=re.escape(f"'temp': lengths along 'lat' differ between '{a}' (3) and '{b}' (2)"),
    ):
        vzcore.open_virtual_mfdataset([a, b], combine="nested", concat_dim="time")


def test_overlapping_files_are_refused(tmp_path):
    # xarray's own combine_by_coords keeps one of two files that start on the same day.
    a, b, c = (
        _nc(tmp_path / "a.nc", 0, 10),
        _nc(tmp_path / "b.nc", 10, 10),
        _nc(tmp_path / "c.nc", 10, 5),
    )
    with pytest.raises(
        CombineError,
        match=re.escape(f"'{b}' (time 2000-01-11 00:00:00 … 2000-01-20 00:00:00) and '{c}'"),
    ):
        vzcore.open_virtual_mfdataset([a, b, c])
    d = _nc(tmp_path / "d.nc", 5, 10)
    with pytest.raises(CombineError, match="overlap along 'time'"):
        vzcore.open_virtual_mfdataset([a, d])


# -- the same errors through xarray's own open_mfdataset ---------------------------------


@pytest.mark.filterwarnings("ignore:In a future version of xarray:FutureWarning")
@pytest.mark.parametrize(
    ("second", "message"),
    [
        (
            {"var_encoding": {"complevel": 5}},
            (
                r"variable 'temp': cannot concatenate .*a\.nc' "
                r"with .*b\.nc': their encodings differ \(codecs"
            ),
        ),
        (
            {"var_encoding": {"chunksizes": (5, 1)}},
            (
                r"variable 'temp': cannot concatenate "
                r".*a\.nc' with .*b\.nc': their encodings differ \(chunk shape \(5, 3\) vs \(5, 1\)"
            ),
        ),
        (
            {"dtype": "f8"},
            (
                r"variable 'temp': its files do not share one dtype, and xarray "
                r"casts .*a\.nc' from <f4 to <f8"
            ),
        ),
    ],
    ids=["codecs", "chunk-shape", "dtype"],
)
def test_xarray_open_mfdataset_surfaces_the_same_errors(tmp_path, second, message):
    paths = _pair(tmp_path, **second)
    ds = xr.open_mfdataset(paths, engine="virtualizarr", combine="by_coords")
    with pytest.raises(CombineError, match=message):
        ds.virtualize.to_kerchunk(format="dict")


@pytest.mark.filterwarnings("ignore:In a future version of xarray:FutureWarning")
def test_xarray_open_mfdataset_tiling(tmp_path):
    a, b, c = (
        _nc(tmp_path / "a.nc", 0, 10),
        _nc(tmp_path / "b.nc", 10, 7),
        _nc(tmp_path / "c.nc", 17, 10),
    )
    ds = xr.open_mfdataset([a, b, c], engine="virtualizarr", combine="by_coords")
    with pytest.raises(
        CombineError,
        match=r"variable 'temp': cannot concatenate .*b\.nc' "
        r"along axis 0: its length 7 is not a multiple of the chunk size 5",
    ):
        ds.virtualize.to_kerchunk(format="dict")
    c2 = _nc(tmp_path / "c2.nc", 10, 10)
    b2 = _nc(tmp_path / "b2.nc", 20, 7)
    ds = xr.open_mfdataset(
        [b2, a, c2],
        engine="virtualizarr",
        combine="by_coords",
        **MINIMAL,
    )
    back = _read_back(ds)
    expected = np.concatenate([o["temp"].values for o in _originals([a, c2, b2])])
    np.testing.assert_array_equal(back["temp"].values, expected)


# -- TIFF-like inputs stacked along a new dimension --------------------------------------


def test_nested_combine_of_tiffs_along_a_new_dimension(tmp_path):
    pytest.importorskip("vz_tiff")
    tifffile = pytest.importorskip("tifffile")
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 60000, (40, 48), dtype="u2") for _ in range(3)]
    paths = []
    for i, img in enumerate(images):
        p = tmp_path / f"scene_{i}.tif"
        tifffile.imwrite(p, img, tile=(16, 16), compression="zlib")
        paths.append(p)
    vds = vzcore.open_virtual_mfdataset(paths, combine="nested", concat_dim="time")
    assert vds["band_data"].dims == ("time", "y", "x")
    assert vds["band_data"].data.chunk_shape == (1, 16, 16)
    back = _read_back(vds)
    assert back["band_data"].dtype == np.dtype("u2")
    for i, p in enumerate(paths):
        np.testing.assert_array_equal(back["band_data"].values[i], tifffile.imread(p))
    # A TIFF compressed differently cannot join the stack.
    odd = tmp_path / "odd.tif"
    tifffile.imwrite(odd, images[0], tile=(16, 16), compression="zstd")
    expected = (
        re.escape(f"'band_data': codecs differ between '{paths[0]}' ([zlib(level=")
        + ".*"
        + re.escape(f") and '{odd}' ([zstd(")
    )
    with pytest.raises(CombineError, match=expected):
        vzcore.open_virtual_mfdataset([paths[0], odd], combine="nested", concat_dim="time")


def test_sample_archive_with_default_arguments(tmp_path):
    """The conftest archive (packed ints, NaNs, static elevation) with every default."""
    paths = write_sample_files(tmp_path, n_files=3)
    vds = vzcore.open_virtual_mfdataset(paths[::-1])
    back = _read_back(vds)
    expected = open_originals(
        paths,
        combine="by_coords",
        join="exact",
        combine_attrs="drop_conflicts",
    )
    xr.testing.assert_identical(back.load(), expected.load())


def test_files_of_different_variables_are_merged(tmp_path):
    """temp files and salt files over the same times: concatenated per variable, then merged."""
    paths = {}
    for i in range(2):
        for name in ("temp", "salt"):
            values = np.arange(30.0).reshape(10, 3) + 100 * i + (name == "salt")
            ds = xr.Dataset(
                {name: (("time", "x"), values)},
                coords={"time": TIMES[10 * i : 10 * i + 10], "x": [1, 2, 3]},
            )
            paths[name, i] = tmp_path / f"{name}_{i}.nc"
            ds.to_netcdf(paths[name, i], encoding={name: {"chunksizes": (5, 3), "zlib": True}})
    nested = [[paths["temp", 0], paths["salt", 0]], [paths["temp", 1], paths["salt", 1]]]
    by_coords = [paths["salt", 1], paths["temp", 0], paths["salt", 0], paths["temp", 1]]
    for vds in (
        vzcore.open_virtual_mfdataset(nested, combine="nested", concat_dim=["time", None]),
        vzcore.open_virtual_mfdataset(by_coords),
    ):
        back = _read_back(vds)
        for name in ("temp", "salt"):
            expected = np.concatenate(
                [o[name].values for o in _originals([paths[name, 0], paths[name, 1]])]
            )
            np.testing.assert_array_equal(back[name].values, expected)
