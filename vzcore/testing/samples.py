"""Small sample files for tests, written by each format's reference library.

Shared by vzcore's tests and by reader and writer plugins' tests (third parties' too), so
that every output is checked against the same originals:

- :func:`write_sample_files`: an archive of netCDF4 files split along time, what the
  headline workflow virtualizes (needs xarray, pandas and netCDF4);
- :func:`hdf5_sample`, :func:`netcdf4_sample`, :func:`netcdf3_sample` and
  :func:`tiff_sample`: one small file of each format with its awkward parts (missing
  chunks, partial edge chunks, record variables, nested groups, byte orders, strings), and
  its values **as the reference library reads them back from the file** (h5py, netCDF4,
  scipy, tifffile), never typed in by hand. They are what the
  :class:`~vzcore.testing.ReaderTests` ``sample`` fixture returns;
- :data:`MINIMAL` and :data:`COMBINE`: the xarray combine options the archive is combined
  with, and :func:`open_originals`, the archive as xarray's netCDF4 engine combines it (the
  expected result of a virtual combine).

Each format library is imported only when its function is called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

__all__ = [
    "COMBINE",
    "MINIMAL",
    "Sample",
    "hdf5_sample",
    "netcdf3_sample",
    "netcdf4_sample",
    "open_originals",
    "tiff_sample",
    "write_sample_files",
]

Sample = tuple[Path, dict[str, np.ndarray]]
"""A file and ``{variable path: values}`` as the format's reference library reads them."""

MINIMAL: dict[str, str] = {"data_vars": "minimal", "coords": "minimal", "compat": "override"}
"""xarray's combine options that concatenate only what has the dimension, compare nothing."""

COMBINE: dict[str, str] = {**MINIMAL, "combine_attrs": "drop_conflicts"}
""":data:`MINIMAL` with per-file attributes that differ dropped (vzcore's default)."""


def open_originals(paths: Any, **options: Any) -> Any:
    """Return ``paths`` combined by xarray's netCDF4 engine with :data:`MINIMAL`, loaded.

    ``options`` go to ``xarray.open_mfdataset`` (``combine``, ``concat_dim``,
    ``combine_attrs``, ...) and override :data:`MINIMAL`. The files are closed again.
    """
    import xarray as xr

    with xr.open_mfdataset(paths, engine="netcdf4", **{**MINIMAL, **options}) as ds:
        return ds.load()


def write_sample_files(
    directory: Path, n_files: int = 10, steps: int = 4, per_file_units: bool = False
) -> list[Path]:
    """Write ``n_files`` netCDF4 files split along time, like an archive of daily files.

    Each holds a float32 variable with ``_FillValue`` and NaNs (zlib + shuffle, chunked), an
    int32 variable without ``_FillValue`` full of zeros, a CF-packed int16, a static
    variable without time, and a CF time axis (``days since`` the first day of the file
    when ``per_file_units``).
    """
    import pandas as pd
    import xarray as xr

    rng = np.random.default_rng(42)
    lat = np.linspace(-60, 60, 6)
    lon = np.linspace(0, 350, 8)
    elevation = rng.normal(500, 200, (6, 8))
    paths = []
    for i in range(n_files):
        times = pd.date_range("2000-01-01", periods=n_files * steps, freq="D")[
            i * steps : (i + 1) * steps
        ]
        temp = rng.normal(280, 10, (steps, 6, 8)).astype("f4")
        temp[0, 0, :3] = np.nan
        counts = rng.integers(0, 3, (steps, 6, 8)).astype("i4")
        counts[:, 0, 0] = 0
        packed = rng.normal(10, 3, (steps, 6, 8))
        ds = xr.Dataset(
            {
                "temp": (("time", "lat", "lon"), temp, {"units": "K", "long_name": "temperature"}),
                "counts": (("time", "lat", "lon"), counts, {"long_name": "observations"}),
                "wind": (("time", "lat", "lon"), packed, {"units": "m s-1"}),
                "elevation": (("lat", "lon"), elevation, {"units": "m"}),
            },
            coords={
                "time": times,
                "lat": ("lat", lat, {"units": "degrees_north"}),
                "lon": ("lon", lon, {"units": "degrees_east"}),
            },
            attrs={"title": "vzcore sample", "source_file": i},
        )
        units = f"days since {times[0]:%Y-%m-%d}" if per_file_units else "days since 2000-01-01"
        encoding: dict[str, dict[str, Any]] = {
            "temp": {
                "zlib": True,
                "shuffle": True,
                "complevel": 4,
                "chunksizes": (2, 3, 4),
                "_FillValue": np.float32(-9999.0),
            },
            "counts": {"chunksizes": (steps, 6, 8), "_FillValue": None},
            "wind": {
                "dtype": "i2",
                "scale_factor": 0.01,
                "add_offset": 10.0,
                "_FillValue": np.int16(-32767),
                "zlib": True,
            },
            "elevation": {"contiguous": True, "_FillValue": None},
            "time": {"units": units, "calendar": "proleptic_gregorian", "dtype": "i4"},
        }
        path = directory / f"sample_{i:03d}.nc"
        ds.to_netcdf(path, engine="netcdf4", format="NETCDF4", encoding=encoding)
        paths.append(path)
    return paths


