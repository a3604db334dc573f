"""Opening one group as a dataset reads that group alone: its subgroups cannot block it.

``open_virtual_dataset`` (and ``xr.open_dataset(..., engine="virtualizarr")``) passes
``subgroups=False`` to the reader, so an unsupported dataset in ``/sub`` does not refuse
the root; ``open_virtual_datatree`` still names every unsupported part of the file.
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
from vzcore._urls import to_url
from vzcore.errors import UnsupportedFeatureError, UnsupportedPartsError
from vzcore.testing.outputs import reference_group

from vz_hdf5._reader import HDF5Reader


@pytest.fixture
def nested(tmp_path: Path) -> Path:
    path = tmp_path / "nested.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("good", data=np.arange(4.0), chunks=(2,))
        sub = f.create_group("sub")
        sub.create_dataset("fine", data=np.arange(3))
        sub.create_dataset("ld", data=np.ones(2, np.longdouble))
        sub.create_group("deeper").create_dataset("ld2", data=np.ones(2, np.longdouble))
    return path


def test_root_dataset_opens_despite_unsupported_subgroups(tmp_path: Path, nested: Path) -> None:
    vds = vzcore.open_virtual_dataset(str(nested), loadable_variables=[])
    assert set(vds.variables) == {"good"}
    refs = tmp_path / "root.json"
    vds.virtualize.to_kerchunk(str(refs))
    group = reference_group(refs)
    with h5py.File(nested, "r") as f:
        assert group["good"][...].tobytes() == f["good"][()].tobytes()
    xr = pytest.importorskip("xarray")
    ds = xr.open_dataset(str(nested), engine="virtualizarr", loadable_variables=[])
    assert set(ds.variables) == {"good"}


def test_a_subgroup_fails_on_its_own_parts_only(nested: Path) -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        vzcore.open_virtual_dataset(str(nested), group="sub", loadable_variables=[])
    assert not isinstance(info.value, UnsupportedPartsError)
    assert info.value.variable == "/sub/ld"
    vds = vzcore.open_virtual_dataset(
        str(nested), group="sub", drop_variables=["ld"], loadable_variables=[]
    )
    assert set(vds.variables) == {"fine"}


def test_datatree_names_every_unsupported_part(nested: Path) -> None:
    with pytest.raises(UnsupportedPartsError) as info:
        vzcore.open_virtual_datatree(str(nested), loadable_variables=[])
    assert [p.variable for p in info.value.parts] == ["/sub/ld", "/sub/deeper/ld2"]


def test_reader_subgroups_keyword(nested: Path) -> None:
    group = HDF5Reader().read(to_url(nested), subgroups=False)
    assert set(group.variables) == {"good"}
    assert group.groups == {}
    with pytest.raises(UnsupportedPartsError):
        HDF5Reader().read(to_url(nested))  # the whole tree by default
