"""References of files that share a checksum share calls; every file keeps its own checksum."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import vzcore
from vzcore.group import ManifestGroup, Variable
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray

from .conftest import Repo

ROWS_PER_FILE = 2
COLS = 3
CHUNK = (2, 2)
HEADER = b"HDR"


def _group(
    tmp_path: Path, ages: list[int], order: list[int]
) -> tuple[ManifestGroup, np.ndarray, list[Path]]:
    """Files ``0..len(ages)-1``, each ``ROWS_PER_FILE`` rows of the chunk grid, modified
    ``ages[k]`` seconds ago; ``order`` gives which file holds each band of rows."""
    rng = np.random.default_rng(2)
    nfiles = len(ages)
    grid = (ROWS_PER_FILE * nfiles, COLS)
    shape = (grid[0] * CHUNK[0], grid[1] * CHUNK[1])
    values = rng.integers(0, 250, shape, dtype=np.uint8)
    values[0:2, 2:4] = 255  # chunk (0, 1) is missing: it reads as the fill value
    blocks = values.reshape(grid[0], 2, grid[1], 2).transpose(0, 2, 1, 3)
    index = np.zeros(grid, np.uint8)
    offsets = np.zeros(grid, np.uint64)
    now = time.time()
    paths = []
    for k in range(nfiles):
        band = order.index(k)
        rows = slice(band * ROWS_PER_FILE, (band + 1) * ROWS_PER_FILE)
        path = tmp_path / f"f{k}.bin"
        path.write_bytes(HEADER + np.ascontiguousarray(blocks[rows]).tobytes())
        os.utime(path, (now - ages[k], now - ages[k]))
        paths.append(path)
        index[rows] = k
        offsets[rows] = np.arange(ROWS_PER_FILE * COLS, dtype=np.uint64).reshape(
            ROWS_PER_FILE, COLS
        ) * 4 + len(HEADER)
    index[0, 1] = np.iinfo(np.uint8).max
    urls = [f"file://{p}" for p in paths]
    manifest = ChunkManifest(urls, index, offsets, np.full(grid, 4, np.uint64))
    manifest = manifest.with_sources({u: vzcore.stat_source(u) for u in urls})
    meta = ArrayMetadata(shape, np.dtype("u1"), CHUNK, fill_value=255)
    group = ManifestGroup(variables={"v": Variable(("y", "x"), ManifestArray(meta, manifest), {})})
    return group, values, paths


def _write(
    tmp_path: Path,
    group: ManifestGroup,
    monkeypatch: pytest.MonkeyPatch,
    repo: Repo | None = None,
    **options: Any,
) -> tuple[Repo, list[dict[str, Any]]]:
    from vz_icechunk import IcechunkWriter

    repo = repo or Repo(tmp_path / "repo", group)
    session = repo.session()
    calls: list[dict[str, Any]] = []
    original = type(session.store).set_virtual_refs_arr

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append({"shape": args[1], "locations": args[2], **kwargs})
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(session.store), "set_virtual_refs_arr", counting)
    IcechunkWriter().write(group, session, **options)
    monkeypatch.undo()
    session.commit("groups")
    return repo, calls


def _read(repo: Repo) -> Any:
    import zarr

    return zarr.open_array(repo.reopen(), path="v", mode="r")


def test_files_sharing_a_checksum_share_a_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Files 0-2 modified 100 s ago, 3-5 50 s ago: two checksums, two dense boxes.
    group, values, paths = _group(tmp_path, [100, 100, 100, 50, 50, 50], list(range(6)))
    repo, calls = _write(tmp_path, group, monkeypatch)
    assert len(calls) == 2
    assert [c["shape"] for c in calls] == [(6, COLS), (6, COLS)]
    assert calls[0]["checksum"] != calls[1]["checksum"]
    assert calls[0]["arr_offset"] is None
    assert calls[1]["arr_offset"] == (6, 0)
    np.testing.assert_array_equal(_read(repo)[...], values)

    # Change file 4 after the write: its chunks are refused, its group's others still read.
    with open(paths[4], "r+b") as f:
        f.seek(len(HEADER))
        f.write(b"\x00\x01\x02\x03")
    os.utime(paths[4], None)
    arr = _read(repo)
    band = slice(4 * ROWS_PER_FILE * CHUNK[0], 5 * ROWS_PER_FILE * CHUNK[0])
    with pytest.raises(Exception, match="checksum of the object owning the virtual chunk"):
        arr[band]
    for k in (3, 5, 0):
        rows = slice(k * ROWS_PER_FILE * CHUNK[0], (k + 1) * ROWS_PER_FILE * CHUNK[0])
        np.testing.assert_array_equal(arr[rows], values[rows], err_msg=f"file {k}")


def test_scattered_files_of_one_checksum_get_a_call_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Files 0 and 1 share a checksum but hold the first and last bands of rows, with files
    # 2-4 (another checksum) between them: their common box would be mostly other files'.
    ages = [100, 100, 50, 50, 50]
    group, values, _ = _group(tmp_path, ages, [0, 2, 3, 4, 1])
    repo, calls = _write(tmp_path, group, monkeypatch)
    shapes = sorted(c["shape"] for c in calls)
    assert shapes == [(2, COLS), (2, COLS), (6, COLS)]
    one_file = [c for c in calls if c["shape"] == (2, COLS)]
    assert {len(set(c["locations"]) - {""}) for c in one_file} == {1}
    assert one_file[0]["checksum"] == one_file[1]["checksum"]
    np.testing.assert_array_equal(_read(repo)[...], values)


def test_one_checksum_for_all_files_is_one_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    group, values, _ = _group(tmp_path, [70, 70, 70, 70], [3, 1, 0, 2])
    repo, calls = _write(tmp_path, group, monkeypatch)
    assert [c["shape"] for c in calls] == [(8, COLS)]
    assert calls[0]["checksum"] is not None
    assert "" in calls[0]["locations"]  # the missing chunk
    np.testing.assert_array_equal(_read(repo)[...], values)


def test_append_places_each_checksum_after_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vz_icechunk.containers import referenced_urls

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, first_values, _ = _group(tmp_path / "a", [100, 100, 50], [0, 1, 2])
    second, second_values, _ = _group(tmp_path / "b", [30, 10, 10], [0, 1, 2])
    repo = Repo(tmp_path / "repo", referenced_urls(first) + referenced_urls(second))
    _write(tmp_path, first, monkeypatch, repo)
    _, calls = _write(tmp_path, second, monkeypatch, repo, append_dim="y")
    assert [(c["shape"], c["arr_offset"]) for c in calls] == [
        ((2, COLS), (6, 0)),
        ((4, COLS), (8, 0)),
    ]
    np.testing.assert_array_equal(_read(repo)[...], np.concatenate([first_values, second_values]))
