"""Combining and writing 10^5 files' manifests without scanning them (for docs/scaling.md).

Scans one real file of ``benchmarks/scale.py`` (``--chunks`` references), then synthesises N
per-file virtual datasets from it (each its own path and time range, as scanning N such
files would give), and measures, in this one process, what the cluster path does after the
scan: the tree-reduced combine (``vzcore._tree_combine._combine_parts``, fan-in 32, every
check included) level by level, and the Parquet write of the result, with the peak RSS.

    .venv/bin/python benchmarks/scale_synthetic.py --files 100000 --chunks 100
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def rss_mib() -> float:
    """Current resident set size of this process, MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    """Synthesise, combine in a tree, write Parquet; print the figures as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--chunks", type=int, default=100)
    args = ap.parse_args()

    import sys
    import tempfile

    import xarray as xr

    sys.path.insert(0, str(HERE))
    import scale

    import vzcore
    from vzcore import _tree_combine as tree
    from vzcore.manifests import ChunkManifest, ManifestArray

    source = scale.make_files(2, args.chunks)[0]
    one = vzcore.open_virtual_dataset(source)
    arr = one["v"].data
    m = arr.manifest
    steps = one.sizes["time"]
    step = one["time"].values[1] - one["time"].values[0]
    base = rss_mib()
    t0 = time.perf_counter()
    parts = []
    for i in range(args.files):
        url = f"file:///archive/sim/f_{i:06d}.nc"
        manifest = ChunkManifest([url], m.path_index, m.offsets, m.lengths)
        ds = xr.Dataset(
            {"v": (one["v"].dims, ManifestArray(arr.metadata, manifest), one["v"].attrs)},
            coords={"time": one["time"].values + i * steps * step},
        )
        parts.append(tree.Part(ds, url, url))
    t_synth = time.perf_counter() - t0
    rss_parts = rss_mib() - base
    options = {
        "combine": "by_coords",
        "concat_dim": None,
        "data_vars": None,
        "coords": "minimal",
        "compat": None,
        "join": "exact",
        "combine_attrs": "drop_conflicts",
    }
    levels = []
    level = parts
    while len(level) > 1:
        t = time.perf_counter()
        level = [
            tree._combine_parts(level[i : i + tree.FAN_IN], options)
            for i in range(0, len(level), tree.FAN_IN)
        ]
        levels.append({"parts_out": len(level), "s": time.perf_counter() - t})
    del parts
    result = level[0].dataset()
    nrefs = int(np.prod(result["v"].data.manifest.grid_shape))
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        result.virtualize.to_kerchunk(f"{tmp}/out.parq", format="parquet")
        t_write = time.perf_counter() - t
        out_bytes = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    print(
        json.dumps(
            {
                "files": args.files,
                "chunks_per_file": int(m.nchunks),
                "refs": nrefs,
                "synthesise_s": round(t_synth, 2),
                "rss_per_file_datasets_mib": round(rss_parts, 1),
                "combine_levels": levels,
                "combine_s": round(sum(x["s"] for x in levels), 2),
                "manifest_mib": round(result.virtualize.nbytes / 2**20, 1),
                "write_parquet_s": round(t_write, 2),
                "parquet_mib": round(out_bytes / 2**20, 2),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
