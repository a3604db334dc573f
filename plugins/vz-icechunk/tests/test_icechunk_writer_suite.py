"""The shared WriterTests suite for the Icechunk writer: its target is a writable session.

Each test gets a new local-filesystem repository whose virtual chunk container covers
pytest's temporary directories; the output is committed and read back through the same
repository (authorized for that container) with zarr.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

icechunk = pytest.importorskip("icechunk")
vz_icechunk = pytest.importorskip("vz_icechunk")
zarr = pytest.importorskip("zarr")

from vzcore.testing import WriterTests


def _repository(path: Path, covered: Path) -> Any:
    urls = [f"file://{covered}/any"]
    config = icechunk.RepositoryConfig.default()
    for c in vz_icechunk.containers_for(urls):
        config.set_virtual_chunk_container(c)
    return icechunk.Repository.create(
        icechunk.local_filesystem_storage(str(path)),
        config=config,
        authorize_virtual_chunk_access=vz_icechunk.authorize_for(urls),
    )


def _keys_and_bytes(store: Any) -> dict[str, str]:
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    async def read() -> dict[str, str]:
        out = {}
        async for key in store.list():
            buf = await store.get(key, default_buffer_prototype())
            out[key] = hashlib.sha256(buf.to_bytes()).hexdigest() if buf is not None else ""
        return out

    return dict(sorted(sync(read()).items()))


class TestIcechunkWriterSuite(WriterTests):
    writer_name = "icechunk"
    non_finite_attributes = False  # Icechunk stores strict JSON: NaN/inf are refused

    @pytest.fixture
    def target(self, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
        """A writable session of a new repository (containers: all of pytest's tmp dirs)."""
        repo = _repository(tmp_path / "repo", tmp_path_factory.getbasetemp())
        return repo.writable_session("main")

    @pytest.fixture
    def unwritable_target(self, tmp_path: Path) -> Any:
        """A read-only session."""
        return _repository(tmp_path / "ro", tmp_path).readonly_session("main")

    def open_output(self, target: Any) -> Any:
        if target.has_uncommitted_changes:
            target.commit("written by the suite")
        return zarr.open_group(target.store, mode="r")

    def target_state(self, target: Any) -> Any:
        return _keys_and_bytes(target.store)
