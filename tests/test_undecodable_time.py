"""A time coordinate that xarray cannot decode either: CFDecodeError, and its remedy works.

cf-python's ``test_file.cfa`` holds a float32 ``time`` of unwritten values (netCDF's default
fill 9.97e36, no ``_FillValue`` attribute) in 'days since 2000-01-01': xarray's netcdf4 and
h5netcdf engines both fail to decode it, so opening it with the defaults (time loaded and
decoded) fails the same way, with a vzcore error naming the variable and the remedy.
"""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

import vzcore
from vzcore.errors import CFDecodeError


def test_undecodable_time_as_xarray(tmp_path: Path) -> None:
    path = tmp_path / "unwritten_time.nc"
    with netCDF4.Dataset(path, "w") as d:
        d.createDimension("time", 3)
        t = d.createVariable("time", "f4", ("time",), fill_value=False)
        t.units = "days since 2000-01-01"
        t[:] = np.full(3, netCDF4.default_fillvals["f4"], "f4")
    for engine in ("netcdf4", "h5netcdf"):
        with pytest.raises(ValueError, match="unable to decode time units"):
            xr.open_dataset(path, engine=engine)
    with pytest.raises(CFDecodeError, match=r"'time'.*decode_times=False"):
        vzcore.open_virtual_dataset(str(path))
    ds = vzcore.open_virtual_dataset(str(path), decode_times=False)
    with xr.open_dataset(path, engine="netcdf4", decode_times=False) as original:
        np.testing.assert_array_equal(ds["time"].values, original["time"].values)
        assert ds["time"].dtype == original["time"].dtype
