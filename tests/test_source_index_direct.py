"""``source_index`` built from an IndexVariable's own pandas index equals ``from_variables``'.

``vzcore._source_index.source_index`` takes a loaded dimension coordinate's pandas index
from the :class:`xarray.IndexVariable` (``to_index``) instead of calling
``SourceIndex.from_variables``, which casts and copies it twice more. Both must give the
same index: type (``DatetimeIndex``, ``CFTimeIndex``, ...), values, dtype, name, ``dim``,
``coord_dtype`` and the recorded source, a pandas index that is not the variable's own
object, and the same behaviour in selection and concatenation. Variables the short path
does not take (base Variables, names other than the dimension) go through
``from_variables``.

``indexed_coordinate`` builds the variable and its index from the values with one named
pandas index: both must be what ``xr.IndexVariable`` and ``source_index`` of it give, and
values whose cast xarray makes otherwise (objects, cftime, strings, ``float16``, days)
are refused (None), for the caller to take that path.
"""

from __future__ import annotations

from typing import Any

import cftime
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from xarray.indexes import PandasIndex

from vzcore._source_index import SourceIndex, indexed_coordinate, source_index

VALUES: dict[str, Any] = {
    "float32": np.array([1.5, 2.5, 3.5], dtype="f4"),
    "float64": np.array([-1.0, 0.0, 1.0]),
    "float_nan": np.array([0.0, np.nan]),
    "int16_be": np.array([3, 2, 1], dtype=">i2"),
    "uint8": np.array([1, 2], dtype="u1"),
    "int64": np.arange(5, dtype="i8"),
    "datetime_ns": np.array(["2000-01-01", "2000-01-02"], dtype="M8[ns]"),
    "datetime_s": np.array(["1500-01-01", "2000-01-02"], dtype="M8[s]"),
    "datetime_nat": np.array(["2000-01-01", "NaT"], dtype="M8[ns]"),
    "timedelta": np.array([1, 2], dtype="m8[s]"),
    "cftime": np.array([cftime.DatetimeNoLeap(2000, 1, d) for d in (1, 2, 3)], dtype=object),
    "strings": np.array(["a", "b"], dtype=object),
    "unicode": np.array(["a", "bc"]),
    "bytes": np.array([b"a", b"bc"]),
    "bool": np.array([True, False]),
    "empty": np.array([], dtype="f8"),
    "duplicates": np.array([1.0, 1.0, 2.0]),
}


def _index_variable(name: str, values: np.ndarray) -> xr.IndexVariable:
    # as vzcore._to_xarray._to_variable builds a loaded dimension coordinate
    return xr.IndexVariable((name,), values, {"units": "u"}, {"dtype": values.dtype})


def _same(got: PandasIndex, want: PandasIndex) -> None:
    assert type(got) is type(want) is SourceIndex
    assert got.source == want.source
    assert got.dim == want.dim
    assert got.coord_dtype == want.coord_dtype
    assert type(got.index) is type(want.index)
    assert got.index.dtype == want.index.dtype
    assert got.index.name == want.index.name
    assert got.index.names == want.index.names
    assert got.index.equals(want.index)
    assert getattr(got.index, "freq", None) == getattr(want.index, "freq", None)
    assert getattr(got.index, "calendar", None) == getattr(want.index, "calendar", None)


def _by_from_variables(variable: Any, name: str, source: str) -> SourceIndex:
    index = SourceIndex.from_variables({name: variable}, options={})
    assert isinstance(index, SourceIndex)
    index.source = source
    return index


@pytest.mark.parametrize("kind", list(VALUES))
def test_short_path_equals_from_variables(kind: str) -> None:
    variable = _index_variable("x", VALUES[kind])
    got = source_index(variable, "x", "file:///a.nc")
    want = _by_from_variables(variable, "x", "file:///a.nc")
    _same(got, want)
    # a copy, as from_variables makes, not the variable's own pandas index
    assert got.index is not variable._data.array


