"""Files whose CF encoding differs are never joined silently, whichever path combines them.

Issue 12, item 1: ``xr.open_mfdataset(paths, engine="virtualizarr")`` keeps the first
file's attributes, so references joined across files with another ``scale_factor`` read
10x off. The source encoding travels with each ManifestArray and every concatenation
(xarray's own combine under dask, ``xr.concat`` of bare ManifestArrays,
``vzcore.open_virtual_mfdataset``) refuses files that disagree, naming both files and the
attribute. Files that agree read back equal to xarray's netcdf4 engine (decoded) and to
netCDF4-python (raw).
"""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
import xarray as xr

import vzcore
from vzcore.errors import CombineError
from vzcore.testing.samples import MINIMAL, open_originals

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
nc4 = pytest.importorskip("netCDF4")
fsspec = pytest.importorskip("fsspec")

# Both _FillValue and missing_value are set: xarray's own engines warn that both mask.
pytestmark = pytest.mark.filterwarnings("ignore:variable 'packed' has multiple fill values")
FUTURE = pytest.mark.filterwarnings("ignore:In a future version of xarray:FutureWarning")
STEPS = 4


def _write(path, t0, **overrides):
    """Write a file of ``STEPS`` days from day ``t0`` with netCDF4-python.

    ``packed(time, x)`` is an int16 packed with scale_factor/add_offset, _FillValue and
    missing_value; ``valid_time(time)`` a virtual CF time variable; ``time`` the loaded
    dimension coordinate. ``overrides`` replace attributes of ``packed`` (or, with the
    ``valid_time_``/``time_`` prefixes, of those variables).
    """
    attrs = {
        "scale_factor": np.float64(0.1),
        "add_offset": np.float64(5.0),
        "missing_value": np.int16(-1),
        "units": "K",
    }
    fill = overrides.pop("_FillValue", np.int16(-32767))
    vt_attrs = {"units": "hours since 2000-01-01", "calendar": "standard"}
    t_attrs = {"units": "days since 2000-01-01"}
    for key, value in overrides.items():
        if key.startswith("valid_time_"):
            vt_attrs[key.removeprefix("valid_time_")] = value
        elif key.startswith("time_"):
            t_attrs[key.removeprefix("time_")] = value
        else:
            attrs[key] = value
    with nc4.Dataset(path, "w") as nc:
        nc.createDimension("time", STEPS)
        nc.createDimension("x", 3)
        t = nc.createVariable("time", "i4", ("time",))
        t.setncatts(t_attrs)
        days = np.arange(t0, t0 + STEPS)
        t[:] = days if "days" in t_attrs["units"] else days * 24
        vt = nc.createVariable("valid_time", "i4", ("time",), chunksizes=(STEPS,))
        vt.setncatts(vt_attrs)
        vt[:] = days * 24 + 6
        v = nc.createVariable("packed", "i2", ("time", "x"), fill_value=fill, chunksizes=(2, 3))
        v.setncatts(attrs)
        v.set_auto_maskandscale(False)
        raw = (np.arange(STEPS * 3).reshape(STEPS, 3) + 100 * t0).astype("i2")
        raw[0, 0] = fill
        raw[1, 1] = -1  # missing_value
        v[:] = raw
        nc.setncattr("coordinates", "valid_time")
    return path


def _refs_to_xarray(refs):
    return xr.open_dataset(
        fsspec.filesystem("reference", fo=refs).get_mapper(""), engine="zarr", chunks=None
    )


def _raw(paths, name="packed"):
    out = []
    for p in paths:
        with nc4.Dataset(p) as nc:
            nc.set_auto_maskandscale(False)
            out.append(nc[name][:])
    return np.concatenate(out)


DIFFERENCES = [
    pytest.param(
        {"scale_factor": np.float64(0.01)},
        "packed",
        "scale_factor",
        "0.1",
        "0.01",
        id="scale_factor",
    ),
    pytest.param(
        {"add_offset": np.float64(7.5)}, "packed", "add_offset", "5.0", "7.5", id="add_offset"
    ),
    pytest.param(
        {"_FillValue": np.int16(-999)}, "packed", "_FillValue", "-32767", "-999", id="_FillValue"
    ),
    pytest.param(
        {"missing_value": np.int16(-2)}, "packed", "missing_value", "-1", "-2", id="missing_value"
    ),
    pytest.param({"units": "degC"}, "packed", "units", "'K'", "'degC'", id="units"),
    pytest.param(
        {"valid_time_units": "hours since 2000-01-02"},
        "valid_time",
        "units",
        "'hours since 2000-01-01'",
        "'hours since 2000-01-02'",
        id="virtual-time-units",
    ),
    pytest.param(
        {"valid_time_calendar": "noleap"},
        "valid_time",
        "calendar",
        "'standard'",
        "'noleap'",
        id="calendar",
    ),
]


