"""A subgroup redefining a dimension with another length: a named error, and a remedy that works."""

from __future__ import annotations

from pathlib import Path

import fsspec
import netCDF4
import numpy as np
import pytest
import xarray as xr

import vzcore
from vzcore.errors import UnsupportedFeatureError


def _write(path: Path) -> None:
    with netCDF4.Dataset(path, "w") as d:
        d.createDimension("y", 5)
        d.createVariable("a", "f8", ("y",))[:] = np.arange(5.0)
        sub = d.createGroup("subgroup")
        sub.createDimension("y", 10)
        sub.createVariable("b", "i4", ("y",))[:] = np.arange(10)


def test_unaligned_subgroup_is_named(tmp_path: Path) -> None:
    path = tmp_path / "unaligned.nc"
    _write(path)
    with pytest.raises(ValueError, match="not aligned"):  # xarray cannot build it either
        xr.open_datatree(path, engine="h5netcdf")
    with pytest.raises(UnsupportedFeatureError) as info:
        vzcore.open_virtual_datatree(str(path), loadable_variables=[])
    message = str(info.value)
    for part in ("'/subgroup'", "'y'", "length 10", "length 5", str(path), "group='/subgroup'"):
        assert part in message
    # the remedy: the group alone
    ds = vzcore.open_virtual_dataset(str(path), group="/subgroup", loadable_variables=[])
    refs = ds.virtualize.to_kerchunk(format="dict")
    store = fsspec.filesystem("reference", fo=refs).get_mapper("")
    out = xr.open_dataset(store, engine="zarr", zarr_format=2, consolidated=False)
    with xr.open_dataset(path, engine="netcdf4", group="/subgroup") as original:
        xr.testing.assert_identical(out.load(), original.load())
