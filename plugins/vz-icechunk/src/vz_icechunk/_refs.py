"""Virtual chunk references of one array, handed to Icechunk in as few calls as possible.

``IcechunkStore.set_virtual_refs_arr`` takes a box of the chunk grid (a location per chunk,
flat offsets and lengths, an empty location for "no reference here") and *one* checksum
for every reference of the call. A source's checksum is its ETag or its modification time
(:func:`checksum_of`), so references can share a call only when their files share a
checksum. The references are therefore written per checksum:

* all files with one checksum (one file; files written within the same second; or
  ``record_sources=False``): calls over the whole grid, in slabs of at most
  ``_SLAB_CHUNKS`` chunks along the first axis so that memory stays bounded;
* else one call per checksum over the bounding box of its chunks, with the other files'
  chunks left empty, when that box is dense (at most twice its chunks); a checksum whose
  files are scattered over the grid gets one call per file, over that file's box.

Every reference keeps its own file's checksum; Python does no per-chunk or per-file loop
beyond the calls themselves.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from vzcore.errors import WriteError

if TYPE_CHECKING:
    import icechunk
    from vzcore.manifests import ChunkManifest
    from vzcore.manifests.sources import SourceInfo

__all__ = ["checksum_of", "needs_icechunk_check", "write_refs"]

_SLAB_CHUNKS = 1 << 18
"""Chunk references handed to Icechunk per call at most (each call builds a location list)."""

_Box = tuple[tuple[int, ...], tuple[int, ...]]
"""``(lo, hi)``: a box of the chunk grid, ``hi`` exclusive."""


_UNUSUAL = re.compile(r"^[^:]*[A-Z][^:]*://|^[^:]*://[^/]*[A-Z]|/\.\.?(/|$)").search
"""Finds what Icechunk's URL parsing would normalise before matching a container: capitals
in the scheme or host, ``.`` and ``..`` path segments."""


def needs_icechunk_check(locations: Iterable[str]) -> bool:
    """Whether Icechunk must check ``locations`` against its containers itself.

    The writer checks every location first, as Icechunk does: it starts with a container's
    prefix. Icechunk matches the URL as it parses it, though, which can differ for a
    location with capitals in its scheme or host or with ``.``/``..`` segments; those are
    left to Icechunk (``validate_containers=True``), the rest skip its second check.

    Examples
    --------
    >>> needs_icechunk_check(["file:///data/a.nc", "s3://bucket/b%20c.nc"])
    False
    >>> needs_icechunk_check(["file:///data/sub/../a.nc"])
    True
    """
    return any(_UNUSUAL(loc) for loc in locations)


def checksum_of(info: SourceInfo | None) -> datetime | str | None:
    """Return the Icechunk checksum of a source: its ETag, else its mtime rounded up."""
    if info is None:
        return None
    if info.etag:
        return info.etag
    if info.mtime is not None:
        return datetime.fromtimestamp(math.ceil(info.mtime), UTC)
    return None


def _boxes(keys: np.ndarray, nkeys: int) -> dict[int, tuple[_Box, int]]:
    """Return ``{key: (bounding box, chunk count)}`` of each key in ``0..nkeys-1`` present.

    ``keys`` is an integer array over the chunk grid; the value ``nkeys`` marks chunks
    that belong to no key (missing, inline, other files).
    """
    flat = keys.ravel()
    counts = np.bincount(flat, minlength=nkeys + 1)[:nkeys]
    present = np.flatnonzero(counts)
    if not present.size:
        return {}
    order = np.argsort(flat, kind="stable")[: int(counts.sum())]
    starts = np.concatenate([[0], np.cumsum(counts[present])[:-1]])
    coords = np.unravel_index(order, keys.shape)
    lo = [np.minimum.reduceat(c, starts) for c in coords]
    hi = [np.maximum.reduceat(c, starts) + 1 for c in coords]
    return {
        int(k): (
            (tuple(int(c[i]) for c in lo), tuple(int(c[i]) for c in hi)),
            int(counts[k]),
        )
        for i, k in enumerate(present)
    }


def _sel(box: _Box) -> tuple[slice, ...]:
    """Return the index of a box of the grid."""
    return tuple(slice(s, e) for s, e in zip(*box, strict=True))


def _slabs(lo: Sequence[int], hi: Sequence[int]) -> Iterator[_Box]:
    """Split a box along its first axis into boxes of at most ``_SLAB_CHUNKS`` chunks."""
    if not lo:
        yield (), ()
        return
    per_row = math.prod(h - low for low, h in zip(lo[1:], hi[1:], strict=True))
    rows = max(1, _SLAB_CHUNKS // max(per_row, 1))
    for r in range(lo[0], hi[0], rows):
        yield (r, *lo[1:]), (min(r + rows, hi[0]), *hi[1:])


def write_refs(
    store: icechunk.IcechunkStore,
    path: str,
    manifest: ChunkManifest,
    offset: tuple[int, ...] | None,
    locations: Mapping[str, str],
    record_sources: bool,
    validate_containers: bool,
) -> None:
    """Set the virtual references of ``manifest`` on the array at ``path``.

    Parameters
    ----------
    store
        The writable Icechunk store; the array's ``zarr.json`` is already written.
    path
        The array's path in the store.
    manifest
        Its chunk manifest (missing and inline chunks are skipped here).
    offset
        Where the manifest's grid starts in the array's, in chunks (an append); None: 0.
    locations
        Each of the manifest's URLs as an Icechunk location (percent-encoded); the caller
        has checked that a virtual chunk container's prefix starts every one of them.
    record_sources
        Give each reference its file's checksum (:func:`checksum_of`).
    validate_containers
        Let Icechunk check the locations against its containers too (see
        :func:`needs_icechunk_check`); a location it refuses is a WriteError.
    """
    m = manifest
    n = len(m.paths)
    pi = m.path_index
    if not n:
        return
    table = np.array([*(locations[p] for p in m.paths), ""], dtype=object)
    shift = offset or (0,) * pi.ndim

    def call(box: _Box, codes: np.ndarray, checksum: Any) -> None:
        lo, hi = box
        sel = _sel(box)
        at = tuple(s + o for s, o in zip(lo, shift, strict=True))
        failed = store.set_virtual_refs_arr(
            path,
            tuple(e - s for s, e in zip(lo, hi, strict=True)),
            table[np.asarray(codes).ravel()].tolist(),
            np.ascontiguousarray(m.offsets[sel], dtype=np.uint64).ravel(),
            np.ascontiguousarray(m.lengths[sel], dtype=np.uint64).ravel(),
            validate_containers=validate_containers,
            arr_offset=at if any(at) else None,
            checksum=checksum,
        )
        if failed:
            raise WriteError(
                f"Icechunk refused {len(failed)} chunk references of variable {path!r} "
                f"(first at chunk {tuple(failed[0])}): their URLs match no virtual chunk "
                "container of the repository. Discard this session."
            )

    # Files by checksum (only those the chunks reference): group ids and their checksums.
    groups: dict[Any, int] = {None: 0}
    group_of = np.zeros(n, dtype=np.intp)
    if record_sources:
        groups = {}
        used = [0] if n == 1 else np.flatnonzero(_used(pi, n)).tolist()
        for k in used:
            group_of[k] = groups.setdefault(checksum_of(m.sources.get(m.paths[k])), len(groups))
    checksums = list(groups)
    if len(checksums) == 1:
        for box in _slabs((0,) * pi.ndim, pi.shape):
            call(box, np.minimum(pi[_sel(box)], n), checksums[0])
        return
    if not checksums:  # no chunk references a file (all missing or inline)
        return
    # Several checksums: chunk -> file code (n: none) -> checksum group (len(groups): none).
    codes = np.minimum(pi, n).astype(np.intp)
    gid = np.append(group_of, len(groups))[codes]
    per_file: dict[int, tuple[_Box, int]] | None = None
    for g, ((lo, hi), count) in _boxes(gid, len(groups)).items():
        if math.prod(e - s for s, e in zip(lo, hi, strict=True)) <= 2 * count:
            for box in _slabs(lo, hi):
                sel = _sel(box)
                call(box, np.where(gid[sel] == g, codes[sel], n), checksums[g])
            continue
        if per_file is None:  # the checksum's files are scattered: one box per file
            per_file = _boxes(codes, n)
        for k in np.flatnonzero(group_of == g).tolist():
            if k in per_file:
                for box in _slabs(*per_file[k][0]):
                    call(box, np.where(codes[_sel(box)] == k, k, n), checksums[g])


def _used(pi: np.ndarray, n: int) -> np.ndarray:
    """Return which of the ``n`` paths the manifest's chunks reference (slab by slab)."""
    used = np.zeros(n, dtype=bool)
    flat = pi.reshape(-1)
    for s in range(0, flat.size, _SLAB_CHUNKS):
        part = np.minimum(flat[s : s + _SLAB_CHUNKS], n).astype(np.intp)
        used |= np.bincount(part, minlength=n + 1)[:n] > 0
    return used