def _expected_message(name, attr, va, vb, a, b):
    """Both files (as URLs), the variable and the attribute with both values."""
    return (
        rf"'{name}' of '[^']*{re.escape(a.name)}' with '{name}' of '[^']*{re.escape(b.name)}': "
        rf"attribute '{attr}' differs \({re.escape(va)} vs {re.escape(vb)}\)"
    )


@pytest.fixture
def agreeing(tmp_path):
    return [_write(tmp_path / f"a{i}.nc", STEPS * i) for i in range(3)]


# -- files that disagree -----------------------------------------------------------------


@FUTURE
@pytest.mark.parametrize(("second", "name", "attr", "va", "vb"), DIFFERENCES)
def test_xarray_open_mfdataset_refuses_differing_encodings(tmp_path, second, name, attr, va, vb):
    a = _write(tmp_path / "a.nc", 0)
    b = _write(tmp_path / "b.nc", STEPS, **second)
    ds = xr.open_mfdataset([b, a], engine="virtualizarr", combine="by_coords")
    assert ds[name].attrs.get(attr) is not None or attr == "_FillValue"  # xarray kept one set
    with pytest.raises(
        CombineError,
        match=f"variable '{name}': cannot concatenate "
        + _expected_message(name, attr, va, vb, a, b),
    ):
        ds.virtualize.to_kerchunk(format="dict")


@pytest.mark.parametrize(("second", "name", "attr", "va", "vb"), DIFFERENCES)
def test_xr_concat_of_virtual_datasets_refuses_differing_encodings(
    tmp_path, second, name, attr, va, vb
):
    a = _write(tmp_path / "a.nc", 0)
    b = _write(tmp_path / "b.nc", STEPS, **second)
    parts = [vzcore.open_virtual_dataset(p) for p in (a, b)]
    with pytest.raises(CombineError, match=_expected_message(name, attr, va, vb, a, b)):
        xr.concat(
            parts,
            dim="time",
            **MINIMAL,
            join="exact",
            combine_attrs="override",
        )


@pytest.mark.parametrize(("second", "name", "attr", "va", "vb"), DIFFERENCES)
def test_open_virtual_mfdataset_refuses_differing_encodings(tmp_path, second, name, attr, va, vb):
    a = _write(tmp_path / "a.nc", 0)
    b = _write(tmp_path / "b.nc", STEPS, **second)
    # files without missing chunks are refused on the CF attribute (a fill value only says
    # what missing chunks read as)
    expected = re.escape(
        f"'{name}': attribute '{attr}' differs between '{a}' ({va}) and '{b}' ({vb})"
    )
    for combine in ({}, {"combine": "nested", "concat_dim": "time"}):
        with pytest.raises(CombineError, match=expected):
            vzcore.open_virtual_mfdataset([b, a] if not combine else [a, b], **combine)


def test_absent_attribute_counts_as_a_difference(tmp_path):
    a = _write(tmp_path / "a.nc", 0)
    b = _write(tmp_path / "b.nc", STEPS)
    with nc4.Dataset(b, "a") as nc:
        nc["packed"].delncattr("add_offset")
    parts = [vzcore.open_virtual_dataset(p) for p in (a, b)]
    with pytest.raises(CombineError, match=r"attribute 'add_offset' differs \(5\.0 vs absent\)"):
        xr.concat(parts, dim="time", **MINIMAL)


