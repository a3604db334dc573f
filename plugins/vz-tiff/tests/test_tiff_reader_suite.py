"""The shared ReaderTests suite over vzcore.testing's TIFF sample."""

from __future__ import annotations

import pytest

pytest.importorskip("vz_tiff")
pytest.importorskip("tifffile")

from vzcore.testing import ReaderTests
from vzcore.testing.samples import tiff_sample


class TestTiffReaderSuite(ReaderTests):
    reader_name = "tiff"

    @pytest.fixture
    def sample(self, tmp_path):
        return tiff_sample(tmp_path)

    @pytest.fixture
    def corrupt_file(self, tmp_path, sample):
        out = tmp_path / "cut.tif"
        out.write_bytes(sample[0].read_bytes()[:16])
        return out
