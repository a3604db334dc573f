"""Rectilinear chunk grids: per-axis chunk edge lengths for arrays joined from uneven files.

A regular zarr chunk grid has one chunk size per axis, and only the *last* chunk along an
axis may hold fewer elements than it stores. Files of 10, 7 and 10 time steps in chunks of
5 do not fit it: the 7-step file ends in a partial chunk that another file follows. The
`rectilinear` chunk grid of the zarr-extensions repository
(``{"name": "rectilinear", "configuration": {"kind": "inline", "chunk_shapes": [...]}}``)
lists every chunk's edge length along an axis instead (``[5, 5, 5, 2, 5, 5]``), and
zarr-python 3.4 reads it when its experimental flag is on
(``zarr.config.set({"array.rectilinear_chunks": True})``). See ``docs/variable-chunks.md``.

The model
---------
:attr:`ArrayMetadata.chunk_edges <vzcore.manifests.metadata.ArrayMetadata.chunk_edges>` is
None for a regular grid (the common case, which costs nothing). Otherwise it holds, per axis,
None (regular along that axis) or the *stored* extent of every chunk along it: all edges but
the last lie inside the array, and the last one may reach past its end, as a regular grid's
last chunk does (zarr decodes a chunk at its edge lengths, then crops to the array). Along a
rectilinear axis ``chunk_shape`` holds the largest edge.

Which joins are exact
---------------------
A reader decodes each chunk at its edge lengths, so a chunk's stored bytes must decode to
exactly that shape. HDF5 (netCDF-4), zarr and TIFF store a partial last chunk at full chunk
size, so a file whose last chunk is partial can be followed by another file only when that
chunk can be cut to its real extent without decoding: it is uncompressed (no codecs) and the
cut keeps a prefix of its bytes (every axis before the joined one has chunks of 1, so the
joined axis varies slowest in the chunk's C-order bytes). Then its reference keeps only the
first bytes. Files whose chunk sizes differ along the joined axis, but whose lengths are
whole chunks, join exactly too. Everything else raises :class:`~vzcore.errors.CombineError`
saying why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vzcore.errors import CombineError

if TYPE_CHECKING:
    from vzcore.manifests.array import ManifestArray
    from vzcore.manifests.manifest import ChunkManifest
    from vzcore.manifests.metadata import ArrayMetadata

__all__ = [
    "ZARR_FLAG",
    "ChunkEdges",
    "axis_edges",
    "cut_problem",
    "edges_from_json",
    "edges_to_json",
    "join_edges",
    "normalize_grid",
    "refuse_rectilinear",
    "stored_chunk_shape",
]

ChunkEdges = tuple[tuple[int, ...] | None, ...]
"""Per axis: None (regular) or the stored extent of every chunk along the axis."""

ZARR_FLAG = "zarr.config.set({'array.rectilinear_chunks': True})"
"""What a zarr-python 3.4 reader runs before opening a rectilinear array."""


def axis_edges(meta: ArrayMetadata, axis: int) -> tuple[int, ...]:
    """Return the stored extent of every chunk along ``axis`` (regular axes included)."""
    if meta.chunk_edges is not None and meta.chunk_edges[axis] is not None:
        return meta.chunk_edges[axis]  # type: ignore[return-value]  # checked not None
    c = meta.chunk_shape[axis]
    return (c,) * math.ceil(meta.shape[axis] / c)


def stored_chunk_shape(meta: ArrayMetadata, index: tuple[int, ...]) -> tuple[int, ...]:
    """Return the stored shape of the chunk at grid ``index``."""
    if meta.chunk_edges is None:
        return meta.chunk_shape
    return tuple(
        c if e is None else e[i]
        for i, c, e in zip(index, meta.chunk_shape, meta.chunk_edges, strict=True)
    )


def validate_edges(shape: tuple[int, ...], edges: ChunkEdges) -> None:
    """Raise ValueError unless ``edges`` describe a chunk grid covering ``shape``."""
    if len(edges) != len(shape):
        raise ValueError(f"{len(edges)} chunk edge lists for {len(shape)} dimensions")
    for axis, (size, e) in enumerate(zip(shape, edges, strict=True)):
        if e is None:
            continue
        if any(type(x) is not int or x <= 0 for x in e):
            raise ValueError(f"chunk edges along axis {axis} must be positive ints, got {e}")
        total = sum(e)
        if total < size or (e and total - e[-1] >= size and size):
            raise ValueError(
                f"chunk edges {e} along axis {axis} do not cover its length {size} exactly "
                "(only the last chunk may reach past the end)"
            )


def normalize_grid(
    shape: tuple[int, ...], chunk_shape: tuple[int, ...], edges: Sequence[Sequence[int] | None]
) -> tuple[tuple[int, ...], ChunkEdges | None]:
    """Return ``(chunk_shape, chunk_edges)`` with regular axes as regular (None).

    An axis whose chunks all store the same extent is regular with that chunk size; along a
    rectilinear axis ``chunk_shape`` becomes the largest edge.
    """
    chunks = list(chunk_shape)
    out: list[tuple[int, ...] | None] = []
    for axis, e in enumerate(edges):
        if e is None:
            out.append(None)
            continue
        e = tuple(int(x) for x in e)
        if e and all(x == e[0] for x in e) and math.ceil(shape[axis] / e[0]) == len(e):
            chunks[axis] = e[0]
            out.append(None)
        elif not e:
            out.append(None)  # a zero-length axis: no chunks, keep its chunk size
        else:
            chunks[axis] = max(e)
            out.append(e)
    if all(e is None for e in out):
        return tuple(chunks), None
    return tuple(chunks), tuple(out)


# -- joining --------------------------------------------------------------------------------


def cut_problem(meta: ArrayMetadata, axis: int) -> str | None:
    """Why the last chunk along ``axis`` cannot be cut to the array's end; None if it can.

    Only called when that chunk is partial (stored larger than what the array holds).
    """
    if meta.codecs:
        ids = ", ".join(str(c.get("id")) for c in meta.codecs)
        return (
            f"its partial last chunk is stored encoded ({ids}) at full size, and zarr "
            "decodes every chunk at its own edge length, so no zarr chunk grid (regular or "
            "rectilinear) can reference it"
        )
    if meta.dtype.kind == "O":
        return "its chunks hold variable-length values, which cannot be cut by byte range"
    if any(meta.chunk_shape[j] != 1 for j in range(axis)):
        return (
            "its partial last chunk would have to be cut along a dimension that is not the "
            "slowest-varying one of the chunk (earlier dimensions have chunks larger than 1), "
            "so its kept values are not one byte range"
        )
    if meta.chunk_edges is not None and any(
        meta.chunk_edges[j] is not None for j in range(axis + 1, len(meta.shape))
    ):
        return "its later dimensions have chunks of varying size"
    return None


def _cut_last(arr: ManifestArray, axis: int, keep: int) -> ChunkManifest:
    """Return ``arr``'s manifest with its last chunks along ``axis`` cut to ``keep`` rows."""
    from vzcore.manifests.manifest import ChunkManifest

    m = arr.manifest
    meta = arr.metadata
    row = int(np.prod(meta.chunk_shape[axis + 1 :], dtype=np.int64)) * meta.dtype.itemsize
    nbytes = keep * row
    full = axis_edges(meta, axis)[-1] * row
    last = m.grid_shape[axis] - 1
    sel: tuple[Any, ...] = (slice(None),) * axis + (slice(last, last + 1),)
    stored = m.path_index[sel] != m.missing_code
    real = m.path_index[sel] < len(m.paths)
    lengths = m.lengths.copy()
    odd = stored & (m.lengths[sel] != full)
    if bool(odd.any()):
        raise CombineError(
            f"cannot concatenate {arr._describe()} along axis {axis}: its partial last chunk "
            f"would be cut to {keep} rows, but a stored chunk is not {full} bytes long, so it "
            "is not an uncompressed chunk of the declared shape; check the file "
            "(vzcore.verify(..., deep=True)) or load the variable (loadable_variables=[...])."
        )
    lengths[sel][real] = nbytes  # a view: basic indexing
    inline = dict(m.inline)
    if inline:
        for flat in list(inline):
            if np.unravel_index(flat, m.grid_shape)[axis] == last:
                inline[flat] = inline[flat][:nbytes]
        flat_ln = lengths.reshape(-1)
        for flat, raw in inline.items():
            flat_ln[flat] = len(raw)
    return ChunkManifest(m.paths, m.path_index, m.offsets, lengths, inline, m.sources)


