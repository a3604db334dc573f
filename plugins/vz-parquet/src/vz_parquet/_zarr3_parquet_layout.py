"""Zarr format 3 metadata in the Parquet reference layout (``zarr_format=3``).

fsspec's ``LazyReferenceMapper`` (the reader of Parquet references) was written for zarr
format 2, and three of its habits shape this layout:

* It serves every document of ``.zmetadata["metadata"]`` as a key, whatever its name, so the
  ``zarr.json`` documents of :func:`vzcore.store_plan.plan` go there
  unchanged (the root's carries zarr-python's inline consolidated metadata).
* It turns a chunk key ``<array>/<i>.<j>`` into a row number with the array's chunk grid,
  which it computes from ``<array>/.zarray`` (``shape`` and ``chunks`` only), and it splits
  the last key part on ``"."``. So the arrays use the ``v2`` chunk key encoding (separator
  ``"."``; keys ``<array>/i.j``, a scalar's only chunk ``<array>/0``) and each gets a minimal
  **index document** ``<array>/.zarray = {"shape": [...], "chunks": [...]}``, copied from
  its ``zarr.json``. zarr-python reading format 3 never looks at ``.zarray`` keys.
* Without ``remote_protocol`` it guesses the protocol by walking its "fields": every
  directory part of a metadata key, which includes the root ``zarr.json`` itself (a key with
  no ``/``) and each child group, and it asks each field for its ``.zarray``, raising
  ``KeyError: 'zarr.json/.zarray'`` on one that has none (in the order of a Python set, so
  in some processes only). Each group therefore gets an empty index document
  ``{"shape": [0], "chunks": [1]}`` (zero chunks: fsspec looks for no record file) under
  ``zarr.json/.zarray`` for the root and ``<group>/.zarray`` for child groups.

``.zmetadata`` carries no ``zarr_consolidated_format``: it is not zarr v2 consolidated
metadata (a zarr format 2 reader fails on the index documents instead of misreading them).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from vzcore.errors import WriteError

if TYPE_CHECKING:
    from vzcore.store_plan import ArrayPlan, StorePlan

__all__ = ["EMPTY_INDEX", "index_documents"]

EMPTY_INDEX: dict[str, list[int]] = {"shape": [0], "chunks": [1]}
"""The ``.zarray`` index document of a group: a chunk grid of zero chunks."""


def index_documents(store: StorePlan) -> dict[str, dict[str, Any]]:
    """Return ``.zmetadata``'s documents for fsspec: ``zarr.json`` ones plus ``.zarray`` indexes.

    Each ``zarr.json`` document is followed by its index document (see the module
    docstring).

    Parameters
    ----------
    store
        A zarr format 3 plan with ``v2`` chunk keys
        (``vzcore.store_plan.plan(group, 3, chunk_key_encoding="v2")``).

    Raises
    ------
    vzcore.errors.WriteError
        A node's name makes its index document collide with another key (a child group
        named ``zarr.json``).
    """
    arrays = {arr.path: arr for arr in store.arrays}
    out: dict[str, dict[str, Any]] = {}
    for key, doc in store.metadata.items():
        out[key] = doc
        path = key[: -len("/zarr.json")] if key.endswith("/zarr.json") else ""
        index_key = f"{path}/.zarray" if path else "zarr.json/.zarray"
        if index_key in out or index_key in store.metadata:
            raise WriteError(
                f"Cannot write {path or 'the root group'!r} as zarr format 3 Parquet "
                f"references: its chunk index key {index_key!r} is taken by another node "
                "(a group named 'zarr.json'); rename it."
            )
        if doc.get("node_type") == "array":
            out[index_key] = _array_index(arrays[path])
        else:
            out[index_key] = dict(EMPTY_INDEX)
    return out


def _array_index(arr: ArrayPlan) -> dict[str, list[int]]:
    doc = arr.document
    if doc["chunk_grid"]["name"] == "rectilinear":
        # fsspec only derives the chunk grid (ceil(shape / chunks)) from this index, to
        # find a chunk's row: for a rectilinear grid give it the grid in chunks of 1.
        shape = [int(g) for g in arr.grid_shape]
        chunks = [1] * len(shape)
    else:
        shape = [int(s) for s in doc["shape"]]
        chunks = [int(c) for c in doc["chunk_grid"]["configuration"]["chunk_shape"]]
    grid = [math.ceil(s / c) for s, c in zip(shape, chunks, strict=True)]
    # The row fsspec computes from these must be the row this writer stores the chunk at.
    if tuple(grid) != tuple(arr.grid_shape) or doc["chunk_key_encoding"] != {
        "name": "v2",
        "configuration": {"separator": "."},
    }:
        raise WriteError(
            f"Cannot write array {arr.path!r} as Parquet references: its chunk grid "
            f"{tuple(arr.grid_shape)} or chunk key encoding does not match its metadata "
            f"({shape} in chunks of {chunks}); this is a bug, please report it."
        )
    return {"shape": shape, "chunks": chunks}
