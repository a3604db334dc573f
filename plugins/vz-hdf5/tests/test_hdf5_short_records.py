"""Variables shorter than their unlimited dimension: the missing records read as netCDF-C does.

netCDF-C gives an unlimited dimension the length of its longest variable and reads the
records a shorter variable lacks as its fill value (netCDF4-python record by record,
xarray's h5netcdf engine); a read spanning the dataset's end returns uninitialised memory
for part of them in netCDF-C 4.9, so whole-array netCDF4 reads are not the reference.
"""

from __future__ import annotations

from pathlib import Path

import fsspec
import netCDF4
import numpy as np
import pytest
import vzcore
import xarray as xr
from vzcore.errors import UnsupportedFeatureError


def _write(path: Path, *, fill: bool, chunk: int) -> None:
    with netCDF4.Dataset(path, "w") as d:
        if not fill:
            d.set_fill_off()
        d.createDimension("time", None)
        d.createDimension("x", 2)
        short = d.createVariable(
            "short", "i4", ("time", "x"), chunksizes=(chunk, 1), fill_value=-7 if fill else None
        )
        full = d.createVariable("full", "f8", ("time",), chunksizes=(4,))
        short[0:3] = [[1, 2], [3, 4], [5, 6]]
        full[0:10] = np.arange(10.0)


def _output(path: Path, **kwargs: object) -> xr.Dataset:
    ds = vzcore.open_virtual_dataset(str(path), loadable_variables=[], **kwargs)
    refs = ds.virtualize.to_kerchunk(format="dict")
    store = fsspec.filesystem("reference", fo=refs).get_mapper("")
    return xr.open_dataset(store, engine="zarr", zarr_format=2, consolidated=False)


@pytest.mark.parametrize("chunk", [1, 2, 4], ids=["chunk1", "chunk2", "straddling-chunk4"])
def test_short_variable_reads_fill_value_as_netcdf_c(tmp_path: Path, chunk: int) -> None:
    path = tmp_path / "short.nc"
    _write(path, fill=True, chunk=chunk)
    with netCDF4.Dataset(path) as d:
        d.set_auto_maskandscale(False)
        records = np.stack([d["short"][i] for i in range(d.dimensions["time"].size)])
    assert records.shape == (10, 2)
    assert (records[3:] == -7).all()
    ds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    refs = ds.virtualize.to_kerchunk(format="dict")
    store = fsspec.filesystem("reference", fo=refs).get_mapper("")
    raw = xr.open_dataset(
        store, engine="zarr", zarr_format=2, consolidated=False, mask_and_scale=False
    )
    np.testing.assert_array_equal(raw["short"].values, records)
    assert raw["short"].dtype == records.dtype
    decoded = xr.open_dataset(store, engine="zarr", zarr_format=2, consolidated=False)
    with xr.open_dataset(path, engine="h5netcdf") as reference:
        np.testing.assert_array_equal(decoded["short"].values, reference["short"].values)
        assert decoded["short"].dtype == reference["short"].dtype
        np.testing.assert_array_equal(decoded["full"].values, reference["full"].values)


def test_short_variable_written_without_fill_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nofill.nc"
    _write(path, fill=False, chunk=4)
    with pytest.raises(UnsupportedFeatureError, match=r"'/short'.*written without fill values"):
        vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    # the remedy the message gives works, and the other variable is exact
    ds = _output(path, drop_variables=["short"])
    assert "short" not in ds
    np.testing.assert_array_equal(ds["full"].values, np.arange(10.0))