def join_edges(
    arrays: Sequence[ManifestArray], axis: int
) -> tuple[tuple[int, ...], list[ChunkManifest]]:
    """Plan the rectilinear join of ``arrays`` along ``axis``.

    Returns
    -------
    edges, manifests
        The joined axis's chunk edges and each array's manifest (cut where an inner array
        ends in a partial chunk).

    Raises
    ------
    vzcore.errors.CombineError
        An inner array ends in a partial chunk that cannot be cut (see :func:`cut_problem`).
    """
    edges: list[int] = []
    manifests = []
    for k, a in enumerate(arrays):
        e = axis_edges(a.metadata, axis)
        manifest = a.manifest
        over = sum(e) - a.shape[axis]
        if over and k < len(arrays) - 1 and e:
            why = cut_problem(a.metadata, axis)
            if why is not None:
                raise CombineError(
                    f"cannot concatenate {a._describe()} along axis {axis}: its length "
                    f"{a.shape[axis]} is not a multiple of the chunk size {e[-1]} and another "
                    f"array follows it; {why}. Concatenate along an axis whose lengths are "
                    "whole chunks, put the short file last, load the variable "
                    "(loadable_variables=[...]), or re-chunk the source files."
                )
            keep = e[-1] - over
            manifest = _cut_last(a, axis, keep)
            e = (*e[:-1], keep)
        edges.extend(e)
        manifests.append(manifest)
    return tuple(edges), manifests


