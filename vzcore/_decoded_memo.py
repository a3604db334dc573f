"""The last decoding of each loaded variable, kept for the next file that stores the same.

The files of a collection repeat most of their loaded variables value for value: a time
series' ``lat`` and ``lon``, a scalar ``height``. :mod:`vzcore._to_xarray` CF-decodes every
loaded variable with xarray's decoders and builds its pandas index, which is most of the
cost of a small file's spatial coordinates. Decoding is a function of what it is given:
the variable's name, dimensions, stored values (dtype, shape and bytes) and attributes, and
the decode options. So for each (name, dimensions) the last result is kept with exactly
those inputs, and a file giving the same inputs gets a copy of that result instead of
calling the decoders again: the same values, dtypes, attributes and encoding (its
:class:`~vzcore._raw_values.RawPiece` included), the same pandas index.

A result is kept only when nothing could make a second decoding differ:

* the inputs are plain data compared exactly (bytes for numbers, so ``-0.0``, NaN
  payloads, ``1`` and ``True`` and ``np.float32(1)`` are all told apart); attributes of any
  other type, object or structured values, and decode options holding coder objects
  (which may be changed between calls) are never kept;
* the decoding issued no warning at all: it runs under :func:`warnings.catch_warnings`
  with every warning recorded; when one was (or it raised), it is run again as usual, so
  xarray's warnings and errors reach the caller as xarray issues them, and nothing is
  kept. Recording so changes the process-wide warning state, so it is only done when no
  other thread runs (another thread's warnings would be recorded here);
* with other threads running (a Jupyter kernel, a dask worker), the decoding runs once,
  as usual, while the warnings the process shows are watched (:func:`_shown`, wrapped
  around ``warnings._showwarnmsg``, which every shown or recorded warning goes through,
  telling this context's apart by a context variable): a result is kept only when this
  decoding showed none, and it is served only while the warning filters are those it was
  decoded under (a warning the filters ignored then is not hidden after they change).
  What this cannot see is a warning held back when the result was kept: by the registry
  of "default"/"once"/"module" filters because it had been shown already (after a later
  reset of the registries, a ``catch_warnings`` block, with the same filters, xarray would
  show it once more and the kept result does not), or by a filter another thread had put
  in place for that moment (which hid it from this decoding too). Only on Python 3.12
  and 3.13, whose warnings go through ``warnings._showwarnmsg`` (Python 3.14's
  context-aware warnings use the first mode in every thread, elsewhere nothing new is
  kept while other threads run);
* what is handed out is never shared mutably: values and attribute arrays are copied for
  every file (the pandas index, immutable, is shared as xarray shares indexes).

Variables whose values change from file to file (a time axis) would be kept in vain: from
the second miss in a row on, a name's decoding is kept only at every
:data:`RETRY_EVERY`-th miss.
"""

from __future__ import annotations

import struct
import sys
import threading
import warnings
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import xarray as xr

from vzcore._raw_values import ENCODING_KEY as RAW_ENCODING_KEY
from vzcore._raw_values import RawPiece, digest, remember_again
from vzcore._source_index import from_index

if TYPE_CHECKING:
    from vzcore._source_index import SourceIndex

__all__ = [
    "Decoded",
    "Stored",
    "clear",
    "decode_once",
    "keepable",
    "kept",
    "recording_is_safe",
    "watching_is_possible",
]

MAX_VALUE_BYTES = 2**16
"""Stored values larger than this are not kept (loaded coordinates are small)."""

MAX_NAMES = 256
"""Kept results (one per name and dimensions); all are forgotten when there would be more."""

MAX_BYTES = 16 * 2**20
"""Stored and decoded values all kept results may hold; all are forgotten past it."""

RETRY_EVERY = 16
"""From its second miss in a row on, a name's decoding is kept at every this many misses."""

_KINDS = frozenset("biufcmMSU")
"""dtype kinds of plain values (no objects, no structured or void types)."""

_OPTION_TYPES = (bool, type(None), str)
"""Types of decode options that are kept as they are (no coder objects)."""


