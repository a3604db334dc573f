"""The shared ReaderTests suite over vzcore.testing's HDF5 and netCDF-4 samples."""

from __future__ import annotations

import pytest

pytest.importorskip("vz_hdf5")
pytest.importorskip("h5py")

from vzcore.testing import ReaderTests
from vzcore.testing.samples import hdf5_sample, netcdf4_sample


class TestHDF5ReaderSuiteH5py(ReaderTests):
    reader_name = "hdf5"
    corrupt_length = 700

    @pytest.fixture
    def sample(self, tmp_path):
        return hdf5_sample(tmp_path)


class TestHDF5ReaderSuiteNetCDF4(ReaderTests):
    reader_name = "hdf5"
    corrupt_length = 700

    @pytest.fixture
    def sample(self, tmp_path):
        pytest.importorskip("netCDF4")
        return netcdf4_sample(tmp_path)
