"""The shared ReaderTests suite over vzcore.testing's HDF5 and netCDF-4 samples."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("vz_hdf5")
pytest.importorskip("h5py")

from vzcore.testing import ReaderTests
from vzcore.testing.samples import hdf5_sample, netcdf4_sample


def _cut(path: Path, tmp_path: Path) -> Path:
    out = tmp_path / "cut.h5"
    out.write_bytes(path.read_bytes()[:700])
    return out


class TestHDF5ReaderSuiteH5py(ReaderTests):
    reader_name = "hdf5"

    @pytest.fixture
    def sample(self, tmp_path):
        return hdf5_sample(tmp_path)

    @pytest.fixture
    def corrupt_file(self, tmp_path, sample):
        return _cut(sample[0], tmp_path)


class TestHDF5ReaderSuiteNetCDF4(ReaderTests):
    reader_name = "hdf5"

    @pytest.fixture
    def sample(self, tmp_path):
        pytest.importorskip("netCDF4")
        return netcdf4_sample(tmp_path)

    @pytest.fixture
    def corrupt_file(self, tmp_path, sample):
        return _cut(sample[0], tmp_path)
