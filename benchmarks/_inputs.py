"""Benchmark inputs, written once into a cache directory and reused by later runs.

Each data set is a directory with a ``done.json`` marker (its parameters and chunk count);
a directory whose marker is missing or differs is rewritten.

* ``many``: N chunked netCDF4 files (24 hourly steps, 64 x 128 grid, two variables in
  1 x 32 x 32 chunks: 384 chunks per file), consecutive in time: combine by coordinates.
* ``big``: one netCDF4 file of 1440 x 96 x 48 float32 in 1 x 8 x 8 chunks (103,680 chunks).
* ``small``: N small netCDF4 files (4 steps, 10 x 20 grid, two variables, 8 chunks per file).
* ``huge``: K hard links to ``big`` (different paths, no extra disk): K x 103,680 chunks,
  for the peak-memory measurement. Hard links, not symlinks, so every path is its own
  source file to every tool.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BIG_SHAPE = (1440, 96, 48)
BIG_CHUNKS = (1, 8, 8)
MANY_SHAPE = (24, 64, 128)
MANY_CHUNKS = (1, 32, 32)
SMALL_SHAPE = (4, 10, 20)


@dataclass(frozen=True)
class DataSet:
    """One generated input: its files, how to combine them and what to read back."""

    name: str
    files: list[str]
    chunks: int
    """Chunk references of the virtual variables (what every tool must index)."""
    combine: str
    """``"none"`` (one file), ``"by_coords"`` or ``"nested"`` (along ``time``)."""
    variable: str
    """The variable read back in full."""


def _done(directory: Path, params: dict[str, object]) -> bool:
    marker = directory / "done.json"
    # (compared as JSON: the shapes are tuples here and lists in the marker)
    return marker.exists() and json.loads(marker.read_text()) == json.loads(json.dumps(params))


def _mark(directory: Path, params: dict[str, object]) -> None:
    (directory / "done.json").write_text(json.dumps(params))


def _coords(
    ds: object, names: tuple[str, ...], shape: tuple[int, ...], t0: int, units: str
) -> None:
    import netCDF4

    assert isinstance(ds, netCDF4.Dataset)
    for name, n in zip(names, shape, strict=True):
        ds.createDimension(name, n)
    t = ds.createVariable(names[0], "f8", (names[0],))
    t.units = units
    t.calendar = "standard"
    t[:] = t0 + np.arange(shape[0])
    for name, n in zip(names[1:], shape[1:], strict=True):
        c = ds.createVariable(name, "f4", (name,))
        c[:] = np.linspace(
            -90 if name in ("lat", "y") else 0,
            90 if name in ("lat", "y") else 360,
            n,
            endpoint=False,
        )


def _field(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Smooth values with a little noise: compresses like real data, not like zeros."""
    rng = np.random.default_rng(seed)
    grid = np.add.outer(np.sin(np.linspace(0, 6, shape[-2])), np.cos(np.linspace(0, 9, shape[-1])))
    steps = np.arange(shape[0], dtype="f4")[:, None, None] * 0.01
    noise = rng.integers(0, 16, size=shape).astype("f4") / 64
    return (280 + 10 * grid[None] + steps + noise).astype("f4")


