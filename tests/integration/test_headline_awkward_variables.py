"""The headline workflow over files with the variables CF files often carry beside their data.

A scalar grid-mapping variable (``crs``), variable-length strings and a compound type without
the time dimension, a char array and a big-endian variable: with xarray's combine defaults
(``data_vars="all"``) xarray broadcasts the variables without time along it, reads the first
element of every object array it chunks (to look for cftime dates), and casts each variable
to a common dtype (big-endian to native, compound types to their packed form). Each used to
break the verbatim workflow; the result must equal ``xr.open_mfdataset(engine="netcdf4")``.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import vzcore
from vzcore.errors import VirtualArrayValuesError

netCDF4 = pytest.importorskip("netCDF4")  # noqa: N816  # the module's name
pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
fsspec = pytest.importorskip("fsspec")

_PAIR = np.dtype([("a", "f4"), ("b", "i2")])


def _time_axis(ds, units: str, values: np.ndarray, **sizes: int) -> None:
    """An unlimited CF time axis and the other dimensions of a file being written."""
    ds.createDimension("time", None)
    for name, size in sizes.items():
        ds.createDimension(name, size)
    t = ds.createVariable("time", values.dtype, ("time",))
    t.units = units
    t[:] = values


def _write(path, i: int) -> None:
    rng = np.random.default_rng(i)
    with netCDF4.Dataset(path, "w") as ds:
        _time_axis(ds, "days since 2000-01-01", np.arange(4.0) + 4 * i, y=3, nchar=4)
        v = ds.createVariable("v", "f4", ("time", "y"), chunksizes=(2, 3), zlib=True)
        v.grid_mapping = "crs"
        v[:] = rng.normal(0, 100, (4, 3))
        big = ds.createVariable("big", ">f8", ("time", "y"), endian="big", chunksizes=(2, 3))
        big[:] = rng.normal(0, 1, (4, 3))
        crs = ds.createVariable("crs", "i4")
        crs.grid_mapping_name = "latitude_longitude"
        crs[...] = 0
        ds.createVariable("station", str, ("y",))[:] = np.array(["x", "yy", "zzz"], object)
        c = ds.createVariable("code", "S1", ("time", "nchar"))
        c[:] = netCDF4.stringtochar(np.array([f"c{i}{k}" for k in range(4)], "S4"))
        pair = ds.createCompoundType(_PAIR, "pair_t")
        values = np.zeros(3, _PAIR)
        values["a"], values["b"] = [1.5, 2.5, 3.5], [4, 5, 6]
        ds.createVariable("pair", pair, ("y",))[:] = values


def _equal(got: xr.DataArray, expected: xr.DataArray) -> None:
    a, b = got.values, expected.values
    assert a.shape == b.shape, got.name
    if a.dtype.names is not None:  # zarr spells the padding as a field: compare the fields
        for field in b.dtype.names:
            np.testing.assert_array_equal(a[field], b[field], err_msg=str(got.name))
    elif a.dtype.kind in "OTU" or b.dtype.kind in "OTU":
        assert a.tolist() == b.tolist(), got.name
    else:
        assert a.dtype.newbyteorder("=") == b.dtype.newbyteorder("="), got.name
        np.testing.assert_array_equal(a, b, err_msg=str(got.name))


@pytest.mark.filterwarnings("ignore:In a future version of xarray:FutureWarning")
@pytest.mark.parametrize("new_defaults", [False, True], ids=["xarray-defaults", "new-defaults"])
def test_workflow_with_scalars_strings_chars_big_endian_and_compounds(tmp_path, new_defaults):
    paths = [tmp_path / f"f{i}.nc" for i in range(2)]
    for i, path in enumerate(paths):
        _write(path, i)
    out = str(tmp_path / "combined.json")
    with xr.set_options(use_new_combine_kwarg_defaults=new_defaults):
        virtual_ds = xr.open_mfdataset(
            str(tmp_path / "f*.nc"), engine="virtualizarr", combine="by_coords"
        )
        virtual_ds.virtualize.to_kerchunk(out, format="json")
        fs = fsspec.filesystem("reference", fo=out)
        ds = xr.open_dataset(fs.get_mapper(""), engine="kerchunk", chunks={}).load()
        expected = xr.open_mfdataset(paths, engine="netcdf4", combine="by_coords").load()
    assert set(ds.variables) == set(expected.variables)
    for name in expected.variables:
        assert ds[name].dims == expected[name].dims, name
        _equal(ds[name], expected[name])
    # the big-endian and compound variables stayed references (HDF5 keeps variable-length
    # strings in its global heap: vz-hdf5 always inlines those)
    refs = fsspec.filesystem("reference", fo=out).references
    for name in ("big", "pair"):
        chunks = [v for k, v in refs.items() if k.startswith(f"{name}/") and "/." not in k]
        assert chunks, name
        assert all(isinstance(v, list) for v in chunks), name


def test_scalars_are_loaded_by_default_and_virtual_on_request(tmp_path):
    path = tmp_path / "f0.nc"
    _write(path, 0)
    vds = vzcore.open_virtual_dataset(str(path))
    assert isinstance(vds["crs"].data, np.ndarray)
    assert int(vds["crs"]) == 0
    virtual = vzcore.open_virtual_dataset(str(path), loadable_variables=["time"])
    assert not isinstance(virtual["crs"].data, np.ndarray)


def test_an_element_of_a_virtual_string_array_is_read_from_its_chunk(tmp_path):
    path = tmp_path / "f0.nc"
    _write(path, 0)
    station = vzcore.open_virtual_dataset(str(path))["station"].variable._data
    assert station[2].item() == "zzz"
    assert station[-3, ...].item() == "x"
    with pytest.raises(IndexError, match="out of bounds"):
        station[3]
    with pytest.raises(IndexError, match="whole chunks"):
        station[1:2]  # anything but one element stays chunk-aligned selection


def _curvilinear(path, i: int) -> None:
    with netCDF4.Dataset(path, "w") as ds:
        _time_axis(ds, "hours since 2000-01-01", np.arange(2, dtype="i4") + 2 * i, y=3, x=4)
        for name, scale in (("lat", 1), ("lon", 2)):
            ds.createVariable(name, "f4", ("y", "x"))[:] = np.arange(12).reshape(3, 4) * scale
        sst = ds.createVariable("sst", "f4", ("time", "y", "x"), fill_value=np.float32(1e20))
        sst.coordinates = "lat lon"
        sst[:] = np.full((2, 3, 4), i, "f4")


@pytest.mark.filterwarnings("ignore:In a future version of xarray:FutureWarning")
def test_two_dimensional_coordinates_under_xarrays_combine_defaults(tmp_path):
    # xarray's current default coords="different" compares lat/lon between files, which
    # needs their values: the error says so and both remedies it names work; xarray's
    # coming defaults (coords="minimal") need nothing.
    paths = [tmp_path / f"c{i}.nc" for i in range(2)]
    for i, path in enumerate(paths):
        _curvilinear(path, i)
    with pytest.raises(VirtualArrayValuesError, match="coords='minimal', compat='override'"):
        xr.open_mfdataset(paths, engine="virtualizarr", combine="by_coords")
    expected = xr.open_mfdataset(paths, engine="netcdf4", combine="by_coords").load()
    remedies = [
        ({"coords": "minimal", "compat": "override"}, False),
        ({"loadable_variables": ["time", "lat", "lon"]}, False),
        ({}, True),
    ]
    for k, (options, new_defaults) in enumerate(remedies):
        out = str(tmp_path / f"c{k}.json")
        with xr.set_options(use_new_combine_kwarg_defaults=new_defaults):
            vds = xr.open_mfdataset(paths, engine="virtualizarr", combine="by_coords", **options)
            vds.virtualize.to_kerchunk(out, format="json")
        mapper = fsspec.filesystem("reference", fo=out).get_mapper("")
        got = xr.open_dataset(mapper, engine="kerchunk").load()
        xr.testing.assert_identical(got, expected)
