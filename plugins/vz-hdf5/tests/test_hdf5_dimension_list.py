"""``DIMENSION_LIST`` read from the global heap names the same dimensions as through h5py.

The reader resolves a dataset's ``DIMENSION_LIST`` (a vlen of object references) from its
attribute message and the global heap (:meth:`HeapGuard.object_references`) and names each
referenced scale from the group's datasets that have one hard link; any other reference
(a scale in a parent group, a scale with two hard links, a soft link) goes to HDF5's
``H5Rget_name`` as before. Every test compares the dimension names of every variable with
those of the h5py path (``object_references`` disabled), and checks which path was taken.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import netCDF4
import numpy as np
import pytest

from vz_hdf5._gheap import HeapGuard
from vz_hdf5._reader import HDF5Reader


def all_dims(group: Any, prefix: str = "") -> dict[str, tuple[str, ...]]:
    out = {f"{prefix}/{name}": v.dims for name, v in group.variables.items()}
    for name, child in group.groups.items():
        out.update(all_dims(child, f"{prefix}/{name}"))
    return out


def read_both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict, list, int]:
    """Dims read natively and through h5py, the native results, and h5py attribute reads."""
    results: list[Any] = []
    real = HeapGuard.object_references

    def spy(self: HeapGuard, msg: bytes) -> Any:
        found = real(self, msg)
        results.append(found)
        return found

    reads = [0]
    real_getitem = h5py.AttributeManager.__getitem__

    def counting(self: Any, name: str) -> Any:
        reads[0] += 1
        return real_getitem(self, name)

    with monkeypatch.context() as m:
        m.setattr(HeapGuard, "object_references", spy)
        m.setattr(h5py.AttributeManager, "__getitem__", counting)
        native = all_dims(HDF5Reader().read(path.as_uri()))
    with monkeypatch.context() as m:
        m.setattr(HeapGuard, "object_references", lambda self, msg: None)
        through_h5py = all_dims(HDF5Reader().read(path.as_uri()))
    return native, through_h5py, results, reads[0]


def test_netcdf4_dimensions_without_h5py_attribute_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "nc.nc"
    with netCDF4.Dataset(path, "w") as d:
        d.createDimension("time", None)
        d.createDimension("lat", 3)
        d.createDimension("lon", 4)
        d.createVariable("time", "f8", ("time",))[:] = [0, 1]
        d.createVariable("lat", "f4", ("lat",))[:] = [1, 2, 3]
        d.createVariable("lon", "f4", ("lon",))[:] = [1, 2, 3, 4]
        d.createVariable("air", "f4", ("time", "lat", "lon"))[:] = np.ones((2, 3, 4))
        d.createVariable("flip", "i2", ("lon", "lat"))[:] = np.ones((4, 3))
        sub = d.createGroup("sub")
        sub.createDimension("lat", 2)  # shadows the root's lat
        sub.createVariable("lat", "f4", ("lat",))[:] = [5, 6]
        sub.createVariable("v", "f4", ("time", "lat", "lon"))[:] = np.ones((2, 2, 4))
    native, through_h5py, results, reads = read_both(path, monkeypatch)
    assert native == through_h5py
    assert native["/air"] == ("time", "lat", "lon")
    assert native["/flip"] == ("lon", "lat")
    assert native["/sub/v"] == ("time", "lat", "lon")
    assert len(results) == 3  # air, flip, sub/v
    assert all(r is not None for r in results)
    # air and flip name their scales natively; sub/v's time and lon are the root's, which
    # HDF5 names (one h5py read of its DIMENSION_LIST)
    assert reads == 1


def test_h5py_scales_shared_and_linked_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "scales.h5"
    with h5py.File(path, "w") as f:
        x = f.create_dataset("x", data=np.arange(3.0))
        y = f.create_dataset("y", data=np.arange(4.0))
        x.make_scale("x")
        y.make_scale("y")
        f["y_alias"] = y  # a second hard link: H5Rget_name's choice decides the name
        a = f.create_dataset("a", data=np.zeros((3, 4)))
        a.dims[0].attach_scale(x)
        a.dims[1].attach_scale(y)
        b = f.create_dataset("b", data=np.zeros((4, 3, 5)))  # axis 2 has no scale
        b.dims[0].attach_scale(y)
        b.dims[1].attach_scale(x)
        f["soft_x"] = h5py.SoftLink("/x")
    native, through_h5py, results, reads = read_both(path, monkeypatch)
    assert native == through_h5py
    assert native["/a"][0] == "x"
    assert all(r is not None for r in results)
    assert reads >= 1  # y (two hard links) is named by HDF5


def test_object_references_leaves_other_types_to_h5py(tmp_path: Path) -> None:
    """A vlen of something else, a region reference or a 2-D attribute: None."""
    import os

    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        d = f.create_dataset("d", data=np.arange(4))
        ref_vlen = h5py.vlen_dtype(h5py.ref_dtype)
        refs = np.empty(2, dtype=object)
        refs[0] = np.array([d.ref], dtype=h5py.ref_dtype)
        refs[1] = np.array([], dtype=h5py.ref_dtype)
        d.attrs.create("refs", refs, dtype=ref_vlen)
        two = np.empty((1, 2), dtype=object)
        two[0, 0] = np.array([d.ref], dtype=h5py.ref_dtype)
        two[0, 1] = np.array([d.ref, d.ref], dtype=h5py.ref_dtype)
        d.attrs.create("refs2d", two, dtype=ref_vlen)
        ints = np.empty(1, dtype=object)
        ints[0] = np.array([1, 2], dtype="i8")
        d.attrs.create("ints", ints, dtype=h5py.vlen_dtype("i8"))
        d.attrs["region"] = d.regionref[1:2]
        addr = int(h5py.h5g.get_objinfo(d.id).objno[0])
    from vz_hdf5._header_attrs import attrs_and_messages

    with h5py.File(path, "r") as f:
        fcpl = f.id.get_create_plist()
        o, ls = fcpl.get_sizes()
    fd = os.open(path, os.O_RDONLY)
    try:
        guard = HeapGuard(
            lambda off, n: os.pread(fd, n, off),
            base=0,
            sizeof_addr=o,
            sizeof_len=ls,
            file_size=os.fstat(fd).st_size,
        )
        found = attrs_and_messages(guard, addr)
        assert found is not None
        assert guard.check_attributes(addr, found[2]) is None
        undecoded = found[3]
        assert guard.object_references(undecoded["refs"]) == [(addr,), ()]
        assert guard.object_references(undecoded["refs2d"]) is None
        assert guard.object_references(undecoded["ints"]) is None
        assert guard.object_references(undecoded["region"]) is None
    finally:
        os.close(fd)
