"""The source encoding that travels with a virtual array: the attributes that decode its values.

A virtual array's chunks hold *encoded* values; how they decode depends on CF attributes of
the variable they came from (``scale_factor``, ``add_offset``, ``_FillValue``, ``units``,
...). Chunks of files whose attributes disagree cannot be joined into one array, which has
one set of attributes: the joined array would decode some files' values wrongly (10x off,
fill values read as data, days read as hours). xarray's combine functions keep the first
file's attributes without looking, so the check cannot rely on them: a
:class:`SourceEncoding` rides along inside :class:`~vzcore.manifests.ArrayMetadata`,
through slicing, broadcasting, renaming paths and pickling, and every concatenation of
ManifestArrays compares the encodings of its parts.

Comparison is by value (``5 == 5.0``; a float32 ``0.1`` is not the float64 ``0.1``; NaN
equals NaN) on values canonicalised once, when the encoding is built, so comparing two
equal encodings is one tuple comparison.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CF_ENCODING_ATTRS", "SourceEncoding"]

CF_ENCODING_ATTRS = (
    "_FillValue",
    "missing_value",
    "scale_factor",
    "add_offset",
    "units",
    "calendar",
    "_Unsigned",
    "_Encoding",
)
"""Attributes that change how stored values decode: they must agree across the files whose
chunks are joined into one virtual array (one set of attributes decodes them all)."""

_NAN = float("nan")
"""The one NaN every canonical value uses, so that tuple comparison (identity first) sees
NaN equal to NaN."""


def _canonical(value: Any) -> Any:
    """Return a hashable Python value that compares like numpy compares ``value``."""
    kind = type(value)
    if kind is str or kind is int:  # (the common exact types: as the tests below give them)
        return value
    if kind is float:
        return _NAN if math.isnan(value) else value
    if isinstance(value, np.ndarray):
        if value.size == 1:
            return _canonical(value.reshape(()).item())
        return tuple(_canonical(v) for v in value.ravel().tolist())
    if isinstance(value, np.generic):
        return _canonical(value.item())
    if isinstance(value, list | tuple):
        return _canonical(value[0]) if len(value) == 1 else tuple(_canonical(v) for v in value)
    if isinstance(value, float) and math.isnan(value):
        return _NAN
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    if isinstance(value, Mapping):  # pragma: no cover - not a CF encoding attribute
        return tuple(sorted((str(k), _canonical(v)) for k, v in value.items()))
    return value


def _show(value: Any) -> str:
    """Show an attribute value as its source spells it (``0.1``, not ``0.10000000149``)."""
    if value is None:
        return "absent"
    if isinstance(value, np.generic) and not isinstance(value, np.str_ | np.bytes_):
        return str(value)
    if isinstance(value, np.ndarray):
        return np.array2string(value, separator=", ") if value.ndim else str(value[()])
    if isinstance(value, float) and math.isfinite(value) and float(np.float32(value)) == value:
        return str(np.float32(value))  # a float32 attribute read as a Python float
    return repr(value)


@dataclass(frozen=True, slots=True)
class SourceEncoding:
    """The CF encoding attributes of one source variable, with where it came from.

    Only ``values`` takes part in equality; ``source`` and ``variable`` are for messages.

    Examples
    --------
    >>> a = SourceEncoding.from_attrs({"scale_factor": np.float32(0.1)}, source="a.nc")
    >>> b = SourceEncoding.from_attrs({"scale_factor": 0.01}, source="b.nc")
    >>> a.differences(b)
    [('scale_factor', '0.1', '0.01')]
    """

    values: tuple[tuple[str, Any], ...]
    """``(name, canonical value)`` of each present encoding attribute, sorted by name."""
    raw: tuple[tuple[str, Any], ...] = field(default=(), compare=False)
    """The same attributes as the source gave them (for messages)."""
    source: str = field(default="", compare=False)
    """The file (URL) the variable was read from."""
    variable: str = field(default="", compare=False)
    """The variable's name in that file."""

    @classmethod
    def from_attrs(
        cls, attrs: Mapping[str, Any], *, source: str = "", variable: str = ""
    ) -> SourceEncoding:
        """Pick the CF encoding attributes out of a variable's attributes."""
        raw = tuple([(k, attrs[k]) for k in CF_ENCODING_ATTRS if k in attrs])
        values = tuple(sorted([(k, _canonical(v)) for k, v in raw]))
        return cls(values, raw, source, variable)

    def differences(self, other: SourceEncoding) -> list[tuple[str, str, str]]:
        """Return ``(attribute, value here, value there)`` for each attribute that differs.

        Values are shown as the sources spell them, ``"absent"`` where one lacks it.
        """
        if self.values == other.values:
            return []
        mine, theirs = dict(self.values), dict(other.values)
        raw_mine, raw_theirs = dict(self.raw), dict(other.raw)
        out = []
        for key in CF_ENCODING_ATTRS:
            a, b = mine.get(key), theirs.get(key)
            if (key in mine) != (key in theirs) or not (a is b or a == b):
                ra, rb = raw_mine.get(key, a), raw_theirs.get(key, b)
                sa, sb = _show(ra), _show(rb)
                if sa == sb:  # e.g. float32 0.1 and float64 0.1: show the types too
                    sa, sb = repr(ra), repr(rb)
                out.append((key, sa, sb))
        return out

    def describe(self) -> str:
        """Say where the variable came from: ``'temp' of 'file:///data/a.nc'``."""
        if self.variable and self.source:
            return f"{self.variable!r} of {self.source!r}"
        return repr(self.source or self.variable or "an unnamed source")

    def rename_source(self, func: Callable[[str], str]) -> SourceEncoding:
        """Return a copy whose ``source`` is ``func(source)`` (after re-pointing paths)."""
        if not self.source:
            return self
        return SourceEncoding(self.values, self.raw, func(self.source), self.variable)