class _UnkeyableError(Exception):
    """An input or result that is not plain data: its decoding is not kept."""


def _key(value: Any) -> Hashable:
    """Return an exact, hashable stand-in of an attribute value; raise _UnkeyableError otherwise.

    A ``str`` stands for itself (every other stand-in is a tuple starting with the type).
    """
    kind = type(value)
    if kind is str:
        return str(value)  # (itself: an exact str)
    if kind is bytes or value is None:
        return kind, value
    if kind is float:
        return kind, struct.pack("<d", value)
    if kind is int or kind is bool:
        return kind, value
    if isinstance(value, np.generic) and value.dtype.kind in _KINDS:
        return kind, value.dtype.str, value.tobytes()
    if kind is np.ndarray and value.dtype.kind in _KINDS:
        return kind, value.dtype.str, value.shape, value.tobytes()
    if kind is list or kind is tuple:
        return kind, tuple([v if type(v) is str else _key(v) for v in value])
    if kind is dict:
        return kind, tuple(
            [
                (k if type(k) is str else _key(k), v if type(v) is str else _key(v))
                for k, v in value.items()
            ]
        )
    raise _UnkeyableError


def _fresh(value: Any) -> Any:
    """Return ``value`` itself when immutable, else a copy (arrays, lists, dicts)."""
    kind = type(value)
    if kind is str or kind is int or kind is float or value is None:
        return value
    if kind is np.ndarray:
        return value.copy()
    if kind is list:
        return [_fresh(v) for v in value]
    if kind is dict:
        return {k: _fresh(v) for k, v in value.items()}
    if kind is tuple:
        return tuple(_fresh(v) for v in value)
    if kind is bytes or kind is bool or isinstance(value, np.generic | np.dtype | RawPiece):
        return value
    raise _UnkeyableError


def _fresh_dict(d: dict[Any, Any]) -> dict[Any, Any]:
    return {k: v if type(v) is str else _fresh(v) for k, v in d.items()}


class Decoded:
    """One loaded variable as decoded: what a file with the same inputs gets a copy of.

    Either a dimension coordinate over a pandas index (``index``: its
    :class:`~xarray.core.indexing.PandasIndexingAdapter`, shared as xarray shares indexes;
    the Variable and :class:`~vzcore._source_index.SourceIndex` built again over it as
    :func:`vzcore._source_index.indexed_coordinate` builds them) or a plain Variable of
    numpy ``values``.
    """

    __slots__ = ("attrs", "dims", "encoding", "index", "remembered", "values", "writeable")

    def __init__(self, variable: xr.Variable, index: SourceIndex | None) -> None:
        self.dims = variable.dims
        self.index: Any = None
        self.values: np.ndarray | None = None
        self.writeable = False
        if index is not None:
            self.index = variable._data  # (the adapter over index.index)
        else:
            self.values = variable.data.copy()
            self.writeable = bool(variable.data.flags.writeable)
        self.attrs = _fresh_dict(variable.attrs)
        self.encoding = _fresh_dict(variable.encoding)
        piece = variable.encoding.get(RAW_ENCODING_KEY)
        self.remembered = (piece, digest(piece)) if isinstance(piece, RawPiece) else None
        """The stored values registered with the first file, and their digest."""

    def build(self, name: str, source: str) -> tuple[xr.Variable, SourceIndex | None]:
        """Return a new Variable (and the index of a dimension coordinate) for ``source``."""
        if self.remembered is not None:
            remember_again(*self.remembered)  # (as remember_raw did for the first file)
        attrs, encoding = _fresh_dict(self.attrs), _fresh_dict(self.encoding)
        if self.index is not None:
            variable = xr.IndexVariable(self.dims, self.index, attrs, encoding, fastpath=True)  # type: ignore[no-untyped-call]  # xarray's is unannotated
            return variable, from_index(self.index.array, name, variable.dtype, source)
        assert self.values is not None  # (one or the other)
        values = self.values.copy()
        values.flags.writeable = self.writeable  # (as the first file's)
        return xr.Variable(self.dims, values, attrs, encoding, fastpath=True), None


