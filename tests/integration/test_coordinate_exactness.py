"""Loaded coordinates are written back exactly: stored values bit for bit, or exact times.

A time of ``0.37543299999999996`` seconds decodes to ``375432999`` ns and would encode back
as ``0.375432999``. The written references must hold the stored values themselves when the
combine does not change the encoding (one file, or files with the same units), and when it
must (units differ per file) an encoding whose decoded values equal xarray's decoding of
the originals exactly. Checked raw (zarr, ``decode_cf=False``) against netCDF4-python and
decoded (xarray) against ``xr.open_mfdataset(engine="netcdf4")``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

nc = pytest.importorskip("netCDF4")
pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
fsspec = pytest.importorskip("fsspec")

import vzcore
from vzcore import _raw_values
from vzcore.testing.outputs import icechunk_store

FLOAT_SECONDS = [0.37543299999999996, 1.1, 2.123456789012]


def _write(path: Path, values: list, units: str, dtype: str = "f8") -> Path:
    with nc.Dataset(path, "w") as d:
        d.createDimension("time", len(values))
        t = d.createVariable("time", dtype, ("time",))
        t.units = units
        t[:] = values
        v = d.createVariable("v", "f4", ("time",))
        v[:] = np.arange(len(values))
    return path


def _stored(paths: list[Path]) -> np.ndarray:
    out = []
    for p in paths:
        with nc.Dataset(p) as d:
            d.set_auto_maskandscale(False)
            out.append(d["time"][:])
    return np.concatenate(out)


def _open(paths: list[Path]) -> xr.Dataset:
    if len(paths) == 1:
        return vzcore.open_virtual_dataset(str(paths[0]))
    return vzcore.open_virtual_mfdataset([str(p) for p in paths], combine="by_coords")


def _expected(paths: list[Path]) -> np.ndarray:
    with xr.open_mfdataset([str(p) for p in paths], engine="netcdf4", combine="by_coords") as ds:
        return ds["time"].values


def _read_back(vds: xr.Dataset, zarr_format: int) -> tuple[xr.Variable, np.ndarray]:
    refs = vds.virtualize.to_kerchunk(format="dict", zarr_format=zarr_format)
    mapper = fsspec.filesystem("reference", fo=refs).get_mapper("")
    kw = {"engine": "zarr", "zarr_format": zarr_format, "consolidated": False}
    with xr.open_dataset(mapper, decode_cf=False, **kw) as raw:
        raw_time = raw["time"].variable.load()
    with xr.open_dataset(mapper, **kw) as decoded:
        return raw_time, decoded["time"].values


@pytest.fixture(autouse=True)
def _fresh_registry():
    _raw_values.clear()
    yield
    _raw_values.clear()


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize(
    ("files", "units", "dtype"),
    [
        ([FLOAT_SECONDS], "seconds since 2000-01-01", "f8"),
        (
            [FLOAT_SECONDS, [3.37543299999999996, 4.7, 5.000000001]],
            "seconds since 2000-01-01",
            "f8",
        ),
        ([[0, 6, 12], [18, 24, 30]], "hours since 1990-01-01 06:00", "i4"),
    ],
    ids=["one-file-float-seconds", "two-files-float-seconds", "int-hours"],
)
def test_unchanged_encoding_writes_the_stored_values(tmp_path, files, units, dtype, zarr_format):
    paths = [_write(tmp_path / f"f{i}.nc", v, units, dtype) for i, v in enumerate(files)]
    raw, decoded = _read_back(_open(paths), zarr_format)
    stored = _stored(paths)
    assert raw.dtype == stored.dtype
    assert raw.values.tobytes() == stored.tobytes()  # bit for bit
    assert raw.attrs["units"] == units
    np.testing.assert_array_equal(decoded, _expected(paths))


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_units_that_differ_per_file_are_encoded_exactly(tmp_path, zarr_format):
    paths = [
        _write(tmp_path / "a.nc", [0.5, 1.25, 1.9], "days since 2000-01-01"),
        # nanoseconds 20 years later: float days cannot hold them
        _write(tmp_path / "b.nc", [1, 7, 13], "nanoseconds since 2020-01-03", "i8"),
    ]
    expected = _expected(paths)
    raw, decoded = _read_back(_open(paths), zarr_format)
    np.testing.assert_array_equal(decoded, expected)
    assert raw.dtype == np.dtype("int64")
    back = xr.conventions.decode_cf_variable("time", raw)
    np.testing.assert_array_equal(back.values, expected)  # encode(decode(x)) == x


def test_units_that_differ_keep_float_units_when_exact(tmp_path):
    paths = [
        _write(tmp_path / "a.nc", FLOAT_SECONDS, "seconds since 2000-01-01"),
        _write(tmp_path / "b.nc", [1, 2, 3], "hours since 2000-01-01 12:00", "i4"),
    ]
    raw, decoded = _read_back(_open(paths), 2)
    np.testing.assert_array_equal(decoded, _expected(paths))
    assert raw.attrs["units"] == "seconds since 2000-01-01"
    assert raw.dtype == np.dtype("f8")


def test_changed_values_are_encoded_not_replaced_by_stale_stored_ones(tmp_path):
    path = _write(tmp_path / "a.nc", FLOAT_SECONDS, "seconds since 2000-01-01")
    vds = _open([path])
    shifted = vds.assign_coords(time=vds["time"].values + np.timedelta64(1, "s"))
    shifted["time"].encoding = dict(vds["time"].encoding)
    raw, decoded = _read_back(shifted, 2)
    np.testing.assert_array_equal(decoded, _expected([path]) + np.timedelta64(1, "s"))
    assert raw.values.tobytes() != _stored([path]).tobytes()


def test_remembered_values_are_bounded(monkeypatch):
    monkeypatch.setattr(_raw_values, "MAX_BYTES", 4096)
    enc = {"units": "seconds since 2000-01-01"}
    for i in range(100):
        x = np.arange(10.0) + i
        _raw_values.remember_raw(f"t{i}", enc, x, x.astype("M8[s]"))
    assert _raw_values._total <= 4096
    x = np.arange(10.0) + 99
    assert _raw_values.raw_values_for("t99", enc, x.astype("M8[s]")) is not None
    assert _raw_values.raw_values_for("t0", enc, np.arange(10.0).astype("M8[s]")) is None


def _icechunk_time(vds: xr.Dataset, paths: list[Path], where: Path) -> xr.Variable:
    store = icechunk_store(vds, where, sources=[f"file://{p}" for p in paths])
    with xr.open_zarr(store, consolidated=False, decode_cf=False) as raw:
        return raw["time"].variable.load()


# pandas 3 deprecates the engine fsspec reads Parquet references with (not ours to fix)
@pytest.mark.filterwarnings("ignore:The 'fastparquet' engine is deprecated:DeprecationWarning")
@pytest.mark.parametrize("writer", ["parquet", "icechunk"])
def test_other_writers_write_the_stored_values(tmp_path, writer):
    files = [FLOAT_SECONDS, [3.37543299999999996, 4.7, 5.000000001]]
    paths = [
        _write(tmp_path / f"f{i}.nc", v, "seconds since 2000-01-01") for i, v in enumerate(files)
    ]
    vds = _open(paths)
    if writer == "parquet":
        pytest.importorskip("vz_parquet")
        out = tmp_path / "refs.parq"
        vds.virtualize.to_kerchunk(str(out), format="parquet")
        fs = fsspec.filesystem("reference", fo=str(out), remote_protocol="file")
        with xr.open_dataset(fs.get_mapper(""), engine="zarr", decode_cf=False) as raw:
            time = raw["time"].variable.load()
    else:
        time = _icechunk_time(vds, paths, tmp_path / "repo")
    assert time.values.tobytes() == _stored(paths).tobytes()


def test_stored_values_travel_from_worker_processes(tmp_path):
    files = [FLOAT_SECONDS, [3.37543299999999996, 4.7, 5.000000001]]
    paths = [
        _write(tmp_path / f"f{i}.nc", v, "seconds since 2000-01-01") for i, v in enumerate(files)
    ]
    vds = vzcore.open_virtual_mfdataset(
        [str(p) for p in paths], combine="by_coords", parallel="processes"
    )
    raw, decoded = _read_back(vds, 2)
    assert raw.values.tobytes() == _stored(paths).tobytes()
    np.testing.assert_array_equal(decoded, _expected(paths))


def test_cftime_coordinates_write_the_stored_values(tmp_path):
    pytest.importorskip("cftime")
    path = tmp_path / "noleap.nc"
    values = [0.37543299999999996, 1.1, 700000.123456789]
    with nc.Dataset(path, "w") as d:
        d.createDimension("time", 3)
        t = d.createVariable("time", "f8", ("time",))
        t.units = "days since 0001-01-01"
        t.calendar = "noleap"
        t[:] = values
    vds = _open([path])
    assert vds["time"].dtype == object  # cftime dates
    raw, decoded = _read_back(vds, 2)
    assert raw.values.tolist() == values
    assert raw.attrs["calendar"] == "noleap"
    with xr.open_dataset(path, engine="netcdf4") as want:
        assert decoded.tolist() == want["time"].values.tolist()


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_fill_value_and_missing_value_that_xarray_cannot_encode(tmp_path, zarr_format):
    """A coordinate with ``_FillValue`` NaN beside ``missing_value`` -9999 (ARM's files).

    xarray decodes such a variable but refuses to encode it again ("conflicting _FillValue
    and missing_value"); its stored values are known, so they are written back with both
    attributes, and the output decodes like the original.
    """
    path = tmp_path / "arm.nc"
    with nc.Dataset(path, "w") as d:
        d.createDimension("wnum", 4)
        w = d.createVariable("wnum", "f4", ("wnum",), fill_value=np.float32("nan"))
        w.missing_value = np.float32(-9999.0)
        w.units = "cm^-1"
        w[:] = [520.25, -9999.0, 521.5, np.nan]
        d.createVariable("v", "f4", ("wnum",))[:] = np.arange(4)
    vds = vzcore.open_virtual_dataset(str(path))
    refs = vds.virtualize.to_kerchunk(format="dict", zarr_format=zarr_format)
    mapper = fsspec.filesystem("reference", fo=refs).get_mapper("")
    kw = {"engine": "zarr", "zarr_format": zarr_format, "consolidated": False}
    with xr.open_dataset(mapper, decode_cf=False, **kw) as raw:
        np.testing.assert_array_equal(raw["wnum"].values, [520.25, -9999.0, 521.5, np.nan])
        assert raw["wnum"].attrs["missing_value"] == -9999.0
    with xr.open_dataset(mapper, **kw) as got, xr.open_dataset(path, engine="netcdf4") as want:
        xr.testing.assert_identical(got["wnum"].reset_coords(drop=True), want["wnum"])
        np.testing.assert_array_equal(got["wnum"].values, want["wnum"].values)
