"""Fixtures for the Icechunk writer: sample netCDF4 files and local-filesystem repositories."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from vzcore.testing import samples
from vzcore.testing.samples import MINIMAL, write_sample_files

icechunk = pytest.importorskip("icechunk")
pytest.importorskip("vz_icechunk")
pytest.importorskip("vz_hdf5")
xr = pytest.importorskip("xarray")

# Icechunk logs warnings about local storage from Rust to stderr; they are not ours.
icechunk.set_logs_filter("error")


OVERLAPPING = (
    pytest.param(
        slice(0, 4),
        r"Cannot append the batch \(4 file\(s\): '[^']*sample_000\.nc' …\) along 'time': "
        r"it starts at 2000-01-01 00:00:00 \(0 days since 2000-01-01\), but the repository "
        r"already holds 'time' up to 2000-01-16 00:00:00 \(15 days since 2000-01-01\), so "
        r"16 of its 16 steps overlap or go back \(already appended\?\)",
        id="same-files-again",
    ),
    pytest.param(
        slice(3, 6),
        r"it starts at 2000-01-13 00:00:00 .* so 4 of its 12 steps overlap",
        id="partly-overlapping",
    ),
)
"""``(batch of sample files, error)`` appended after files 0-3: what overlaps, and how much."""


def open_batch(paths: Sequence[Path]) -> Any:
    """Open files as one virtual dataset, as a user of the daily-update workflow would."""
    import vzcore

    return vzcore.open_virtual_mfdataset(
        [str(p) for p in paths], combine="by_coords", **MINIMAL, combine_attrs="override"
    )


def open_originals(paths: Sequence[Path]) -> Any:
    """Open the originals with netCDF4, combined the same way (the expected result)."""
    return samples.open_originals(
        [str(p) for p in paths], combine="by_coords", combine_attrs="override"
    )


class Repo:
    """A local-filesystem Icechunk repository whose containers cover ``sources``."""

    def __init__(self, path: Path, sources: Any = (), *, containers: bool = True) -> None:
        import vz_icechunk

        self.path = path
        self.config = icechunk.RepositoryConfig.default()
        self.auth = None
        if containers:
            for c in vz_icechunk.containers_for(sources):
                self.config.set_virtual_chunk_container(c)
            self.auth = vz_icechunk.authorize_for(sources)
        self.repo = icechunk.Repository.create(
            icechunk.local_filesystem_storage(str(path)),
            config=self.config,
            authorize_virtual_chunk_access=self.auth,
        )

    def session(self) -> Any:
        return self.repo.writable_session("main")

    def commit(self, vobj: Any, message: str) -> None:
        """Write ``vobj`` (a virtual dataset or tree) in a new session and commit it."""
        session = self.session()
        vobj.virtualize.to_icechunk(session)
        session.commit(message)

    def reopen(self) -> Any:
        """Open the repository afresh (new process style) and return a read-only store."""
        repo = icechunk.Repository.open(
            icechunk.local_filesystem_storage(str(self.path)),
            authorize_virtual_chunk_access=self.auth,
        )
        return repo.readonly_session("main").store

    def open_zarr(self, **kwargs: Any) -> Any:
        return xr.open_zarr(self.reopen(), consolidated=False, **kwargs)


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Ten sample files, shared by the tests of a run: tests that modify files copy them."""
    return write_sample_files(tmp_path_factory.mktemp("files"), n_files=10)


def copy_files(paths: Sequence[Path], directory: Path) -> list[Path]:
    """Copy ``paths`` into ``directory`` (for tests that modify source files)."""
    import shutil

    directory.mkdir(exist_ok=True)
    return [Path(shutil.copy2(p, directory / p.name)) for p in paths]


def assert_same(got: Any, expected: Any) -> None:
    """Identical datasets, and identical encoded dtypes (no int -> float anywhere)."""
    xr.testing.assert_identical(got, expected)
    for name, var in expected.variables.items():
        assert got[name].dtype == var.dtype, name
        assert got[name].encoding.get("dtype") == var.encoding.get("dtype"), name
