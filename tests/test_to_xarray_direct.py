"""One file's Dataset built directly equals the one ``xr.Dataset(...)`` builds.

``vzcore._to_xarray._dataset`` builds the Dataset of one file with
``Dataset._construct_direct`` instead of the constructor's ``merge_data_and_coords``.
Each case opens a real netCDF4 file both ways (the constructor path forced by making the
direct path's size check fail) and compares everything a user or a later combine sees:
variables and their order, types, values, attributes and encodings, coordinates, indexes
(their type and source), sizes, and the Dataset's attributes and encoding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import pytest
import xarray as xr

import vzcore
import vzcore._to_xarray as to_xarray
from vzcore.manifests import ManifestArray
from vzcore.testing.compare import assert_same_indexes


def constructor_only(*args: Any) -> Any:
    raise ValueError("force xr.Dataset(...)")


def write(path: Path, *, global_attrs: bool = True) -> Path:
    with netCDF4.Dataset(path, "w") as d:
        if global_attrs:
            d.title = "t"
            d.coordinates = "height"
        d.createDimension("time", None)
        d.createDimension("y", 3)
        d.createDimension("x", 4)
        t = d.createVariable("time", "f8", ("time",))
        t.units = "hours since 2000-01-01"
        t.calendar = "standard"
        t[:] = [0, 6]
        d.createVariable("y", "f4", ("y",))[:] = [1, 2, 3]
        d.createVariable("x", "f4", ("x",))[:] = [1, 2, 3, 4]
        lat = d.createVariable("lat", "f4", ("y", "x"))
        lat[:] = np.arange(12).reshape(3, 4)
        lat.units = "degrees_north"
        d.createVariable("height", "f4", ())[:] = 2.0
        air = d.createVariable("air", "f4", ("time", "y", "x"), fill_value=-9.0)
        air.coordinates = "lat"
        air.units = "K"
        air[:] = np.ones((2, 3, 4))
        rh = d.createVariable("rh", "i2", ("time", "y", "x"))
        rh.scale_factor = 0.01
        rh[:] = np.ones((2, 3, 4))
        d.createVariable("flag", "i1", ())[:] = 1
        d.createDimension("w", 2)  # w(w, y): a data variable that xarray makes a coordinate
        d.createVariable("w", "f4", ("w", "y"))[:] = np.ones((2, 3))
    return path


def same_data(x: Any, y: Any) -> None:
    assert type(x) is type(y)
    if isinstance(x, ManifestArray):  # two reads: equal references, not the same object
        assert x.metadata == y.metadata
        assert bool(np.asarray(x == y).all())
    else:
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def same(a: xr.Dataset, b: xr.Dataset) -> None:
    assert list(a.variables) == list(b.variables)
    assert list(a.coords) == list(b.coords)
    assert list(a.data_vars) == list(b.data_vars)
    assert dict(a.sizes) == dict(b.sizes)
    assert list(a.sizes) == list(b.sizes)
    assert a.attrs == b.attrs
    assert a.encoding == b.encoding
    assert_same_indexes(a, b)
    for name, var in a.variables.items():
        other = b.variables[name]
        assert type(var) is type(other), name
        assert type(var._data) is type(other._data), name
        assert var.dims == other.dims, name
        same_data(var.data, other.data)
        assert var.attrs == other.attrs, name
        assert repr(var.encoding) == repr(other.encoding), name


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"loadable_variables": []},
        {"loadable_variables": ["time", "lat", "flag"]},
        {"decode_times": False},
        {"drop_variables": ["x"]},
    ],
    ids=["defaults", "nothing-loaded", "loaded-non-dimension", "no-time-decoding", "dropped"],
)
@pytest.mark.parametrize("global_attrs", [True, False])
def test_direct_dataset_equals_constructor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any], global_attrs: bool
) -> None:
    path = write(tmp_path / "f.nc", global_attrs=global_attrs)
    direct = vzcore.open_virtual_dataset(str(path), **kwargs)
    with monkeypatch.context() as m:
        m.setattr(to_xarray, "calculate_dimensions", constructor_only)
        constructed = vzcore.open_virtual_dataset(str(path), **kwargs)
    same(direct, constructed)
    # a later concatenation sees them alike too
    opts: dict[str, Any] = {
        "data_vars": "minimal",
        "coords": "minimal",
        "compat": "override",
        "join": "override",
    }
    same(
        xr.concat([direct, direct], dim="time", **opts),
        xr.concat([constructed, constructed], dim="time", **opts),
    )


def test_conflicting_sizes_raise_the_constructors_error() -> None:
    data_vars = {"v": xr.Variable(("a",), np.zeros(3))}
    coords = {"w": xr.Variable(("a",), np.zeros(4))}
    with pytest.raises(ValueError, match="conflicting sizes") as expected:
        xr.Dataset(data_vars, coords=xr.Coordinates(coords, indexes={}))
    with pytest.raises(ValueError, match="conflicting sizes") as got:
        to_xarray._dataset(data_vars, coords, set(), {})
    assert str(got.value) == str(expected.value)
