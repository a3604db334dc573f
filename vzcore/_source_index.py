"""The index of a file's loaded dimension coordinate, which remembers the file.

``xr.open_mfdataset(paths, engine="virtualizarr", combine="by_coords")`` (and
``xr.combine_by_coords`` over datasets from :func:`vzcore.open_virtual_dataset`) orders
the files by the first value of each dimension coordinate. Two failures then happen
inside xarray, before :mod:`vzcore._combine`'s checks or ``.virtualize`` can see them:

* files whose ranges overlap give a bare ``ValueError`` ("Resulting object does not have
  monotonic global indexes"), naming neither file;
* files that start at the same value are silently reduced to one (pydata/xarray#4077:
  ``_infer_concat_order_from_coords`` keys the files by position, and a dict keeps one
  file per position), so its references are never written;
* files that all hold the same coordinate values (the same file twice) give xarray's
  "Could not find any dimension coordinates to use to order the Dataset objects", and a
  file whose own coordinate is not monotonic gives "neither monotonically increasing nor
  monotonically decreasing on all datasets", again naming no file.

Each per-file dataset's dimension coordinates carry a :class:`SourceIndex`, a
:class:`xarray.indexes.PandasIndex` that records its file. xarray concatenates the files'
indexes with :meth:`SourceIndex.concat`, the one hook it calls on every combine; when
that call is made by ``combine_by_coords`` (found by the code object of xarray's
``_combine_single_variable_hypercube`` on the call stack, with the files it was given and
the positions it kept), it raises :class:`~vzcore.errors.CombineError` naming the files
for the first two failures. The last two are found in :meth:`SourceIndex.to_pandas_index`,
which xarray's ``_infer_concat_order_from_coords`` calls on every file's index before it
orders them. If a future xarray renames either function, the check finds no frame and
xarray's own behaviour is back (a test holds them in place). Outside ``combine_by_coords``
(``combine="nested"``, ``xr.concat``) overlapping coordinates are allowed, as in xarray.

The concatenated index is a plain :class:`~xarray.indexes.PandasIndex`, as is any index
derived from a :class:`SourceIndex` (selection, renaming): combined datasets look exactly
as they did before.
"""

from __future__ import annotations

import sys
from collections.abc import Hashable, Iterable, Sequence
from types import FrameType
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from xarray.indexes import PandasIndex

from vzcore.errors import CombineError

__all__ = ["SourceIndex", "from_index", "indexed_coordinate", "source_index"]

_FRAMES_UP = 40
"""How far up the stack ``combine_by_coords``' frame is looked for (it is ~8 calls up)."""


class SourceIndex(PandasIndex):
    """A :class:`~xarray.indexes.PandasIndex` that remembers the file it was read from."""

    source: str = ""
    """URL of the file whose coordinate values the index holds (``""`` when unknown)."""

    def _replace(
        self, index: pd.Index, dim: Hashable | None = None, coord_dtype: Any = None
    ) -> PandasIndex:
        # Selections and renames are no longer one file's coordinate: a plain index.
        return PandasIndex(
            index,
            self.dim if dim is None else dim,
            self.coord_dtype if coord_dtype is None else coord_dtype,
            fastpath=True,
        )

    def _copy(self, deep: bool = True, memo: dict[int, Any] | None = None) -> SourceIndex:
        # A copy still holds the file's coordinate (xarray copies when it adds indexes).
        new = SourceIndex(
            self.index.copy(deep=True) if deep else self.index,
            self.dim,
            self.coord_dtype,
            fastpath=True,
        )
        new.source = self.source
        return new

    def to_pandas_index(self) -> pd.Index:
        """Return the pandas index; refuse files ``combine_by_coords`` cannot order.

        Called by xarray's ``_infer_concat_order_from_coords`` on every file's index: when
        all files hold the same coordinate values, or one file's coordinate is not
        monotonic, a :class:`~vzcore.errors.CombineError` names the files.
        """
        frame = _caller_frame("_infer_concat_order_from_coords")
        if frame is not None and not frame.f_locals.get("indexes"):  # once per dimension
            _check_orderable(frame.f_locals.get("datasets"), frame.f_locals.get("dim"))
        return self.index

    @classmethod
    def concat(  # type: ignore[override]  # returns the plain PandasIndex, not Self
        cls,
        indexes: Sequence[PandasIndex],
        dim: Hashable,
        positions: Iterable[Iterable[int]] | None = None,
    ) -> PandasIndex:
        """Concatenate as PandasIndex does, refusing what ``combine_by_coords`` would lose.

        Under ``combine_by_coords``, files it dropped or files that overlap raise a
        :class:`~vzcore.errors.CombineError` naming them.
        """
        combined = PandasIndex.concat(indexes, dim, positions)
        frame = _caller_frame("_combine_single_variable_hypercube")
        if frame is not None:
            _check_dropped(frame)
            if not (
                combined.index.is_monotonic_increasing or combined.index.is_monotonic_decreasing
            ):
                _check_overlap(indexes, dim)
        return combined


