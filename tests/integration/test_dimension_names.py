"""netCDF files whose names or record lengths xarray's netcdf4/scipy engines handle specially.

* A variable named like a dimension that is not that dimension's coordinate (MINC: a
  scalar ``zspace`` beside the dimension ``zspace``): xarray's engines cannot open the file
  either, so vzcore raises UnsupportedFeatureError naming the variables and the
  ``drop_variables`` that opens the rest.
* A char coordinate ``spatial(spatial)`` (AMBER): xarray keeps it an array of characters
  (the dimension is not "stackable"); so does vzcore, loaded or written out.
* Record variables of different lengths along an unlimited dimension (netCDF-4): netCDF-C
  reads the missing records as fill values; so do the references.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

netCDF4 = pytest.importorskip("netCDF4")  # noqa: N816  # the module's own name
pytest.importorskip("vz_netcdf3")
pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
fsspec = pytest.importorskip("fsspec")

import vzcore
from vzcore.errors import UnsupportedFeatureError


def _minc(path: Path) -> None:
    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as d:
        d.createDimension("zspace", 3)
        d.createDimension("yspace", 2)
        z = d.createVariable("zspace", "f8", ())
        z.assignValue(0.0)
        z.step = 1.5
        y = d.createVariable("yspace", "f8", ())
        y.assignValue(1.0)
        im = d.createVariable("image", "f4", ("zspace", "yspace"))
        im[:] = np.arange(6).reshape(3, 2)


def _amber(path: Path) -> None:
    with netCDF4.Dataset(path, "w", format="NETCDF3_64BIT_OFFSET") as d:
        d.createDimension("frame", None)
        d.createDimension("spatial", 3)
        d.createDimension("atom", 4)
        d.createDimension("label", 5)
        s = d.createVariable("spatial", "S1", ("spatial",))
        s[:] = np.array([b"x", b"y", b"z"])
        names = d.createVariable("names", "S1", ("atom", "label"))  # stackable: strings
        names[:] = netCDF4.stringtochar(np.array(["C", "H1", "O", "N22"], "S5"))
        c = d.createVariable("coordinates", "f4", ("frame", "atom", "spatial"))
        c[0:2] = np.arange(24).reshape(2, 4, 3)
        t = d.createVariable("time", "f4", ("frame",))
        t[0:2] = [1.0, 2.0]


def _short_records(path: Path) -> None:
    with netCDF4.Dataset(path, "w") as d:
        d.createDimension("time", None)
        t = d.createVariable("time", "f8", ("time",))
        t[0:3] = [0.0, 1.0, 2.0]
        a = d.createVariable("a", "f4", ("time",))
        a[0:3] = [1, 2, 3]
        b = d.createVariable("b", "i4", ("time",))
        b[0:1] = [7]
        c = d.createVariable("c", "f8", ("time",), fill_value=-1.0)
        c[0:2] = [5.0, 6.0]


def _refs_dataset(vds: xr.Dataset, zarr_format: int) -> xr.Dataset:
    refs = vds.virtualize.to_kerchunk(format="dict", zarr_format=zarr_format)
    mapper = fsspec.filesystem("reference", fo=refs).get_mapper("")
    return xr.open_dataset(mapper, engine="zarr", zarr_format=zarr_format, consolidated=False)


def _assert_same(got: xr.Dataset, want: xr.Dataset, *, values: bool = True) -> None:
    assert dict(got.sizes) == dict(want.sizes)
    assert set(got.variables) == set(want.variables)
    assert set(got.coords) == set(want.coords)
    for name, var in want.variables.items():
        assert got[name].dims == var.dims, name
        if values or isinstance(got[name].variable._data, np.ndarray):
            np.testing.assert_array_equal(got[name].values, var.values, err_msg=name)


def test_variable_named_like_a_dimension_raises_naming_the_remedy(tmp_path):
    path = tmp_path / "minc.nc"
    _minc(path)
    for engine in ("netcdf4", "scipy"):  # xarray's engines refuse the file too
        with pytest.raises(ValueError, match="already exists as a scalar variable"):
            xr.open_dataset(path, engine=engine)
    with pytest.raises(UnsupportedFeatureError, match="named like dimensions") as info:
        vzcore.open_virtual_dataset(str(path))
    assert info.value.variable == "zspace"
    assert "drop_variables=['zspace', 'yspace']" in str(info.value)
    vds = vzcore.open_virtual_dataset(str(path), drop_variables=["zspace", "yspace"])
    with xr.open_dataset(path, engine="netcdf4", drop_variables=["zspace", "yspace"]) as want:
        for zarr_format in (2, 3):
            _assert_same(_refs_dataset(vds, zarr_format), want.load())


def _written_and_read(path, write, engine):
    """Write the file with ``write(path)``; return it as xarray's ``engine`` reads it."""
    write(path)
    with xr.open_dataset(path, engine=engine) as want:
        return want.load()


@pytest.mark.parametrize("engine", ["netcdf4", "scipy"])
def test_char_coordinate_stays_characters(tmp_path, engine):
    path = tmp_path / "amber.nc"
    want = _written_and_read(path, _amber, engine)
    assert want["spatial"].dims == ("spatial",)
    vds = vzcore.open_virtual_dataset(str(path))
    _assert_same(vds, want, values=False)  # the loaded coordinate's values too
    assert vds["spatial"].values.tolist() == [b"x", b"y", b"z"]
    for zarr_format in (2, 3):
        _assert_same(_refs_dataset(vds, zarr_format), want)


def test_short_record_variables_read_as_netcdf_c_reads_them(tmp_path):
    path = tmp_path / "records.nc"
    _short_records(path)
    with xr.open_dataset(path, engine="netcdf4") as want:
        want = want.load()
    with xr.open_dataset(path, engine="netcdf4", decode_cf=False) as raw:
        raw = raw.load()
    assert raw["b"].values.tolist() == [7, -2147483647, -2147483647]
    vds = vzcore.open_virtual_dataset(str(path))
    assert vds.sizes["time"] == 3
    for zarr_format in (2, 3):
        _assert_same(_refs_dataset(vds, zarr_format), want)
        refs = vds.virtualize.to_kerchunk(format="dict", zarr_format=zarr_format)
        mapper = fsspec.filesystem("reference", fo=refs).get_mapper("")
        got_raw = xr.open_dataset(
            mapper,
            engine="zarr",
            zarr_format=zarr_format,
            consolidated=False,
            decode_cf=False,
            mask_and_scale=False,
        )
        for name in ("a", "b", "c"):
            np.testing.assert_array_equal(got_raw[name].values, raw[name].values, err_msg=name)


def _named_like_dims(path: Path) -> None:
    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as d:
        d.createDimension("x", 2)
        d.createDimension("y", 3)
        d.createDimension("z", 3)
        x = d.createVariable("x", "f4", ("x", "y"))  # 2-D, named like its first dimension
        x[:] = np.arange(6).reshape(2, 3)
        z = d.createVariable("z", "i2", ("y",))  # 1-D over another dimension
        z[:] = [4, 5, 6]
        w = d.createVariable("w", "f8", ("z",))
        w[:] = [0.5, 1.5, 2.5]


@pytest.mark.parametrize("engine", ["netcdf4", "scipy"])
def test_non_scalar_variables_named_like_dimensions_open_as_xarray_opens_them(tmp_path, engine):
    path = tmp_path / "named.nc"
    want = _written_and_read(path, _named_like_dims, engine)
    vds = vzcore.open_virtual_dataset(str(path))
    _assert_same(vds, want, values=False)
    for zarr_format in (2, 3):
        _assert_same(_refs_dataset(vds, zarr_format), want)
