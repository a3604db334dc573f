"""Reading references whose metadata is Zarr format 3 (``zarr.json`` documents).

The inverse of :func:`vzcore.store_plan.plan` (``zarr_format=3``); the documents themselves are inverted by
:func:`vzcore.manifests.zarr_v3.array_metadata_from_v3`, next to the functions that write
them. Here only the store layout is handled:

* **Documents.** ``<path>/zarr.json`` per array and group (``zarr.json`` for the root), as
  JSON text or an object. The root group's inline ``consolidated_metadata`` (zarr-python's
  form: every node below the root by path) fills in nodes whose own ``zarr.json`` is not
  stored; a stored document wins over its consolidated copy, as for ``.zmetadata`` in zarr
  format 2. A group without a document (an implicit group) has no attributes.
* **Chunk-grid indexes.** fsspec's Parquet reader needs a ``.zarray`` holding only
  ``shape`` and ``chunks`` next to each array (and an empty one per group), which
  vz-parquet writes with ``zarr_format=3``: such documents are not zarr format 2 metadata;
  an array's must agree with its ``zarr.json``.
* **Chunk keys.** The ``default`` chunk key encoding (``c/i/j``, or ``c.i.j`` with the
  ``"."`` separator; ``c`` for a scalar) and the ``v2`` one (``i.j`` or ``i/j``; ``0``).
* **Arrays** become the same :class:`~vz_kerchunk._reader.ArraySpec` the zarr format 2
  documents give: ``fill_value`` is what missing chunks read as (``ArrayMetadata.fill_value``,
  None when it is the dtype's zero), and the ``_FillValue`` attribute is decoded back to the
  plain value a zarr format 2 reading gives, so a virtual dataset written with
  ``zarr_format=3`` and read back equals the one written with ``zarr_format=2`` and read back.

Documents mixing zarr formats 2 and 3, malformed documents and unknown node types raise
CorruptFileError naming the key; valid Zarr v3 that manifests cannot hold (sharding,
other chunk grids, unknown codecs or data types, unnamed dimensions, an array at the root)
raises UnsupportedFeatureError.
"""

from __future__ import annotations

from typing import Any

from vzcore.errors import CorruptFileError, UnsupportedFeatureError
from vzcore.manifests.zarr_v3 import (
    array_metadata_from_v3,
    chunk_key_encoding_from_v3,
    group_attributes_from_v3,
)

from vz_kerchunk._columns import ChunkKeys
from vz_kerchunk._read_json import parse_doc
from vz_kerchunk._reader import ArraySpec
from vz_kerchunk._safety import check_node_path

__all__ = ["V3Nodes"]

_V2_NAMES = frozenset({".zarray", ".zattrs", ".zgroup"})