def test_encoding_survives_slicing_broadcasting_renaming_and_pickling(tmp_path):
    a = _write(tmp_path / "a.nc", 0)
    b = _write(tmp_path / "b.nc", STEPS, scale_factor=np.float64(0.01))
    arr_a = vzcore.open_virtual_dataset(a)["packed"].data
    arr_b = vzcore.open_virtual_dataset(b)["packed"].data
    moved = arr_b.rename_paths(lambda p: p.replace("file://", "s3://bucket"))
    variants = [
        arr_b[2:],
        arr_b[None],
        np.broadcast_to(arr_b[None], (2, *arr_b.shape)),
        moved,
        pickle.loads(pickle.dumps(arr_b)),
        np.concatenate([arr_b, arr_b]),
    ]
    for other in variants:
        first = arr_a if other.ndim == arr_a.ndim else arr_a[None]
        if other.shape[0] == 2 and other.ndim == 3:
            first = np.broadcast_to(arr_a[None], (2, *arr_a.shape))
        with pytest.raises(
            CombineError, match=r"attribute 'scale_factor' differs \(0\.1 vs 0\.01\)"
        ):
            np.concatenate([first, other], axis=-2)
    assert "s3://bucket" in moved.encoding.source
    # Equal chunk references decode differently under different attributes: not equal.
    assert not (arr_a == arr_a.with_encoding(arr_b.encoding)).any()
    assert (arr_a == pickle.loads(pickle.dumps(arr_a))).all()


def test_parallel_processes_keep_the_check(tmp_path):
    a = _write(tmp_path / "a.nc", 0)
    b = _write(tmp_path / "b.nc", STEPS, scale_factor=np.float64(0.01))
    with pytest.raises(CombineError, match="attribute 'scale_factor' differs"):
        vzcore.open_virtual_mfdataset([a, b], parallel="processes", progress=False)
    # The arrays scanned in worker processes still carry their encoding.
    vds = vzcore.open_virtual_mfdataset([a], parallel="processes", progress=False)
    assert vds["packed"].data.encoding.source.endswith("a.nc")
    assert dict(vds["packed"].data.encoding.values)["scale_factor"] == pytest.approx(0.1)


# -- files that agree --------------------------------------------------------------------


@FUTURE
def test_agreeing_files_round_trip_through_xarray_open_mfdataset(agreeing):
    ds = xr.open_mfdataset(agreeing[::-1], engine="virtualizarr", combine="by_coords")
    back = _refs_to_xarray(ds.virtualize.to_kerchunk(format="dict"))
    expected = xr.open_mfdataset(agreeing, engine="netcdf4", combine="by_coords")
    for name in ("packed", "valid_time", "time"):
        np.testing.assert_array_equal(back[name].values, expected[name].values)
        assert back[name].dtype == expected[name].dtype
    with xr.open_dataset(
        fsspec.filesystem("reference", fo=ds.virtualize.to_kerchunk(format="dict")).get_mapper(""),
        engine="zarr",
        mask_and_scale=False,
        decode_times=False,
    ) as undecoded:
        np.testing.assert_array_equal(undecoded["packed"].values, _raw(agreeing))
        assert undecoded["packed"].dtype == np.dtype("i2")
    expected.close()


def test_agreeing_files_round_trip_through_open_virtual_mfdataset_and_xr_concat(agreeing):
    expected = open_originals(
        agreeing,
        combine="nested",
        concat_dim="time",
    )
    combined = [
        vzcore.open_virtual_mfdataset(agreeing[::-1]),
        xr.concat(
            [vzcore.open_virtual_dataset(p) for p in agreeing],
            dim="time",
            **MINIMAL,
        ),
    ]
    for vds in combined:
        back = _refs_to_xarray(vds.virtualize.to_kerchunk(format="dict"))
        for name in ("packed", "valid_time", "time"):
            np.testing.assert_array_equal(back[name].values, expected[name].values)
        assert back["packed"].encoding["scale_factor"] == 0.1
    expected.close()


def test_loaded_time_with_differing_units_is_re_encoded(tmp_path):
    """Loaded (decoded) coordinates are re-encoded on write: their units may differ."""
    a = _write(tmp_path / "a.nc", 0)
    b = _write(tmp_path / "b.nc", STEPS, time_units="hours since 2000-01-01")
    expected = np.concatenate([xr.open_dataset(p, engine="netcdf4")["time"].values for p in (a, b)])
    for vds in (
        vzcore.open_virtual_mfdataset([b, a]),
        xr.concat(
            [vzcore.open_virtual_dataset(p) for p in (a, b)],
            dim="time",
            **MINIMAL,
        ),
    ):
        back = _refs_to_xarray(vds.virtualize.to_kerchunk(format="dict"))
        np.testing.assert_array_equal(back["time"].values, expected)
        np.testing.assert_array_equal(
            back["packed"].values[STEPS:], xr.open_dataset(b, engine="netcdf4")["packed"].values
        )