# -- zarr v3 metadata -----------------------------------------------------------------------


def edges_to_json(edges: Sequence[int]) -> list[int | list[int]]:
    """Run-length encode edges as the rectilinear grid's JSON does (``[5, 3]`` = 5, 5, 5)."""
    out: list[int | list[int]] = []
    i = 0
    n = len(edges)
    while i < n:
        j = i
        while j + 1 < n and edges[j + 1] == edges[i]:
            j += 1
        count = j - i + 1
        out.append([int(edges[i]), count] if count > 1 else int(edges[i]))
        i = j + 1
    return out


def edges_from_json(spec: Any, size: int, what: str) -> tuple[int, ...] | int:
    """Decode one axis of a rectilinear grid: an int (regular step) or expanded edges.

    Trailing edges wholly past the array's end are dropped. Raises ValueError (TypeError) when ``spec``
    is malformed.
    """
    if type(spec) is int:
        if spec <= 0:
            raise ValueError(f"{what}: chunk size {spec!r} must be positive")
        return spec
    if not isinstance(spec, list):
        raise TypeError(f"{what}: expected an int or a list of edges, got {spec!r}")
    out: list[int] = []
    for item in spec:
        if type(item) is int and item > 0:
            out.append(item)
        elif (
            isinstance(item, list)
            and len(item) == 2
            and all(type(x) is int and x > 0 for x in item)
        ):
            out.extend([item[0]] * item[1])
        else:
            raise ValueError(f"{what}: malformed edge {item!r}")
    total = 0
    for n, x in enumerate(out):
        if total >= size:
            out = out[:n]
            break
        total += x
    if sum(out) < size:
        raise ValueError(f"{what}: edges {spec!r} do not cover the length {size}")
    return tuple(out)


# -- outputs that cannot hold it ------------------------------------------------------------


def refuse_rectilinear(meta: ArrayMetadata, name: str, output: str) -> None:
    """Raise CombineError when ``meta`` has a rectilinear grid that ``output`` cannot hold.

    Parameters
    ----------
    meta
        The array's metadata.
    name
        The variable's path, for the message.
    output
        What is being written, e.g. ``"zarr format 2 (kerchunk JSON)"``.
    """
    if meta.chunk_edges is None:
        return
    axes = [
        f"axis {j}: {list(e[:8])}{' …' if len(e) > 8 else ''}"
        for j, e in enumerate(meta.chunk_edges)
        if e is not None
    ]
    raise CombineError(
        f"Cannot write variable {name!r} as {output}: it joins files whose chunks do not "
        f"tile one regular chunk grid (chunk edges {'; '.join(axes)}), and {output} has only "
        "regular grids. Write zarr format 3, which holds it as a rectilinear chunk grid: "
        "to_kerchunk(..., zarr_format=3) (JSON or Parquet) or to_icechunk(session); readers "
        f"with zarr-python 3.4 must first run {ZARR_FLAG} (or set "
        "ZARR_ARRAY__RECTILINEAR_CHUNKS=True). Otherwise load the variable "
        "(loadable_variables=[...]), put the short file last, or re-chunk the source files."
    )
