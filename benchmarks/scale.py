"""Scaling of ``open_virtual_mfdataset`` to 10^7 chunk references (issue 15, item 2).

Generates N netCDF4 files once under ``benchmarks/data/scale-<N>x<C>/`` (git-ignored), each
with ``C`` chunk references (one float32 variable ``v(time, y, x)``, 10 steps of 1 chunk per
step), consecutive in time, then measures, each in a fresh process and ``--repeat`` times:

* ``serial``: ``open_virtual_mfdataset(files)``;
* ``processes``: ``open_virtual_mfdataset(files, parallel="processes")``;
* ``dask``: the same with ``parallel=client`` on a 2-worker ``distributed.LocalCluster``
  (one thread each), started before the clock starts (a cluster is a session's, not a
  call's, cost), its workers having imported ``vzcore.api`` and the netCDF4 reader, as the
  calling process has before the clock in every mode (and the pool's forked workers with
  it); ``VZ_SCALE_COLD_WORKERS=1`` leaves them cold.

Each run combines along ``time`` and writes the result as Parquet references; reported are
the wall time of the call plus the write, the client process's peak RSS (``VmHWM``, reset
after imports and cluster start so it is the call's own peak; also the peak before the
write, and the RSS before the call), the medians and the spread
(min-max) of the repeats, the ratios to serial (of the medians, and round by round: the
modes alternate within a round, so a round's ratio is taken under one load) and the load
average. The result is checked
against the serial one (same references in the written Parquet's chunk count and shape).

    .venv/bin/python benchmarks/scale.py --files 1000 --chunks 100 --repeat 3
    .venv/bin/python benchmarks/scale.py --files 10000 --chunks 1000 --repeat 1 --only dask

Results are printed and appended to ``benchmarks/results/scale.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
STEPS = 10


def grid_for(chunks: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Shape and chunk shape of ``v`` for ``chunks`` references per file (10 steps)."""
    per_step = max(1, chunks // STEPS)
    ny = next(k for k in range(int(per_step**0.5), 0, -1) if per_step % k == 0)
    return (STEPS, 2 * ny, 2 * (per_step // ny)), (1, 2, 2)


def make_files(n: int, chunks: int) -> list[str]:
    """Write (once) ``n`` consecutive netCDF4 files of about ``chunks`` chunks each."""
    import netCDF4

    shape, chunk = grid_for(chunks)
    d = DATA / f"scale-{n}x{chunks}"
    params = json.loads(json.dumps({"n": n, "shape": shape, "chunks": chunk, "v": 1}))
    marker = d / "done.json"
    files = [str(d / f"f_{i:05d}.nc") for i in range(n)]
    if marker.exists() and json.loads(marker.read_text()) == params:
        return files
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    values = rng.random(shape, dtype=np.float32)
    for i, path in enumerate(files):
        with netCDF4.Dataset(path, "w") as ds:
            ds.createDimension("time", shape[0])
            ds.createDimension("y", shape[1])
            ds.createDimension("x", shape[2])
            t = ds.createVariable("time", "f8", ("time",))
            t.units = "hours since 2000-01-01"
            t[:] = i * shape[0] + np.arange(shape[0])
            v = ds.createVariable("v", "f4", ("time", "y", "x"), chunksizes=chunk)
            v.units = "K"
            v[:] = values
    marker.write_text(json.dumps(params))
    return files


CHILD = r"""
import json, os, sys, time, tempfile, shutil
def hwm_kib(field="VmHWM"):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
def reset_hwm():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
if __name__ == "__main__":
    mode, listing, out = sys.argv[1], sys.argv[2], sys.argv[3]
    files = open(listing).read().split()
    import vzcore, xarray, numpy
    import vz_hdf5._reader, vz_parquet._writer
    parallel = {"serial": False, "processes": "processes"}.get(mode)
    cluster = None
    if mode == "dask":
        from distributed import Client, LocalCluster
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        parallel = Client(cluster)
        if os.environ.get("VZ_SCALE_COLD_WORKERS") != "1":
            # the workers import what this process imported before the clock (the pool's
            # forked workers inherit it): like the cluster's start, a session's cost
            import importlib
            parallel.run(lambda: [importlib.import_module(m) for m in
                                  ("vzcore.api", "vz_hdf5._reader")] and None)
    def own_cpu():
        import resource
        own = resource.getrusage(resource.RUSAGE_SELF)
        return own.ru_utime + own.ru_stime
    def cpu():
        import resource
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        total = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
        if cluster is not None:
            total += sum(parallel.run(time.process_time).values())
        return total
    reset_hwm()
    base = hwm_kib("VmRSS")
    c0, o0 = cpu(), own_cpu()
    t0 = time.perf_counter()
    ds = vzcore.open_virtual_mfdataset(files, parallel=parallel, progress=False)
    t1 = time.perf_counter()
    peak_open = hwm_kib()
    ds.virtualize.to_kerchunk(out, format="parquet")
    t2 = time.perf_counter()
    if parallel == "processes":
        import gc; gc.collect()  # the pool's workers are reaped: their CPU is counted
    cpu_s = cpu() - c0
    client_cpu_s = own_cpu() - o0
    nrefs = int(numpy.prod(ds["v"].data.manifest.grid_shape))
    result = {"mode": mode, "scan_combine_s": t1 - t0, "write_s": t2 - t1, "total_s": t2 - t0, "cpu_s": cpu_s, "client_cpu_s": client_cpu_s,
              "rss_base_mib": base / 1024, "peak_mib": hwm_kib() / 1024,
              "peak_open_mib": peak_open / 1024, "refs": nrefs,
              "shape": list(ds["v"].shape)}
    if cluster is not None:
        parallel.close()
        cluster.close()
    print("RESULT " + json.dumps(result))
"""


def run_one(mode: str, files: list[str], workdir: Path) -> dict[str, object]:
    """Run one measurement in a fresh interpreter and return its figures."""
    listing = workdir / "files.txt"
    listing.write_text("\n".join(files))
    out = workdir / f"out-{mode}-{time.monotonic_ns()}.parq"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(listing), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode or not line:
        raise RuntimeError(f"{mode} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    return json.loads(line[0][7:])  # type: ignore[no-any-return]


def main() -> None:
    """Parse arguments, generate the files once, run every mode and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--chunks", type=int, default=100, help="chunk references per file")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="serial,processes,dask")
    args = ap.parse_args()
    t = time.perf_counter()
    files = make_files(args.files, args.chunks)
    print(f"inputs: {len(files)} files ready in {time.perf_counter() - t:.1f} s", flush=True)
    import tempfile

    modes = args.only.split(",")
    load_start = os.getloadavg()
    runs: dict[str, list[dict[str, object]]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for mode in modes:  # interleaved, so load changes hit every mode alike
                r = run_one(mode, files, Path(tmp))
                runs[mode].append(r)
                print(
                    f"  {mode}: {r['total_s']:.1f} s, CPU {r['cpu_s']:.1f} s "
                    f"(calling process {r['client_cpu_s']:.1f} s), "
                    f"peak {r['peak_mib']:.0f} MiB (in the call {r['peak_open_mib']:.0f}, "
                    f"before it {r['rss_base_mib']:.0f}), load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    load_end = os.getloadavg()
    refs = {json.dumps([r["refs"], r["shape"]]) for rs in runs.values() for r in rs}
    if len(refs) != 1:
        raise SystemExit(f"modes disagree on the result: {refs}")

    def med(mode: str, key: str) -> tuple[float, float, float]:
        xs = [float(r[key]) for r in runs[mode]]  # type: ignore[arg-type]
        return statistics.median(xs), min(xs), max(xs)

    nrefs = json.loads(refs.pop())[0]
    print(
        f"\n{args.files} files x {args.chunks} chunks = {nrefs:,} references, "
        f"{args.repeat} repeat(s); load average {load_start[0]:.2f} at start, "
        f"{load_end[0]:.2f} at end, {os.cpu_count()} cores"
    )
    print(
        f"{'mode':<10} {'total s (median, min-max)':<28} {'scan+combine s':<16} "
        f"{'write s':<9} {'CPU s':<7} {'client peak MiB':<22} {'x serial'}"
    )
    serial = med("serial", "total_s")[0] if "serial" in runs else None
    summary = {}
    for mode in modes:
        tot, peak = med(mode, "total_s"), med(mode, "peak_mib")
        ratio = f"{serial / tot[0]:.2f}x" if serial else "-"
        print(
            f"{mode:<10} {tot[0]:6.1f} ({tot[1]:.1f}-{tot[2]:.1f}){'':<12} "
            f"{med(mode, 'scan_combine_s')[0]:<16.1f} {med(mode, 'write_s')[0]:<9.1f} "
            f"{med(mode, 'cpu_s')[0]:<7.1f} "
            f"{peak[0]:5.0f} ({peak[1]:.0f}-{peak[2]:.0f}){'':<8} {ratio}"
        )
        summary[mode] = {"total_s": tot, "peak_mib": peak, "cpu_s": med(mode, "cpu_s")}
    if "serial" in runs:  # modes alternate within a round: a round's ratio shares its load
        for mode in modes:
            if mode == "serial":
                continue
            per_round = [
                float(s["total_s"]) / float(r["total_s"])  # type: ignore[arg-type]
                for s, r in zip(runs["serial"], runs[mode], strict=True)
            ]
            summary[mode]["x_serial_per_round"] = per_round
            print(
                f"{mode} / serial per round: {', '.join(f'{x:.2f}' for x in per_round)} "
                f"(median {statistics.median(per_round):.2f})"
            )
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    with open(results / "scale.jsonl", "a") as f:
        f.write(
            json.dumps(
                {
                    "files": args.files,
                    "chunks": args.chunks,
                    "refs": nrefs,
                    "load": [load_start, load_end],
                    "runs": runs,
                    "summary": summary,
                    "date": time.strftime("%Y-%m-%d %H:%M"),
                    # dask settings given by environment (e.g. the workers' profiler off)
                    "dask_env": {k: v for k, v in os.environ.items() if k.startswith("DASK_")},
                }
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
