"""Issue 13, item 5: ``vzcore.verify`` finds the reader of a path like every other entry point."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("vz_hdf5")
vz_kerchunk = pytest.importorskip("vz_kerchunk")
nc4 = pytest.importorskip("netCDF4")

import vzcore
from vzcore.errors import NoReaderFoundError


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "a.nc"
    with nc4.Dataset(data, "w") as ds:
        ds.createDimension("x", 8)
        ds.createVariable("v", "i4", ("x",), chunksizes=(2,))[:] = np.arange(8)
    return data


def test_a_data_file_is_read_by_its_own_reader(tmp_path: Path) -> None:
    report = vzcore.verify(_data(tmp_path), deep=True)
    assert report.ok, str(report)
    assert report.files_checked == 1
    assert report.chunks_decoded == 4


def test_keyed_reader_options_keep_the_callers_allow_list(tmp_path: Path) -> None:
    data = _data(tmp_path)
    refs = tmp_path / "refs" / "a.json"
    refs.parent.mkdir()
    vzcore.open_virtual_dataset(data).virtualize.to_kerchunk(str(refs), format="json")
    with pytest.raises(vz_kerchunk.ReferenceNotAllowedError):
        vzcore.verify(refs, reader_options={"kerchunk": {"allowed_prefixes": ["s3://x/"]}})
    assert vzcore.verify(refs, reader_options={"kerchunk": {}}).ok


def test_parquet_directory_without_extension_needs_reader(tmp_path: Path) -> None:
    pytest.importorskip("vz_parquet")
    data = _data(tmp_path)
    refs = tmp_path / "a.parq"
    vzcore.open_virtual_dataset(data).virtualize.to_kerchunk(str(refs), format="parquet")
    bare = tmp_path / "refs_without_extension"
    shutil.move(refs, bare)
    with pytest.raises(NoReaderFoundError, match="it is a directory"):
        vzcore.verify(bare)
    report = vzcore.verify(bare, reader="kerchunk")
    assert report.ok, str(report)
    assert report.files_checked == 1
