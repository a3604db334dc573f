"""Attributes decoded from object headers equal h5py's values, type for type.

A differential test: every generated file covers one datatype, dataspace, string padding,
character set, byte order, storage (compact, dense) or ordering (names, creation order)
case; the names and values the reader gets through :func:`header_attrs` (with h5py for the
attributes it leaves) must equal ``[(name, obj.attrs[name]) for name in obj.attrs]``,
including Python/numpy types, dtypes (byte order, string metadata) and shapes. The same
comparison runs over every HDF5 file of the real-file corpus when its cache is present.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from vz_hdf5._header_attrs import header_attrs
from vz_hdf5._reader import _Attrs

from .conftest import heap_guard

CORPUS = Path(__file__).resolve().parents[3] / "corpus" / ".cache" / "files"


# -- the comparison ------------------------------------------------------------------------


def same(a: Any, b: Any, fid: Any = None) -> bool:
    """True when ``a`` and ``b`` are the same value of the same type (arrays: dtype, shape,
    bytes; object arrays element by element; references: the same target in file ``fid``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, h5py.Reference):
        return bool(h5py.h5r.get_name(a, fid) == h5py.h5r.get_name(b, fid))
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.dtype.str != b.dtype.str or a.shape != b.shape:
            return False
        if a.dtype.metadata != b.dtype.metadata or a.flags.writeable != b.flags.writeable:
            return False
        if a.dtype.hasobject:
            return all(same(x, y, fid) for x, y in zip(a.flat, b.flat, strict=True))
        return a.tobytes() == b.tobytes()
    if isinstance(a, np.void) and a.dtype.names is not None and a.dtype.hasobject:
        return a.dtype == b.dtype and all(same(a[n], b[n], fid) for n in a.dtype.names)
    if isinstance(a, np.generic):
        return a.dtype.str == b.dtype.str and a.tobytes() == b.tobytes()
    if isinstance(a, h5py.Empty):
        return a.dtype == b.dtype
    return bool(a == b)


def decoded_attrs(obj: h5py.HLObject, fd: int) -> tuple[list[tuple[Any, Any]], int] | None:
    """The reader's view of ``obj``'s attributes and how many came from the header.

    None when :func:`header_attrs` leaves the whole object to h5py.
    """
    guard = heap_guard(obj, fd)
    decoded = header_attrs(guard, int(h5py.h5g.get_objinfo(obj.id).objno[0]))
    if decoded is None:
        return None
    native = len(decoded[1])
    attrs = _Attrs(obj, decoded)
    return [(name, attrs[name]) for name in attrs], native


def h5py_attrs(obj: h5py.HLObject) -> list[tuple[Any, Any]]:
    """What the reader got before: h5py's names and values."""
    return [(name, obj.attrs[name]) for name in obj.attrs]


def objects(f: h5py.File) -> Iterator[h5py.HLObject]:
    """The root group and every group and dataset reachable by hard links."""
    yield f
    found: list[h5py.HLObject] = []
    f.visititems(
        lambda _name, obj: found.append(obj) if isinstance(obj, h5py.Group | h5py.Dataset) else None
    )
    yield from found


