"""A small archive of netCDF4 files for tests: what the headline workflow virtualizes.

Shared by vzcore's tests and by writer and reader plugins' tests, so that every output is
checked against the same originals. Needs xarray, pandas and netCDF4 when called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_sample_files"]


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
