"""Compound types declared in another order than stored read back exactly, in storage order.

zarr's structured data types list fields packed in order without offsets, so h5py's
declaration order ('c', 'b', 'a' stored at offsets 16, 8, 0) becomes storage order in the
output; every field's values equal h5py's bit for bit (zarr format 2 and 3).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
pytest.importorskip("vz_kerchunk")
fsspec = pytest.importorskip("fsspec")
zarr = pytest.importorskip("zarr")

import vzcore


def test_out_of_order_fields_read_back_in_storage_order(tmp_path: Path) -> None:
    declared = np.dtype(
        {
            "names": ["c", "b", "a"],
            "formats": ["<i2", "<f8", "<i4"],
            "offsets": [16, 8, 0],
            "itemsize": 24,
        }
    )
    values = np.zeros(5, declared)
    values["a"], values["b"], values["c"] = np.arange(5), np.arange(5) / 3, -np.arange(5)
    path = tmp_path / "ooo.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("table", data=values, chunks=(2,))
    vds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    with h5py.File(path, "r") as f:
        expected = f["table"][()]
    assert expected.dtype.names == ("c", "b", "a")
    for fmt in (2, 3):
        refs = tmp_path / f"refs-v{fmt}.json"
        vds.virtualize.to_kerchunk(str(refs), zarr_format=fmt)
        fs = fsspec.filesystem("reference", fo=str(refs))
        got = zarr.open_group(fs.get_mapper(""), mode="r", zarr_format=fmt)["table"][...]
        named = [n for n in got.dtype.names if got.dtype[n].kind != "V"]
        assert named == ["a", "b", "c"], fmt  # storage order
        for name in expected.dtype.names:
            assert got[name].tobytes() == expected[name].tobytes(), (fmt, name)
