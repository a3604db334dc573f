"""Bringing a combined result from a cluster worker to the client in slices, in bounded memory.

A combined virtual dataset of 10^7 chunk references holds ~180 MB of manifests (offsets and
lengths, 8 bytes each per chunk). Sent as one message, the client holds the received frames
and the arrays rebuilt from them at the same time (dask.distributed splits frames over 64 MiB
into shards and joins them on receipt): about twice the result at its peak. Here the client
asks the worker holding the result for its skeleton (everything but the large manifests'
per-chunk arrays) and then for the per-chunk arrays in slices of at most
:data:`SLICE_BYTES`, copying each into arrays allocated once. The client's peak is then the
result plus :data:`AHEAD` + 1 slices (asked for in one pipeline across all per-chunk arrays).

The root of the tree leaves its concatenations unjoined
(:class:`~vzcore.manifests.joined.JoinedManifest`): a slice is then a few views of the
parts' own arrays, and a part's path codes come with the table that recodes them, applied
as they are copied in. The result's arrays are written once, on the client.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from vzcore._compact import CompactDataset, expand, to_compact
from vzcore.manifests import ChunkManifest, ManifestArray
from vzcore.manifests.joined import JoinedManifest

if TYPE_CHECKING:
    import xarray as xr

    from vzcore._raw_values import RawPiece
    from vzcore._tree_combine import Part
    from vzcore.manifests.metadata import ArrayMetadata
    from vzcore.manifests.sources import SourceInfo

__all__ = ["SLICE_BYTES", "fetch_result", "holder_placement"]

SLICE_BYTES = 16 * 2**20
"""Bytes per slice fetched (and manifests smaller than this travel whole)."""

AHEAD = 1
"""Slices asked for beyond the one being copied (each is memory the client holds meanwhile)."""

_FIELDS = ("path_index", "offsets", "lengths")


@dataclass(frozen=True)
class _Stub:
    """A ManifestArray without its per-chunk arrays (they follow in slices)."""

    metadata: ArrayMetadata
    paths: tuple[str, ...]
    sources: dict[str, SourceInfo]
    inline: dict[int, bytes]
    dtypes: tuple[np.dtype[Any], ...]
    """dtype of path_index, offsets, lengths."""


def _skeleton(part: Part, limit: int) -> tuple[CompactDataset, dict[Hashable, RawPiece]]:
    """On the worker: the result in compact form, large manifests as :class:`_Stub` (no arrays).

    Returned with the part's joined stored values (:attr:`~vzcore._tree_combine.Part.stored`).
    """
    compact = to_compact(part.dataset())
    variables = dict(compact.variables)
    for name, (dims, data, attrs, encoding) in compact.variables.items():
        if isinstance(data, ManifestArray) and data.manifest.nbytes > limit:
            m = data.manifest
            dtypes = (
                m.dtypes()
                if isinstance(m, JoinedManifest)
                else tuple(getattr(m, f).dtype for f in _FIELDS)
            )
            stub = _Stub(data.metadata, m.paths, dict(m.sources), dict(m.inline), dtypes)
            variables[name] = (dims, stub, attrs, encoding)
    skeleton = CompactDataset(
        variables, compact.coord_names, compact.indexed, compact.attrs, compact.encoding
    )
    return skeleton, part.stored


def _slice(
    part: Part, name: Hashable, field: str, start: int, stop: int
) -> list[tuple[int, np.ndarray, np.ndarray | None]]:
    """On the worker: ``[start:stop]`` of one per-chunk array, flat in C order, in pieces.

    Each piece is ``(position, values, table)`` as :meth:`JoinedManifest.segments` gives
    them: views of the parts' arrays for a manifest the root left unjoined, else one view
    of the manifest's array. Views travel without a copy: their buffers are sent as they
    are, and what they view is held on the worker until the fetch ends.
    """
    data = part.dataset().variables[name]._data
    from vzcore._dask_graph import unwrap_duck_array

    manifest = unwrap_duck_array(data).manifest
    if isinstance(manifest, JoinedManifest):
        return manifest.segments(field, start, stop)
    return [(start, np.ascontiguousarray(getattr(manifest, field).ravel()[start:stop]), None)]


def holder_placement(client: Any, future: Any) -> dict[str, Any]:
    """Return ``submit`` keywords that run a task on the worker holding ``future``'s result.

    A task reading a slice of the result must run where the result is: the scheduler, not
    knowing how long a slice takes, otherwise sends some to an idle worker, which first
    copies the whole result (180 MB at 10^7 references: 0.25-0.4 s of a 0.5 s fetch). The
    restriction is loose, so the task still runs elsewhere if that worker is gone.
    """
    from distributed import as_completed

    for _ in as_completed([future], loop=client.loop):  # type: ignore[no-untyped-call]  # distributed is untyped
        pass  # done (a client that is not the default one has no ``wait``)
    holders = client.who_has([future]).get(future.key, ())
    if not holders:
        return {}
    return {"workers": list(holders), "allow_other_workers": True}


def _copy_in(task: Any, out: np.ndarray) -> None:
    """Wait for a slice and copy its pieces into their places in ``out``; release it."""
    for start, values, table in task.result():
        where = out[start : start + values.size]
        if table is None:
            where[...] = values
        else:
            np.take(table, values, out=where)
    task.release()


def fetch_result(client: Any, future: Any, limit: int | None = None) -> xr.Dataset:
    """Return the dataset of the :class:`~vzcore._tree_combine.Part` held by ``future``.

    Parameters
    ----------
    client
        The dask.distributed Client.
    future
        Future of the root Part of the tree combine.
    limit
        Bytes per slice (default :data:`SLICE_BYTES`).
    """
    limit = SLICE_BYTES if limit is None else limit
    where = holder_placement(client, future)
    # with the skeleton come the joined stored values of loaded variables: unpickling
    # registers them here, for the writer (see vzcore._raw_values)
    skeleton, _stored = client.submit(_skeleton, future, limit, pure=False, **where).result()
    variables = dict(skeleton.variables)
    arrays: dict[Hashable, list[np.ndarray]] = {}
    slices: list[tuple[np.ndarray, Hashable, str, int, int]] = []
    for name, (_, data, _, _) in skeleton.variables.items():
        if not isinstance(data, _Stub):
            continue
        size = int(np.prod(data.metadata.grid_shape, dtype=np.int64))
        arrays[name] = []
        for field, dtype in zip(_FIELDS, data.dtypes, strict=True):
            out = np.empty(size, dtype)  # pages are committed as the slices arrive
            arrays[name].append(out)
            step = max(1, limit // max(1, dtype.itemsize))
            slices += [(out, name, field, s, min(size, s + step)) for s in range(0, size, step)]
    pending: deque[tuple[Any, np.ndarray]] = deque()
    for out, name, field, start, stop in slices:  # AHEAD slices asked for beyond the oldest
        task = client.submit(_slice, future, name, field, start, stop, pure=False, **where)
        pending.append((task, out))
        if len(pending) > AHEAD:
            _copy_in(*pending.popleft())
    while pending:
        _copy_in(*pending.popleft())
    for name, (pi, offsets, lengths) in arrays.items():
        dims, data, attrs, encoding = variables[name]
        grid = data.metadata.grid_shape
        manifest = ChunkManifest._of_checked(  # (every slice copied in: the slices tile it)
            data.paths,
            pi.reshape(grid),
            offsets.reshape(grid),
            lengths.reshape(grid),
            data.inline,
            data.sources,
        )
        variables[name] = (dims, ManifestArray(data.metadata, manifest), attrs, encoding)
    return expand(
        CompactDataset(
            variables, skeleton.coord_names, skeleton.indexed, skeleton.attrs, skeleton.encoding
        )
    )
