"""Damaged global heap collections raise CorruptFileError before libhdf5 can loop on them.

libhdf5 2.0 loops forever (uninterruptibly) loading a global heap collection whose walk
does not advance, e.g. a free-space object of size 0. vz-hdf5 walks every collection a
variable-length attribute, fill value or dataset uses before h5py reads it
(``vz_hdf5._gheap``). The end-to-end cases run in a child process under a time bound
(``vzcore.testing.fuzz.open_cases``); the checker itself never calls HDF5, so its own
tests run in-process.
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
netCDF4 = pytest.importorskip("netCDF4")  # noqa: N816  # the module's own name

from vzcore.testing.fuzz import open_cases

from vz_hdf5._gheap import HeapError, HeapGuard


def _collections(data: bytes) -> list[int]:
    out, pos = [], data.find(b"GCOL")
    while pos >= 0:
        out.append(pos)
        pos = data.find(b"GCOL", pos + 1)
    return out


def _zero_free_space(data: bytes) -> bytes:
    """Set the free-space object of every global heap collection to size 0 (HDF5 hangs)."""
    buf = bytearray(data)
    found = 0
    for start in _collections(data):
        size = struct.unpack_from("<Q", buf, start + 8)[0]
        pos = start + 16
        while pos + 16 <= start + size:
            idx, osize = (
                struct.unpack_from("<H", buf, pos)[0],
                struct.unpack_from("<Q", buf, pos + 8)[0],
            )
            if idx == 0:
                struct.pack_into("<Q", buf, pos + 8, 0)
                found += 1
                break
            pos += 16 + (osize + 7) // 8 * 8
    assert found, "no collection with free space"
    return bytes(buf)


def _vlen_attr_file(path: Path) -> Path:
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.arange(4, dtype="f4"))
        f["x"].attrs["comment"] = "a variable-length string"
    return path


def _dense_attr_file(path: Path) -> Path:
    with h5py.File(path, "w", track_order=True) as f:  # v2 headers: dense storage past 8
        d = f.create_dataset("x", data=np.arange(4, dtype="f4"))
        for i in range(40):
            d.attrs[f"fixed_{i:02d}"] = np.float64(i)
        d.attrs["late"] = "a vlen string in the fractal heap"
    return path


def _vlen_dataset_file(path: Path, **kwargs: object) -> Path:
    with h5py.File(path, "w") as f:
        f.create_dataset("s", data=["a", "bc", "def"] * 5, dtype=h5py.string_dtype(), **kwargs)
    return path


def _rich_file(path: Path) -> Path:
    """Every kind of heap reference the checker follows, in compact and dense storage."""
    dt = np.dtype([("a", "i4"), ("s", h5py.string_dtype())])
    with h5py.File(path, "w", track_order=True) as f:
        f.attrs["vstr"] = "hello"
        f.attrs.create(
            "vlen_i4",
            np.array([np.arange(3), np.arange(5)], dtype=object),
            dtype=h5py.vlen_dtype("i4"),
        )
        f.attrs.create("compound", np.array([(1, "x"), (2, "yy")], dtype=dt))
        f.attrs.create(
            "strings", np.array([["a", "b"], ["c", "d"]], dtype=object), dtype=h5py.string_dtype()
        )
        d = f.create_dataset("d", data=np.arange(6))
        f.attrs["region"] = d.regionref[1:3]
        f["T"] = dt
        f.attrs.create("committed", np.array([(3, "z")], dtype=dt), dtype=f["T"])
        for i in range(300):  # a dense name index deeper than one B-tree node
            d.attrs[f"a{i:03d}"] = "x" * (i % 40)
        f.create_dataset(
            "s",
            data=["a", "bc"] * 50,
            dtype=h5py.string_dtype(),
            chunks=(16,),
            compression="gzip",
            shuffle=True,
            fillvalue="fill",
        )
    return path


def _guard(path: Path, data: bytes) -> tuple[HeapGuard, dict[str, int]]:
    with h5py.File(path, "r") as f:
        fcpl = f.id.get_create_plist()
        addr_size, len_size = fcpl.get_sizes()
        addrs = {"/": int(h5py.h5g.get_objinfo(f.id).objno[0])}

        def add(name: str) -> None:
            addrs[name] = int(h5py.h5g.get_objinfo(f[name].id).objno[0])

        f.visit(add)
    guard = HeapGuard(
        lambda off, n: data[off : off + n],
        base=0,
        sizeof_addr=addr_size,
        sizeof_len=len_size,
        file_size=len(data),
    )
    return guard, addrs


def test_guard_follows_every_heap_reference(tmp_path: Path) -> None:
    from vz_hdf5 import _gheap

    _gheap._CHECKED.clear()  # (a check kept from another test would walk nothing here)
    path = _rich_file(tmp_path / "rich.h5")
    data = path.read_bytes()
    guard, addrs = _guard(path, data)
    for name, addr in addrs.items():
        assert guard.check_attributes(addr) is None, name  # fully understood
    assert guard.check_dataset(addrs["s"], None) is not None  # chunked: needs a chunk reader
    # Every object of every collection was reached: the references point at all of them.
    with h5py.File(path, "r") as f:
        total_attrs = len(f.attrs) + len(f["d"].attrs)
    assert total_attrs == 306
    walked = {addr: len(objs) for addr, objs in guard._collections.items()}
    assert sum(walked.values()) >= 300 + 1 + 2 + 2 + 4 + 1 + 1  # attrs' heap objects

    bad = _zero_free_space(data)
    for name in ("/", "d"):  # compact attributes; 300 dense ones
        guard, addrs = _guard(path, bad)
        with pytest.raises(HeapError, match=r"attribute '\w+': .* zero-size free-space object"):
            guard.check_attributes(addrs[name])


def test_guard_checks_damaged_heap_after_alike_messages_were_kept(tmp_path: Path) -> None:
    """Messages kept as holding no heap references never let a damaged vlen one through."""
    from vz_hdf5 import _gheap

    path = _dense_attr_file(tmp_path / "dense.h5")
    data = path.read_bytes()
    _gheap._NO_HEAP_REFERENCES.clear()
    guard, addrs = _guard(path, data)
    assert guard.check_attributes(addrs["x"]) is None
    kept = set(_gheap._NO_HEAP_REFERENCES)
    assert len(kept) >= 20  # the float attributes fixed_00, fixed_01, ...
    guard, addrs = _guard(path, _zero_free_space(data))
    with pytest.raises(HeapError, match=r"attribute 'late': .* zero-size free-space object"):
        guard.check_attributes(addrs["x"])
    assert kept == _gheap._NO_HEAP_REFERENCES  # (the vlen message was never kept)


def test_guard_overrunning_object(tmp_path: Path) -> None:
    path = _vlen_attr_file(tmp_path / "a.h5")
    data = bytearray(path.read_bytes())
    (start,) = _collections(bytes(data))
    struct.pack_into("<Q", data, start + 16 + 8, 1 << 40)  # first object's size
    guard, addrs = _guard(path, bytes(data))
    with pytest.raises(HeapError, match=r"attribute 'comment'.*overruns the collection"):
        guard.check_attributes(addrs["x"])


def test_damaged_global_heap_raises_corrupt_file_error(nc4_file: Path, tmp_path: Path) -> None:
    made = tmp_path / "made"
    made.mkdir()
    cases = {
        "attr": (_vlen_attr_file(made / "attr.h5"), "'/x': attribute 'comment'"),
        "dense": (_dense_attr_file(made / "dense.h5"), "'/x': attribute 'late'"),
        "contiguous": (_vlen_dataset_file(made / "c.h5"), "'/s': values"),
        "chunked": (
            _vlen_dataset_file(made / "k.h5", chunks=(4,), compression="gzip"),
            "'/s': values",
        ),
        "netcdf4": (nc4_file, "attribute 'DIMENSION_LIST'"),
    }
    for path, _ in cases.values():  # each opens fine before the damage
        with h5py.File(path, "r"):
            pass
    start = time.perf_counter()
    outcomes = open_cases(
        [(name, _zero_free_space(path.read_bytes())) for name, (path, _) in cases.items()],
        tmp_path / "cases",
        suffix=".h5",
        case_timeout=10,
    )
    assert time.perf_counter() - start < 60
    for outcome in outcomes:
        assert (outcome.kind, outcome.error_type) == ("vzerror", "CorruptFileError"), outcome
        assert repr(outcome.url) in outcome.message
        assert cases[outcome.case][1] in outcome.message, outcome.message
        assert "global heap collection" in outcome.message


def test_valid_vlen_file_reads_the_same(tmp_path: Path, hx) -> None:
    path = _rich_file(tmp_path / "rich.h5")
    group = hx.read(path)
    assert group.attrs["vstr"] == "hello"
    assert hx.assert_same_as_h5py(path, group) == 2
    assert os.path.getsize(path) > 0


def test_valid_netcdf4_vlen_strings_read_the_same(tmp_path: Path, hx) -> None:
    """netCDF-C shuffles vlen chunks with a 16-byte element size; dense attributes too."""
    path = tmp_path / "s.nc"
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("t", 30)
        v = ds.createVariable("v", "f4", ("t",))
        for i in range(12):
            v.setncattr(f"a{i}", "x" * i)
        v.setncattr_string("tags", ["q", "rr"])
        s = ds.createVariable("s", str, ("t",), chunksizes=(8,), zlib=True, shuffle=True)
        s[:] = np.array(["w" * (i % 5) for i in range(30)], dtype=object)
    group = hx.read(path)
    assert group.variables["v"].attrs["tags"] == ["q", "rr"]
    assert hx.assert_same_as_h5py(path, group) == 2


def _netcdf_dims_file(path: Path) -> Path:
    """A netCDF4 file: DIMENSION_LIST and REFERENCE_LIST attributes (global heap)."""
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("t", 3)
        ds.createDimension("y", 2)
        ds.createVariable("t", "f8", ("t",))[:] = [1.0, 2.0, 3.0]
        ds.createVariable("y", "f4", ("y",))[:] = [5.0, 6.0]
        ds.createVariable("v", "i2", ("t", "y"))[:] = np.arange(6).reshape(3, 2)
        ds.createVariable("w", "f4", ("y", "t"))[:] = np.arange(6.0).reshape(2, 3)
        ds.createVariable("s", str, ("t",))[:] = np.array(["a", "bb", "ccc"], dtype=object)
    return path


def _checks(path: Path, data: bytes, whole: bool) -> dict[str, object]:
    """Each object's check outcome (None, why it was incomplete, or the HeapError) and the
    object references of its DIMENSION_LIST."""
    from vz_hdf5._header_attrs import attrs_and_messages

    plain, addrs = _guard(path, data)
    guard = HeapGuard(
        plain.read_at,
        base=0,
        sizeof_addr=plain.o,
        sizeof_len=plain.lsize,
        file_size=len(data),
        whole=data if whole else None,
    )
    out: dict[str, object] = {}
    for name, addr in addrs.items():
        try:
            out[name] = guard.check_attributes(addr)
        except HeapError as err:
            out[name] = ("HeapError", str(err))
        found = attrs_and_messages(guard, addr)
        if found is not None and "DIMENSION_LIST" in found[3]:
            out[name + "@refs"] = guard.object_references(found[3]["DIMENSION_LIST"])
    return out


@pytest.mark.parametrize("whole", [False, True], ids=["read_at", "whole"])
@pytest.mark.parametrize("make", [_rich_file, _netcdf_dims_file], ids=["rich", "netcdf"])
def test_kept_heap_checks_never_pass_a_changed_collection(
    tmp_path: Path, make: object, whole: bool
) -> None:
    """Checks and object references kept from an intact file (``_gheap._CHECKED``,
    ``_REFERENCES``) give a copy with any byte of its collections changed the outcome
    the general path gives it (a HeapError where the damage shows), never the kept one."""
    from vz_hdf5 import _gheap

    path = make(tmp_path / "f.h5")  # type: ignore[operator]
    data = path.read_bytes()
    _gheap._CHECKED.clear()
    _gheap._REFERENCES.clear()
    intact = _checks(path, data, whole)
    assert any(reads for reads, _ in _gheap._CHECKED.values())  # (checks that read heaps)
    kept = dict(_gheap._CHECKED), dict(_gheap._REFERENCES)
    assert _checks(path, data, whole) == intact  # (from the kept checks)
    positions = [
        p
        for start in _collections(data)
        for p in range(start, start + struct.unpack_from("<Q", data, start + 8)[0])
    ]
    step = max(1, len(positions) // (150 if make is _rich_file else 600))
    damaged = 0
    for pos in positions[::step]:
        copy = bytearray(data)
        copy[pos] ^= 0x3C
        changed = bytes(copy)
        _gheap._CHECKED.clear()
        _gheap._REFERENCES.clear()
        general = _checks(path, changed, whole)
        _gheap._CHECKED.update(kept[0])
        _gheap._REFERENCES.update(kept[1])
        assert _checks(path, changed, whole) == general, pos
        damaged += general != intact
    assert damaged >= 10  # (the damage shows: the comparison can fail)


def test_kept_object_references_are_the_callers_own(tmp_path: Path) -> None:
    from vz_hdf5 import _gheap

    path = _netcdf_dims_file(tmp_path / "f.nc")
    data = path.read_bytes()
    _gheap._REFERENCES.clear()
    first = _checks(path, data, True)
    refs = [v for k, v in first.items() if k.endswith("@refs")]
    assert refs
    assert all(isinstance(v, list) and v for v in refs)
    for v in refs:
        v.clear()  # the caller's list: the kept one is another
    assert _checks(path, data, True) != first
    assert all(v for k, v in _checks(path, data, True).items() if k.endswith("@refs"))
