"""The shared ReaderTests suite over vzcore.testing's netCDF classic samples."""

from __future__ import annotations

import pytest

pytest.importorskip("vz_netcdf3")
pytest.importorskip("netCDF4")
pytest.importorskip("scipy")

from vzcore.testing import ReaderTests
from vzcore.testing.samples import netcdf3_sample


class TestNetcdf3ReaderSuite(ReaderTests):
    reader_name = "netcdf3"
    corrupt_length = 60

    @pytest.fixture(params=["NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET"])
    def sample(self, tmp_path, request):
        return netcdf3_sample(tmp_path, format=request.param)
