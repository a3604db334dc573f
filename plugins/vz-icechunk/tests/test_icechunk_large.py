"""A 100,000-chunk array, hand-built over two real files, written and read back in full."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import vzcore
from vzcore.group import ManifestGroup, Variable
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray

from .conftest import Repo, xr

GRID = (100, 1000)
CHUNK = (4, 4)
HEADER = b"HEADER--"
FILL = 7


@pytest.fixture
def big(tmp_path: Path) -> tuple[ManifestGroup, np.ndarray]:
    """100,000 uint8 chunks of 16 bytes: rows 0-49 of the grid in a.bin, 50-99 in b.bin."""
    rng = np.random.default_rng(0)
    shape = (GRID[0] * CHUNK[0], GRID[1] * CHUNK[1])
    values = rng.integers(0, 255, shape, dtype=np.uint8)
    missing = [(0, 0), (3, 999), (77, 5)]
    for i, j in missing:
        values[i * 4 : i * 4 + 4, j * 4 : j * 4 + 4] = FILL
    blocks = values.reshape(GRID[0], 4, GRID[1], 4).transpose(0, 2, 1, 3)  # grid of chunks
    half = GRID[0] // 2
    urls = []
    for name, part in (("a.bin", blocks[:half]), ("b.bin", blocks[half:])):
        path = tmp_path / name
        path.write_bytes(HEADER + np.ascontiguousarray(part).tobytes())
        urls.append(f"file://{path}")
    index = np.zeros(GRID, np.uint8)
    index[half:] = 1
    per_file = np.arange(half * GRID[1], dtype=np.uint64).reshape(half, GRID[1])
    offsets = np.concatenate([per_file, per_file]) * 16 + len(HEADER)
    for i, j in missing:
        index[i, j] = np.iinfo(np.uint8).max  # the "missing" sentinel
    manifest = ChunkManifest(urls, index, offsets, np.full(GRID, 16, np.uint64))
    manifest = manifest.with_sources({u: vzcore.stat_source(u) for u in urls})
    meta = ArrayMetadata(shape, np.dtype("u1"), CHUNK, fill_value=FILL)
    group = ManifestGroup(
        variables={"big": Variable(("y", "x"), ManifestArray(meta, manifest), {"units": "1"})}
    )
    return group, values


def test_hundred_thousand_chunks(tmp_path: Path, big: tuple[ManifestGroup, np.ndarray]) -> None:
    from vz_icechunk import IcechunkWriter

    group, values = big
    assert group.variables["big"].data.manifest.nchunks == 100_000
    repo = Repo(tmp_path / "repo", group)
    session = repo.session()
    IcechunkWriter().write(group, session)  # one call per file, each with its checksum
    session.commit("100k chunks")
    # Icechunk fetches each 16-byte virtual chunk separately (~0.3 ms each, 30 s for all):
    # read every value of the grid rows that hold the first chunks, both sides of the
    # boundary between the files, the last rows and the missing chunks, plus ten full columns
    # of chunks across both files (about 9,000 chunks).
    import zarr

    arr = zarr.open_array(repo.reopen(), path="big", mode="r")
    assert arr.dtype == np.uint8
    assert arr.shape == values.shape
    for row in (0, 3, 49, 50, 77, 99):
        sel = slice(row * 4, row * 4 + 4)
        np.testing.assert_array_equal(arr[sel], values[sel], err_msg=f"grid row {row}")
    for col in range(0, GRID[1], 97):
        sel = slice(col * 4, col * 4 + 4)
        np.testing.assert_array_equal(arr[:, sel], values[:, sel], err_msg=f"grid column {col}")
    ds = xr.open_zarr(repo.reopen(), consolidated=False, chunks=None)
    assert ds["big"].dtype == np.uint8
    assert ds["big"].attrs == {"units": "1"}