@contextmanager
def _opened(path: str | os.PathLike[str]) -> Iterator[tuple[Any, int]]:
    """Open ``path`` with h5py and as a raw file descriptor (what header_attrs reads)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        with h5py.File(path, "r") as f:
            yield f, fd
    finally:
        os.close(fd)


def compare_file(path: str | os.PathLike[str]) -> tuple[int, int, int, list[str]]:
    """Compare every object of ``path``.

    Returns (objects, attributes, attributes decoded from headers, differences).
    """
    nobj = nattr = native = 0
    diffs: list[str] = []
    with _opened(path) as (f, fd):
        for obj in objects(f):
            nobj += 1
            try:
                expected = h5py_attrs(obj)
            except Exception:  # noqa: BLE001, S112  # h5py cannot read one: nothing to compare
                continue
            nattr += len(expected)
            got = decoded_attrs(obj, fd)
            if got is None:
                continue
            pairs, n = got
            native += n
            if [k for k, _ in pairs] != [k for k, _ in expected]:
                diffs.append(f"{path}:{obj.name}: names {pairs!r} != {expected!r}")
                continue
            for (name, a), (_, b) in zip(pairs, expected, strict=True):
                if not same(a, b, f.id):
                    diffs.append(f"{path}:{obj.name}@{name}: {a!r} != {b!r}")
    return nobj, nattr, native, diffs


# -- generated files -----------------------------------------------------------------------


def _string_type(size: int, pad: int, cset: int) -> h5py.h5t.TypeID:
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(size)
    tid.set_strpad(pad)
    tid.set_cset(cset)
    return tid


def _create(
    obj: h5py.HLObject,
    name: str | bytes,
    tid: h5py.h5t.TypeID,
    shape: tuple[int, ...] | None,
    data: np.ndarray | None,
) -> None:
    """Write one attribute through the low-level API (exact file datatype)."""
    if shape is None:
        space = h5py.h5s.create(h5py.h5s.NULL)
    elif shape == ():
        space = h5py.h5s.create(h5py.h5s.SCALAR)
    else:
        space = h5py.h5s.create_simple(shape)
    bname = name if isinstance(name, bytes) else name.encode()
    attr = h5py.h5a.create(obj.id, bname, tid, space)
    if data is not None:
        attr.write(np.ascontiguousarray(data), mtype=tid)


NUMBERS = [
    f"{order}{kind}{size}"
    for order in "<>"
    for kind, sizes in (("i", (1, 2, 4, 8)), ("u", (1, 2, 4, 8)), ("f", (2, 4, 8)))
    for size in sizes
]

SHAPES: list[tuple[int, ...]] = [(), (1,), (3,), (2, 3), (0,)]

STRINGS = [  # (stored bytes of each element, padding) cases, with HDF5's conversions
    b"abc",
    b"abc\x00\x00",
    b"ab\x00c",
    b"\x00bc",
    b"abc  ",
    b"ab c",
    b"  ",
    b"",
    "h\u00e9llo".encode(),
    b"a\x00 ",
    b"abc\x00 ",
]


def _number_file(path: Path, libver: str, track: bool) -> None:
    """One dataset (and one group) per number type, its shapes as attributes (compact
    storage: at most 8 attributes per object)."""
    with h5py.File(path, "w", libver=libver, track_order=track) as f:
        for i, spec in enumerate(NUMBERS):
            dset = f.create_dataset(f"v{i:02d}", data=np.arange(3.0), track_order=track)
            grp = f.create_group(f"g{i:02d}", track_order=track)
            for obj in (dset, grp):
                for j, shape in enumerate(SHAPES):
                    dtype = np.dtype(spec)
                    n = int(np.prod(shape, dtype=np.int64))
                    values = (
                        (np.arange(n) * 7 - 3).astype(dtype)
                        if dtype.kind != "u"
                        else (np.arange(n) * 7 + 250).astype(dtype)
                    )
                    if dtype.kind == "f" and n > 2:
                        values[1], values[2] = np.nan, -np.inf
                    tid = h5py.h5t.py_create(dtype)
                    _create(obj, f"z{4 - j}_{spec}", tid, shape, values.reshape(shape))


def _string_file(path: Path, libver: str, track: bool) -> None:
    """One dataset per padding, character set and stored string (compact storage)."""
    with h5py.File(path, "w", libver=libver, track_order=track) as f:
        for pad in (h5py.h5t.STR_NULLTERM, h5py.h5t.STR_NULLPAD, h5py.h5t.STR_SPACEPAD):
            for cset in (h5py.h5t.CSET_ASCII, h5py.h5t.CSET_UTF8):
                for i, raw in enumerate(STRINGS):
                    obj = f.create_dataset(f"d{pad}{cset}_{i:02d}", data=[1], track_order=track)
                    size = max(len(raw), 1)
                    tid = _string_type(size, pad, cset)
                    one = np.array(raw, dtype=f"S{size}")
                    _create(obj, "s", tid, (), one)
                    _create(obj, "a", tid, (1,), one.reshape(1))
                    many = np.array([raw, raw[::-1], b"x" * size], dtype=f"S{size}")
                    _create(obj, "m", tid, (3,), many)
                    _create(obj, "e", tid, (0,), many[:0])
                    _create(obj, "n", _string_type(4, pad, cset), None, None)


def _other_types_file(path: Path, libver: str, track: bool) -> None:
    """Types and layouts left to h5py, mixed with decoded ones."""
    with h5py.File(path, "w", libver=libver, track_order=track) as f:
        dset = f.create_dataset("scale", data=np.arange(4.0), track_order=track)
        var = f.create_dataset("var", data=np.zeros((4, 2)), track_order=track)
        dset.make_scale("scale")
        var.dims[0].attach_scale(dset)
        var.attrs["units"] = "m"  # h5py: variable-length UTF-8 string
        var.attrs["ascii"] = np.bytes_(b"plain")
        var.attrs["vlen_list"] = ["a", "bc"]
        var.attrs["flag"] = True  # enum
        var.attrs["ref"] = dset.ref
        var.attrs["cplx"] = np.complex64(1 + 2j)
        var.attrs["cmp"] = np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")])
        var.attrs["arr"] = np.zeros((2,), dtype="(2,)i4")
        var.attrs.create("empty", h5py.Empty("f4"))
        var.attrs["ld"] = np.longdouble(1.5)
        var.attrs["opaque"] = np.void(b"\x01\x02")
        padded = h5py.h5t.STD_I32LE.copy()
        padded.set_precision(20)
        _create(var, "padded", padded, (2,), np.array([5, -1], "<i4"))
        _create(var, b"caf\xe9", h5py.h5t.STD_I8LE, (), np.array(1, "i1"))
        f.attrs["x"] = 1.5
        f.attrs["y"] = np.int16(3)
        f.attrs["title"] = "vlen title"


def _dense_file(path: Path, libver: str, track: bool) -> None:
    """More than HDF5's 8 compact attributes: dense storage with version-2 headers."""
    with h5py.File(path, "w", libver=libver, track_order=track) as f:
        small = f.create_dataset("v", data=[1, 2], track_order=track)
        huge = f.create_dataset("w", data=[1, 2], track_order=track)
        for obj in (f, small, huge):
            for i in range(30):
                obj.attrs[f"a{29 - i:02d}"] = np.float32(i)
            obj.attrs["vlen"] = "variable-length"
            obj.attrs.create("fixed", np.bytes_(b"fixed"))
            obj.attrs["ints"] = np.arange(5, dtype=">i8")
        if libver == "latest":  # a > 64 KiB value: a "huge" fractal heap object
            huge.attrs["big"] = np.arange(20000, dtype="<i4")


