"""The writer targets of issue 13, side by side with the peers in one run.

    python benchmarks/writers.py [--only vzcore,kerchunk] [--cache DIR] [--repeat N]

* JSON references of the 103,680-chunk file: vzcore's ``to_kerchunk(path, format="json")``
  against kerchunk's ``ujson.dumps`` of its ready reference dict (and VirtualiZarr's
  ``vds.vz.to_kerchunk``), best of ``--repeat`` fresh processes each.
* Parquet references of 1,000 small files (8,000 chunks): output bytes per chunk of
  ``to_kerchunk(path, format="parquet")`` against kerchunk's ``refs_to_dataframe`` (and
  VirtualiZarr's Parquet writer).
* Icechunk write time of both inputs against VirtualiZarr's, when it is installed.

Each measurement is the ``pipeline`` task of ``_child.py`` (a fresh interpreter per tool: scan,
combine, write JSON, then Parquet and Icechunk), the same as ``suite.py``'s; only the writer
figures are reported. Inputs are generated once into the cache (``benchmarks/data``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _inputs
import suite


def _ratio(peer: object, ours: object) -> str:
    if isinstance(peer, int | float) and isinstance(ours, int | float) and ours:
        return f"{peer / ours:.2f}x"
    return "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(suite.TOOLS), help="comma-separated tools")
    ap.add_argument("--cache", default=str(HERE / "data"), help="input cache directory")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the big file per tool")
    args = ap.parse_args()
    tools = [t for t in args.only.split(",") if t and suite.installed(t)]
    missing = [t for t in args.only.split(",") if t and t not in tools]
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
    rows = []
    for key, ds, repeat in (("big", big, args.repeat), ("small", small, 1)):
        res = suite.measure_pipelines(ds, tools, cache / "out-writers" / key, repeat)
        for tool in tools:
            r = res.get(tool, {})
            if "error" in r:
                print(f"{tool} {ds.name}: {r['error']}")
                continue
            per_chunk = {
                fmt: r.get(f"bytes_{fmt}", 0) / ds.chunks
                for fmt in suite.FORMATS
                if r.get(f"bytes_{fmt}")
            }
            rows.append(
                (
                    ds.name,
                    tool,
                    r.get("write_json"),
                    r.get("write_parquet"),
                    r.get("write_icechunk"),
                    per_chunk,
                )
            )
    print(f"load average at end: {os.getloadavg()}")
    print(
        f"{'input':<24}{'tool':<14}{'JSON s':>9}{'Parquet s':>11}{'Icechunk s':>12}"
        f"{'JSON B/chunk':>14}{'Parquet B/chunk':>17}"
    )
    for name, tool, wj, wp, wi, pc in rows:

        def s(v: object) -> str:
            return f"{v:.4f}" if isinstance(v, float) else str(v or "-")[:10]

        print(
            f"{name:<24}{tool:<14}{s(wj):>9}{s(wp):>11}{s(wi):>12}"
            f"{pc.get('json', 0):>14.1f}{pc.get('parquet', 0):>17.1f}"
        )
    ours = {(n, t): (wj, wi, pc) for n, t, wj, _, wi, pc in rows}
    for name in (big.name, small.name):
        if (name, "vzcore") not in ours:
            continue
        wj, wi, pc = ours[(name, "vzcore")]
        for peer in (t for t in tools if t != "vzcore"):
            if (name, peer) not in ours:
                continue
            pj, pi, ppc = ours[(name, peer)]
            print(
                f"{name}: {peer}/vzcore  JSON write time {_ratio(pj, wj)}, Icechunk write "
                f"time {_ratio(pi, wi)}, Parquet bytes/chunk "
                f"{_ratio(ppc.get('parquet'), pc.get('parquet'))}"
            )


if __name__ == "__main__":
    main()