@pytest.mark.parametrize("kind", ["float32", "datetime_ns", "cftime"])
def test_datasets_select_and_concatenate_alike(kind: str) -> None:
    values = VALUES[kind]
    variable = _index_variable("x", values)

    def dataset(index: SourceIndex) -> xr.Dataset:
        coords = xr.Coordinates({"x": variable}, indexes={"x": index})
        return xr.Dataset({"v": ("x", np.arange(values.size))}, coords=coords)

    a = dataset(source_index(variable, "x", "s"))
    b = dataset(_by_from_variables(variable, "x", "s"))
    xr.testing.assert_identical(a, b)
    xr.testing.assert_identical(a.isel(x=slice(1, None)), b.isel(x=slice(1, None)))
    assert type(a.isel(x=[0]).xindexes["x"]) is type(b.isel(x=[0]).xindexes["x"]) is PandasIndex
    xr.testing.assert_identical(xr.concat([a, a], "x"), xr.concat([b, b], "x"))


def test_other_variables_go_through_from_variables() -> None:
    base = xr.Variable(("x",), VALUES["float64"])
    _same(source_index(base, "x", "s"), _by_from_variables(base, "x", "s"))
    midx = pd.MultiIndex.from_arrays([[1, 2], ["a", "b"]], names=("one", "two"))
    level = xr.Dataset(coords=xr.Coordinates.from_pandas_multiindex(midx, "x")).variables["one"]
    assert level.dims == ("x",)
    _same(source_index(level, "one", "s"), _by_from_variables(level, "one", "s"))


TAKEN = ["float32", "float64", "float_nan", "int16_be", "uint8", "int64", "datetime_ns"]
TAKEN += ["datetime_s", "datetime_nat", "timedelta", "empty", "duplicates"]


@pytest.mark.parametrize("kind", list(VALUES))
def test_indexed_coordinate_equals_index_variable_and_source_index(kind: str) -> None:
    values = VALUES[kind]
    attrs, encoding = {"units": "u"}, {"dtype": values.dtype}
    built = indexed_coordinate("x", values, attrs, encoding, "file:///a.nc")
    if kind not in TAKEN:
        assert built is None
        return
    assert built is not None
    variable, index = built
    want = _index_variable("x", values)
    assert type(variable) is xr.IndexVariable
    xr.testing.assert_identical(variable, want)
    assert variable.dtype == want.dtype
    assert variable.encoding == want.encoding
    assert variable.attrs is not attrs
    assert variable.encoding is not encoding
    got_index = variable.to_index()
    want_index = want.to_index()
    assert type(got_index) is type(want_index)
    assert got_index.dtype == want_index.dtype
    assert got_index.equals(want_index)
    _same(index, source_index(want, "x", "file:///a.nc"))
    # the index and the coordinate share one pandas index, as xarray's create_variables makes
    assert index.index is variable._data.array


@pytest.mark.parametrize(
    "values",
    [
        np.array([1, 2], dtype="f2"),
        np.array(["2000-01-01", "2000-01-02"], dtype="M8[D]"),
        np.zeros((2, 2)),
        [1.0, 2.0],
    ],
    ids=["float16", "days", "2-d", "list"],
)
def test_indexed_coordinate_refuses_other_casts(values: Any) -> None:
    assert indexed_coordinate("x", values, {}, {}, "s") is None


@pytest.mark.parametrize("kind", ["float32", "datetime_ns"])
def test_indexed_coordinate_datasets_alike(kind: str) -> None:
    values = VALUES[kind]
    built = indexed_coordinate("x", values, {"units": "u"}, {}, "s")
    assert built is not None
    variable, index = built
    want = _index_variable("x", values)

    def dataset(var: xr.IndexVariable, idx: SourceIndex) -> xr.Dataset:
        coords = xr.Coordinates({"x": var}, indexes={"x": idx})
        return xr.Dataset({"v": ("x", np.arange(values.size))}, coords=coords)

    a = dataset(variable, index)
    b = dataset(want, source_index(want, "x", "s"))
    xr.testing.assert_identical(a, b)
    xr.testing.assert_identical(a.isel(x=slice(1, None)), b.isel(x=slice(1, None)))
    xr.testing.assert_identical(xr.concat([a, a], "x"), xr.concat([b, b], "x"))
    xr.testing.assert_identical(a.copy(deep=True), b.copy(deep=True))
