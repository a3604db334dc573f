"""Chunk references reach Icechunk in slabs of bounded size, and read back the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import vzcore
from vzcore.group import ManifestGroup, Variable
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray

from .conftest import Repo

GRID = (21, 30)
CHUNK = (2, 2)


def _group(tmp_path: Path) -> tuple[ManifestGroup, np.ndarray]:
    rng = np.random.default_rng(1)
    shape = (GRID[0] * CHUNK[0], GRID[1] * CHUNK[1])
    values = rng.integers(0, 255, shape, dtype=np.uint8)
    values[4:6, 10:12] = 9  # the missing chunk (2, 5) reads as the fill value
    blocks = values.reshape(GRID[0], 2, GRID[1], 2).transpose(0, 2, 1, 3)
    path = tmp_path / "data.bin"
    path.write_bytes(b"HDR" + np.ascontiguousarray(blocks).tobytes())
    url = f"file://{path}"
    index = np.zeros(GRID, np.uint8)
    index[2, 5] = np.iinfo(np.uint8).max
    offsets = np.arange(np.prod(GRID), dtype=np.uint64).reshape(GRID) * 4 + 3
    manifest = ChunkManifest([url], index, offsets, np.full(GRID, 4, np.uint64))
    manifest = manifest.with_sources({url: vzcore.stat_source(url)})
    meta = ArrayMetadata(shape, np.dtype("u1"), CHUNK, fill_value=9)
    arr = ManifestArray(meta, manifest)
    return ManifestGroup(variables={"v": Variable(("y", "x"), arr, {})}), values


@pytest.mark.parametrize("slab", [70, 30, 1, 10_000])
def test_slabs_write_every_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slab: int
) -> None:
    import zarr

    from vz_icechunk import IcechunkWriter, _refs

    monkeypatch.setattr(_refs, "_SLAB_CHUNKS", slab)  # 2 rows, 1 row, 1 row, all rows
    calls = []

    group, values = _group(tmp_path)
    repo = Repo(tmp_path / "repo", group)
    session = repo.session()
    original = type(session.store).set_virtual_refs_arr

    def counting(self, *args, **kwargs):
        calls.append(args[1])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(session.store), "set_virtual_refs_arr", counting)
    IcechunkWriter().write(group, session)
    session.commit("slabs")
    rows = max(1, slab // GRID[1])
    assert len(calls) == -(-GRID[0] // rows)
    assert all(np.prod(shape) <= max(slab, GRID[1]) for shape in calls)
    got = zarr.open_array(repo.reopen(), path="v", mode="r")[...]
    np.testing.assert_array_equal(got, values)
