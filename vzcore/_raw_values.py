"""The stored values of loaded variables, so that writers can write them back bit for bit.

Loaded variables (by default the dimension coordinates) are CF-decoded, and decoding is
not always invertible: a time of ``0.37543299999999996`` seconds decodes to
``375432999`` ns, which encodes back as ``0.375432999``. So when a variable is loaded its
stored values are remembered beside the decoded ones (a :class:`RawPiece`), under the
variable's name and the encoding it was decoded with. When the variable is written,
:func:`raw_values_for` rebuilds its stored values from those pieces: the decoded values
must be exactly the pieces' decoded values laid end to end (one file, or files
concatenated by the combine, in any order), and the encoding must be the one they were
decoded with. Otherwise (values changed, units that differ per file) the writer re-encodes,
see :func:`vzcore._from_xarray`.

Pieces are kept in a process-wide registry bounded in bytes (least recently used pieces
go first): the per-file datasets a combine starts from are gone by the time the combined
one is written. A piece that was dropped only means a re-encoding, which is checked to
round-trip exactly.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ENCODING_KEY",
    "RawPiece",
    "digest",
    "encoding_key",
    "joined",
    "raw_values_for",
    "remember_again",
    "remember_raw",
]

ENCODING_KEY = "_vz_stored_values"
"""Where a loaded variable's :class:`RawPiece` sits in its ``encoding`` (writers of other
formats drop unknown encoding keys)."""

MAX_BYTES = 64 * 2**20
"""Memory the registry may hold (raw plus decoded values)."""

# Encoding keys that decide how stored values decode (xarray's CF decoders read these).
_KEYS = (
    "units",
    "calendar",
    "dtype",
    "scale_factor",
    "add_offset",
    "_FillValue",
    "missing_value",
    "_Unsigned",
)


@dataclass(frozen=True, eq=False)
class RawPiece:
    """The stored and the decoded values of one loaded variable of one file.

    Kept in the variable's ``encoding`` too, so that it travels with a dataset between
    processes (``parallel="processes"``, dask): unpickling registers it again.
    """

    name: str
    key: str
    raw: np.ndarray
    """Values as stored in the file."""
    decoded: np.ndarray
    """Values as CF-decoded when loaded."""

    @property
    def nbytes(self) -> int:
        """Memory held by both arrays."""
        return int(self.raw.nbytes + self.decoded.nbytes)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _restore, (self.name, self.key, self.raw, self.decoded)


def _restore(name: str, key: str, raw: np.ndarray, decoded: np.ndarray) -> RawPiece:
    piece = RawPiece(name, key, raw, decoded)
    _register(piece)
    return piece


class _Entry:
    """The pieces of one (name, encoding), indexed by their first decoded value."""

    def __init__(self) -> None:
        self.pieces: list[RawPiece] = []
        self.digests: set[tuple[int, int]] = set()
        self.by_first: dict[Any, list[RawPiece]] = {}
        self.nbytes = 0


_lock = threading.Lock()
_registry: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
_total = 0


def encoding_key(name: str, encoding: Mapping[str, Any]) -> tuple[str, str]:
    """Return the registry key of a variable: its name and the encoding that decodes it."""
    parts = []
    for k in _KEYS:
        if k in encoding:
            v = encoding[k]
            if type(v) is str:  # (units, calendar: the common case, as below)
                pass
            elif isinstance(v, np.dtype):
                v = v.str  # (np.dtype(v) is v)
            elif isinstance(v, type):
                v = np.dtype(v).str
            elif isinstance(v, _NUMPY):
                v = (np.asarray(v).dtype.str, np.asarray(v).tolist())
            parts.append(f"{k}={v!r}")
    return name, ";".join(parts)


_NUMPY = (np.generic, np.ndarray)


def _first(decoded: np.ndarray) -> Any:
    """Index key of an array's first value (objects such as cftime dates by their repr)."""
    if not decoded.size:
        return b""
    if decoded.dtype.kind == "O":
        return repr(decoded.ravel()[0])
    return _bits(decoded.ravel()[:1]).tobytes()


def _digest(a: np.ndarray) -> int:
    return hash(repr(a.tolist())) if a.dtype.kind == "O" else hash(_bits(a).tobytes())


def remember_raw(name: str, encoding: Mapping[str, Any], raw: Any, decoded: Any) -> RawPiece | None:
    """Register the stored values of a loaded variable beside its decoded values.

    Returns the piece (to keep in the variable's encoding), or None when the values are
    too large to remember or shapes differ.
    """
    raw_arr, dec_arr = np.asarray(raw), np.asarray(decoded)
    if raw_arr.shape != dec_arr.shape or raw_arr.nbytes + dec_arr.nbytes > MAX_BYTES // 4:
        return None  # large loaded variables are re-encoded (checked) instead of remembered
    raw_arr, dec_arr = raw_arr.copy(), dec_arr.copy()
    piece = RawPiece(name, encoding_key(name, encoding)[1], raw_arr, dec_arr)
    _register(piece)
    return piece


