"""Cost of the trust checks (issue 12): small-file scan time of two vzcore source trees.

Scans the suite's small files (``_inputs.make_small``: 4 steps, 10 x 20 grid, 8 chunks)
with ``vzcore.open_virtual_dataset`` one by one, as the suite's pipeline does, and
combines them with ``xr.combine_by_coords``; each run is a fresh process whose
``PYTHONPATH`` puts one source tree (vzcore and every ``plugins/*/src``) ahead of the
installed editable copy, and scans one file first (imports and first-call costs are not
scan time). Per run it reports the median wall time per file (robust to moments of load
from other work on a shared machine) and the CPU seconds per file; the two trees
alternate (ABBA order) so that slower periods fall on both alike.

Reproduce (the "before" tree is the commit before session 3's first issue-12 merge)::

    git archive 5325385 | (mkdir -p /tmp/vz-before && tar -x -C /tmp/vz-before)
    .venv/bin/python benchmarks/trust_cost.py --before /tmp/vz-before --rounds 6
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _inputs import make_small


def _pythonpath(tree: Path) -> str:
    srcs = sorted(str(p) for p in (tree / "plugins").glob("vz-*/src"))
    return os.pathsep.join([str(tree), *srcs])


def _env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = _pythonpath(tree)
    env.pop("PYTHONHASHSEED", None)
    return env


def _which(tree: Path) -> str:
    code = "import vzcore, vz_hdf5; print(vzcore.__file__, vz_hdf5.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=_env(tree), check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def _child(files: list[str]) -> dict[str, float]:
    import time
    import warnings

    warnings.simplefilter("ignore")
    t = time.perf_counter()
    import xarray as xr

    import vzcore

    res = {"import": time.perf_counter() - t}
    vzcore.open_virtual_dataset(files[0])  # first call: lazy imports of the reader, h5py
    walls, parts = [], []
    cpu = time.process_time()
    for f in files[1:]:
        t = time.perf_counter()
        parts.append(vzcore.open_virtual_dataset(f))
        walls.append(time.perf_counter() - t)
    res["cpu_per_file"] = (time.process_time() - cpu) / len(walls)
    res["wall_per_file"] = statistics.median(walls)
    t = time.perf_counter()
    xr.combine_by_coords(
        parts,
        compat="override",
        coords="minimal",
        data_vars="minimal",
        join="exact",
        combine_attrs="override",
    )
    res["combine"] = time.perf_counter() - t
    return res


def _run(tree: Path, files: list[str]) -> dict[str, float]:
    code = (
        f"import sys, json; sys.path.insert(0, {str(HERE)!r}); import trust_cost; "
        f"print(json.dumps(trust_cost._child(json.loads(sys.argv[1]))))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(files)],
        env=_env(tree),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run both trees alternately and print per-file scan medians and spread."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="source tree of the earlier version")
    ap.add_argument("--after", default=str(HERE.parent), help="source tree (default: this one)")
    ap.add_argument("--files", type=int, default=1000, help="number of small files")
    ap.add_argument("--rounds", type=int, default=6, help="runs of each tree")
    ap.add_argument("--cache", default=str(HERE / "data"), help="input cache directory")
    args = ap.parse_args()
    trees = {"before": Path(args.before).resolve(), "after": Path(args.after).resolve()}
    data = make_small(Path(args.cache), args.files)
    for name, tree in trees.items():
        print(f"{name}: {_which(tree)}")
    results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for r in range(args.rounds):
        order = list(trees) if r % 2 == 0 else list(trees)[::-1]
        for name in order:
            res = _run(trees[name], data.files)
            results[name].append(res)
            print(
                f"round {r} {name:6s} scan {1e3 * res['wall_per_file']:6.3f} ms/file (wall, "
                f"median) {1e3 * res['cpu_per_file']:6.3f} ms/file (CPU)  combine "
                f"{res['combine']:.3f} s",
                flush=True,
            )
    print(
        f"\n{len(data.files) - 1} small files scanned per run, {args.rounds} runs each: "
        "median over runs (min-max)"
    )
    med: dict[str, dict[str, float]] = {}
    for name, runs in results.items():
        med[name] = {}
        cols = []
        for key, unit, scale in (
            ("wall_per_file", "ms", 1e3),
            ("cpu_per_file", "ms", 1e3),
            ("combine", "s", 1.0),
        ):
            vals = [scale * r[key] for r in runs]
            med[name][key] = statistics.median(vals)
            cols.append(f"{key} {med[name][key]:.3f} {unit} ({min(vals):.3f}-{max(vals):.3f})")
        print(f"{name:6s} " + "  ".join(cols))
    for key in ("wall_per_file", "cpu_per_file", "combine"):
        print(f"after/before {key}: {med['after'][key] / med['before'][key]:.3f}")


if __name__ == "__main__":
    main()
