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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["RawPiece", "encoding_key", "raw_values_for", "remember_raw"]

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
    """The stored and the decoded values of one loaded variable of one file."""

    raw: np.ndarray
    """Values as stored in the file."""
    decoded: np.ndarray
    """Values as CF-decoded when loaded."""

    @property
    def nbytes(self) -> int:
        """Memory held by both arrays."""
        return int(self.raw.nbytes + self.decoded.nbytes)


_lock = threading.Lock()
_registry: OrderedDict[tuple[str, str], list[RawPiece]] = OrderedDict()
_total = 0


def encoding_key(name: str, encoding: Mapping[str, Any]) -> tuple[str, str]:
    """Return the registry key of a variable: its name and the encoding that decodes it."""
    parts = []
    for k in _KEYS:
        if k in encoding:
            v = encoding[k]
            if isinstance(v, np.dtype | type):
                v = np.dtype(v).str
            elif isinstance(v, np.generic | np.ndarray):
                v = (np.asarray(v).dtype.str, np.asarray(v).tolist())
            parts.append(f"{k}={v!r}")
    return name, ";".join(parts)


def remember_raw(name: str, encoding: Mapping[str, Any], raw: Any, decoded: Any) -> None:
    """Register the stored values of a loaded variable beside its decoded values."""
    global _total
    piece = RawPiece(np.array(raw, copy=True), np.array(decoded, copy=True))
    if piece.raw.shape != piece.decoded.shape or piece.nbytes > MAX_BYTES // 4:
        return
    key = encoding_key(name, encoding)
    with _lock:
        pieces = _registry.setdefault(key, [])
        _registry.move_to_end(key)
        for old in pieces:  # the same file loaded again: keep one copy
            if _same(old.decoded, piece.decoded) and _same(old.raw, piece.raw):
                return
        pieces.append(piece)
        _total += piece.nbytes
        while _total > MAX_BYTES and _registry:
            _, dropped = _registry.popitem(last=False)
            _total -= sum(p.nbytes for p in dropped)


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
        pieces = list(_registry.get(encoding_key(name, encoding), ()))
    if not pieces:
        return None
    for p in pieces:
        if _same(p.decoded, values):
            return p.raw
    if values.ndim != 1 or any(p.decoded.ndim != 1 or not p.decoded.size for p in pieces):
        return None
    out: list[np.ndarray] = []
    i, n = 0, values.shape[0]
    # Longest pieces first: a file's values may begin like another (shorter) file's.
    pieces.sort(key=lambda p: -p.decoded.shape[0])
    while i < n:
        for p in pieces:
            m = p.decoded.shape[0]
            if i + m <= n and _same(p.decoded, values[i : i + m]):
                out.append(p.raw)
                i += m
                break
        else:
            return None
    dtypes = {r.dtype for r in out}
    if len(dtypes) != 1:
        return None
    return np.concatenate(out)
