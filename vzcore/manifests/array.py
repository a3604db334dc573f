"""ManifestArray: a numpy duck array made of chunk references instead of values.

A :class:`ManifestArray` pairs :class:`~vzcore.manifests.metadata.ArrayMetadata` with a
:class:`~vzcore.manifests.manifest.ChunkManifest`. It takes part in numpy's
``__array_function__`` protocol for the structural operations that xarray's combine
functions use (concatenate, stack, expand_dims, broadcast_to of size-1 axes, result_type)
and supports chunk-aligned indexing. Everything that would need the values (arithmetic,
``np.asarray``, reductions) raises :class:`~vzcore.errors.VirtualArrayValuesError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vzcore.errors import CombineError, VirtualArrayValuesError
from vzcore.manifests.encoding import SourceEncoding
from vzcore.manifests.manifest import ChunkManifest
from vzcore.manifests.metadata import ArrayMetadata

if TYPE_CHECKING:
    from vzcore.manifests.sources import SourceInfo

__all__ = ["ManifestArray"]

_HANDLED: dict[Callable[..., Any], Callable[..., Any]] = {}


def _implements[F: Callable[..., Any]](*funcs: Callable[..., Any]) -> Callable[[F], F]:
    def register(impl: F) -> F:
        for f in funcs:
            _HANDLED[f] = impl
        return impl

    return register


class ManifestArray:
    """A virtual array: zarr metadata plus a chunk manifest, no values.

    Parameters
    ----------
    metadata
        Shape, dtype, chunk shape, fill value and codecs.
    manifest
        Where each chunk lives; its grid must match ``metadata.grid_shape``.
    """

    __slots__ = ("_manifest", "_metadata")
    __array_priority__ = 100

    def __init__(self, metadata: ArrayMetadata, manifest: ChunkManifest) -> None:
        if manifest.grid_shape != metadata.grid_shape:
            raise ValueError(
                f"manifest grid {manifest.grid_shape} does not match the chunk grid "
                f"{metadata.grid_shape} of shape {metadata.shape} in chunks {metadata.chunk_shape}"
            )
        self._metadata = metadata
        self._manifest = manifest

    # -- attributes --------------------------------------------------------------------

    @property
    def metadata(self) -> ArrayMetadata:
        """The array's zarr-level metadata."""
        return self._metadata

    @property
    def manifest(self) -> ChunkManifest:
        """Where each chunk lives."""
        return self._manifest

    @property
    def shape(self) -> tuple[int, ...]:
        """Array shape."""
        return self._metadata.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        """Element dtype as stored."""
        return self._metadata.dtype

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self._metadata.shape)

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self._metadata.shape)

    @property
    def nbytes(self) -> int:
        """Bytes the values would take in memory (not the manifest's size)."""
        return self.size * self.dtype.itemsize

    @property
    def chunk_shape(self) -> tuple[int, ...]:
        """Shape of one chunk."""
        return self._metadata.chunk_shape

    @property
    def fill_value(self) -> Any:
        """Value of elements in chunks that are not stored."""
        return self._metadata.fill_value

    @property
    def sources(self) -> tuple[str, ...]:
        """Paths the chunks point into (for messages and integrity checks)."""
        return self._manifest.paths

    def __repr__(self) -> str:
        return (
            f"ManifestArray<shape={self.shape}, dtype={self.dtype}, chunks={self.chunk_shape}, "
            f"nchunks={self._manifest.nchunks}>"
        )

    def _describe(self) -> str:
        src = self.sources
        enc = self._metadata.encoding
        if enc is not None and enc.source:
            more = f" (+{len(src) - 1} more files)" if len(src) > 1 else ""
            return enc.describe() + more
        if not src:
            return "an array without file references"
        return repr(src[0]) if len(src) == 1 else f"{src[0]!r} (+{len(src) - 1} more files)"

    # -- protocols ---------------------------------------------------------------------

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        raise VirtualArrayValuesError(
            f"Converting the virtual array {self._describe()} to numpy (np.asarray; xarray "
            "does it to compare a variable between files, as xr.open_mfdataset's current "
            "default coords='different' does for coordinates that are not indexes, such as "
            "2-D lat/lon: pass coords='minimal', compat='override' to keep them virtual)"
        )

    def __array_function__(
        self, func: Callable[..., Any], types: Any, args: Any, kwargs: dict[str, Any]
    ) -> Any:
        impl = _HANDLED.get(func)
        if impl is None:
            raise VirtualArrayValuesError(f"numpy.{func.__name__}")
        return impl(*args, **kwargs)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if ufunc is np.equal and method == "__call__" and len(inputs) == 2:
            return _equal(*inputs)
        raise VirtualArrayValuesError(f"numpy.{ufunc.__name__}")

    def __eq__(self, other: object) -> Any:  # elementwise, like numpy
        return _equal(self, other)

    def __ne__(self, other: object) -> Any:  # elementwise
        return ~_equal(self, other)

    __hash__ = None  # type: ignore[assignment]  # elementwise __eq__: not hashable

    def __copy__(self) -> ManifestArray:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> ManifestArray:
        return self  # immutable

    def _needs_values(self, *args: Any) -> Any:
        raise VirtualArrayValuesError("Arithmetic on a virtual array")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _needs_values
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = _needs_values
    __pow__ = __neg__ = __abs__ = __lt__ = __le__ = __gt__ = __ge__ = _needs_values
    __and__ = __or__ = __xor__ = __invert__ = _needs_values

    def __bool__(self) -> bool:
        raise VirtualArrayValuesError("Testing the truth value of a virtual array")

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d ManifestArray")
        return self.shape[0]

    def astype(self, dtype: Any, *, copy: bool = True, **kwargs: Any) -> ManifestArray:
        """Return ``self`` when the cast changes no value; changing values needs them.

        No value changes when ``dtype`` is the array's dtype, the same in the other byte
        order (the chunks keep their stored order, which readers decode), unsized ``"S"``
        / ``"U"`` of the same kind ("strings of any length", as numpy means it), or a
        compound type's same named fields in another layout (numpy's promotion drops the
        padding). The array returned keeps its stored dtype.
        """
        target = np.dtype(dtype)
        if target.newbyteorder("=") == self.dtype.newbyteorder("="):
            return self
        if target.itemsize == 0 and target.kind == self.dtype.kind:
            return self
        if _same_fields(target, self.dtype):
            return self
        raise VirtualArrayValuesError(f"Casting a virtual {self.dtype} array to {np.dtype(dtype)}")

    def transpose(self, *axes: Any) -> ManifestArray:
        """Return ``self`` for the identity permutation; any other order needs the values."""
        return _transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    @property
    def T(self) -> ManifestArray:  # noqa: N802  # numpy's name
        """Transpose (only the identity permutation is possible virtually)."""
        return _transpose(self, None)

    @property
    def encoding(self) -> SourceEncoding | None:
        """The CF encoding attributes of the source variable, when known."""
        return self._metadata.encoding

    def with_encoding(self, encoding: SourceEncoding | None) -> ManifestArray:
        """Return a copy that carries ``encoding`` (checked by every concatenation)."""
        # (the grids are the ones this array's constructor checked)
        new = object.__new__(ManifestArray)
        new._metadata = self._metadata.with_encoding(encoding)
        new._manifest = self._manifest
        return new

    def with_sources(self, sources: Mapping[str, SourceInfo]) -> ManifestArray:
        """Return a copy whose manifest records ``sources`` (see ``ChunkManifest.with_sources``)."""
        # (the same chunk grid: the one this array's constructor checked)
        new = object.__new__(ManifestArray)
        new._metadata = self._metadata
        new._manifest = self._manifest.with_sources(sources)
        return new

    def rename_paths(self, func: Callable[[str], str]) -> ManifestArray:
        """Return a copy whose chunk paths are ``func(path)``."""
        meta = self._metadata
        if meta.encoding is not None:
            meta = meta.replace(encoding=meta.encoding.rename_source(func))
        return ManifestArray(meta, self._manifest.rename_paths(func))

    # -- indexing ----------------------------------------------------------------------

    def __getitem__(self, key: Any) -> ManifestArray:
        """Select whole chunks.

        Slices must fall on chunk boundaries, ``None`` adds an axis, and integers are
        allowed only along axes whose chunk size is 1.
        """
        if not isinstance(key, tuple):
            key = (key,)
        n_ellipsis = sum(k is Ellipsis for k in key)
        if n_ellipsis > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        n_real = sum(k is not None and k is not Ellipsis for k in key)
        if n_real > self.ndim:
            raise IndexError(f"too many indices: {n_real} for {self.ndim} dimensions")
        if n_ellipsis:
            at = key.index(Ellipsis)
            key = key[:at] + (slice(None),) * (self.ndim - n_real) + key[at + 1 :]
        else:
            key = key + (slice(None),) * (self.ndim - n_real)

        grid_key: list[slice] = []
        shape: list[int] = []
        drop: list[int] = []
        all_edges = self._metadata.chunk_edges
        new_edges: list[tuple[int, ...] | None] = []
        axis = 0
        for k in key:
            if k is None:
                continue
            size, chunk = self.shape[axis], self.chunk_shape[axis]
            edges = all_edges[axis] if all_edges is not None else None
            if edges is not None and isinstance(k, slice):
                start, stop, step = k.indices(size)
                stop = max(start, stop)
                bounds = np.minimum(np.cumsum((0, *edges)), size)
                g0, g1 = np.searchsorted(bounds, (start, stop))
                g0 = int(g0) if start < size else len(edges)
                g1 = int(g1) if stop < size else len(edges)
                if step != 1:
                    raise _unaligned(self, axis, k, "a step other than 1")
                if (bounds[g0] != start and start != size) or bounds[g1] != stop:
                    raise _unaligned(self, axis, k, f"bounds not on the chunk edges {edges}")
                grid_key.append(slice(g0, g1))
                shape.append(stop - start)
                new_edges.append(edges[g0:g1])
            elif isinstance(k, slice):
                start, stop, step = k.indices(size)
                stop = max(start, stop)
                new_edges.append(None)
                if step != 1:
                    raise _unaligned(self, axis, k, "a step other than 1")
                if start % chunk or (stop % chunk and stop != size):
                    raise _unaligned(self, axis, k, f"bounds not on multiples of the chunk {chunk}")
                grid_key.append(slice(start // chunk, -(-stop // chunk)))
                shape.append(stop - start)
            elif isinstance(k, int | np.integer):
                i = int(k) + size if k < 0 else int(k)
                if not 0 <= i < size:
                    raise IndexError(f"index {int(k)} out of bounds for axis {axis} of size {size}")
                if chunk != 1:
                    raise _unaligned(self, axis, k, f"an integer index in chunks of {chunk}")
                grid_key.append(slice(i, i + 1))
                shape.append(1)
                drop.append(axis)
                new_edges.append(None)
            else:
                raise _unaligned(self, axis, k, f"an indexer of type {type(k).__name__}")
            axis += 1
        manifest = self._manifest.slice_grid(tuple(grid_key))
        if all_edges is None:
            meta = self._metadata.replace(shape=tuple(shape))
        else:
            from vzcore.manifests.grid import normalize_grid

            chunks, kept = normalize_grid(tuple(shape), self.chunk_shape, new_edges)
            meta = self._metadata.replace(shape=tuple(shape), chunk_shape=chunks, chunk_edges=kept)
        names: tuple[str, ...] | None
        if meta.dimension_names is not None and drop:
            names = tuple(n for i, n in enumerate(meta.dimension_names) if i not in drop)
        else:
            names = meta.dimension_names
        if drop:
            keep = [i for i in range(len(shape)) if i not in drop]
            manifest = ChunkManifest(
                manifest.paths,
                manifest.path_index.reshape([manifest.grid_shape[i] for i in keep]),
                manifest.offsets.reshape([manifest.grid_shape[i] for i in keep]),
                manifest.lengths.reshape([manifest.grid_shape[i] for i in keep]),
                manifest.inline,
                manifest.sources,
            )
            meta = meta.replace(
                shape=tuple(shape[i] for i in keep),
                chunk_shape=tuple(meta.chunk_shape[i] for i in keep),
                chunk_edges=None
                if meta.chunk_edges is None
                else tuple(meta.chunk_edges[i] for i in keep),
                dimension_names=names,
            )
        result = ManifestArray(meta, manifest)
        # Insert the new axes requested with None.
        real_seen = 0
        for k in key:
            if k is None:
                result = _expand_dims(result, real_seen)
                real_seen += 1
            elif not (isinstance(k, int | np.integer)):
                real_seen += 1
        return result


def _same_fields(a: np.dtype[Any], b: np.dtype[Any]) -> bool:
    """Return whether two compound dtypes hold the same named fields, laid out in any way.

    numpy's promotion of a compound dtype with padding drops the padding; each field's
    values are the same in either layout (the chunks keep their stored one).
    """
    if a.names is None or b.names is None:
        return False
    named = [n for n in b.names if not _is_padding(b, n)]
    return list(a.names) == named and all(a.fields[n][0] == b.fields[n][0] for n in named)  # type: ignore[index]


def _is_padding(dtype: np.dtype[Any], name: str) -> bool:
    """Return whether the field is unnamed void (``f2: V2``), standing for padding."""
    field = dtype.fields[name][0]  # type: ignore[index]
    return field.kind == "V" and field.names is None and name.startswith("f") and name[1:].isdigit()


def _unaligned(arr: ManifestArray, axis: int, key: Any, why: str) -> IndexError:
    return IndexError(
        f"ManifestArray of shape {arr.shape} in chunks {arr.chunk_shape} can only be indexed "
        f"by whole chunks; axis {axis} got {key!r} with {why}. Select whole chunks, or load the "
        "variable to index it freely."
    )


# -- numpy functions ---------------------------------------------------------------------


def _equal(a: Any, b: Any) -> np.ndarray:
    """Elementwise equality judged by chunk references: equal references, equal values."""
    if not (isinstance(a, ManifestArray) and isinstance(b, ManifestArray)):
        raise VirtualArrayValuesError("Comparing a virtual array with in-memory values")
    if a.shape != b.shape:
        raise ValueError(f"cannot compare arrays of shapes {a.shape} and {b.shape}")
    if a.metadata.differences(b.metadata) or a.metadata.encoding_differences(b.metadata):
        return np.zeros(a.shape, dtype=bool)  # the same bytes decode differently
    per_chunk = a.manifest.chunk_equal(b.manifest)
    full = per_chunk
    if a.metadata.chunk_edges is None:
        for axis, c in enumerate(a.chunk_shape):
            full = np.repeat(full, c, axis=axis)
    else:
        from vzcore.manifests.grid import axis_edges

        for axis in range(a.ndim):
            full = np.repeat(full, axis_edges(a.metadata, axis), axis=axis)
    return np.ascontiguousarray(full[tuple(slice(0, s) for s in a.shape)])


def _check_all_virtual(arrays: Sequence[Any], op: str) -> list[ManifestArray]:
    out = []
    for a in arrays:
        if not isinstance(a, ManifestArray):
            raise VirtualArrayValuesError(f"{op} of a virtual array with in-memory values")
        out.append(a)
    return out


@_implements(np.concatenate, np.concat)
def _concatenate(arrays: Sequence[Any], /, axis: int | None = 0, **kwargs: Any) -> ManifestArray:
    arrs = _check_all_virtual(arrays, "Concatenation")
    if axis is None:
        raise VirtualArrayValuesError("Concatenating flattened virtual arrays (axis=None)")
    first = arrs[0]
    axis = axis + first.ndim if axis < 0 else axis
    if not 0 <= axis < first.ndim:
        raise np.exceptions.AxisError(axis, first.ndim)
    # The fill value only says what *missing* chunks read as: arrays whose chunks are all
    # stored join whatever theirs is (e.g. a netCDF int variable's default HDF5 fill value
    # is lost in zarr v2 references without _FillValue, and comes back as None).
    holed = [a for a in arrs if a.manifest.nchunks and bool(a.manifest.missing().any())]
    fill_from = holed[0] if holed else first
    encoded = [a for a in arrs if a.metadata.encoding is not None]
    for other in encoded[1:]:
        _check_encoding(encoded[0], other)
    for other in arrs[1:]:
        diffs = [
            d
            for d in first.metadata.differences(other.metadata)
            if not d.startswith(("fill value ", "chunk shape ", "chunk edges "))
        ] + [
            d
            for d in fill_from.metadata.differences(other.metadata)
            if d.startswith("fill value ") and any(other is h for h in holed)
        ]
        if other.ndim == first.ndim and _grid_differs(first, other, axis):
            diffs.append(f"chunk shape {first.chunk_shape} vs {other.chunk_shape}")
        if diffs:
            raise CombineError(
                f"cannot concatenate {first._describe()} with {other._describe()}: "
                f"their encodings differ ({'; '.join(diffs)}). Virtual arrays can only be "
                "joined when dtype, chunk shape, codecs and fill value agree; load or rewrite "
                "one of them."
            )
        if other.ndim != first.ndim or any(
            s != o
            for i, (s, o) in enumerate(zip(first.shape, other.shape, strict=True))
            if i != axis
        ):
            raise CombineError(
                f"cannot concatenate {first._describe()} (shape {first.shape}) with "
                f"{other._describe()} (shape {other.shape}) along axis {axis}: the other "
                "axes must match"
            )
    shape = list(first.shape)
    shape[axis] = sum(a.shape[axis] for a in arrs)
    chunk = first.chunk_shape[axis]
    if all(
        (a.metadata.chunk_edges is None or a.metadata.chunk_edges[axis] is None)
        and a.chunk_shape[axis] == chunk
        for a in arrs
    ) and not any(a.shape[axis] % chunk for a in arrs[:-1]):
        # The common case: one regular grid along the axis, as before.
        manifests = [a.manifest for a in arrs]
        chunk_shape, chunk_edges = first.chunk_shape, first.metadata.chunk_edges
    else:
        # Uneven files: a rectilinear grid along the axis (vzcore.manifests.grid).
        from vzcore.manifests.grid import join_edges, normalize_grid

        joined, manifests = join_edges(arrs, axis)
        edges = list(first.metadata.chunk_edges or (None,) * first.ndim)
        edges[axis] = joined
        chunk_shape, chunk_edges = normalize_grid(tuple(shape), first.chunk_shape, edges)
    manifest = ChunkManifest.concatenate(manifests, axis=axis)
    meta = first.metadata.replace(
        shape=tuple(shape),
        chunk_shape=chunk_shape,
        chunk_edges=chunk_edges,
        fill_value=fill_from.metadata.fill_value,
        encoding=encoded[0].metadata.encoding if encoded else None,
    )
    return ManifestArray(meta, manifest)


def _grid_differs(a: ManifestArray, b: ManifestArray, axis: int) -> bool:
    """Whether the chunk grids of ``a`` and ``b`` differ along an axis other than ``axis``."""
    ea = a.metadata.chunk_edges or (None,) * a.ndim
    eb = b.metadata.chunk_edges or (None,) * b.ndim
    return any(
        j != axis and (a.chunk_shape[j] != b.chunk_shape[j] or ea[j] != eb[j])
        for j in range(a.ndim)
    )


def _check_encoding(first: ManifestArray, other: ManifestArray) -> None:
    """Refuse to join chunks whose source attributes decode them differently."""
    diffs = first.metadata.encoding_differences(other.metadata)
    if not diffs:
        return
    shown = "; ".join(f"attribute {k!r} differs ({a} vs {b})" for k, a, b in diffs)
    raise CombineError(
        f"cannot concatenate {first._describe()} with {other._describe()}: {shown}. Their "
        "stored values decode differently, and a virtual array carries one set of "
        "attributes, so the joined references would decode some files wrongly. Load the "
        "variable (loadable_variables=[...]), drop it (drop_variables=[...]), or combine "
        "these files separately."
    )


def _expand_dims(arr: ManifestArray, axis: int) -> ManifestArray:
    axis = axis + arr.ndim + 1 if axis < 0 else axis
    meta = arr.metadata.replace(
        shape=(*arr.shape[:axis], 1, *arr.shape[axis:]),
        chunk_shape=(*arr.chunk_shape[:axis], 1, *arr.chunk_shape[axis:]),
        chunk_edges=_insert_regular(arr.metadata.chunk_edges, axis),
        dimension_names=None,  # the new axis has no name here; xarray names dimensions
    )
    return ManifestArray(meta, arr.manifest.expand_dims(axis))


def _insert_regular(
    edges: tuple[tuple[int, ...] | None, ...] | None, axis: int
) -> tuple[tuple[int, ...] | None, ...] | None:
    return None if edges is None else (*edges[:axis], None, *edges[axis:])


@_implements(np.expand_dims)
def _np_expand_dims(a: Any, axis: int | Sequence[int]) -> ManifestArray:
    (arr,) = _check_all_virtual([a], "expand_dims")
    axes = [axis] if isinstance(axis, int) else list(axis)
    ndim = arr.ndim + len(axes)
    for ax in sorted(x + ndim if x < 0 else x for x in axes):
        arr = _expand_dims(arr, ax)
    return arr


@_implements(np.stack)
def _stack(arrays: Sequence[Any], axis: int = 0, **kwargs: Any) -> ManifestArray:
    arrs = _check_all_virtual(arrays, "Stacking")
    ndim = arrs[0].ndim + 1
    axis = axis + ndim if axis < 0 else axis
    return _concatenate([_expand_dims(a, axis) for a in arrs], axis=axis)


@_implements(np.broadcast_to)
def _broadcast_to(array: Any, shape: Sequence[int], subok: bool = False) -> ManifestArray:
    (arr,) = _check_all_virtual([array], "broadcast_to")
    shape = tuple(int(s) for s in shape)
    if shape == arr.shape:
        return arr
    if len(shape) < arr.ndim:
        raise ValueError(f"cannot broadcast shape {arr.shape} to {shape}")
    n_new = len(shape) - arr.ndim
    chunks = [1] * n_new + list(arr.chunk_shape)
    src = (1,) * n_new + arr.shape
    for i, (s, t) in enumerate(zip(src, shape, strict=True)):
        if s == t:
            continue
        if s != 1:
            raise ValueError(f"cannot broadcast shape {arr.shape} to {shape}")
        if chunks[i] != 1:
            raise VirtualArrayValuesError(
                f"Broadcasting axis {i - n_new} (length 1, stored in chunks of {chunks[i]})"
            )
    grid = tuple(
        t if s == 1 else g
        for s, t, g in zip(src, shape, (1,) * n_new + arr.manifest.grid_shape, strict=True)
    )
    manifest = arr.manifest
    for _ in range(n_new):
        manifest = manifest.expand_dims(0)
    edges = arr.metadata.chunk_edges
    if edges is not None:  # new and broadcast axes are regular (chunks of 1)
        edges = (None,) * n_new + tuple(
            None if s != t else e for s, t, e in zip(arr.shape, shape[n_new:], edges, strict=True)
        )
    meta = arr.metadata.replace(
        shape=shape, chunk_shape=tuple(chunks), chunk_edges=edges, dimension_names=None
    )
    return ManifestArray(meta, manifest.broadcast_to(grid))


@_implements(np.result_type)
def _result_type(*arrays_and_dtypes: Any) -> np.dtype[Any]:
    dtypes = [a.dtype if isinstance(a, ManifestArray) else a for a in arrays_and_dtypes]
    first = np.dtype(dtypes[0]) if dtypes else None
    if first is not None and all(np.dtype(d) == first for d in dtypes):
        return first  # numpy would make a shared big-endian dtype native; keep it as stored
    return np.result_type(*dtypes)


@_implements(np.transpose)
def _transpose(a: Any, axes: Any = None) -> ManifestArray:
    (arr,) = _check_all_virtual([a], "transpose")
    order = tuple(range(arr.ndim))[::-1] if axes is None else tuple(axes)
    if order == tuple(range(arr.ndim)):
        return arr
    raise VirtualArrayValuesError(f"Transposing a virtual array to axes {order}")


@_implements(np.shape)
def _shape(a: Any) -> tuple[int, ...]:
    return tuple(a.shape)


@_implements(np.ndim)
def _ndim(a: Any) -> int:
    return int(a.ndim)


@_implements(np.size)
def _size(a: Any, axis: int | None = None) -> int:
    return int(a.size if axis is None else a.shape[axis])