def source_index(variable: Any, name: Hashable, source: str) -> SourceIndex:
    """Return the :class:`SourceIndex` of the 1-D dimension coordinate ``variable``.

    The index ``SourceIndex.from_variables({name: variable})`` builds. For an
    :class:`xarray.IndexVariable` named ``name`` along ``name`` (every loaded dimension
    coordinate of :mod:`vzcore._to_xarray`), it is built from the pandas index the variable
    already holds (``to_index``, a named shallow copy, as ``from_variables`` makes), without
    the two further copies and casts of ``from_variables``; anything else (multi-indexes,
    other variables) goes through ``from_variables``.
    """
    if type(variable) is xr.IndexVariable and variable.dims == (name,):
        pd_index = variable.to_index()
        if type(pd_index) is not pd.MultiIndex and pd_index.name == name:
            return from_index(pd_index, name, variable.dtype, source)
    built = SourceIndex.from_variables({name: variable}, options={})
    assert isinstance(built, SourceIndex)  # from_variables builds cls
    built.source = source
    return built


def indexed_coordinate(
    name: str,
    values: Any,
    attrs: dict[str, Any],
    encoding: dict[str, Any],
    source: str,
) -> tuple[xr.IndexVariable, SourceIndex] | None:
    """Return the loaded dimension coordinate ``name`` and its :class:`SourceIndex`, sharing one index.

    What ``xr.IndexVariable((name,), values, attrs, encoding)`` and then
    :func:`source_index` of it give, with the pandas index built once, already named
    (as xarray's own ``PandasIndex.create_variables`` shares one named index between an
    index and its coordinate): the variable's adapter builds ``pd.Index(values)`` and
    ``to_index`` then copies it to name it. Only for plain numbers and times, for which
    xarray's cast is exactly ``pd.Index(values)`` (``xarray.core.indexes.safe_cast_to_index``:
    objects, cftime dates and ``float16`` are cast otherwise) and pandas keeps the dtype;
    None otherwise (the caller takes xarray's own path).
    """
    if type(values) is not np.ndarray or values.ndim != 1:
        return None
    dtype = values.dtype
    if dtype.kind not in "iufmM" or dtype == np.float16:
        return None
    pd_index = pd.Index(values, name=name)
    if pd_index.dtype != dtype:  # (e.g. datetime64[D], which pandas holds in seconds)
        return None
    variable = xr.IndexVariable((name,), pd_index, attrs, encoding)  # type: ignore[no-untyped-call]
    return variable, from_index(pd_index, name, variable.dtype, source)


def from_index(pd_index: pd.Index, name: Hashable, dtype: Any, source: str) -> SourceIndex:
    """Return the :class:`SourceIndex` over the named ``pd_index`` of a coordinate of ``dtype``."""
    index = SourceIndex(pd_index, name, coord_dtype=dtype, fastpath=True)
    index.source = source
    return index


def _caller_frame(function: str) -> FrameType | None:
    """Return the frame of ``xarray.structure.combine.<function>`` above us, if any."""
    from xarray.structure import combine

    func = getattr(combine, function, None)
    code = getattr(func, "__code__", None)
    if code is None:  # pragma: no cover - a future xarray without it: xarray's own behaviour
        return None
    frame: FrameType | None = sys._getframe(2)
    for _ in range(_FRAMES_UP):
        if frame is None:
            return None
        if frame.f_code is code:
            return frame
        frame = frame.f_back
    return None


def _label(ds: Any, dim: Hashable) -> str:
    idx = ds.xindexes.get(dim)
    return getattr(idx, "source", "") or ds.encoding.get("source") or "<a dataset>"


def _span(index: pd.Index, dim: Hashable) -> str:
    if len(index) == 0:
        return f"no {dim!s} values"
    return f"{dim!s} {index[0]} … {index[-1]}, {len(index)} values"


def _check_dropped(frame: FrameType) -> None:
    """Raise when combine_by_coords kept fewer files than it was given (same first value)."""
    local = frame.f_locals
    datasets, kept, dims = (
        local.get("datasets"),
        local.get("combined_ids"),
        local.get("concat_dims"),
    )
    if not isinstance(datasets, list | tuple) or not isinstance(kept, dict) or not dims:
        return
    if len(kept) == len(datasets):
        return
    kept_ids = {id(ds) for ds in kept.values()}
    dropped = next(ds for ds in datasets if id(ds) not in kept_ids)

    def starts(ds: Any) -> tuple[Any, ...]:
        return tuple(ds.indexes[d][0] for d in dims)

    start = starts(dropped)
    twin = next((ds for ds in datasets if id(ds) in kept_ids and starts(ds) == start), None)
    if twin is None:  # pragma: no cover - xarray dropped it for another reason
        twin = next(ds for ds in datasets if ds is not dropped)
    dim = next((d for d in dims if not dropped.indexes[d].equals(twin.indexes[d])), dims[0])
    a, b = dropped.indexes[dim], twin.indexes[dim]
    where = ", ".join(f"{d!s}={v}" for d, v in zip(dims, start, strict=True))
    what = (
        "hold the same coordinate values (the same file twice?)"
        if all(dropped.indexes[d].equals(twin.indexes[d]) for d in dims)
        else "start at the same coordinate value but differ"
    )
    raise CombineError(
        f"{_label(dropped, dim)!r} ({_span(a, dim)}) and {_label(twin, dim)!r} "
        f"({_span(b, dim)}) both start at {where} and {what}: combine='by_coords' orders "
        "files by their first coordinate values and would silently keep only one of them "
        "(pydata/xarray#4077). Leave one of them out, or use combine='nested' with the "
        "files in the order to concatenate."
    )


