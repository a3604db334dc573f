"""The shared ReaderTests suite over vzcore.testing's TIFF sample."""

from __future__ import annotations

import pytest

pytest.importorskip("vz_tiff")
pytest.importorskip("tifffile")

from vzcore.testing import ReaderTests
from vzcore.testing.samples import tiff_sample


class TestTiffReaderSuite(ReaderTests):
    reader_name = "tiff"
    corrupt_length = 16

    @pytest.fixture
    def sample(self, tmp_path):
        return tiff_sample(tmp_path)
