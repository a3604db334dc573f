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
