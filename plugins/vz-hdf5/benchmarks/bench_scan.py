"""Scan speed of the hdf5 reader: one many-chunk file and many small files.

Run: python plugins/vz-hdf5/benchmarks/bench_scan.py [workdir]
Peers (kerchunk, VirtualiZarr) are timed when importable, each in its own process.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
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
            v = ds.createVariable("v", "f4", ("time", "y", "x"), chunksizes=BIG_CHUNKS,
                                  zlib=True, complevel=1)
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
                v = ds.createVariable(name, "f4", ("time", "lat", "lon"), zlib=True,
                                      chunksizes=(1, 10, 20), fill_value=-999.0)
                v.units = "K"
                v[:] = 1.0
    return big, small


PEER = {
    "kerchunk": (
        "from kerchunk.hdf import SingleHdf5ToZarr\n"
        "SingleHdf5ToZarr({url!r}, inline_threshold=0).translate()"
    ),
    "virtualizarr": (
        "from virtualizarr import open_virtual_dataset\n"
        "from virtualizarr.parsers import HDFParser\n"
        "from obstore.store import LocalStore\n"
        "from virtualizarr.registry import ObjectStoreRegistry\n"
        "reg = ObjectStoreRegistry({{'file://': LocalStore()}})\n"
        "open_virtual_dataset({url!r}, parser=HDFParser(), registry=reg, loadable_variables=[])"
    ),
}


def time_peer(peer: str, urls: list[str]) -> float | None:
    """Median seconds per file for a peer, measured in a fresh process."""
    body = PEER[peer]
    code = (
        "import time, statistics\n"
        f"urls = {urls!r}\n"
        "times = []\n"
        "for url in urls:\n"
        "    t = time.perf_counter()\n"
        + "".join("    " + line + "\n" for line in body.format(url="URL").split("\n"))
        + "    times.append(time.perf_counter() - t)\n"
        "print(statistics.median(times[1:] or times))\n"
    ).replace("'URL'", "url")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    if res.returncode:
        return None
    return float(res.stdout.strip().splitlines()[-1])


def main() -> None:
    """Time every scanner and print one line per measurement."""
    from vz_hdf5._reader import HDF5Reader

    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    work.mkdir(parents=True, exist_ok=True)
    big, small = make_files(work)
    reader = HDF5Reader()
    url = big.resolve().as_uri()
    reader.read(url)
    for label, opts in (("vz-hdf5 native v1 B-tree", {}), ("vz-hdf5 chunk_iter", {
            "chunk_index": "hdf5"})):
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            g = reader.read(url, **opts)
            runs.append(time.perf_counter() - t)
        n = g.variables["v"].data.manifest.nchunks
        print(f"{label:32s} {n} chunks: {statistics.median(runs):.4f} s")
    for peer in PEER:
        t = time_peer(peer, [url, url, url])
        print(f"{peer:32s} {'not installed / failed' if t is None else f'{t:.4f} s'}")
    urls = [p.resolve().as_uri() for p in small]
    runs = []
    for u in urls:
        t = time.perf_counter()
        reader.read(u)
        runs.append(time.perf_counter() - t)
    print(f"{'vz-hdf5 per small file':32s} {1000 * statistics.median(runs):.2f} ms")
    for peer in PEER:
        t = time_peer(peer, urls)
        print(f"{peer + ' per small file':32s} "
              f"{'not installed / failed' if t is None else f'{1000 * t:.2f} ms'}")


if __name__ == "__main__":
    main()