def make_many(root: Path, n: int) -> DataSet:
    """N consecutive chunked netCDF4 files."""
    import netCDF4

    d = root / f"many-{n}"
    chunks_per_file = 2 * np.prod(
        [-(-s // c) for s, c in zip(MANY_SHAPE, MANY_CHUNKS, strict=True)]
    )
    params = {"n": n, "shape": MANY_SHAPE, "chunks": MANY_CHUNKS, "v": 1}
    files = [str(d / f"era_{i:04d}.nc") for i in range(n)]
    if not _done(d, params):
        d.mkdir(parents=True, exist_ok=True)
        for i, path in enumerate(files):
            with netCDF4.Dataset(path, "w") as ds:
                ds.title = "benchmark input: many chunked files"
                ds.source_file = i  # a per-file attribute (combine_attrs must cope)
                _coords(
                    ds,
                    ("time", "lat", "lon"),
                    MANY_SHAPE,
                    i * MANY_SHAPE[0],
                    "hours since 2000-01-01",
                )
                for k, name in enumerate(("t2m", "sp")):
                    v = ds.createVariable(
                        name,
                        "f4",
                        ("time", "lat", "lon"),
                        zlib=True,
                        complevel=1,
                        shuffle=True,
                        chunksizes=MANY_CHUNKS,
                        fill_value=np.float32(-9999),
                    )
                    v.units = "K" if k == 0 else "hPa"
                    v[:] = _field(MANY_SHAPE, i * 2 + k)
        _mark(d, params)
    return DataSet(f"{n} files", files, int(chunks_per_file) * n, "by_coords", "t2m")


def make_big(root: Path) -> DataSet:
    """One netCDF4 file with 103,680 chunks."""
    import netCDF4

    d = root / "big"
    path = d / "big.nc"
    params = {"shape": BIG_SHAPE, "chunks": BIG_CHUNKS, "v": 1}
    nchunks = int(np.prod([-(-s // c) for s, c in zip(BIG_SHAPE, BIG_CHUNKS, strict=True)]))
    if not _done(d, params):
        d.mkdir(parents=True, exist_ok=True)
        with netCDF4.Dataset(path, "w") as ds:
            ds.title = "benchmark input: one file with many chunks"
            _coords(ds, ("time", "y", "x"), BIG_SHAPE, 0, "hours since 2000-01-01")
            v = ds.createVariable(
                "v", "f4", ("time", "y", "x"), chunksizes=BIG_CHUNKS, zlib=True, complevel=1
            )
            v.units = "K"
            for t in range(0, BIG_SHAPE[0], 240):
                v[t : t + 240] = _field((240, *BIG_SHAPE[1:]), t)
        _mark(d, params)
    return DataSet("1 file, 103,680 chunks", [str(path)], nchunks, "none", "v")


def make_small(root: Path, n: int) -> DataSet:
    """N small netCDF4 files (8 chunks each), consecutive in time."""
    import netCDF4

    d = root / f"small-{n}"
    params = {"n": n, "shape": SMALL_SHAPE, "v": 1}
    files = [str(d / f"obs_{i:05d}.nc") for i in range(n)]
    if not _done(d, params):
        d.mkdir(parents=True, exist_ok=True)
        for i, path in enumerate(files):
            with netCDF4.Dataset(path, "w") as ds:
                ds.title = "benchmark input: small files"
                _coords(
                    ds,
                    ("time", "lat", "lon"),
                    SMALL_SHAPE,
                    i * SMALL_SHAPE[0],
                    "days since 2000-01-01",
                )
                for name in ("air", "rh"):
                    v = ds.createVariable(
                        name,
                        "f4",
                        ("time", "lat", "lon"),
                        zlib=True,
                        chunksizes=(1, *SMALL_SHAPE[1:]),
                        fill_value=-999.0,
                    )
                    v.units = "K"
                    v[:] = _field(SMALL_SHAPE, i)
        _mark(d, params)
    return DataSet(f"{n} small files", files, 2 * SMALL_SHAPE[0] * n, "by_coords", "air")


def make_huge(root: Path, big: DataSet, k: int) -> DataSet:
    """K hard links to the big file: K x 103,680 chunks, combined nested along time."""
    d = root / f"huge-{k}"
    d.mkdir(parents=True, exist_ok=True)
    src = Path(big.files[0])
    files = []
    for i in range(k):
        p = d / f"big_{i:04d}.nc"
        if p.exists() and not os.path.samefile(p, src):
            p.unlink()
        if not p.exists():
            os.link(src, p)
        files.append(str(p))
    return DataSet(f"{k} x 103,680-chunk files", files, big.chunks * k, "nested", "v")


CF_SMALL_SHAPE = (4, 10, 20)


def make_cf_small(root: Path, n: int) -> DataSet:
    """N small CF netCDF4 files of 12 chunks each, consecutive in time (issue 15's per-file case).

    Each file: ``time`` (4 steps, CF units/calendar), ``lat``/``lon`` with CF attributes,
    three data variables in 1 x 10 x 20 zlib chunks (4 chunks each): ``air`` (float32 with
    ``_FillValue``), ``rh`` (int16 packed with ``scale_factor``/``add_offset``) and ``pr``,
    each with ``units``/``long_name``/``standard_name``, and typical global attributes.
    """
    import netCDF4

    d = root / f"cf-small-{n}"
    params = {"n": n, "shape": CF_SMALL_SHAPE, "v": 1}
    files = [str(d / f"cf_{i:05d}.nc") for i in range(n)]
    if not _done(d, params):
        d.mkdir(parents=True, exist_ok=True)
        for i, path in enumerate(files):
            with netCDF4.Dataset(path, "w") as ds:
                ds.setncatts(
                    {
                        "title": "benchmark input: small CF files",
                        "Conventions": "CF-1.8",
                        "institution": "vzcore benchmarks",
                        "source": "synthetic",
                        "history": f"written by benchmarks/_inputs.py (file {i})",
                    }
                )
                _coords(
                    ds,
                    ("time", "lat", "lon"),
                    CF_SMALL_SHAPE,
                    i * CF_SMALL_SHAPE[0],
                    "hours since 2000-01-01 00:00:00",
                )
                ds["time"].setncatts({"standard_name": "time", "long_name": "time", "axis": "T"})
                ds["lat"].setncatts(
                    {
                        "units": "degrees_north",
                        "standard_name": "latitude",
                        "long_name": "latitude",
                        "axis": "Y",
                    }
                )
                ds["lon"].setncatts(
                    {
                        "units": "degrees_east",
                        "standard_name": "longitude",
                        "long_name": "longitude",
                        "axis": "X",
                    }
                )
                field = _field(CF_SMALL_SHAPE, i)
                chunks = (1, *CF_SMALL_SHAPE[1:])
                dims = ("time", "lat", "lon")
                air = ds.createVariable(
                    "air", "f4", dims, zlib=True, chunksizes=chunks, fill_value=np.float32(-9999.0)
                )
                air.setncatts(
                    {
                        "units": "K",
                        "long_name": "air temperature",
                        "standard_name": "air_temperature",
                    }
                )
                air[:] = field
                rh = ds.createVariable(
                    "rh", "i2", dims, zlib=True, chunksizes=chunks, fill_value=np.int16(-32767)
                )
                rh.setncatts(
                    {
                        "units": "percent",
                        "long_name": "relative humidity",
                        "standard_name": "relative_humidity",
                        "scale_factor": np.float32(0.01),
                        "add_offset": np.float32(0.0),
                    }
                )
                rh[:] = (field - 270) * 3
                pr = ds.createVariable("pr", "f4", dims, zlib=True, chunksizes=chunks)
                pr.setncatts(
                    {
                        "units": "kg m-2 s-1",
                        "long_name": "precipitation",
                        "standard_name": "precipitation_flux",
                        "cell_methods": "time: mean",
                    }
                )
                pr[:] = field / 1e5
        _mark(d, params)
    return DataSet(f"{n} small CF files", files, 3 * CF_SMALL_SHAPE[0] * n, "by_coords", "air")