class _Kept:
    """The inputs and result of a name's last decoding, and its run of misses."""

    __slots__ = ("filters", "inputs", "misses", "nbytes", "result", "values")

    def __init__(self) -> None:
        self.nbytes = 0
        self.values: tuple[Any, ...] | None = None
        self.inputs: Hashable = None
        self.result: Decoded | None = None
        self.misses = 0
        self.filters: tuple[Any, ...] | None = None
        """The warning filters the result was decoded under, when it may be served only
        under the same (a watched decoding); None: under any."""


_kept: dict[tuple[str, tuple[Hashable, ...]], _Kept] = {}
_lock = threading.Lock()


_held = 0
"""Bytes of values the kept results hold (stored and decoded)."""


def clear() -> None:
    """Forget every kept result (tests)."""
    global _held
    with _lock:
        _kept.clear()
        _held = 0


def kept() -> int:
    """Return how many results are kept (tests)."""
    return sum(1 for k in list(_kept.values()) if k.result is not None)


def recording_is_safe() -> bool:
    """Return whether recording warnings here cannot record another thread's.

    True when no other thread runs, or when ``catch_warnings`` is local to the running
    context (Python 3.14's ``context_aware_warnings``, on in free-threaded builds).
    """
    return threading.active_count() == 1 or bool(getattr(sys.flags, "context_aware_warnings", 0))


_watching: ContextVar[list[type[Warning]] | None] = ContextVar(
    "vzcore_decoded_memo_watching", default=None
)
"""The categories of the warnings shown in this context while a decoding is watched."""


def _shown(msg: Any) -> None:
    """``warnings._showwarnmsg``, noting the warnings of a watched decoding first."""
    seen = _watching.get()
    if seen is not None:
        seen.append(msg.category)
    _shown.original(msg)  # type: ignore[attr-defined]


_WATCHABLE = ((3, 12), (3, 13))
"""Pythons whose shown warnings all go through ``warnings._showwarnmsg`` (the C warnings
module looks it up there at every warning)."""


def watching_is_possible() -> bool:
    """Return whether this process's shown warnings can be watched per context.

    Installs :func:`_shown` around ``warnings._showwarnmsg`` the first time (it changes
    nothing about how warnings are shown); False on other Pythons, and when something
    has replaced it since (then it is not known to be called).
    """
    if sys.version_info[:2] not in _WATCHABLE:
        return False
    current = getattr(warnings, "_showwarnmsg", None)
    if current is _shown:
        return True
    with _lock:
        if getattr(_shown, "original", None) is None and callable(current):
            _shown.original = current  # type: ignore[attr-defined]
            warnings._showwarnmsg = _shown  # type: ignore[attr-defined]
    return getattr(warnings, "_showwarnmsg", None) is _shown


def _options_key(opts: Any) -> Hashable:
    """Return the decode options as a key, or raise _UnkeyableError when they hold objects."""
    fields = (
        opts.mask_and_scale,
        opts.decode_times,
        opts.concat_characters,
        opts.decode_coords,
        opts.use_cftime,
        opts.decode_timedelta,
    )
    if not all(type(f) in _OPTION_TYPES for f in fields):
        raise _UnkeyableError
    return fields


class Stored(NamedTuple):
    """What a loaded variable's decoding is given: all that decides its result."""

    name: str
    dims: tuple[Hashable, ...]
    values: np.ndarray
    """The stored values."""
    attrs: dict[Any, Any]
    opts: Any
    """The decode options (:class:`vzcore._open_options.DecodeOptions`)."""
    source: str
    """The file (named by the variable's index, not part of the decoding)."""


