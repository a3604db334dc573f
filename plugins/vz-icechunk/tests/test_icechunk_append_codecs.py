"""Appending keeps the codecs the repository's arrays have (loaded coordinates included).

Earlier versions stored loaded variables uncompressed; now a loaded coordinate long enough
is compressed (``vzcore.store_plan.INLINE_CODECS``). An append along ``time`` writes the
batch's loaded values into the repository's array, with that array's codecs, whichever
layout wrote it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from vzcore.store_plan import plan

from .conftest import Repo, assert_same, open_batch, open_originals, write_sample_files


@pytest.fixture(scope="module")
def long_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    # 80 int32 time steps per file: a batch's time is 640+ bytes, compressed when loaded.
    return write_sample_files(tmp_path_factory.mktemp("long"), n_files=4, steps=80)


def _write_old_layout(repo: Repo, ds: Any) -> None:
    """Write ``ds`` as vzcore wrote loaded variables before: raw inline chunks, no codec.

    The documents come from ``plan(..., compress_inline=False)``; the values are written
    through zarr into those arrays, as the writer writes loaded variables.
    """
    import zarr
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    repo.commit(ds, "first batch")
    session = repo.session()
    store = session.store
    proto = default_buffer_prototype()
    for a in plan(ds.virtualize.to_group(), 3, compress_inline=False).arrays:
        if a.values is None:
            continue
        doc = json.dumps(a.document).encode()
        sync(store.delete_dir(a.path))
        sync(store.set(f"{a.path}/zarr.json", proto.buffer.from_bytes(doc)))
        zarr.open_array(store, path=a.path, mode="r+")[...] = a.values
    session.commit("the same batch, as an earlier vzcore wrote it")


def _codecs(repo: Repo, name: str) -> list[str]:
    import zarr

    doc = zarr.open_array(repo.reopen(), path=name, mode="r").metadata.to_dict()
    return [c["name"] for c in doc["codecs"]]


@pytest.mark.parametrize("layout", ["old", "new"])
def test_append_keeps_the_repositorys_codecs(
    tmp_path: Path, long_files: list[Path], layout: str
) -> None:
    first, second = open_batch(long_files[:2]), open_batch(long_files[2:])
    repo = Repo(tmp_path / "repo", long_files)
    if layout == "old":
        _write_old_layout(repo, first)
    else:
        repo.commit(first, "first batch")
    written = _codecs(repo, "time")
    assert written == (["bytes"] if layout == "old" else ["bytes", "blosc"])

    session = repo.session()
    second.virtualize.to_icechunk(session, append_dim="time")
    session.commit("second batch")

    assert _codecs(repo, "time") == written
    got = repo.open_zarr().load()
    assert got.sizes["time"] == 320
    assert_same(got, open_originals(long_files))


def test_a_short_batch_appends_to_a_compressed_coordinate(tmp_path: Path) -> None:
    # 16 files of 4 days: the repository's time (64 int32, 256 bytes) is compressed; the
    # batch's (one file, 16 bytes) alone would not be.
    files = write_sample_files(tmp_path, n_files=17, steps=4)
    first, second = open_batch(files[:16]), open_batch(files[16:])
    repo = Repo(tmp_path / "repo", files)
    repo.commit(first, "64 days")
    assert _codecs(repo, "time") == ["bytes", "blosc"]
    assert plan(second.virtualize.to_group(), 3).metadata["time/zarr.json"]["codecs"] == [
        {"name": "bytes", "configuration": {"endian": "little"}}
    ]

    session = repo.session()
    second.virtualize.to_icechunk(session, append_dim="time")
    session.commit("4 more days")

    assert _codecs(repo, "time") == ["bytes", "blosc"]
    assert_same(repo.open_zarr().load(), open_originals(files))
