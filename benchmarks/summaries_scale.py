"""What the calling process holds and spends on per-file summaries at 10^5-10^6 files.

Synthesises the summaries batch tasks make for N files of one time dimension (as
``scan_and_combine_batch`` makes them: one :class:`vzcore._summaries.Summary` per file,
batches of 128), sends them through pickle as the cluster and process-pool paths do, and
measures on the receiving side, in this one process:

* ``objects``: the list of ``Summary`` objects (what travelled before session 14), held
  and ordered by comparing each file's values in Python (the former ``_order``);
* ``table``: one :class:`~vzcore._summaries.SummaryTable` per batch, joined, and ordered
  by :meth:`SummaryTable.order`.

Reported per form: bytes pickled per file, memory held per file (tracemalloc, after
unpickling and joining), and the seconds to find the combined order.

    .venv/bin/python benchmarks/summaries_scale.py --files 1000000
"""

from __future__ import annotations

import argparse
import gc
import pickle
import time
import tracemalloc

import numpy as np

from vzcore._summaries import Summary, SummaryTable, _sorted_apart_python

BATCH = 128


def make(n: int) -> list[list[Summary]]:
    """Per-batch summaries of ``n`` consecutive files of 10 steps of a minute each."""
    base = np.datetime64("2000-01-01T00", "ns")
    step = np.timedelta64(1, "m")

    def one(k: int) -> Summary:
        first, last = base + 10 * k * step, base + (10 * k + 9) * step
        path = f"s3://bucket/some/prefix/product_{k:07d}.nc"
        return Summary(k, path, data_vars=("v",), coords={"time": (10, first, last)})

    return [[one(k) for k in range(s, min(n, s + BATCH))] for s in range(0, n, BATCH)]


def python_order(rows: list[Summary]) -> list[int] | None:
    """The former per-object ordering: one concatenation dimension found by repr, then compared."""
    dims = set(rows[0].coords)
    varying = [d for d in dims if len({repr(s.coords[d]) for s in rows}) > 1]
    if len(varying) != 1:
        return None
    firsts = [s.coords[varying[0]][1] for s in rows]
    lasts = [s.coords[varying[0]][2] for s in rows]
    return _sorted_apart_python(firsts, lasts)


def measure(batches: list[list[Summary]], form: str) -> dict[str, float]:
    """Pickle each batch in ``form``, unpickle and hold them all, then order them."""
    n = sum(len(b) for b in batches)
    blobs = [
        pickle.dumps(b if form == "objects" else SummaryTable.of(b), protocol=5) for b in batches
    ]
    sent = sum(len(b) for b in blobs)
    gc.collect()
    tracemalloc.start()
    got = [pickle.loads(b) for b in blobs]
    held = [s for b in got for s in b] if form == "objects" else SummaryTable.join(got)
    del got
    gc.collect()
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    t = time.perf_counter()
    order = python_order(held) if form == "objects" else held.order("by_coords")
    seconds = time.perf_counter() - t
    assert order == list(range(n)), "the files were made in order"
    return {"sent_b_per_file": sent / n, "held_b_per_file": size / n, "order_s": seconds}


def main() -> None:
    """Measure both forms for ``--files`` files and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=100_000)
    args = ap.parse_args()
    batches = make(args.files)
    print(f"{args.files:,} files in batches of {BATCH}")
    print(f"{'form':<8} {'pickled B/file':>15} {'held B/file':>12} {'order s':>9}")
    for form in ("objects", "table"):
        r = measure(batches, form)
        print(
            f"{form:<8} {r['sent_b_per_file']:>15.1f} {r['held_b_per_file']:>12.1f} "
            f"{r['order_s']:>9.3f}"
        )


if __name__ == "__main__":
    main()
