"""vzcore's ReaderTests conformance suite for the netcdf3 reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("vz_netcdf3")
scipy_io = pytest.importorskip("scipy.io")

import vzcore
from vzcore.testing import ReaderTests


class TestNetcdf3Conformance(ReaderTests):
    reader_name = "netcdf3"

    @pytest.fixture(autouse=True)
    def only_this_plugin(self, monkeypatch):
        # Other plugins of a shared environment may be half-installed.
        monkeypatch.setenv("VZCORE_PLUGINS", "netcdf3")
        vzcore.refresh_plugins()
        yield
        monkeypatch.undo()
        vzcore.refresh_plugins()

    @pytest.fixture
    def sample(self, tmp_path: Path, nc3) -> tuple[Path, dict[str, np.ndarray]]:
        # scipy returns the stored (big-endian) dtypes, the ones the manifests describe.
        content = nc3.sample_content(scalar=False)
        path = nc3.write("scipy-v2", tmp_path / "sample.nc", content)
        expected = {}
        with scipy_io.netcdf_file(path, "r", mmap=False, maskandscale=False) as f:
            for name, var in f.variables.items():
                if var.data.dtype != np.dtype("S1"):  # chars are folded into strings
                    expected[name] = np.array(var.data)
        return path, expected

    @pytest.fixture
    def corrupt_file(self, tmp_path: Path, nc3) -> Path:
        path = nc3.write("netcdf4-NETCDF3_CLASSIC", tmp_path / "whole.nc", nc3.sample_content())
        cut = tmp_path / "cut.nc"
        cut.write_bytes(path.read_bytes()[:100])
        return cut