class V3Nodes:
    """The arrays and groups described by ``zarr.json`` documents (see the module docstring).

    Parameters
    ----------
    docs
        Metadata documents by key, raw (JSON text or dict), in store order.
    url
        The references, for error messages.
    """

    def __init__(self, docs: dict[str, Any], url: str) -> None:
        self.url = url
        self.arrays: dict[str, Any] = {}
        self.groups: dict[str, Any] = {"": {}}
        self.order: list[tuple[str, str]] = []
        self._attrs: dict[str, dict[str, Any]] = {}
        self._keys: dict[str, str] = {}
        self._indexes: dict[str, tuple[dict[str, Any], str]] = {}
        stored: dict[str, tuple[Any, str]] = {}
        for key, value in docs.items():
            node, _, base = key.rpartition("/")
            if base == ".zmetadata":
                continue  # a container's wrapper around the same documents
            check_node_path(node, url, key)
            if base == ".zarray":
                index = parse_doc(value, url, key)
                if set(index) <= {"shape", "chunks"}:
                    # fsspec's Parquet layout keeps a chunk-grid index next to each node
                    # (vz-parquet, zarr_format=3): checked against the array's zarr.json.
                    self._indexes[node] = (index, key)
                    continue
            if base in _V2_NAMES:
                raise CorruptFileError(
                    url,
                    f"key {key!r} is zarr format 2 metadata, but the other documents are zarr "
                    "format 3 ('zarr.json'); one store holds one format",
                )
            stored[node] = (parse_doc(value, url, key), key)
        root = stored.get("")
        if root is not None and root[0].get("node_type") == "group":
            for path, doc in self._consolidated(root[0]).items():
                stored.setdefault(path, (doc, f"zarr.json (consolidated_metadata {path!r})"))
        for path, (doc, key) in stored.items():
            node_type = doc.get("node_type")
            self._keys[path] = key
            if node_type == "array":
                if not path:
                    raise UnsupportedFeatureError(
                        url,
                        None,
                        "an array at the root of the store ('zarr.json')",
                        "xarray opens groups of arrays; open the array with zarr instead",
                    )
                self.arrays[path] = doc
                self.order.append(("array", path))
            elif node_type == "group":
                self._attrs[path] = group_attributes_from_v3(doc, url=url, key=key)
                self.groups[path] = doc
                if path:
                    self.order.append(("group", path))
            else:
                raise CorruptFileError(
                    url, f"key {key!r}: 'node_type' must be 'array' or 'group', got {node_type!r}"
                )

    def _consolidated(self, root: dict[str, Any]) -> dict[str, Any]:
        """Return the root's inline consolidated documents by path (empty when it has none)."""
        url = self.url
        where = "key 'zarr.json': 'consolidated_metadata'"
        cm = root.get("consolidated_metadata")
        if cm is None:
            return {}
        if not isinstance(cm, dict):
            raise CorruptFileError(url, f"{where} must be an object or null")
        kind = cm.get("kind", "inline")
        if kind != "inline":
            raise UnsupportedFeatureError(
                url,
                None,
                f"consolidated metadata of kind {kind!r} in 'zarr.json'",
                "only zarr-python's 'inline' consolidated metadata is known",
            )
        inner = cm.get("metadata")
        if not isinstance(inner, dict):
            raise CorruptFileError(url, f"{where} has no 'metadata' object")
        out: dict[str, Any] = {}
        for path, doc in inner.items():
            if not isinstance(path, str) or not path or not isinstance(doc, dict):
                raise CorruptFileError(
                    url, f"{where}: entry {path!r} must map a non-empty path to a document"
                )
            check_node_path(path, url, f"zarr.json (consolidated_metadata {path!r})")
            out[path] = doc
        return out

    def group_attrs(self, path: str) -> dict[str, Any]:
        """Return the attributes of the group at ``path`` (none for an implicit group)."""
        return dict(self._attrs.get(path, {}))

    def array(self, path: str) -> ArraySpec:
        """Return the metadata of the array at ``path``.

        Raises
        ------
        vzcore.errors.CorruptFileError
            A malformed document.
        vzcore.errors.UnsupportedFeatureError
            Valid Zarr v3 that manifests cannot hold, or an array without dimension names.
        """
        doc, key = self.arrays[path], self._keys[path]
        meta, attrs, dims = array_metadata_from_v3(doc, url=self.url, key=key, name=path)
        if path in self._indexes:
            index, index_key = self._indexes[path]
            grid = {"shape": list(meta.shape), "chunks": list(meta.chunk_shape)}
            if index != grid:
                raise CorruptFileError(
                    self.url,
                    f"key {index_key!r}: the chunk-grid index {index!r} disagrees with "
                    f"{key!r} ({grid!r})",
                )
        if dims is None:
            raise UnsupportedFeatureError(
                self.url,
                path,
                "array without 'dimension_names' in zarr.json",
                "xarray cannot open such zarr v3 arrays either; add dimension names to the "
                "references",
            )
        encoding, separator = chunk_key_encoding_from_v3(doc)  # checked by the call above
        return ArraySpec(
            meta, attrs, dims, ChunkKeys(separator, "c" if encoding == "default" else "")
        )
