"""Writing kerchunk Parquet references: vzcore vs kerchunk vs VirtualiZarr, side by side.

Each tool runs in its own subprocess (VirtualiZarr and vzcore both register a
``.virtualize`` accessor) and writes the same N chunk references (one float32 array, zlib,
chunks spread over ten files, lengths 1-40 kB, contiguous offsets: what a combined archive of
compressed netCDF4 files looks like) as a Parquet reference directory, ``--repeat`` times.
Reported: the best write time, the bytes on disk per chunk, the ratios to vzcore, and the
first call's time (which includes the lazy imports of pyarrow/pandas). Every
output is then opened with fsspec's ``ReferenceFileSystem`` (``remote_protocol="file"``) and
a few references are checked against the input, so a tool that writes something else fails.

What is timed, per tool, starting from its own in-memory virtual dataset (built untimed):

vzcore
    ``vds.virtualize.to_kerchunk(path, format="parquet")`` on an xarray Dataset holding a
    vzcore ``ManifestArray`` (the user's call: conversion to references included).
virtualizarr
    ``vds.vz.to_kerchunk(path, format="parquet")`` on a Dataset holding a VirtualiZarr
    ``ManifestArray`` (VirtualiZarr 2.8 builds a reference dict and calls kerchunk's
    ``refs_to_dataframe``).
kerchunk
    ``kerchunk.df.refs_to_dataframe(refs, path)`` on a ready-made reference dict (building
    the dict is not timed, which favours kerchunk).

All use a record size of 100,000 (their common default). Tools that are not installed are
reported as such.

    python benchmarks/parquet_write.py [--chunks 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

SETUP = """
import json, os, shutil, time, warnings
import numpy as np
warnings.simplefilter("ignore")
n, repeat, workdir = {n}, {repeat}, {workdir!r}
nfiles = 10
grid = (nfiles, n // nfiles // 100, 100)
shape = (grid[0], grid[1] * 10, grid[2] * 10)
rng = np.random.default_rng(0)
lengths = rng.integers(1_000, 40_000, grid).astype(np.uint64)
offsets = np.empty(grid, np.uint64)
for f in range(nfiles):
    flat = lengths[f].ravel()
    offsets[f] = (4096 + np.cumsum(flat) - flat).reshape(grid[1:])
urls = [f"file:///data/archive/2020/day_{{f:03d}}.nc" for f in range(nfiles)]
paths = np.broadcast_to(np.array(urls, dtype=object)[:, None, None], grid)
"""

# (build statement: untimed, defines write(out)), per tool.
TOOLS = {
    "vzcore": """
import vzcore, xarray as xr
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray
meta = ArrayMetadata(shape, np.dtype("<f4"), (1, 10, 10), codecs=({{"id": "zlib", "level": 4}},))
manifest = ChunkManifest.from_arrays(paths, offsets, lengths)
vds = xr.Dataset({{"v": (("t", "y", "x"), ManifestArray(meta, manifest))}})
def write(out):
    vds.virtualize.to_kerchunk(out, format="parquet", record_size=100_000)
""",
    "virtualizarr": """
import xarray as xr, virtualizarr
from virtualizarr.manifests import ChunkManifest, ManifestArray
from virtualizarr.manifests.utils import create_v3_array_metadata
meta = create_v3_array_metadata(shape=shape, data_type=np.dtype("<f4"), chunk_shape=(1, 10, 10),
                                fill_value=None, codecs=[{{"name": "numcodecs.zlib", "configuration": {{"level": 4}}}}])
manifest = ChunkManifest.from_arrays(paths=paths.astype(np.dtypes.StringDType()),
                                     offsets=offsets, lengths=lengths)
vds = xr.Dataset({{"v": (("t", "y", "x"), ManifestArray(metadata=meta, chunkmanifest=manifest))}})
def write(out):
    vds.vz.to_kerchunk(out, format="parquet", record_size=100_000)
""",
    "kerchunk": """
import kerchunk
from kerchunk.df import refs_to_dataframe
zarray = {{"zarr_format": 2, "shape": list(shape), "chunks": [1, 10, 10], "dtype": "<f4",
          "compressor": {{"id": "zlib", "level": 4}}, "fill_value": None, "order": "C",
          "filters": None, "dimension_separator": "."}}
refs = {{".zgroup": json.dumps({{"zarr_format": 2}}), ".zattrs": "{{}}",
        "v/.zarray": json.dumps(zarray), "v/.zattrs": json.dumps({{"_ARRAY_DIMENSIONS": ["t", "y", "x"]}})}}
for idx in np.ndindex(*grid):
    refs["v/" + ".".join(map(str, idx))] = [paths[idx], int(offsets[idx]), int(lengths[idx])]
def write(out):
    refs_to_dataframe(refs, out, record_size=100_000)
""",
}

MEASURE = """
times = []
for i in range(repeat):
    out = os.path.join(workdir, f"out{{i}}.parq")
    t0 = time.perf_counter()
    write(out)
    times.append(time.perf_counter() - t0)
size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
import fsspec
refs = fsspec.filesystem("reference", fo=out, remote_protocol="file").references
for idx in [(0, 0, 0), (3, 5, 7), tuple(g - 1 for g in grid)]:
    got = refs["v/" + ".".join(map(str, idx))]
    want = [paths[idx].removeprefix("file://"), int(offsets[idx]), int(lengths[idx])]
    # VirtualiZarr writes local paths without "file://".
    assert [got[0].removeprefix("file://"), int(got[1]), int(got[2])] == want, (idx, got, want)
print(json.dumps({{"best": min(times), "first": times[0], "bytes": size}}))
"""


def measure(tool: str, n: int, repeat: int) -> dict[str, float] | None:
    with tempfile.TemporaryDirectory(prefix=f"pq-{tool}-") as workdir:
        code = (SETUP + TOOLS[tool] + MEASURE).format(n=n, repeat=repeat, workdir=workdir)
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False
        )
    if proc.returncode != 0:
        if "ModuleNotFoundError" in proc.stderr:
            return None
        raise RuntimeError(f"{tool} failed:\n{proc.stderr}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000, help="multiple of 1000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.chunks % 1000:
        parser.error("--chunks must be a multiple of 1000")
    results = {t: measure(t, args.chunks, args.repeat) for t in TOOLS}
    ours = results["vzcore"]
    print(
        f"kerchunk Parquet write, {args.chunks:,} chunk references over 10 files "
        f"(best of {args.repeat})"
    )
    print(
        f"{'tool':<14}{'seconds':>10}{'vs vzcore':>11}{'bytes/chunk':>13}{'vs vzcore':>11}"
        f"{'first call s':>14}"
    )
    for tool, r in results.items():
        if r is None:
            print(f"{tool:<14}{'not installed':>10}")
            continue
        t_ratio = f"{r['best'] / ours['best']:>10.1f}x" if ours else ""
        b = r["bytes"] / args.chunks
        b_ratio = f"{r['bytes'] / ours['bytes']:>10.1f}x" if ours else ""
        print(f"{tool:<14}{r['best']:>10.3f}{t_ratio}{b:>13.2f}{b_ratio}{r['first']:>14.3f}")


if __name__ == "__main__":
    main()
