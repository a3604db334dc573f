"""``read_attrs`` hands numpy scalars and text over exactly as its general path did.

Text and numpy scalars of integers, booleans and floats up to float64 take a short path;
these tests compare its output with ``jsonable`` (the general path) value by value, type
included, for every such scalar type, and for the CF packing attributes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from vz_hdf5._attrs import jsonable, read_attrs


class _Object:
    """Stands in for the h5py object (only its ``file`` is asked for, by jsonable)."""

    file = None


class _Cached:
    """Stands in for an object's attributes (read_attrs' ``cached``)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def __iter__(self):
        return iter(self.values)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


SCALARS = [
    np.bool_(True),
    *(np.dtype(t).type(5) for t in ("i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8")),
    np.uint64(2**64 - 1),
    np.int64(-(2**63)),
    np.float16(0.1),
    np.float32(0.1),
    np.float64(0.1),
    np.float32("nan"),
    np.float64("-inf"),
    np.dtype(">f4").type(1.5),
    np.bytes_(b"units"),
    np.str_("text"),
    b"raw",
    "plain",
]


@pytest.mark.parametrize("value", SCALARS, ids=lambda v: f"{type(v).__name__}")
@pytest.mark.parametrize("name", ["units", "scale_factor", "add_offset", "_FillValue"])
def test_scalars_as_the_general_path_gives_them(value: Any, name: str) -> None:
    attrs, dtypes = read_attrs(_Object(), cached=_Cached({name: value}))  # type: ignore[arg-type]
    got = attrs[name]
    numeric = isinstance(value, np.generic) and value.dtype.kind in "biufc"
    if numeric and name in ("scale_factor", "add_offset"):
        expected: Any = np.asarray(value).reshape(())[()]
    elif isinstance(value, str | bytes):
        expected = value if isinstance(value, str) else bytes(value)
    else:
        expected = jsonable(value, None)
    assert type(got) is type(expected)
    if isinstance(expected, float | np.floating) and np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == expected
    if numeric:
        assert dtypes == {name: value.dtype.str}
    else:
        assert dtypes == {}


def test_arrays_and_long_doubles_keep_the_general_path() -> None:
    values = {
        "valid_range": np.array([0, 10], "i2"),
        "one": np.array([3.5], "f8"),
        "c": np.complex64(1 + 2j),
        "ld": np.longdouble(0.5),
    }
    attrs, dtypes = read_attrs(_Object(), cached=_Cached(values))  # type: ignore[arg-type]
    assert attrs["valid_range"] == [0, 10]
    assert attrs["one"] == 3.5
    assert attrs["c"] == [1.0, 2.0]
    assert attrs["ld"] == 0.5
    assert dtypes["valid_range"] == "<i2"
    assert dtypes["c"] == np.dtype(np.complex64).str


def _same_value(a: Any, b: Any) -> bool:
    """Equal, type for type (numpy scalars: dtype and bytes; lists item by item)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.generic):
        return a.dtype.str == b.dtype.str and a.tobytes() == b.tobytes()
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same_value(a[k], b[k]) for k in a)
    if isinstance(a, float) and np.isnan(a):
        return bool(np.isnan(b))
    return bool(a == b)


@pytest.mark.parametrize("kind", ["numbers", "strings", "other", "dense", "netcdf"])
def test_kept_conversions_equal_the_general_path(tmp_path: Any, kind: str) -> None:
    """Values decoded from headers again (from the kept decodes) take the kept conversion:
    the same values, types and dtypes as the general path, and lists are never shared."""
    import os

    import h5py

    from vz_hdf5 import _attrs, _header_attrs
    from vz_hdf5._reader import _Attrs

    from .conftest import heap_guard
    from .test_hdf5_header_attrs import MAKERS, objects

    path = tmp_path / f"{kind}.h5"
    MAKERS[kind](path, "earliest", False)
    fd = os.open(path, os.O_RDONLY)
    try:
        with h5py.File(path, "r") as f:
            for obj in objects(f):
                addr = int(h5py.h5g.get_objinfo(obj.id).objno[0])
                runs = []
                for _ in range(3):  # first decode, then kept decodes (kept conversions)
                    found = _header_attrs.attrs_and_messages(heap_guard(obj, fd), addr)
                    if found is None:
                        break
                    runs.append(read_attrs(obj, cached=_Attrs(obj, found), file=f))
                if not runs:
                    continue
                general_found = _header_attrs.attrs_and_messages(heap_guard(obj, fd), addr)
                assert general_found is not None
                general = read_attrs(obj, cached=_Attrs(obj, general_found[:5]), file=f)
                for got in runs:
                    assert list(got[0]) == list(general[0]), obj.name
                    assert got[1] == general[1], obj.name
                    for name, value in got[0].items():
                        assert _same_value(value, general[0][name]), (obj.name, name, value)
                        if isinstance(value, list):
                            assert value is not general[0][name]
    finally:
        os.close(fd)
    assert _attrs._CONVERTED  # (the kept conversions were used)


def test_kept_conversion_is_the_messages_own(tmp_path: Any) -> None:
    """Another value (another message) of the same attribute is converted anew."""
    import os

    import h5py

    from vz_hdf5 import _header_attrs
    from vz_hdf5._reader import _Attrs

    from .conftest import heap_guard

    got = []
    for i, scale in enumerate((np.float32(0.5), np.float64(0.5), np.float32(0.25))):
        path = tmp_path / f"s{i}.h5"
        with h5py.File(path, "w") as f:
            d = f.create_dataset("v", data=np.arange(3, dtype="i2"))
            d.attrs["scale_factor"] = np.array([scale])
            d.attrs["units"] = np.bytes_(b"K")
        fd = os.open(path, os.O_RDONLY)
        try:
            with h5py.File(path, "r") as f:
                obj = f["v"]
                addr = int(h5py.h5g.get_objinfo(obj.id).objno[0])
                for _ in range(2):
                    found = _header_attrs.attrs_and_messages(heap_guard(obj, fd), addr)
                    assert found is not None
                    got.append(read_attrs(obj, cached=_Attrs(obj, found)))
        finally:
            os.close(fd)
    values = [g[0]["scale_factor"] for g in got]
    assert [type(v) for v in values] == [np.float32] * 2 + [np.float64] * 2 + [np.float32] * 2
    assert [float(v) for v in values] == [0.5] * 4 + [0.25] * 2
    assert [g[1]["scale_factor"] for g in got] == ["<f4"] * 2 + ["<f8"] * 2 + ["<f4"] * 2
    assert all(g[0]["units"] == b"K" for g in got)
