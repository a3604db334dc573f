"""The writer targets of issue 13, side by side with the peers in one run.

    python benchmarks/writers.py [--only vzcore,kerchunk] [--cache DIR] [--rounds N]

* JSON references of the 103,680-chunk file: vzcore's ``to_kerchunk(path, format="json")``
  against kerchunk's ``ujson.dumps`` of its ready reference dict (and VirtualiZarr's
  ``vds.vz.to_kerchunk``), one fresh process per tool and round, ``--rounds`` rounds
  (median and range; peer/vzcore ratios per round).
* Parquet references of 1,000 small files (8,000 chunks): output bytes per chunk of
  ``to_kerchunk(path, format="parquet")`` against kerchunk's ``refs_to_dataframe`` (and
  VirtualiZarr's Parquet writer).
* Icechunk write time of both inputs against VirtualiZarr's, when it is installed: the
  repository's creation, ``to_icechunk`` and the commit. The harness's ``import icechunk``
  before it is timed apart (``import_icechunk``): it imports zarr, which VirtualiZarr has
  imported with itself and vzcore has not; ``import+write_icechunk`` is the sum (the
  figure this script reported before).
* Opening each tool's JSON of the big file with fsspec + xarray (``engine="zarr"``), a
  fresh process each (``_child.py``'s ``readback`` task, reading one step).

Each measurement is the ``pipeline`` task of ``_child.py`` (a fresh interpreter per tool: scan,
combine, write JSON, then Parquet and Icechunk), the same as ``suite.py``'s; only the writer
figures are reported. Inputs are generated once into the cache (``benchmarks/data``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _inputs
import suite

METRICS = (
    "write_json",
    "write_parquet",
    "write_icechunk",
    "import_icechunk",
    "import+write_icechunk",
)
"""Per-round figures of the pipeline task that are reported (seconds)."""


def _ratio(peer: object, ours: object) -> str:
    if isinstance(peer, int | float) and isinstance(ours, int | float) and ours:
        return f"{peer / ours:.2f}x"
    return "-"


def _stats(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.4f} ({min(values):.4f}-{max(values):.4f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(suite.TOOLS), help="comma-separated tools")
    ap.add_argument("--cache", default=str(HERE / "data"), help="input cache directory")
    ap.add_argument("--rounds", type=int, default=5, help="rounds (every tool once a round)")
    args = ap.parse_args()
    tools = [t for t in args.only.split(",") if t and suite.installed(t)]
    missing = [t for t in args.only.split(",") if t and t not in tools]
    suite.compile_tree()
    cache = Path(args.cache).resolve()
    cache.mkdir(parents=True, exist_ok=True)
    suite.CONTAINER = f"file://{cache}/"
    big = _inputs.make_big(cache)
    small = _inputs.make_small(cache, 1000)
    print(
        f"tools: {', '.join(tools)}"
        + (f" (not installed: {', '.join(missing)})" if missing else "")
    )
    print(f"load average at start: {os.getloadavg()}")
    # samples[(input, tool, metric)] = one value per round; ratios are taken per round.
    samples: dict[tuple[str, str, str], list[float]] = {}
    per_chunk: dict[tuple[str, str, str], float] = {}
    loads = []
    for rnd in range(args.rounds):
        for key, ds in (("big", big), ("small", small)):
            out = cache / "out-writers" / key
            res = suite.measure_pipelines(ds, tools, out, 1)
            for tool in tools:
                r = res.get(tool, {})
                if "error" in r:
                    print(f"round {rnd} {tool} {ds.name}: {r['error']}")
                    continue
                if isinstance(r.get("write_icechunk"), float) and "import_icechunk" in r:
                    # the earlier definition of the Icechunk write, kept for comparison
                    r["import+write_icechunk"] = r["import_icechunk"] + r["write_icechunk"]
                for m in METRICS:
                    if isinstance(r.get(m), float):
                        samples.setdefault((ds.name, tool, m), []).append(r[m])
                for fmt in suite.FORMATS:
                    if r.get(f"bytes_{fmt}"):
                        per_chunk[(ds.name, tool, fmt)] = r[f"bytes_{fmt}"] / ds.chunks
                if key == "big" and (out / f"{tool}.json").exists():
                    rb = suite.child(
                        {
                            "task": "readback",
                            "path": str(out / f"{tool}.json"),
                            "format": "json",
                            "variable": ds.variable,
                            "steps": 1,
                        }
                    )
                    if "open" in rb:
                        samples.setdefault((ds.name, tool, "open_json"), []).append(rb["open"])
        loads.append(os.getloadavg()[0])
        print(f"round {rnd + 1}/{args.rounds} done, load average {os.getloadavg()}")
    print(f"load average at end: {os.getloadavg()}; 1-min load after each round: {loads}")
    metrics = (*METRICS, "open_json")
    print("median (min-max) seconds over rounds; bytes per chunk")
    for name in (big.name, small.name):
        for tool in tools:
            cells = [f"{m} {_stats(samples.get((name, tool, m), []))}" for m in metrics]
            sizes = [
                f"{fmt} {per_chunk[(name, tool, fmt)]:.2f} B/chunk"
                for fmt in suite.FORMATS
                if (name, tool, fmt) in per_chunk
            ]
            print(f"{name:<24}{tool:<14}" + "; ".join(cells + sizes))
    for name in (big.name, small.name):
        for peer in (t for t in tools if t != "vzcore"):
            for m in metrics:
                if m == "import_icechunk":  # ~0 for a peer that imported zarr with itself
                    continue
                ours, theirs = samples.get((name, "vzcore", m)), samples.get((name, peer, m))
                if ours and theirs and len(ours) == len(theirs):
                    ratios = [p / o for p, o in zip(theirs, ours, strict=True) if o]
                    print(
                        f"{name}: {peer}/vzcore {m}: median {statistics.median(ratios):.2f}x "
                        f"(per round {min(ratios):.2f}-{max(ratios):.2f}x)"
                    )
            ours_b = per_chunk.get((name, "vzcore", "parquet"))
            theirs_b = per_chunk.get((name, peer, "parquet"))
            print(f"{name}: {peer}/vzcore Parquet bytes/chunk {_ratio(theirs_b, ours_b)}")


if __name__ == "__main__":
    main()
