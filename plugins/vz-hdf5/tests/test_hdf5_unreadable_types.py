"""Valid HDF5 types that numpy (and so h5py and zarr) cannot hold are named, not "corrupt".

IEEE 754 quadruple-precision floats (PyTables' ``float.h5``), 128-bit integers, x87 long
doubles in 12 bytes and compound types holding any of them: h5py raises ValueError or
TypeError on their ``dtype``. Each variable gets an ``UnsupportedFeatureError`` naming it and
its type; ``skip_unsupported`` and ``drop_variables`` open the rest, which reads back exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
pytest.importorskip("vz_kerchunk")
pytest.importorskip("fsspec")
pytest.importorskip("zarr")

import vzcore
from vzcore.errors import CorruptFileError, UnsupportedPartsError, VZSkippedPartsWarning
from vzcore.testing.outputs import reference_group


def _quad() -> h5py.h5t.TypeFloatID:
    t = h5py.h5t.IEEE_F64LE.copy()
    t.set_size(16)
    t.set_precision(128)
    t.set_fields(127, 112, 15, 0, 112)
    t.set_ebias(16383)
    return t


def _int128() -> h5py.h5t.TypeIntegerID:
    t = h5py.h5t.STD_U64BE.copy()
    t.set_size(16)
    t.set_precision(128)
    return t


@pytest.fixture
def odd_types(tmp_path: Path) -> Path:
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as f:
        space = h5py.h5s.create_simple((3,))
        h5py.h5d.create(f.id, b"quad", _quad(), space)
        h5py.h5d.create(f.id, b"u128", _int128(), space)
        ct = h5py.h5t.create(h5py.h5t.COMPOUND, 24)
        ct.insert(b"a", 0, h5py.h5t.IEEE_F64LE)
        ct.insert(b"q", 8, _quad())
        h5py.h5d.create(f.id, b"table", ct, space)
        f.create_group("sub").create_dataset("quad_too", data=np.zeros(2))
        h5py.h5d.create(f["sub"].id, b"quad", _quad(), space)
        f.create_dataset("good", data=np.arange(3.0))
    with h5py.File(path, "r") as f, pytest.raises(ValueError, match="Insufficient precision"):
        f["quad"].dtype  # noqa: B018  # h5py itself cannot read it
    return path


def test_unreadable_types_are_named(odd_types: Path) -> None:
    with pytest.raises(UnsupportedPartsError) as info:
        vzcore.open_virtual_datatree(str(odd_types))
    err = info.value
    assert not isinstance(err, CorruptFileError)
    assert [p.variable for p in err.parts] == ["/quad", "/table", "/u128", "/sub/quad"]
    message = str(err)
    assert "'/quad': type: a 128-bit IEEE 754 quadruple-precision float" in message
    assert "'/table': type: an HDF5 compound type with field 'q' of a 128-bit IEEE" in message
    assert "'/u128': type: a 128-bit unsigned integer" in message
    assert "drop_variables=['quad', 'table', 'u128', '/sub/quad']" in message


def test_the_rest_opens_and_reads_back(tmp_path: Path, odd_types: Path) -> None:
    with pytest.warns(VZSkippedPartsWarning, match=r"'/quad'.*'/table'.*'/u128'"):
        tree = vzcore.open_virtual_datatree(
            str(odd_types), loadable_variables=[], reader_options={"skip_unsupported": True}
        )
    refs = tmp_path / "refs.json"
    tree.virtualize.to_kerchunk(str(refs))
    group = reference_group(refs)
    with h5py.File(odd_types, "r") as f:
        assert group["good"][...].tobytes() == f["good"][()].tobytes()
        assert group["sub/quad_too"][...].tobytes() == f["sub/quad_too"][()].tobytes()
    vds = vzcore.open_virtual_dataset(
        str(odd_types), drop_variables=["quad", "table", "u128"], loadable_variables=[]
    )
    assert set(vds.variables) == {"good"}
