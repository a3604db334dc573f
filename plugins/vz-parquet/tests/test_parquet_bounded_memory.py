"""The Parquet writer's memory stays bounded by a record, whatever the number of chunks."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pyarrow.parquet as pq
from vzcore.group import ManifestGroup, Variable
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray

from vz_parquet import ParquetWriter


def _group(n_files: int, per_file: int) -> ManifestGroup:
    grid = (n_files, per_file)
    lengths = np.full(grid, 1000, np.uint64)
    offsets = (np.arange(per_file, dtype=np.uint64) * 1000 + 4096)[None, :].repeat(n_files, 0)
    urls = np.array([f"file:///data/f_{i:04d}.nc" for i in range(n_files)], dtype=object)
    paths = np.broadcast_to(urls[:, None], grid)
    meta = ArrayMetadata(
        (n_files, per_file * 10), np.dtype("<f4"), (1, 10), codecs=({"id": "zlib", "level": 1},)
    )
    arr = ManifestArray(meta, ChunkManifest.from_arrays(paths, offsets, lengths))
    return ManifestGroup(variables={"v": Variable(("t", "x"), arr, {})})


def test_write_memory_is_bounded_by_the_record_size(tmp_path):
    group = _group(20, 100_000)  # 2,000,000 references
    tracemalloc.start()
    try:
        ParquetWriter().write(
            group, tmp_path / "out.parq", record_size=50_000, record_sources=False
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Whole-array int64 copies of offsets and sizes alone would take 32 MB.
    assert peak < 8_000_000, peak
    files = sorted(
        (tmp_path / "out.parq" / "v").glob("refs.*.parq"), key=lambda p: int(p.name.split(".")[1])
    )
    assert len(files) == 40
    last = pq.read_table(files[-1]).to_pydict()
    assert last["path"][-1] == "file:///data/f_0019.nc"
    assert last["offset"][-1] == 4096 + 99_999 * 1000
    assert last["size"][-1] == 1000
