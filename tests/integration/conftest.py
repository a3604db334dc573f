"""Fixtures for end-to-end tests: sample netCDF4 files written by xarray's netCDF4 engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from vzcore.testing.samples import write_sample_files


@pytest.fixture
def sample_files(tmp_path: Path) -> list[Path]:
    return write_sample_files(tmp_path, n_files=10)
