"""Write a virtual dataset in every output format and read it back with the standard clients.

Shared by the end-to-end tests of fully virtual datasets, open options and references plus
new files: each output is reopened the way its users do (fsspec reference mapper + xarray's
zarr engine for kerchunk JSON/Parquet, zarr format 2 and 3; the icechunk package for
Icechunk) and compared, decoded and raw, with the originals read by netCDF4 and xarray's
netcdf4 engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import xarray as xr

from vzcore.testing.outputs import icechunk_store

FORMATS = ("json2", "json3", "parquet", "icechunk")


def write(vds: xr.Dataset | xr.DataTree, fmt: str, where: Path) -> Any:
    """Write ``vds`` as ``fmt`` under ``where``; return what :func:`reopen` needs."""
    if fmt == "json2":
        out = where / "refs2.json"
        vds.virtualize.to_kerchunk(out, format="json")
        return out
    if fmt == "json3":
        out = where / "refs3.json"
        vds.virtualize.to_kerchunk(out, format="json", zarr_format=3)
        return out
    if fmt == "parquet":
        out = where / "refs.parq"
        vds.virtualize.to_kerchunk(out, format="parquet")
        return out
    if fmt == "icechunk":
        return icechunk_store(vds, where / "repo")
    raise ValueError(fmt)


def reopen(fmt: str, written: Any, *, decode: bool = True) -> xr.Dataset:
    """Open what :func:`write` wrote, as users do, and load it."""
    kwargs: dict[str, Any] = {} if decode else {"decode_cf": False}
    if fmt in ("json2", "json3"):
        fs = fsspec.filesystem("reference", fo=str(written))
        zf = 3 if fmt == "json3" else 2
        return xr.open_zarr(fs.get_mapper(""), zarr_format=zf, consolidated=False, **kwargs).load()
    if fmt == "parquet":
        fs = fsspec.filesystem("reference", fo=str(written), remote_protocol="file")
        return xr.open_zarr(fs.get_mapper(""), consolidated=False, **kwargs).load()
    return xr.open_zarr(written, consolidated=False, **kwargs).load()


def raw_netcdf(path: Path | str, name: str) -> np.ndarray:
    """Return a variable's stored values as netCDF4-python reads them (no masking/scaling)."""
    import netCDF4

    with netCDF4.Dataset(path) as nc:
        var = nc.variables[name]
        var.set_auto_maskandscale(False)
        return np.asarray(var[...])


def assert_values_equal(got: xr.Dataset, expected: xr.Dataset, names: Any = None) -> None:
    """Equal values and dtypes, NaN equal to NaN, variable by variable."""
    for name in names if names is not None else expected.variables:
        a, b = got[name], expected[name]
        assert a.dims == b.dims, name
        assert a.dtype == b.dtype, (name, a.dtype, b.dtype)
        if a.dtype.kind in "fc":
            np.testing.assert_array_equal(a.values, b.values, err_msg=str(name))
        else:
            assert np.array_equal(a.values, b.values), name
