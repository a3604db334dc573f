"""Fixtures for end-to-end tests: sample netCDF4 files written by xarray's netCDF4 engine."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vzcore.testing.samples import write_sample_files


def write_annotated_files(tmp_path: Path) -> list[Path]:
    """Nine sample files of two steps with global attributes that differ, or are one file's."""
    import netCDF4

    paths = write_sample_files(tmp_path, n_files=9, steps=2)
    for i, p in enumerate(paths):  # attributes that drop_conflicts must drop, or keep
        with netCDF4.Dataset(p, "a") as nc:
            nc.history = "made by test" if i != 4 else "edited later"  # conflict: dropped
            if i == 7:
                nc.note = "only in file 7"  # in one file only: kept
            nc["temp"].comment = "same everywhere"
    return paths


def truncated_copy(path: Path, directory: Path) -> Path:
    """Write the first 300 bytes of ``path`` (a truncated HDF5 file) as ``sample_100.nc``."""
    bad = directory / "sample_100.nc"
    bad.write_bytes(path.read_bytes()[:300])
    return bad


def serial_and_parallel(paths: list[Path], errors: str, parallel: Any) -> tuple[Any, Any]:
    """open_virtual_mfdataset(paths, errors=errors) serially, then with ``parallel``.

    With ``errors="warn"`` each must warn that it skipped ``sample_100.nc``.
    """
    import vzcore
    from vzcore.errors import VZSkippedFilesWarning

    def combine(**options: Any) -> Any:
        if errors == "warn":
            with pytest.warns(VZSkippedFilesWarning, match=r"sample_100\.nc"):
                return vzcore.open_virtual_mfdataset(paths, errors=errors, **options)
        return vzcore.open_virtual_mfdataset(paths, errors=errors, **options)

    return combine(), combine(parallel=parallel)


def keep(ds: Any) -> Any:
    """A ``preprocess=`` that changes nothing: it sends the files down the per-file path.

    Module-level, so that it pickles for worker processes.
    """
    return ds


def _client(processes: bool, threads_per_worker: int) -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=threads_per_worker,
            processes=processes,
            dashboard_address=":0",
            **({"host": "127.0.0.1"} if processes else {}),
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def thread_client() -> Iterator[Any]:
    """A Client of a LocalCluster of two workers that are threads of this process."""
    yield from _client(processes=False, threads_per_worker=1)


@pytest.fixture(scope="module")
def process_client() -> Iterator[Any]:
    """A Client of a LocalCluster of two worker processes of two threads each.

    Results travel between the workers and to the client pickled (in compact form).
    """
    yield from _client(processes=True, threads_per_worker=2)


@pytest.fixture(scope="module")
def pool() -> Iterator[cf.ProcessPoolExecutor]:
    """A process pool of two workers (a fork server: pytest may run threads, where fork is
    unsafe and warns)."""
    with cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("forkserver")) as ex:
        yield ex


@pytest.fixture
def sample_files(tmp_path: Path) -> list[Path]:
    return write_sample_files(tmp_path, n_files=10)


def uniform_starts(n: int, size: int) -> list[int]:
    """Batch starts (see ``vzcore._tree_combine._plan``) of ``size`` files each, then ``n``."""
    return [*range(0, n, size), n]