def hdf5_sample(directory: Path, name: str = "sample.h5") -> Sample:
    """Write an HDF5 file with h5py; return it and its datasets' values as h5py reads them.

    Holds a chunked, shuffled and gzip-compressed float32 array with chunks never written
    (they read as the dataset's fill value) and partial edge chunks, a big-endian
    contiguous int32, a contiguous array with no storage allocated, a scalar, fixed-length
    byte strings, unsigned and 64-bit integers and datasets two groups deep, with
    attributes of several types on the file, groups and datasets.
    """
    import h5py

    path = directory / name
    rng = np.random.default_rng(11)
    with h5py.File(path, "w") as f:
        f.attrs["title"] = "vzcore HDF5 sample"
        f.attrs["version"] = np.int32(2)
        f.attrs["weights"] = np.array([0.5, 1.5], dtype="<f8")
        sparse = f.create_dataset(
            "sparse",
            shape=(9, 10),
            dtype="<f4",
            chunks=(4, 4),
            compression="gzip",
            shuffle=True,
            fillvalue=-1.0,
        )
        sparse[0:4, 0:4] = rng.normal(size=(4, 4)).astype("<f4")
        sparse[4:9, 4:10] = rng.normal(size=(5, 6)).astype("<f4")
        sparse.attrs["units"] = "K"
        f.create_dataset("big_endian", data=np.arange(-3, 5, dtype=">i4"))
        f.create_dataset("unallocated", shape=(6,), dtype="<i2", fillvalue=7)
        f.create_dataset("scalar", data=np.float64(-273.15))
        f.create_dataset("labels", data=np.array([b"one", b"two", b"", b"three"], dtype="S5"))
        f.create_dataset("counts", data=rng.integers(0, 2**40, (5, 3)).astype("<u8"), chunks=(2, 3))
        deep = f.create_group("group").create_group("sub")
        f["group"].attrs["comment"] = "a group"
        deep.create_dataset(
            "deep", data=np.arange(12, dtype="<i8").reshape(3, 4), chunks=(2, 2), compression="gzip"
        )
        deep["deep"].attrs["long_name"] = "two groups down"
    expected: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                expected[name] = np.asarray(obj[()])

        f.visititems(visit)
    return path, expected


