"""Per-file cost on small netCDF4 files, warm, vzcore vs kerchunk in one process (issue 15, goal 1).

    python benchmarks/per_file.py [--files 1000] [--rounds 5] [--block 100] [--stages]
                                  [--profile N] [--cache DIR]

Inputs: ``_inputs.make_cf_small`` (N small CF netCDF4 files of 12 chunks each: a time
coordinate, lat/lon, three data variables with typical CF attributes), written once into
the cache directory (default ``benchmarks/data``).

Both tools run in this one process on the same files: ``vzcore.open_virtual_dataset(path)``
with its defaults (dimension coordinates loaded and CF-decoded) and kerchunk's
``SingleHdf5ToZarr(url, inline_threshold=0).translate()``. The two floors the issue names
run beside them: h5py opening the file and every dataset, and ``chunk_iter`` over every
chunked one; netCDF4-python opening the file and reading all its metadata (dimensions, and
per variable its attributes, dimensions, dtype, shape, chunking and filters). After a
warm-up pass over every file (page cache, imports, lazy loading), the files are taken in
blocks of ``--block``; each block is timed with every scanner in turn, the order reversed
from one block to the next, so load from other processes on the machine falls on all of
them. Reported: ms per file (median and min-max over blocks and rounds), the
kerchunk/vzcore ratio and the vzcore/floor ratios of each block (median and min-max).

``--stages`` adds the stage costs measured the same way (h5py open/close, the vz-hdf5
reader alone, the ManifestGroup -> xarray conversion alone, and the floors again beside
them). ``--profile N`` prints a cProfile of ``open_virtual_dataset`` over N files grouped
by stage.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _inputs

Scan = Callable[[str], object]


def tools() -> dict[str, Scan]:
    """The two scanners, as their documentation uses them."""
    from kerchunk.hdf import SingleHdf5ToZarr

    import vzcore

    def vz(path: str) -> object:
        return vzcore.open_virtual_dataset(path)

    def kc(path: str) -> object:
        return SingleHdf5ToZarr("file://" + path, inline_threshold=0).translate()

    return {"vzcore": vz, "kerchunk": kc}


def floors() -> dict[str, Scan]:
    """The issue's two floors: what h5py and netCDF4-python need to learn the same file."""
    import h5py
    import netCDF4

    def h5_chunks(path: str) -> object:
        with h5py.File(path, "r") as f:
            for obj in f.values():  # (opens every object of the root group)
                if isinstance(obj, h5py.Dataset) and obj.chunks is not None:
                    obj.id.chunk_iter(lambda info: None)
        return None

    def nc4_meta(path: str) -> object:
        with netCDF4.Dataset(path) as ds:
            return [
                ds.__dict__,
                [(d.name, len(d), d.isunlimited()) for d in ds.dimensions.values()],
                *(
                    (v.__dict__, v.dimensions, v.dtype, v.shape, v.chunking(), v.filters())
                    for v in ds.variables.values()
                ),
            ]

    return {
        FLOOR_H5PY: h5_chunks,
        FLOOR_NC4: nc4_meta,
    }


FLOOR_H5PY = "h5py open + chunk_iter (floor)"
FLOOR_NC4 = "netCDF4-python metadata (floor)"


def stage_scanners(files: list[str]) -> dict[str, Scan]:
    """The stages of ``open_virtual_dataset``, each timed alone, beside the floors.

    The conversion stage converts groups read (once, here) as ``open_virtual_dataset``
    reads them (``vzcore.api._read``: the reader, then the core's checks, attribute
    cleaning and source stats), so it times ``group_to_dataset`` alone, loading and
    CF-decoding the coordinates included.
    """
    import h5py
    from vz_hdf5._reader import HDF5Reader

    from vzcore._open_options import OpenOptions
    from vzcore._to_xarray import group_to_dataset
    from vzcore.api import _read

    reader = HDF5Reader()
    opts = OpenOptions.given_to("open_virtual_dataset", {})

    def h5_open(path: str) -> object:
        with h5py.File(path, "r") as f:
            return f.id

    def read(path: str) -> object:
        return reader.read("file://" + path)

    def api_read(path: str) -> object:
        return _read("file://" + path, opts, subgroups=False)

    groups = {path: _read("file://" + path, opts, subgroups=False) for path in files}

    def to_xarray(path: str) -> object:
        return group_to_dataset(groups[path], decode=opts.decode, source="file://" + path)

    return {
        "h5py open + close": h5_open,
        **floors(),
        "vz-hdf5 reader alone (HDF5Reader.read)": read,
        "reading as the API does (api._read)": api_read,
        "ManifestGroup -> xarray (group_to_dataset)": to_xarray,
    }


def time_block(scan: Scan, paths: list[str]) -> float:
    """CPU seconds per file for one pass over ``paths``.

    CPU time of this process, not wall time: the machine is shared, and other processes'
    load stretches wall time by whole factors while CPU time moves by a few percent.
    """
    t = time.process_time()
    for p in paths:
        scan(p)
    return (time.process_time() - t) / len(paths)


