"""Scan speed of the hdf5 reader vs kerchunk vs VirtualiZarr: one many-chunk file, many small files.

Run: python plugins/vz-hdf5/benchmarks/bench_scan.py [workdir]
Every scanner (vz-hdf5's reader alone, vzcore.open_virtual_dataset, kerchunk, VirtualiZarr)
runs in its own fresh process in the same invocation; peers that are not installed are
reported as such. Run it in the benchmark environment (``./dev bench`` sets one up) to get
the peers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

BIG_SHAPE = (1440, 96, 48)
BIG_CHUNKS = (1, 8, 8)  # 1440 * 12 * 6 = 103,680 chunks
N_SMALL = 100


def make_files(work: Path) -> tuple[Path, list[Path]]:
    """Write the big file and the small files (kept between runs)."""
    import netCDF4

    big = work / "big.nc"
    if not big.exists():
        with netCDF4.Dataset(big, "w") as ds:
            for name, n in zip(("time", "y", "x"), BIG_SHAPE, strict=True):
                ds.createDimension(name, n)
            v = ds.createVariable(
                "v", "f4", ("time", "y", "x"), chunksizes=BIG_CHUNKS, zlib=True, complevel=1
            )
            for t in range(0, BIG_SHAPE[0], 240):
                v[t : t + 240] = np.random.default_rng(t).random((240, *BIG_SHAPE[1:]), "f4")
    small = []
    for i in range(N_SMALL):
        p = work / f"small_{i:03d}.nc"
        small.append(p)
        if p.exists():
            continue
        with netCDF4.Dataset(p, "w") as ds:
            ds.createDimension("time", 4)
            ds.createDimension("lat", 10)
            ds.createDimension("lon", 20)
            ds.title = "small"
            t = ds.createVariable("time", "f8", ("time",))
            t.units = f"days since 2000-01-{1 + i % 28:02d}"
            t[:] = np.arange(4)
            for name in ("lat", "lon"):
                c = ds.createVariable(name, "f4", (name,))
                c[:] = np.arange(len(ds.dimensions[name]))
            for name in ("air", "rh"):
                v = ds.createVariable(
                    name,
                    "f4",
                    ("time", "lat", "lon"),
                    zlib=True,
                    chunksizes=(1, 10, 20),
                    fill_value=-999.0,
                )
                v.units = "K"
                v[:] = 1.0
    return big, small


# Every scanner runs in its own fresh process: "setup" once (imports, not timed), then
# "scan" per URL (timed). vzcore appears twice: the reader alone (manifests, no xarray) and
# the public open_virtual_dataset (reader + xarray Dataset with loaded coordinates), which
# is what the peers' numbers compare to.
SCANNERS = {
    "vz-hdf5 reader, native index": (
        "from vz_hdf5._reader import HDF5Reader\nr = HDF5Reader()",
        "r.read(url)",
    ),
    "vz-hdf5 reader, chunk_iter": (
        "from vz_hdf5._reader import HDF5Reader\nr = HDF5Reader()",
        "r.read(url, chunk_index='hdf5')",
    ),
    "vzcore.open_virtual_dataset": (
        "import vzcore",
        "vzcore.open_virtual_dataset(url)",
    ),
    "kerchunk SingleHdf5ToZarr": (
        "from kerchunk.hdf import SingleHdf5ToZarr",
        "SingleHdf5ToZarr(url, inline_threshold=0).translate()",
    ),
    "virtualizarr HDFParser": (
        (
            "from virtualizarr import open_virtual_dataset\n"
            "from virtualizarr.parsers import HDFParser\n"
            "from obstore.store import LocalStore\n"
            "from obspec_utils.registry import ObjectStoreRegistry\n"
            "reg = ObjectStoreRegistry({'file:///': LocalStore()})\n"
            "parser = HDFParser()"
        ),
        "open_virtual_dataset(url, parser=parser, registry=reg)",
    ),
}
REFERENCE = "vzcore.open_virtual_dataset"


def time_scanner(name: str, urls: list[str]) -> tuple[float, float] | str:
    """(median, fastest) seconds per URL, the first call (warm-up) excluded; fresh process."""
    setup, scan = SCANNERS[name]
    code = (
        "import json, statistics, sys, time, warnings\n"
        "warnings.simplefilter('ignore')\n"
        f"{setup}\n"
        "urls = json.loads(sys.argv[1])\n"
        "times = []\n"
        "for url in urls:\n"
        "    t = time.perf_counter()\n"
        f"    {scan}\n"
        "    times.append(time.perf_counter() - t)\n"
        "times = times[1:] or times\n"
        "print(statistics.median(times), min(times))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, json.dumps(urls)], capture_output=True, text=True, check=False
    )
    if res.returncode:
        last = (res.stderr.strip().splitlines() or ["failed"])[-1]
        return "not installed" if "ModuleNotFoundError" in last else f"failed: {last[:60]}"
    median, best = res.stdout.strip().splitlines()[-1].split()
    return float(median), float(best)


def report(title: str, results: dict[str, tuple[float, float] | str]) -> None:
    """Print one block: median and fastest time per scanner, and ratios to vzcore's."""
    ref = results.get(REFERENCE)
    print(title)
    print(f"  {'':32s} {'median':>10s} {'fastest':>10s} {'ratio (median, fastest)':>24s}")
    for name, value in results.items():
        if isinstance(value, str):
            print(f"  {name:32s} {value}")
            continue
        ratio = (
            f"{value[0] / ref[0]:10.1f}x {value[1] / ref[1]:10.1f}x"
            if isinstance(ref, tuple)
            else ""
        )
        print(f"  {name:32s} {value[0] * 1000:7.2f} ms {value[1] * 1000:7.2f} ms {ratio}")


def main() -> None:
    """Time every scanner side by side; ratios are to vzcore.open_virtual_dataset."""
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    work.mkdir(parents=True, exist_ok=True)
    big, small = make_files(work)
    url = "file://" + str(big.resolve())
    nchunks = np.prod([s // c for s, c in zip(BIG_SHAPE, BIG_CHUNKS, strict=True)])
    print(f"big file: {BIG_SHAPE} in {BIG_CHUNKS} chunks ({nchunks:,} chunks)")
    big_times = {name: time_scanner(name, [url] * 12) for name in SCANNERS}
    report("one 103,680-chunk file, 11 scans each (ratio = time / open_virtual_dataset)", big_times)
    urls = ["file://" + str(p.resolve()) for p in small]
    small_times = {name: time_scanner(name, urls) for name in SCANNERS}
    report(f"per small file, over {len(urls) - 1} files", small_times)


if __name__ == "__main__":
    main()