def _netcdf_file(path: Path, libver: str, track: bool) -> None:
    nc4 = pytest.importorskip("netCDF4")
    with nc4.Dataset(path, "w") as ds:
        ds.title = "netCDF file"
        ds.setncattr_string("strings", ["x", "yz"])
        ds.number = np.float64(3.5)
        ds.ints = np.array([1, 2, 3], "i2")
        ds.createDimension("time", None)
        ds.createDimension("lat", 3)
        t = ds.createVariable("time", "f8", ("time",))
        t.units = "days since 2000-01-01"
        t.calendar = "standard"
        lat = ds.createVariable("lat", "f4", ("lat",))
        lat[:] = [1, 2, 3]
        for i in range(12):  # more than 8: netCDF-C's dense storage, creation order indexed
            lat.setncattr(f"attr{11 - i}", np.float32(i) if i % 2 else f"text {i}")
        v = ds.createVariable("air", "i2", ("time", "lat"), fill_value=np.int16(-999))
        v.scale_factor = np.float32(0.01)
        v.add_offset = 273.15
        v.valid_range = np.array([-100, 100], "i2")
        v.long_name = "air temperature \u00b0"
        v.flag = np.int8(1)
        v[0:2] = 1
        g = ds.createGroup("sub")
        g.history = "x"
        g.createVariable("w", "u8", ("lat",)).comment = "c"


MAKERS = {
    "numbers": _number_file,
    "strings": _string_file,
    "other": _other_types_file,
    "dense": _dense_file,
    "netcdf": _netcdf_file,
}


@pytest.mark.parametrize("libver", ["earliest", "latest"])
@pytest.mark.parametrize("track", [False, True], ids=["name_order", "creation_order"])
@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_header_attrs_equal_h5py(tmp_path: Path, kind: str, libver: str, track: bool) -> None:
    """Names, values, types, dtypes and shapes equal h5py's for every case."""
    if kind == "netcdf" and (libver, track) != ("earliest", False):
        pytest.skip("netCDF-C chooses its own layout")
    path = tmp_path / f"{kind}.h5"
    MAKERS[kind](path, libver, track)
    _, nattr, native, diffs = compare_file(path)
    assert not diffs, "\n".join(diffs[:20])
    assert nattr > 0
    if kind in ("numbers", "netcdf"):
        assert native > nattr // 2, (native, nattr)  # the common types are decoded
    if kind == "strings":  # (half the cases are strings HDF5 changes: left to h5py)
        assert native > nattr // 3, (native, nattr)
    if kind == "dense":
        assert native > nattr // 2, (native, nattr)


