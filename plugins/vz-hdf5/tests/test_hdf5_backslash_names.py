"""Names HDF5 holds but zarr cannot (a backslash): UnsupportedFeatureError, never "corrupt".

zarr-python 3 normalises '\\' in a key to '/', so a group named ``a\\b`` would read back as
a group ``a`` holding ``b``: the name cannot be represented, the file is valid.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import fsspec
import h5py
import numpy as np
import pytest
import vzcore
import zarr
from vzcore.errors import CorruptFileError, UnsupportedFeatureError, VZSkippedPartsWarning

GROUP = "thickness $t-\\lambda$"


def _write(path: Path) -> None:
    with h5py.File(path, "w") as f:
        f["good"] = np.arange(4, dtype="i2")
        f.create_group(GROUP)["v"] = np.ones(3)
        f["x\\y"] = np.zeros(2)


def test_zarr_reads_backslash_as_separator() -> None:
    root = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    root.create_group("a\\b")
    assert list(root.group_keys()) == ["a"]  # what makes such names unrepresentable


def test_backslash_names_are_unsupported_not_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "backslash.h5"
    _write(path)
    with pytest.raises(UnsupportedFeatureError) as info:
        vzcore.open_virtual_datatree(str(path), loadable_variables=[])
    assert not isinstance(info.value, CorruptFileError)
    message = str(info.value)
    assert repr(GROUP) in message
    assert "'x\\\\y'" in message
    assert "reader_options={'skip_unsupported': True}" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.warns(VZSkippedPartsWarning, match="thickness"):
            tree = vzcore.open_virtual_datatree(
                str(path), loadable_variables=[], reader_options={"skip_unsupported": True}
            )
    refs = tree.virtualize.to_kerchunk(format="dict")
    store = fsspec.filesystem("reference", fo=refs).get_mapper("")
    good = zarr.open_group(store, mode="r", zarr_format=2)["good"]
    np.testing.assert_array_equal(good[:], np.arange(4, dtype="i2"))
    # a dataset with such a name can also be left out by name
    with pytest.warns(VZSkippedPartsWarning, match=r"Left out 1 unsupported part.*thickness"):
        ds = vzcore.open_virtual_dataset(
            str(path),
            loadable_variables=[],
            drop_variables=["x\\y"],
            reader_options={"skip_unsupported": True},
        )
    assert list(ds.variables) == ["good"]
