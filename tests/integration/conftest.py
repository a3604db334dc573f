"""Fixtures for end-to-end tests: sample netCDF4 files written by xarray's netCDF4 engine."""

from __future__ import annotations

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


@pytest.fixture
def sample_files(tmp_path: Path) -> list[Path]:
    return write_sample_files(tmp_path, n_files=10)
