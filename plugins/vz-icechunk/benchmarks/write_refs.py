"""Time writing 100,000 virtual chunk references into a local Icechunk repository.

Run: ``python plugins/vz-icechunk/benchmarks/write_refs.py`` (vzcore + vz-icechunk), or with
``--peer virtualizarr`` from an environment that has VirtualiZarr (``/work/venv-bench``) to
time VirtualiZarr's ``.vz.to_icechunk`` on the same references. Each run is its own process.
Reported: the best of three writes (``to_icechunk``/``write`` only) and one ``commit``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

GRID = (100, 1000)
CHUNK = (4, 4)


def make_files(d: Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Two files of 50,000 16-byte chunks; returns urls, per-chunk url index, offsets, lengths."""
    half = GRID[0] // 2
    urls = []
    for name in ("a.bin", "b.bin"):
        path = d / name
        path.write_bytes(b"\0" * (16 * half * GRID[1]))
        urls.append(f"file://{path}")
    index = np.zeros(GRID, np.uint8)
    index[half:] = 1
    per = np.arange(half * GRID[1], dtype=np.uint64).reshape(half, GRID[1]) * 16
    offsets = np.concatenate([per, per])
    return urls, index, offsets, np.full(GRID, 16, np.uint64)


def repo_for(path: Path, prefix: str):  # type: ignore[no-untyped-def]
    """Create a local repository with one container for ``prefix``."""
    import icechunk

    icechunk.set_logs_filter("error")
    config = icechunk.RepositoryConfig.default()
    config.set_virtual_chunk_container(
        icechunk.VirtualChunkContainer(prefix, icechunk.local_filesystem_store(prefix[7:]))
    )
    return icechunk.Repository.create(icechunk.local_filesystem_storage(str(path)), config)


def run_vzcore(d: Path, record_sources: bool) -> tuple[float, float]:
    """Time vz-icechunk's writer; return (best write, commit) seconds."""
    import vzcore
    from vzcore.group import ManifestGroup, Variable
    from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray

    from vz_icechunk import IcechunkWriter

    urls, index, offsets, lengths = make_files(d)
    manifest = ChunkManifest(urls, index, offsets, lengths).with_sources(
        {u: vzcore.stat_source(u) for u in urls}
    )
    meta = ArrayMetadata((400, 4000), np.dtype("u1"), CHUNK)
    group = ManifestGroup(variables={"big": Variable(("y", "x"), ManifestArray(meta, manifest))})
    best = np.inf
    for i in range(3):
        repo = repo_for(d / f"repo{i}", f"file://{d}/")
        session = repo.writable_session("main")
        t0 = time.perf_counter()
        IcechunkWriter().write(group, session, record_sources=record_sources)
        best = min(best, time.perf_counter() - t0)
    t0 = time.perf_counter()
    session.commit("bench")
    return best, time.perf_counter() - t0


def run_virtualizarr(d: Path) -> tuple[float, float]:
    """Time VirtualiZarr's to_icechunk; return (best write, commit) seconds."""
    import xarray as xr
    from virtualizarr.manifests import ChunkManifest, ManifestArray
    from virtualizarr.manifests.utils import create_v3_array_metadata

    urls, index, offsets, lengths = make_files(d)
    paths = np.asarray(urls, dtype=np.dtypes.StringDType())[index]
    manifest = ChunkManifest.from_arrays(paths=paths, offsets=offsets, lengths=lengths)
    meta = create_v3_array_metadata(
        shape=(400, 4000), data_type=np.dtype("u1"), chunk_shape=CHUNK, fill_value=0
    )
    ds = xr.Dataset({"big": (("y", "x"), ManifestArray(metadata=meta, chunkmanifest=manifest))})
    best = np.inf
    for i in range(3):
        repo = repo_for(d / f"repo{i}", f"file://{d}/")
        session = repo.writable_session("main")
        t0 = time.perf_counter()
        ds.vz.to_icechunk(session.store)
        best = min(best, time.perf_counter() - t0)
    t0 = time.perf_counter()
    session.commit("bench")
    return best, time.perf_counter() - t0


def main() -> None:
    """Run one tool's measurement and print it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--peer", choices=["vzcore", "virtualizarr"], default="vzcore")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        if args.peer == "vzcore":
            for record in (False, True):
                (d / str(record)).mkdir()
                write, commit = run_vzcore(d / str(record), record)
                print(
                    f"vzcore record_sources={record}: write 100,000 refs {write:.3f} s, "
                    f"commit {commit:.3f} s"
                )
        else:
            write, commit = run_virtualizarr(d)
            print(f"virtualizarr: write 100,000 refs {write:.3f} s, commit {commit:.3f} s")


if __name__ == "__main__":
    main()
