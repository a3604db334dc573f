"""vzcore demo: sample netCDF4 files -> one virtual dataset -> combined.json -> plain xarray.

Run with ``./dev demo`` (or ``python examples/demo.py [output-dir]`` in a set-up environment).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import xarray as xr

import vzcore


def write_sample_files(directory: Path, n_files: int = 12, steps: int = 5) -> list[Path]:
    """Write daily netCDF4 files with chunked, compressed, CF-encoded variables."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    lat, lon = np.linspace(-80, 80, 18), np.linspace(0, 355, 72)
    paths = []
    for i in range(n_files):
        times = pd.date_range("2024-01-01", periods=steps, freq="D") + pd.Timedelta(days=i * steps)
        temp = (15 + 10 * rng.standard_normal((steps, lat.size, lon.size))).astype("f4")
        temp[:, :2, :] = np.nan  # polar gaps
        rain = rng.integers(0, 4, (steps, lat.size, lon.size)).astype("i4")
        ds = xr.Dataset(
            {
                "temperature": (("time", "lat", "lon"), temp, {"units": "degC"}),
                "rain_days": (("time", "lat", "lon"), rain, {"units": "1"}),
                "land_mask": (
                    ("lat", "lon"),
                    (rng.random((lat.size, lon.size)) > 0.7).astype("i1"),
                ),
            },
            coords={"time": times, "lat": lat, "lon": lon},
            attrs={"title": "vzcore demo archive"},
        )
        path = directory / f"demo_{i:02d}.nc"
        ds.to_netcdf(
            path,
            engine="netcdf4",
            encoding={
                "temperature": {
                    "zlib": True,
                    "shuffle": True,
                    "chunksizes": (1, 18, 36),
                    "_FillValue": np.float32(-999),
                },
                "rain_days": {"zlib": True, "chunksizes": (steps, 9, 72), "_FillValue": None},
                # Each file counts days from its own start: vzcore re-encodes one time axis.
                "time": {"units": f"days since {times[0]:%Y-%m-%d}", "dtype": "i4"},
            },
        )
        paths.append(path)
    return paths


def main(out_dir: str = "demo-output") -> int:
    """Run the demo and return a process exit code."""
    out = Path(out_dir).resolve()
    files = write_sample_files(out / "files")
    print(f"wrote {len(files)} sample netCDF4 files to {out / 'files'}")
    print(
        "installed plugins:",
        ", ".join(f"{p.distribution} {p.version}" for p in vzcore.list_plugins()),
    )

    start = time.perf_counter()
    virtual_ds = xr.open_mfdataset(
        str(out / "files" / "demo_*.nc"),
        engine="virtualizarr",
        combine="by_coords",
        data_vars="minimal",
        coords="minimal",
        compat="override",
    )
    combined = out / "combined.json"
    virtual_ds.virtualize.to_kerchunk(str(combined), format="json", mode="w")
    elapsed = time.perf_counter() - start
    print(
        f"virtualized and wrote {combined} ({combined.stat().st_size:,} bytes) in {elapsed:.2f} s"
    )

    fs = fsspec.filesystem("reference", fo=str(combined))
    m = fs.get_mapper("")
    ds = xr.open_dataset(m, engine="kerchunk", chunks={})
    print("\nThe combined dataset, opened with plain xarray + fsspec:\n")
    print(ds)

    expected = xr.open_mfdataset(
        files,
        engine="netcdf4",
        combine="by_coords",
        data_vars="minimal",
        coords="minimal",
        compat="override",
    )
    try:
        xr.testing.assert_identical(ds.load(), expected.load())
    except AssertionError as err:
        print(f"\nVALUE CHECK FAILED: {err}")
        return 1
    n = sum(v.size for v in ds.data_vars.values())
    print(
        f"\nvalue check: all {n:,} values, dtypes and attributes equal the original files "
        "read with xarray's netCDF4 engine"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