def interleaved(
    scanners: dict[str, Scan], files: list[str], rounds: int, block: int
) -> dict[str, list[float]]:
    """Per-file seconds of each scanner per block, scanners alternating within each block."""
    times: dict[str, list[float]] = {name: [] for name in scanners}
    names = list(scanners)
    blocks = [files[i : i + block] for i in range(0, len(files), block)]
    k = 0
    for _ in range(rounds):
        for paths in blocks:
            order = names if k % 2 == 0 else names[::-1]
            k += 1
            for name in order:
                times[name].append(time_block(scanners[name], paths))
    return times


def spread(values: list[float], scale: float = 1.0) -> str:
    """``median (min-max)`` of ``values`` times ``scale``."""
    med = statistics.median(values) * scale
    return f"{med:7.3f} ({min(values) * scale:.3f}-{max(values) * scale:.3f})"


def stage_of(filename: str, func: str) -> str | None:
    """The stage a profiled function belongs to (by module), or None."""
    f = filename.replace(os.sep, "/")
    if "/h5py/" in f:
        return "h5py (high-level objects, attributes, File open/close)"
    if "vz_hdf5/_gheap" in f or "vz_hdf5/_btree" in f:
        return "vz-hdf5 native parsing (chunk B-tree, header/heap checks)"
    if "vz_hdf5/" in f:
        return "vz-hdf5 reader Python code"
    if "/xarray/" in f or "/pandas/" in f:
        return "xarray/pandas (Variable, Dataset, index, CF decoding)"
    if "vzcore/manifests/" in f:
        return "vzcore manifests (ChunkManifest, ArrayMetadata, encoding)"
    if "vzcore/" in f:
        return "vzcore core (api, plugins, urls, _to_xarray)"
    if "/numcodecs/" in f:
        return "numcodecs (coordinate decoding)"
    return None


def profile(files: list[str], scan: Scan) -> str:
    """cProfile of ``scan`` over ``files``: own CPU time per stage (profiler overhead included).

    CPU time of the process (not cProfile's default wall clock, which other processes'
    load stretches at random places).
    """
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    for p in files:
        scan(p)
    prof.disable()
    stats = pstats.Stats(prof)
    by_stage: dict[str, float] = {}
    total = 0.0
    for (filename, _line, func), row in stats.stats.items():  # type: ignore[attr-defined]
        tottime = row[2]
        total += tottime
        stage = stage_of(filename, func) or "other (builtins, numpy, stdlib)"
        by_stage[stage] = by_stage.get(stage, 0.0) + tottime
    head = (
        f"cProfile own time by stage, {len(files)} files "
        f"({total / len(files) * 1e3:.2f} ms/file under the profiler):"
    )
    lines = [head]
    for stage, t in sorted(by_stage.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {stage:60s} {t / total * 100:5.1f}%")
    return "\n".join(lines)


def main() -> None:
    """Measure, print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--block", type=int, default=100)
    ap.add_argument("--stages", action="store_true", help="also time floors and stages")
    ap.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="cProfile open_virtual_dataset over N files, by stage",
    )
    ap.add_argument("--cache", default=str(HERE / "data"))
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    cache = Path(args.cache).resolve()
    cache.mkdir(parents=True, exist_ok=True)
    data = _inputs.make_cf_small(cache, args.files)
    files = data.files
    scanners = {**tools(), **floors()}
    print(
        f"{data.name}: {data.chunks // len(files)} chunks each; {args.rounds} rounds of "
        f"{len(files) // args.block} blocks of {args.block} files, scanners alternating; "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    for scan in scanners.values():  # warm-up: page cache, imports, lazy loading
        for p in files:
            scan(p)
    times = interleaved(scanners, files, args.rounds, args.block)
    print(f"  {'':34s} {'CPU ms/file median (min-max over blocks)':>40s}")
    for name, ts in times.items():
        print(f"  {name:34s} {spread(ts, 1e3)}")
    print("ratios per block (median (min-max)):")
    for name, num, den in (
        ("kerchunk / vzcore", "kerchunk", "vzcore"),
        ("vzcore / h5py floor", "vzcore", FLOOR_H5PY),
        ("vzcore / netCDF4 floor", "vzcore", FLOOR_NC4),
    ):
        ratios = [a / b for a, b in zip(times[num], times[den], strict=True)]
        print(f"  {name:34s} {spread(ratios)}")
    if args.stages:
        stages = stage_scanners(files)
        for scan in stages.values():
            for p in files[: args.block]:
                scan(p)
        st = interleaved(
            {**stages, "vzcore.open_virtual_dataset": scanners["vzcore"]},
            files,
            max(1, args.rounds // 2),
            args.block,
        )
        print("stages and floors (same files, interleaved):")
        for name, ts in st.items():
            print(f"  {name:52s} {spread(ts, 1e3)} ms/file")
    if args.profile:
        print(profile(files[: args.profile], scanners["vzcore"]))
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