# -- structural mismatches through xr.open_mfdataset (item 2) ----------------------------


def _plain(path, t0, *, nx=3, extra=True):
    """``v(time, x)`` and, unless ``extra=False``, ``w(time, x)``; ``x`` is a coordinate."""
    with nc4.Dataset(path, "w") as nc:
        nc.createDimension("time", STEPS)
        nc.createDimension("x", nx)
        t = nc.createVariable("time", "i4", ("time",))
        t.units = "days since 2000-01-01"
        t[:] = np.arange(t0, t0 + STEPS)
        nc.createVariable("x", "f8", ("x",))[:] = np.arange(nx)
        for name in ("v", "w") if extra else ("v",):
            var = nc.createVariable(name, "f4", ("time", "x"), chunksizes=(2, nx))
            var[:] = np.ones((STEPS, nx))
    return path


def _two_files(tmp_path, **second):
    """``a.nc`` from :func:`_plain`, and ``b.nc`` after it in time with ``second``'s options."""
    return [_plain(tmp_path / "a.nc", 0), _plain(tmp_path / "b.nc", STEPS, **second)]


def _refused_on_write(paths, match, **combine):
    """xarray combines ``paths`` lazily; writing the result raises a CombineError."""
    ds = xr.open_mfdataset(paths, engine="virtualizarr", **combine)
    with pytest.raises(CombineError, match=match):
        ds.virtualize.to_kerchunk(format="dict")


@FUTURE
@pytest.mark.parametrize(
    "combine", [{"combine": "by_coords"}, {"combine": "nested", "concat_dim": "time"}]
)
def test_xarray_open_mfdataset_names_files_whose_lengths_differ(tmp_path, combine):
    _refused_on_write(
        _two_files(tmp_path, nx=2),
        r"'v': lengths along 'x' differ between '[^']*a\.nc' \(3\) and '[^']*b\.nc' \(2\)\. "
        r"Only the concatenation dimension\(s\) \['time'\] may differ in length",
        **combine,
    )


@FUTURE
def test_values_needed_inside_xarray_name_the_variable_and_file(tmp_path):
    # by_coords merges the two groups of files and compares 'v' by value inside xarray,
    # before vzcore sees the result: the error at least names the array and its file.
    a, b = _two_files(tmp_path, extra=False)
    with pytest.raises(vzcore.VZError, match=r"virtual array 'v' of '[^']*a\.nc'"):
        xr.open_mfdataset([a, b], engine="virtualizarr", combine="by_coords")


def test_open_virtual_mfdataset_by_coords_names_the_file_that_lacks_a_variable(tmp_path):
    # Each file is its own by_coords group (different variables): the groups are merged,
    # which used to report "'time': values differ ... pass compat='override'".
    a, b = _two_files(tmp_path, extra=False)
    expected = re.escape(f"'w' is in '{a}' but missing from '{b}', whose other variables ('v')")
    for paths in ([a, b], [b, a]):
        with pytest.raises(CombineError, match=expected):
            vzcore.open_virtual_mfdataset(paths)


@FUTURE
@pytest.mark.parametrize(
    ("combine", "message"),
    [
        pytest.param(
            {"combine": "nested", "concat_dim": "time"},
            r"'w' is in '[^']*a\.nc' but missing from '[^']*b\.nc', which are concatenated "
            r"together; a virtual variable cannot be padded \(xarray filled it with NaN",
            id="names-the-file-that-lacks-a-variable",
        ),
        # compat="override" keeps one group's 'v' and pads it: b.nc left no trace in the graph.
        pytest.param(
            {"combine": "by_coords", **MINIMAL},
            r"'v' holds chunks of 1 file\(s\) \('[^']*a\.nc'\) covering 4 of its 8 steps along "
            r"'time': xarray filled the rest with NaN",
            id="padding-after-compat-override-is-explained",
        ),
    ],
)
def test_xarray_open_mfdataset_refuses_padding_a_missing_variable(tmp_path, combine, message):
    _refused_on_write(_two_files(tmp_path, extra=False), message, **combine)
