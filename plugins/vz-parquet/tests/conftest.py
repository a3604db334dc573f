"""Fixtures for the Parquet writer: sample netCDF4 files, hand-made chunk files, and readers.

The output is read back the ways users read it: fsspec's ``ReferenceFileSystem`` with and
without ``remote_protocol`` (through zarr), ``kerchunk.utils.refs_as_store`` +
``xr.open_zarr``, and ``xr.open_dataset(directory, engine="kerchunk")``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from vzcore.testing.chunk_file import ChunkFile
from vzcore.testing.samples import write_sample_files

pytest.importorskip("vz_parquet")
pytest.importorskip("pyarrow")
xr = pytest.importorskip("xarray")
fsspec = pytest.importorskip("fsspec")
pytest.importorskip("zarr")
pytest.importorskip("kerchunk")
pytest.importorskip("fastparquet")  # fsspec's LazyReferenceMapper reads Parquet with it

FASTPARQUET_DEPRECATED = "ignore:The 'fastparquet' engine is deprecated:DeprecationWarning"
"""pandas 3 deprecates the engine fsspec reads Parquet references with (not ours to fix)."""


COMBINE = {
    "data_vars": "minimal",
    "coords": "minimal",
    "compat": "override",
    "combine_attrs": "override",
}


def open_batch(paths: Sequence[Path]) -> Any:
    """Open files as one virtual dataset (vzcore's fast path)."""
    import vzcore

    return vzcore.open_virtual_mfdataset([str(p) for p in paths], combine="by_coords", **COMBINE)


def open_originals(paths: Sequence[Path]) -> Any:
    """Open the originals with netCDF4, combined the same way (the expected result)."""
    with xr.open_mfdataset(
        [str(p) for p in paths], engine="netcdf4", combine="by_coords", **COMBINE
    ) as ds:
        return ds.load()


# -- reading the output back ----------------------------------------------------------------------


def reference_mapper(out: str | Path, *, remote_protocol: str | None = "file") -> Any:
    """Return fsspec's reference file system over ``out`` as a zarr-readable mapper."""
    kwargs = {} if remote_protocol is None else {"remote_protocol": remote_protocol}
    fs = fsspec.filesystem("reference", fo=str(out), **kwargs)
    return fs.get_mapper("")


CLIENTS = ("fsspec+remote_protocol", "fsspec", "refs_as_store", "engine=kerchunk")


def open_output(out: str | Path, client: str, **kwargs: Any) -> Any:
    """Open the Parquet references with one of the standard clients (:data:`CLIENTS`)."""
    if client == "fsspec+remote_protocol":
        return xr.open_dataset(reference_mapper(out), engine="zarr", **kwargs)
    if client == "fsspec":
        return xr.open_dataset(reference_mapper(out, remote_protocol=None), engine="zarr", **kwargs)
    if client == "refs_as_store":
        from kerchunk.utils import refs_as_store

        return xr.open_zarr(refs_as_store(str(out)), chunks=None, **kwargs)
    if client == "engine=kerchunk":
        return xr.open_dataset(str(out), engine="kerchunk", **kwargs)
    raise ValueError(client)


def each_client(out: str | Path, **kwargs: Any) -> Iterator[tuple[str, Any]]:
    """Yield ``(client, dataset)`` for every standard client."""
    for client in CLIENTS:
        yield client, open_output(out, client, **kwargs)


def assert_same(got: Any, expected: Any, where: str = "") -> None:
    """Values, dims, attributes and dtypes equal (xarray's assert_identical plus dtypes)."""
    got = got.load()
    xr.testing.assert_identical(got, expected)
    for name, var in expected.variables.items():
        assert got[name].dtype == var.dtype, (where, name, got[name].dtype, var.dtype)


# -- hand-made chunks ---------------------------------------------------------------------------


@pytest.fixture
def chunk_file(tmp_path: Path) -> ChunkFile:
    return ChunkFile(tmp_path / "chunks.bin")


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The skeleton's ten sample netCDF4 files (written once; tests must not modify them)."""
    return write_sample_files(tmp_path_factory.mktemp("sample"), n_files=10)


@pytest.fixture(scope="session")
def hundred_thousand(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """An HDF5 file with one 100,000-chunk array, and its values."""
    import h5py

    d = tmp_path_factory.mktemp("big")
    path = d / "big.nc"
    rng = np.random.default_rng(1)
    # 250 x 400 chunks of 4 x 2 int32, zlib: chunk sizes vary as in real archives.
    values = (rng.integers(0, 40, (1000, 800)) * rng.integers(1, 50, (1000, 1))).astype("<i4")
    with h5py.File(path, "w") as f:
        f.create_dataset("v", data=values, chunks=(4, 2), compression="gzip", compression_opts=1)
    return path, values