def netcdf4_sample(directory: Path, name: str = "sample.nc") -> Sample:
    """Write a netCDF-4 file with netCDF4-python; return it and its raw (unmasked) values.

    Holds an unlimited time axis, a compressed chunked variable with ``_FillValue`` and a
    fill-valued element, a CF-packed int16, a contiguous variable, an integer variable
    without ``_FillValue``, and a subgroup with its own dimension and variable.
    """
    import netCDF4

    path = directory / name
    rng = np.random.default_rng(12)
    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        ds.title = "vzcore netCDF-4 sample"
        ds.createDimension("time", None)
        ds.createDimension("lat", 5)
        ds.createDimension("lon", 7)
        t = ds.createVariable("time", "f8", ("time",))
        t.units = "days since 2000-01-01"
        t[:] = np.arange(4) * 0.5
        ds.createVariable("lat", "f4", ("lat",), contiguous=True)[:] = np.linspace(-40, 40, 5)
        temp = ds.createVariable(
            "temp",
            "f4",
            ("time", "lat", "lon"),
            zlib=True,
            shuffle=True,
            chunksizes=(3, 2, 4),
            fill_value=np.float32(-999.0),
        )
        values = rng.normal(280, 5, (4, 5, 7)).astype("f4")
        values[0, 0, 0] = -999.0
        temp[:] = values
        packed = ds.createVariable("packed", "i2", ("time", "lat"), fill_value=np.int16(-32767))
        packed.scale_factor = np.float32(0.01)
        packed.set_auto_maskandscale(False)
        packed[:] = rng.integers(-3000, 3000, (4, 5)).astype("i2")
        ds.createVariable("zeros", "i4", ("lat",), fill_value=False)[:] = np.zeros(5, "i4")
        sub = ds.createGroup("sub")
        sub.createDimension("n", 3)
        sub.createVariable("inner", "i8", ("n",))[:] = np.array([1, -2, 3])
    expected: dict[str, np.ndarray] = {}
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_maskandscale(False)
        for vname, var in ds.variables.items():
            expected[vname] = np.asarray(var[...])
        for vname, var in ds["sub"].variables.items():
            expected[f"sub/{vname}"] = np.asarray(var[...])
    return path, expected


def netcdf3_sample(
    directory: Path,
    name: str = "sample.nc",
    format: Literal["NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET"] = "NETCDF3_64BIT_OFFSET",
) -> Sample:
    """Write a netCDF classic file with netCDF4-python; return it and scipy's raw values.

    Holds several record variables (interleaved in the file, one of them 1-byte and
    padded), fixed-size variables of each classic type and attributes; scipy returns the
    stored big-endian dtypes, which are what the manifests describe.
    """
    import netCDF4
    from scipy.io import netcdf_file  # type: ignore[import-untyped]  # no stubs installed

    path = directory / name
    rng = np.random.default_rng(13)
    with netCDF4.Dataset(path, "w", format=format) as ds:
        ds.title = "vzcore netCDF classic sample"
        ds.createDimension("time", None)
        ds.createDimension("x", 5)
        ds.createDimension("y", 3)
        ds.createVariable("time", "f8", ("time",))[:] = np.arange(4.0)
        ds.createVariable("x", "f4", ("x",))[:] = np.linspace(0, 1, 5)
        grid = ds.createVariable("grid", "i4", ("y", "x"))
        grid[:] = rng.integers(-(2**31), 2**31 - 1, (3, 5)).astype("i4")
        ds.createVariable("small", "i2", ("x",), fill_value=np.int16(-1))[:] = np.arange(5)
        rec = ds.createVariable("rec", "f4", ("time", "x"), fill_value=np.float32(-999.0))
        rec.units = "K"
        rec[:] = rng.normal(size=(4, 5)).astype("f4")
        ds.createVariable("flag", "i1", ("time",))[:] = np.array([1, -1, 0, 127], "i1")
        ds.createVariable("rec2", "f8", ("time", "y"))[:] = rng.normal(size=(4, 3))
    expected: dict[str, np.ndarray] = {}
    with netcdf_file(path, "r", mmap=False, maskandscale=False) as f:
        for vname, var in f.variables.items():
            expected[vname] = np.array(var.data)
    return path, expected


def tiff_sample(directory: Path, name: str = "sample.tif") -> Sample:
    """Write a tiled, deflate-compressed TIFF with tifffile; return it and tifffile's values.

    40 x 60 int16 in 16 x 16 tiles: the last row and column of tiles are partial.
    """
    import tifffile

    path = directory / name
    data = (np.arange(40 * 60, dtype=np.int16) * 7 - 1000).reshape(40, 60)
    tifffile.imwrite(path, data, tile=(16, 16), compression="zlib", metadata=None)
    return path, {"band_data": np.asarray(tifffile.imread(path))}