def test_header_attrs_dense_storage(tmp_path: Path) -> None:
    """Dense storage is decoded; a huge fractal heap object leaves the object to h5py."""
    path = tmp_path / "dense.h5"
    _dense_file(path, "latest", True)
    with _opened(path) as (f, fd):
        assert f["v"].id.get_create_plist().get_attr_phase_change() == (8, 6)
        got = decoded_attrs(f["v"], fd)
        assert got is not None
        assert [k for k, _ in got[0]][:2] == ["a29", "a28"]  # creation order
        assert got[1] == 32  # all but the variable-length string
        assert decoded_attrs(f["w"], fd) is None


def test_header_attrs_string_conversions_are_h5py_s(tmp_path: Path) -> None:
    """Strings HDF5 would change on reading are left to h5py; the rest are decoded."""
    path = tmp_path / "strings.h5"
    _string_file(path, "earliest", False)
    with _opened(path) as (f, fd):
        plain = decoded_attrs(f["d00_00"], fd)  # NULLTERM ASCII b"abc"
        assert plain is not None
        assert dict(plain[0])["s"] == b"abc"
        assert plain[1] == 4  # all but the null dataspace
        inner = decoded_attrs(f["d00_02"], fd)  # NULLTERM b"ab\x00c": h5py cuts at NUL
        assert inner is not None
        assert dict(inner[0])["s"] == b"ab"
        assert inner[1] == 1  # only the empty array "e"
        spaces = decoded_attrs(f["d20_04"], fd)  # SPACEPAD b"abc  "
        assert spaces is not None
        assert dict(spaces[0])["s"] == b"abc"


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_header_attrs_cached_messages_equal_h5py(tmp_path: Path, kind: str) -> None:
    """Messages decoded once and reused (the cache across files) still give h5py's values.

    The file is compared with an empty cache, then again with every message cached; an
    array value is each caller's own copy, so changing one changes no other.
    """
    from vz_hdf5 import _header_attrs

    path = tmp_path / f"{kind}.h5"
    MAKERS[kind](path, "earliest", False)
    _header_attrs._ATTRIBUTES.clear()
    cold = compare_file(path)
    assert not cold[3], "\n".join(cold[3][:20])
    assert _header_attrs._ATTRIBUTES  # filled by the first pass
    warm = compare_file(path)
    assert warm == cold
    with _opened(path) as (f, fd):
        arrays = []
        for obj in objects(f):
            got = decoded_attrs(obj, fd)
            again = decoded_attrs(obj, fd)
            if got is None or again is None:
                continue
            for (_, a), (_, b) in zip(got[0], again[0], strict=True):
                if isinstance(a, np.ndarray) and a.size and not a.dtype.hasobject:
                    arrays.append((a, b))
        if kind in ("numbers", "netcdf"):
            assert arrays
        for a, b in arrays:
            assert a is not b
            assert not np.shares_memory(a, b)


def _hdf5_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    out = []
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file()):
        with path.open("rb") as fh:
            head = fh.read(8)
        if head == b"\x89HDF\r\n\x1a\n":
            out.append(path)
    return out


@pytest.mark.slow
@pytest.mark.skipif(
    not CORPUS.is_dir() or not os.environ.get("VZCORE_CORPUS_TESTS"),
    reason="real-file corpus cache absent or VZCORE_CORPUS_TESTS unset (~10 s)",
)
def test_header_attrs_equal_h5py_over_corpus() -> None:
    """Every object of every HDF5 file in the corpus: the same attributes as h5py.

    Run with ``VZCORE_CORPUS_TESTS=1`` after ``python corpus/fetch.py`` (2026-12-05: 188
    files, 3,857 objects, 13,585 attributes of which 3,415 decoded from headers, no
    difference).
    """
    files = _hdf5_files()
    assert files
    diffs: list[str] = []
    for path in files:
        try:
            diffs += compare_file(path)[3]
        except OSError:  # h5py cannot open it (the corpus holds damaged files on purpose)
            continue
    assert not diffs, "\n".join(diffs[:20])
