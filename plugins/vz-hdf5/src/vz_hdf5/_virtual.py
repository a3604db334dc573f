"""HDF5 virtual datasets (VDS) as one manifest over the chunks of their source datasets.

A virtual dataset stores no data: a list of mappings says which block of it comes from
which selection of which source dataset (in the same file or in others). When every
source is a whole dataset mapped onto a block of the VDS that starts on a chunk boundary
of the sources' common chunk shape (and ends on one, or at the edge of the VDS), every
chunk of every source is one chunk of the VDS, and the VDS becomes a ManifestArray whose
chunks point into the source files. Anything else (partial or strided selections,
sources with different chunk shapes, codecs or types, printf-style source names of
unlimited VDS, overlapping mappings) raises
:class:`~vzcore.errors.UnsupportedFeatureError` naming what does not fit.

Regions of the VDS that no source covers read as its fill value; a source's unallocated
chunks read as the source's fill value in HDF5, so they must agree with the VDS's.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np
from vzcore.errors import UnsupportedFeatureError
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray

from vz_hdf5._names import decode_name, object_path

if TYPE_CHECKING:
    from vz_hdf5._reader import _Scanner

__all__ = ["virtual_array"]

_MISSING = ChunkManifest.MISSING
_INLINE = ChunkManifest.INLINE


def _block(space: Any) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """Return ``(start, shape)`` of a selection that is one whole block, else None."""
    kind = space.get_select_type()
    shape = tuple(int(s) for s in space.shape)
    if kind == h5py.h5s.SEL_ALL:
        return (0,) * len(shape), shape
    if kind != h5py.h5s.SEL_HYPERSLABS or space.is_regular_hyperslab() is False:
        return None
    if space.get_select_npoints() == 0:
        return None
    lo, hi = space.get_select_bounds()
    block = tuple(int(h) - int(lo_) + 1 for lo_, h in zip(lo, hi, strict=True))
    if space.get_select_npoints() != math.prod(block):
        return None  # strided or several blocks
    return tuple(int(x) for x in lo), block


def virtual_array(
    scanner: _Scanner,
    dset: h5py.Dataset,
    dtype: np.dtype[Any],
    fill: Any,
    dims: tuple[str, ...],
) -> ManifestArray:
    """Return the ManifestArray of the virtual dataset ``dset`` read by ``scanner``."""
    url = scanner.url
    where = object_path(dset)
    shape = tuple(int(s) for s in dset.shape)

    def refuse(what: str, hint: str = "") -> UnsupportedFeatureError:
        return UnsupportedFeatureError(url, where, f"virtual dataset (HDF5 VDS) {what}", hint)

    if dset.maxshape is not None and any(m is None for m in dset.maxshape):
        raise refuse("with an unlimited dimension")
    parts: list[tuple[tuple[int, ...], ManifestArray, int]] = []
    for vmap in dset.virtual_sources():
        vblock = _block(vmap.vspace)
        filename, src_path = decode_name(vmap.file_name), decode_name(vmap.dset_name)
        mapping = f"mapping from {filename!r}:{src_path!r}"
        if vblock is None:
            raise refuse(f"{mapping} onto a selection that is not one block")
        if "%" in filename or "%" in src_path:
            raise refuse(f"{mapping}: printf-style source names (%b) are not supported")
        source_scanner = (
            scanner
            if filename == "."
            else scanner._other_file(filename, where, f"virtual dataset source {filename!r}")
        )
        source_scanner, src = source_scanner._follow(
            src_path.encode(), where, f"virtual dataset source {filename!r}:{src_path!r}"
        )
        if not isinstance(src, h5py.Dataset):
            raise refuse(f"{mapping}: the source dataset does not exist")
        key = (source_scanner.url, object_path(src))
        if key in scanner.shared.vds_stack:
            raise refuse(f"{mapping}: the source is the virtual dataset itself")
        src_shape = tuple(int(s) for s in src.shape or ())
        # (an "all" selection means the whole source, whatever extent the mapping recorded)
        whole = vmap.src_space.get_select_type() == h5py.h5s.SEL_ALL
        sblock = None if whole else _block(vmap.src_space)
        if not whole and (
            sblock is None or sblock[0] != (0,) * len(src_shape) or sblock[1] != src_shape
        ):
            raise refuse(f"{mapping}: only part of the source dataset is selected")
        start, block = vblock
        lead = len(block) - len(src_shape)
        if lead < 0 or any(b != 1 for b in block[:lead]) or block[lead:] != src_shape:
            raise refuse(
                f"{mapping}: the source's shape {src_shape} differs from the block {block} it fills"
            )
        scanner.shared.vds_stack.add(key)
        try:
            arr = source_scanner._array(src, tuple(f"_{i}" for i in range(len(src_shape))), {})
        finally:
            scanner.shared.vds_stack.discard(key)
        parts.append((start, arr, lead))
    if not parts:  # nothing mapped: every value is the fill value
        chunks = tuple(max(s, 1) for s in shape)
        grid = tuple(1 if s else 0 for s in shape)
        manifest = ChunkManifest.empty(grid)
        return ManifestArray(
            ArrayMetadata(shape, dtype, chunks, fill, (), dims, {"hdf5_layout": "virtual"}),
            manifest,
        )
    first = parts[0][1].metadata
    chunks = (1,) * parts[0][2] + first.chunk_shape
    for _, arr, lead in parts:
        meta = arr.metadata
        if meta.dtype != dtype:
            raise refuse(f"whose sources have type {meta.dtype}, not {dtype}")
        if (1,) * lead + meta.chunk_shape != chunks or meta.codecs != first.codecs:
            raise refuse(
                "whose sources differ in chunk shape or compression "
                f"({first.chunk_shape} {list(first.codecs)} vs {meta.chunk_shape} "
                f"{list(meta.codecs)}); one zarr array has one of each",
                "rewrite the sources with one chunking and filter pipeline (h5repack)",
            )
    grid = tuple(math.ceil(s / c) for s, c in zip(shape, chunks, strict=True))
    paths: list[str] = []
    pi = np.full(grid, _MISSING, np.int64)
    off = np.zeros(grid, np.uint64)
    ln = np.zeros(grid, np.uint64)
    inline: dict[int, bytes] = {}
    for start, arr, lead in parts:
        m = arr.manifest
        size = (1,) * lead + arr.metadata.shape
        for axis, (s0, c, n, full) in enumerate(zip(start, chunks, size, shape, strict=True)):
            if s0 % c or (n % c and s0 + n != full):
                raise refuse(
                    f"whose source block at {list(start)} (shape {list(size)}) does not fall "
                    f"on its chunks of {list(chunks)} along axis {axis}",
                )
        src_fill = arr.metadata.fill_value
        src_pi = m.path_index.reshape((1,) * lead + m.grid_shape)
        missing = src_pi == m.missing_code
        if missing.any() and not _same_fill(src_fill, fill, dtype):
            raise refuse(
                f"whose source {m.paths!r} has unwritten chunks that read as its fill value "
                f"{src_fill!r}, not the virtual dataset's {fill!r}",
            )
        at = tuple(
            slice(s0 // c, s0 // c + g)
            for s0, c, g in zip(start, chunks, src_pi.shape, strict=True)
        )
        if (pi[at] != _MISSING).any():
            raise refuse("with overlapping source mappings")
        index = np.full(src_pi.shape, _MISSING, np.int64)
        for k, p in enumerate(m.paths):
            if p not in paths:
                paths.append(p)
            index[src_pi == k] = paths.index(p)
        src_inline = src_pi == m.inline_code
        index[src_inline] = _INLINE
        pi[at] = index
        off[at] = m.offsets.reshape(src_pi.shape)
        ln[at] = m.lengths.reshape(src_pi.shape)
        if m.inline:
            local = np.arange(math.prod(src_pi.shape)).reshape(src_pi.shape)
            target = np.arange(math.prod(grid)).reshape(grid)[at]
            for flat_src, flat_dst in zip(local.ravel(), target.ravel(), strict=True):
                if int(flat_src) in m.inline:
                    inline[int(flat_dst)] = m.inline[int(flat_src)]
    manifest = ChunkManifest.from_codes(paths, pi, off, ln, inline)
    extra: dict[str, Any] = {"hdf5_layout": "virtual"}
    return ManifestArray(
        ArrayMetadata(shape, dtype, chunks, fill, first.codecs, dims, extra), manifest
    )


def _same_fill(a: Any, b: Any, dtype: np.dtype[Any]) -> bool:
    """Whether two fill values (None: zeros) read the same."""

    def raw(v: Any) -> bytes:
        if v is None:
            return bytes(dtype.itemsize)
        if isinstance(v, bytes) and dtype.kind in "VS":
            return v.ljust(dtype.itemsize, b"\0")
        return np.asarray(v, dtype=dtype).tobytes()

    return raw(a) == raw(b)