def digest(piece: RawPiece) -> tuple[int, int]:
    """Return what tells ``piece`` from the other pieces of its name and encoding."""
    return _digest(piece.raw), _digest(piece.decoded)


def remember_again(piece: RawPiece, known: tuple[int, int]) -> None:
    """Register ``piece`` again: a later file loaded the same values (see :mod:`vzcore._decoded_memo`).

    What :func:`remember_raw` does for a file whose piece is already known: the entry moves
    to the most recently used end, and the piece is registered anew if it was dropped.
    ``known`` is the piece's :func:`digest`.
    """
    _register(piece, known)


def joined(pieces: Sequence[RawPiece]) -> RawPiece | None:
    """Return (and register) one piece for 1-D pieces laid end to end, or None.

    For combines done in stages in other processes (``parallel="processes"``, dask): the
    process that writes the result holds one piece for the whole variable instead of one
    per file, which it would never receive. The pieces must share name, encoding and
    dtypes; None when they do not, or when the whole is too large to remember.
    """
    if len(pieces) < 2 or any(p.raw.ndim != 1 or p.decoded.ndim != 1 for p in pieces):
        return None
    kinds = {(p.name, p.key, p.raw.dtype, p.decoded.dtype) for p in pieces}
    if len(kinds) != 1 or sum(p.nbytes for p in pieces) > MAX_BYTES // 4:
        return None
    first = pieces[0]
    piece = RawPiece(
        first.name,
        first.key,
        np.concatenate([p.raw for p in pieces]),
        np.concatenate([p.decoded for p in pieces]),
    )
    _register(piece)
    return piece


def _register(piece: RawPiece, known: tuple[int, int] | None = None) -> None:
    global _total
    key = (piece.name, piece.key)
    found = digest(piece) if known is None else known
    with _lock:
        entry = _registry.get(key)
        if entry is None:
            entry = _registry[key] = _Entry()
        _registry.move_to_end(key)
        if found in entry.digests:  # the same file loaded again: keep one copy
            return
        entry.digests.add(found)
        entry.pieces.append(piece)
        entry.by_first.setdefault(_first(piece.decoded), []).append(piece)
        entry.nbytes += piece.nbytes
        _total += piece.nbytes
        while _total > MAX_BYTES and _registry:
            _, dropped = _registry.popitem(last=False)
            _total -= dropped.nbytes


def clear() -> None:
    """Forget every remembered piece (tests)."""
    global _total
    with _lock:
        _registry.clear()
        _total = 0


def _bits(a: np.ndarray) -> np.ndarray:
    """Values as comparable integers/floats: times as int64 (NaT equal to NaT)."""
    if a.dtype.kind in "mM":
        return a.view("i8")
    return a


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    if a.dtype.kind == "O":
        return bool(a.tolist() == b.tolist())
    return bool(np.array_equal(_bits(a), _bits(b)))


def raw_values_for(name: str, encoding: Mapping[str, Any], decoded: Any) -> np.ndarray | None:
    """Return the stored values whose decoding gives ``decoded``, or None.

    ``decoded`` must be the decoded values of one remembered piece, or (1-D) several
    pieces laid end to end, all remembered under ``name`` and ``encoding``.
    """
    values = np.asarray(decoded)
    with _lock:
        entry = _registry.get(encoding_key(name, encoding))
        if entry is None:
            return None
        by_first = {k: list(v) for k, v in entry.by_first.items()}
    for p in by_first.get(_first(values), ()):
        if _same(p.decoded, values):
            return p.raw
    if values.ndim != 1:
        return None
    out: list[np.ndarray] = []
    i, n = 0, values.shape[0]
    # Longest pieces first: a file's values may begin like another (shorter) file's.
    for group in by_first.values():
        group.sort(key=lambda p: -p.decoded.shape[0] if p.decoded.ndim == 1 else 0)
    while i < n:
        for p in by_first.get(_first(values[i : i + 1]), ()):
            m = p.decoded.shape[0] if p.decoded.ndim == 1 else 0  # (a scalar's piece: no)
            if m and i + m <= n and _same(p.decoded, values[i : i + m]):
                out.append(p.raw)
                i += m
                break
        else:
            return None
    if len({r.dtype for r in out}) != 1:
        return None
    return np.concatenate(out)