def _check_overlap(indexes: Sequence[PandasIndex], dim: Hashable) -> None:
    """Raise for the first two consecutive files whose ranges along ``dim`` overlap."""
    pd_indexes = [i.index for i in indexes]
    if all(i.is_monotonic_increasing for i in pd_indexes):
        ascending = True
    elif all(i.is_monotonic_decreasing for i in pd_indexes):
        ascending = False
    else:  # pragma: no cover - xarray refuses non-monotonic files before concatenating
        return
    for k in range(len(indexes) - 1):
        a, b = pd_indexes[k], pd_indexes[k + 1]
        if not len(a) or not len(b):
            continue
        if (a[-1] >= b[0]) if ascending else (a[-1] <= b[0]):
            la = getattr(indexes[k], "source", "") or "<a dataset>"
            lb = getattr(indexes[k + 1], "source", "") or "<a dataset>"
            raise CombineError(
                f"{la!r} ({_span(a, dim)}) and {lb!r} ({_span(b, dim)}) overlap along "
                f"{str(dim)!r}, so combine='by_coords' cannot order them into one "
                f"monotonic {str(dim)!r} axis. Leave one of them out, or use "
                "combine='nested' to concatenate them as given."
            )


def _check_orderable(datasets: Any, dim: Hashable) -> None:
    """Raise when combine_by_coords cannot order ``datasets`` and xarray would not say why.

    Checked when xarray starts reading the files' indexes along ``dim``: on the first
    dimension coordinate, whether every file holds the same values along every dimension
    (the same file twice); on each, whether every file's own coordinate is monotonic.
    """
    if not isinstance(datasets, list | tuple) or len(datasets) < 2:
        return
    if not all(isinstance(ds, xr.Dataset) for ds in datasets):
        return  # DataTrees: xarray's own checks
    first = datasets[0]
    dims = [d for d in first.dims if d in first]
    # PandasIndex.index, not Dataset.indexes: that calls to_pandas_index, which calls us
    found: list[list[pd.Index]] = [
        [getattr(ds.xindexes.get(d), "index", None) for d in dims] for ds in datasets
    ]
    if dim not in dims or not all(isinstance(i, pd.Index) for row in found for i in row):
        return  # xarray's own error names the missing index
    indexes: list[pd.Index] = [row[dims.index(dim)] for row in found]
    if dim == dims[0] and all(
        row[k].equals(found[0][k]) for row in found[1:] for k in range(len(dims))
    ):
        spans = ", ".join(_span(i, d) for i, d in zip(found[0], dims, strict=True))
        raise CombineError(
            f"{_label(first, dim)!r} and {_label(datasets[1], dim)!r} hold the same "
            f"coordinate values ({spans}) (the same file twice?), so combine='by_coords' "
            "finds no dimension to order them along. Leave one of them out, or use "
            "combine='nested' to concatenate them as given."
        )
    if all(i.equals(indexes[0]) for i in indexes[1:]):
        return  # a bystander: xarray does not order along it, in any order
    rising = [i.is_monotonic_increasing for i in indexes]
    falling = [i.is_monotonic_decreasing for i in indexes]
    if all(rising) or all(falling):
        return
    remedy = "use combine='nested' with the files in the order to concatenate."
    for ds, index, up, down in zip(datasets, indexes, rising, falling, strict=True):
        if not (up or down):
            raise CombineError(
                f"{_label(ds, dim)!r}: its {str(dim)!r} coordinate ({_span(index, dim)}) is "
                "neither increasing nor decreasing, so combine='by_coords' cannot order the "
                f"files along it. Leave that file out, or {remedy}"
            )
    k = rising.index(False)  # a descending file
    j = falling.index(False)  # an ascending file
    raise CombineError(
        f"{_label(datasets[j], dim)!r} ({_span(indexes[j], dim)}) ascends and "
        f"{_label(datasets[k], dim)!r} ({_span(indexes[k], dim)}) descends along "
        f"{str(dim)!r}, so combine='by_coords' cannot order the files along it: {remedy}"
    )