def decode_once(
    stored: Stored,
    decode: Callable[[Stored, bool], tuple[xr.Variable, SourceIndex | None, Decoded | None]],
) -> tuple[xr.Variable, SourceIndex | None]:
    """Return ``decode``'s Variable and index, or a copy of the last equal decoding's.

    ``decode(stored, keep)`` decodes the variable ``stored`` describes; it returns the
    Variable, the index of a dimension coordinate (or None) and, when ``keep``, what to
    keep of them (:func:`keepable`; None when they cannot be kept).
    """
    name, dims, values, attrs, opts, source = stored
    if values.dtype.kind not in _KINDS or values.nbytes > MAX_VALUE_BYTES:
        return decode(stored, False)[:2]
    slot = (name, dims)
    entry = _kept.get(slot)
    head = (values.dtype.str, values.shape, values.tobytes())
    if entry is not None and entry.values == head:
        try:
            inputs = (_options_key(opts), _key(attrs))
        except _UnkeyableError:
            return decode(stored, False)[:2]
        found = entry.result
        if (
            found is not None
            and entry.inputs == inputs
            and (entry.filters is None or entry.filters == tuple(warnings.filters))
        ):
            entry.misses = 0
            return found.build(name, source)
    else:
        inputs = None
    misses = entry.misses + 1 if entry is not None else 0
    if entry is not None:
        entry.misses = misses
    if not (misses < 2 or misses % RETRY_EVERY == 0):
        return decode(stored, False)[:2]
    caught_here = recording_is_safe()
    if not (caught_here or watching_is_possible()):
        return decode(stored, False)[:2]
    try:
        if inputs is None:
            inputs = (_options_key(opts), _key(attrs))
    except _UnkeyableError:
        return decode(stored, False)[:2]
    new = _Kept()  # (kept even without a result: it counts the misses)
    new.values, new.inputs, new.misses = head, inputs, misses
    new.nbytes = 2 * values.nbytes  # (stored and decoded values, about)
    if not caught_here:
        return _decode_watched(slot, new, stored, decode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            variable, index, result = decode(stored, True)
        except Exception:  # noqa: BLE001  # decoded again below, raising as xarray does
            failed = True
        else:
            failed = False
    if not (failed or caught):
        new.result = result  # (None when it is not plain data)
    _keep(slot, new)
    if failed or caught:
        # xarray's warnings and errors, issued as xarray issues them
        return decode(stored, False)[:2]
    return variable, index


def _decode_watched(
    slot: tuple[str, tuple[Hashable, ...]],
    new: _Kept,
    stored: Stored,
    decode: Callable[[Stored, bool], tuple[xr.Variable, SourceIndex | None, Decoded | None]],
) -> tuple[xr.Variable, SourceIndex | None]:
    """Decode once, as usual, watching the warnings it shows (module docstring).

    ``new`` is kept with the result when the decoding showed no warning and the filters
    did not change meanwhile, else without it (counting the miss). Errors are raised as
    the decoding raises them, after the warnings it showed (once).
    """
    filters = tuple(warnings.filters)
    shown: list[type[Warning]] = []
    token = _watching.set(shown)
    try:
        variable, index, result = decode(stored, True)
        if not shown and tuple(warnings.filters) == filters:
            new.result, new.filters = result, filters
        return variable, index
    finally:
        _watching.reset(token)
        _keep(slot, new)  # (after an error too, without a result: it counts the miss)


def _keep(slot: tuple[str, tuple[Hashable, ...]], new: _Kept) -> None:
    """Keep ``new`` for ``slot``, forgetting everything when there would be too much."""
    global _held
    with _lock:
        old = _kept.pop(slot, None)
        if old is not None:
            _held -= old.nbytes
        if len(_kept) >= MAX_NAMES or _held + new.nbytes > MAX_BYTES:
            _kept.clear()
            _held = 0
        _kept[slot] = new
        _held += new.nbytes


def keepable(variable: xr.Variable, index: SourceIndex | None) -> Decoded | None:
    """Return what to keep of a decoded variable (and its index), or None when not plain data.

    ``variable`` is a plain Variable of numpy values, or the IndexVariable of ``index``.
    """
    if index is None:
        data = variable._data
        if type(data) is not np.ndarray or data.dtype.kind not in _KINDS:
            return None
    elif getattr(variable._data, "array", None) is not index.index:
        return None
    try:
        return Decoded(variable, index)
    except _UnkeyableError:
        return None
