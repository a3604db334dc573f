"""Format-neutral array metadata: what zarr needs to decode a virtual array's chunks.

The codec pipeline is an ordered tuple of numcodecs configurations (``{"id": "zlib",
"level": 4}``), applied in *encoding* order to the chunk's raw bytes in ``dtype`` (whose
byte order is part of the dtype). Writers translate this into zarr v2 ``filters`` /
``compressor`` or a zarr v3 ``codecs`` list; nothing here is specific to one output format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vzcore.manifests.encoding import SourceEncoding

__all__ = ["ArrayMetadata", "CodecConfig"]

CodecConfig = dict[str, Any]
"""A numcodecs codec configuration: ``{"id": <codec id>, **parameters}``."""


def _same_fill(a: object, b: object) -> bool:
    """Compare fill values, with NaN equal to NaN, NaT to NaT and bytes compared exactly."""
    if a is None or b is None:
        return a is b
    try:
        fa, fb = np.asarray(a), np.asarray(b)
        if fa.dtype.kind in "fc" and fb.dtype.kind in "fc":
            return bool(np.array_equal(fa, fb, equal_nan=True))
        if fa.dtype.kind in "mM" and fb.dtype.kind in "mM" and np.isnat(fa).all():
            return bool(np.isnat(fb).all())  # NaT != NaT, like NaN
        return bool(np.array_equal(fa, fb))
    except (TypeError, ValueError):  # pragma: no cover - exotic structured fills
        return a == b


@dataclass(frozen=True)
class ArrayMetadata:
    """Shape, dtype, chunking and encoding of a virtual array.

    Examples
    --------
    >>> ArrayMetadata(shape=(10,), dtype=np.dtype("<f4"), chunk_shape=(5,)).grid_shape
    (2,)
    """

    shape: tuple[int, ...]
    """Array shape."""
    dtype: np.dtype[Any]
    """Element type as stored, byte order included."""
    chunk_shape: tuple[int, ...]
    """Shape of every chunk (edge chunks are stored full size, as in zarr); along an axis
    with ``chunk_edges``, the largest edge."""
    fill_value: Any = None
    """Value of elements in chunks that are not stored; None means the dtype's zero."""
    codecs: tuple[CodecConfig, ...] = ()
    """numcodecs configurations in encoding order (filters first, compressor last)."""
    dimension_names: tuple[str, ...] | None = None
    """Names of the dimensions, when the source names them."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    """Writer hints that do not affect decoding (e.g. the source's own dtype string)."""
    encoding: SourceEncoding | None = field(default=None, compare=False)
    """The source variable's CF encoding attributes (None: not known), which every
    concatenation compares; see :mod:`vzcore.manifests.encoding`. Not part of the zarr
    metadata, so not part of equality either."""
    chunk_edges: tuple[tuple[int, ...] | None, ...] | None = None
    """None for a regular chunk grid; else per axis None (regular) or the stored extent of
    every chunk along it: a rectilinear grid (see :mod:`vzcore.manifests.grid`)."""

    def __post_init__(self) -> None:
        # (map: the same int()/dict() per element as a generator, called from C)
        object.__setattr__(self, "shape", tuple(map(int, self.shape)))
        object.__setattr__(self, "chunk_shape", tuple(map(int, self.chunk_shape)))
        object.__setattr__(self, "dtype", np.dtype(self.dtype))
        object.__setattr__(self, "codecs", tuple(map(dict, self.codecs)))
        if len(self.shape) != len(self.chunk_shape):
            raise ValueError(
                f"shape {self.shape} and chunk_shape {self.chunk_shape} differ in length"
            )
        if self.chunk_shape and min(self.chunk_shape) <= 0:
            raise ValueError(f"chunk sizes must be positive, got {self.chunk_shape}")
        if self.dimension_names is not None:
            names = tuple(self.dimension_names)
            if len(names) != len(self.shape):
                raise ValueError(f"{len(names)} dimension names for {len(self.shape)} dimensions")
            object.__setattr__(self, "dimension_names", names)
        if self.chunk_edges is not None:
            from vzcore.manifests.grid import validate_edges

            edges = tuple(None if e is None else tuple(e) for e in self.chunk_edges)
            validate_edges(self.shape, edges)
            object.__setattr__(
                self, "chunk_edges", None if all(e is None for e in edges) else edges
            )

    @property
    def grid_shape(self) -> tuple[int, ...]:
        """Number of chunks along each axis."""
        if self.chunk_edges is not None:
            return tuple(
                math.ceil(s / c) if e is None else len(e)
                for s, c, e in zip(self.shape, self.chunk_shape, self.chunk_edges, strict=True)
            )
        return tuple(math.ceil(s / c) for s, c in zip(self.shape, self.chunk_shape, strict=True))

    def differences(self, other: ArrayMetadata) -> list[str]:
        """Describe how ``other`` differs in encoding (dtype, chunks, codecs, fill value)."""
        out = []
        if self.dtype != other.dtype:
            out.append(f"dtype {self.dtype.str} vs {other.dtype.str}")
        if self.chunk_shape != other.chunk_shape:
            out.append(f"chunk shape {self.chunk_shape} vs {other.chunk_shape}")
        elif self.chunk_edges != other.chunk_edges:
            out.append(f"chunk edges {self.chunk_edges} vs {other.chunk_edges}")
        if self.codecs != other.codecs:
            out.append(f"codecs {list(self.codecs)} vs {list(other.codecs)}")
        if not _same_fill(self.fill_value, other.fill_value):
            out.append(f"fill value {self.fill_value!r} vs {other.fill_value!r}")
        return out

    def encoding_differences(self, other: ArrayMetadata) -> list[tuple[str, str, str]]:
        """Return ``(attribute, value here, value there)`` where the source encodings differ.

        Empty when either encoding is unknown.
        """
        if self.encoding is None or other.encoding is None or self.encoding is other.encoding:
            return []
        return self.encoding.differences(other.encoding)

    def with_encoding(self, encoding: SourceEncoding | None) -> ArrayMetadata:
        """Return ``replace(encoding=encoding)``, without normalising the other fields again.

        They were normalised when this object was made, and ``encoding`` is checked by
        nothing here; the codec configurations are copied as ``replace`` copies them.
        """
        new = object.__new__(type(self))
        fields = dict(self.__dict__)
        fields["codecs"] = tuple(dict(c) for c in self.codecs)
        fields["encoding"] = encoding
        new.__dict__.update(fields)
        return new

    def replace(self, **changes: Any) -> ArrayMetadata:
        """Return a copy with some fields changed."""
        from dataclasses import replace

        return replace(self, **changes)
