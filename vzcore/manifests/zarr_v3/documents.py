"""Zarr v3 ``zarr.json`` documents of arrays and groups, their chunk keys, and the inverse.

:func:`array_metadata_v3` and :func:`group_metadata_v3` build the documents (with
:func:`chunk_key` giving the keys of the ``default`` or ``v2`` chunk key encoding);
:func:`array_metadata_from_v3`, :func:`group_attributes_from_v3` and
:func:`chunk_key_encoding_from_v3` read them back for readers of Zarr v3 metadata, raising
:class:`~vzcore.errors.CorruptFileError` / :class:`~vzcore.errors.UnsupportedFeatureError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vzcore.errors import WriteError
from vzcore.manifests.attributes import json_attributes
from vzcore.manifests.zarr_v3._common import _config, _named, _where
from vzcore.manifests.zarr_v3.codecs import codecs_from_v3, v3_codecs
from vzcore.manifests.zarr_v3.data_types import numpy_dtype_from_v3, v3_data_type
from vzcore.manifests.zarr_v3.fill_values import (
    FILL_ATTR,
    decode_fill_value_attribute,
    decode_fill_value_v3,
    encode_fill_value_attribute,
    encode_fill_value_v3,
    storage_fill_value,
)

if TYPE_CHECKING:
    from vzcore.manifests.metadata import ArrayMetadata

__all__ = [
    "ChunkKeyEncoding",
    "array_metadata_from_v3",
    "array_metadata_v3",
    "chunk_key",
    "chunk_key_encoding_from_v3",
    "group_attributes_from_v3",
    "group_metadata_v3",
]

ChunkKeyEncoding = Literal["default", "v2"]


def chunk_key(coords: Sequence[int], encoding: ChunkKeyEncoding = "default") -> str:
    """Return the key of the chunk at grid position ``coords`` (``()`` for a scalar).

    Examples
    --------
    >>> chunk_key((0, 3)), chunk_key(()), chunk_key((0, 3), "v2"), chunk_key((), "v2")
    ('c/0/3', 'c', '0.3', '0')
    """
    if encoding == "v2":
        return ".".join(str(int(c)) for c in coords) or "0"
    return "/".join(["c", *(str(int(c)) for c in coords)])


def _key_encoding_doc(encoding: ChunkKeyEncoding) -> dict[str, Any]:
    if encoding == "v2":
        return _named("v2", {"separator": "."})
    if encoding == "default":
        return _named("default", {"separator": "/"})
    raise ValueError(f"chunk_key_encoding must be 'default' or 'v2', got {encoding!r}")


def array_metadata_v3(
    meta: ArrayMetadata,
    attrs: Mapping[str, Any],
    dimension_names: Sequence[str] | None,
    *,
    name: str | None = None,
    chunk_key_encoding: ChunkKeyEncoding = "default",
) -> dict[str, Any]:
    """Return the ``zarr.json`` document of an array (zarr format 3), as a dict.

    Parameters
    ----------
    meta
        Shape, dtype, chunking, codecs and storage fill value.
    attrs
        The variable's attributes; a CF ``_FillValue`` is re-encoded the way xarray reads
        it from format 3 (see the package docstring), everything else made JSON-safe.
    dimension_names
        One name per axis (xarray needs them), or None.
    name
        The variable, for error messages.
    chunk_key_encoding
        ``"default"`` (``c/0/1``) or ``"v2"`` (``0.1``).

    Raises
    ------
    vzcore.errors.WriteError
        When a codec, the dtype, the fill value or an attribute has no zarr v3 form.

    Examples
    --------
    >>> from vzcore.manifests import ArrayMetadata
    >>> doc = array_metadata_v3(ArrayMetadata((4,), "<f4", (2,)), {"units": "K"}, ["x"])
    >>> doc["data_type"], doc["fill_value"], doc["codecs"]
    ('float32', 0.0, [{'name': 'bytes', 'configuration': {'endian': 'little'}}])
    """
    where = _where(name)
    codecs = v3_codecs(meta, name=name)
    try:
        data_type = v3_data_type(meta.dtype, codecs=meta.codecs)
    except ValueError as err:
        raise WriteError(
            f"Cannot write {where} as zarr v3: {err}; use zarr_format=2 or load the variable."
        ) from None
    fill = storage_fill_value(meta)
    try:
        fill_json = encode_fill_value_v3(fill, meta.dtype, codecs=meta.codecs)
    except ValueError as err:
        raise WriteError(
            f"Cannot write {where} as zarr v3: its fill value {fill!r} does not fit its dtype "
            f"{meta.dtype} ({err})."
        ) from None
    attributes = json_attributes({k: v for k, v in attrs.items() if k != FILL_ATTR}, where)
    if FILL_ATTR in attrs and attrs[FILL_ATTR] is not None:
        try:
            attributes[FILL_ATTR] = encode_fill_value_attribute(attrs[FILL_ATTR], meta.dtype)
        except ValueError as err:
            raise WriteError(
                f"Cannot write {where} as zarr v3: its _FillValue attribute "
                f"{attrs[FILL_ATTR]!r} cannot be stored so that xarray reads it back ({err}); "
                "use zarr_format=2, or drop or fix the attribute."
            ) from None
    if dimension_names is not None:
        dims = [str(d) for d in dimension_names]
        if len(dims) != len(meta.shape):
            raise WriteError(
                f"Cannot write {where}: {len(dims)} dimension names for "
                f"{len(meta.shape)} dimensions."
            )
    doc: dict[str, Any] = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": list(meta.shape),
        "data_type": data_type,
        "chunk_grid": _chunk_grid(meta),
        "chunk_key_encoding": _key_encoding_doc(chunk_key_encoding),
        "fill_value": fill_json,
        "codecs": codecs,
        "attributes": attributes,
    }
    if dimension_names is not None:
        doc["dimension_names"] = dims
    return doc


def _chunk_grid(meta: ArrayMetadata) -> dict[str, Any]:
    """Return the ``chunk_grid`` of an array: regular, or rectilinear (zarr-extensions).

    A rectilinear grid lists edges for *every* axis (run-length encoded), never the bare
    int shorthand for a regular axis: Icechunk 2.3 refuses that form ("cannot parse
    `chunk_shapes` for rectilinear chunk grid"), zarr-python 3.4 reads both.
    """
    if meta.chunk_edges is None:
        return _named("regular", {"chunk_shape": list(meta.chunk_shape)})
    from vzcore.manifests.grid import axis_edges, edges_to_json

    shapes = [edges_to_json(axis_edges(meta, j)) for j in range(len(meta.shape))]
    return _named("rectilinear", {"kind": "inline", "chunk_shapes": shapes})


def group_metadata_v3(
    attrs: Mapping[str, Any], *, consolidated: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """Return the ``zarr.json`` document of a group (zarr format 3), as a dict.

    Parameters
    ----------
    attrs
        The group's attributes (made JSON-safe).
    consolidated
        Documents of every node below the group, by path relative to it (``"var"``,
        ``"sub/var"``): written as zarr-python's inline ``consolidated_metadata``, which
        ``zarr.open_group(..., use_consolidated=True)`` and ``xr.open_zarr`` use to skip
        listing the store.
    """
    doc: dict[str, Any] = {
        "zarr_format": 3,
        "node_type": "group",
        "attributes": json_attributes(attrs, "a group"),
    }
    if consolidated is not None:
        doc["consolidated_metadata"] = {
            "kind": "inline",
            "must_understand": False,
            "metadata": {k: dict(v) for k, v in consolidated.items()},
        }
    return doc


# -- the inverse: zarr.json documents back into ArrayMetadata ------------------------------
#
# Readers of Zarr v3 metadata (kerchunk references with ``zarr.json``, ...) use these. They
# invert the conventions above exactly, so that a document written by
# :func:`array_metadata_v3` reads back into the metadata and attributes it was written
# from, and more generally accept what the specification and zarr-python 3 write. Malformed
# input raises ValueError, valid input the manifests cannot hold NotImplementedError
# (``args = (feature, hint)``); :func:`array_metadata_from_v3` turns both into
# CorruptFileError / UnsupportedFeatureError naming the file and key.


def chunk_key_encoding_from_v3(doc: Mapping[str, Any]) -> tuple[ChunkKeyEncoding, str]:
    """Return ``(encoding, separator)`` of an array document's ``chunk_key_encoding``.

    ``default`` keys are ``c<sep>i<sep>j`` (``c`` for a scalar), ``v2`` keys ``i<sep>j``
    (``0`` for a scalar); the separator defaults to ``"/"`` and ``"."`` respectively.

    Raises
    ------
    ValueError, TypeError
        A malformed encoding.
    NotImplementedError
        An encoding other than ``default`` and ``v2``.
    """
    name, conf = _config(doc.get("chunk_key_encoding", "default"), "chunk_key_encoding")
    if name not in ("default", "v2"):
        raise NotImplementedError(f"chunk key encoding {name!r}", "only 'default' and 'v2' exist")
    sep = conf.get("separator", "/" if name == "default" else ".")
    if sep not in ("/", "."):
        raise ValueError(f"chunk key separator {sep!r} (must be '/' or '.')")
    return name, sep  # type: ignore[return-value]  # name checked just above


_ARRAY_FIELDS = frozenset(
    {
        "zarr_format",
        "node_type",
        "shape",
        "data_type",
        "chunk_grid",
        "chunk_key_encoding",
        "fill_value",
        "codecs",
        "attributes",
        "dimension_names",
        "storage_transformers",
    }
)


def _is_zero(value: Any, dtype: np.dtype[Any]) -> bool:
    """Return True when ``value`` is what ``ArrayMetadata.fill_value = None`` stands for."""
    if dtype.kind == "O":
        return value in ("", b"")
    try:
        return bool(np.array(value, dtype=dtype).tobytes() == np.zeros((), dtype).tobytes())
    except (TypeError, ValueError):
        return bool(value == bytes(dtype.itemsize))


def _int_tuple(value: Any, what: str, minimum: int) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(type(v) is int and v >= minimum for v in value):
        raise ValueError(f"{what!r} must be a list of integers >= {minimum}, got {value!r}")
    return tuple(value)


def _check_extensions(doc: Mapping[str, Any], known: frozenset[str]) -> None:
    for k, v in doc.items():
        if k in known:
            continue
        if isinstance(v, Mapping) and v.get("must_understand") is False:
            continue  # an extension readers may ignore (spec: must_understand false)
        raise NotImplementedError(
            f"zarr v3 metadata field {k!r}",
            "fields that readers must understand are not known here",
        )


def array_metadata_from_v3(
    doc: Mapping[str, Any],
    *,
    url: str = "<zarr.json>",
    key: str = "zarr.json",
    name: str | None = None,
) -> tuple[ArrayMetadata, dict[str, Any], tuple[str, ...] | None]:
    """Return ``(metadata, attributes, dimension names)`` of an array's ``zarr.json`` document.

    The inverse of :func:`array_metadata_v3`: codecs back to numcodecs configurations in
    encoding order (:func:`codecs_from_v3`), the ``bytes`` codec's byte order into the
    dtype (:func:`numpy_dtype_from_v3`), ``fill_value`` into ``ArrayMetadata.fill_value``
    (None when it is the dtype's zero or empty, which is what None means), the CF
    ``_FillValue`` attribute back to a plain value (:func:`decode_fill_value_attribute`),
    ``dimension_names`` to the dimension names (None when absent; a null entry is an
    error). So ``array_metadata_v3(*array_metadata_from_v3(doc))`` gives ``doc`` again.

    Parameters
    ----------
    doc
        The parsed ``zarr.json`` document (``node_type`` ``"array"``).
    url, key
        Where the document comes from, for error messages.
    name
        The array's path, for error messages.

    Raises
    ------
    vzcore.errors.CorruptFileError
        A malformed document (the message names ``url`` and ``key``).
    vzcore.errors.UnsupportedFeatureError
        Valid Zarr v3 that the manifests cannot hold (sharding, other chunk grids, unknown
        codecs or data types, storage transformers, ...).
    """
    from vzcore.errors import CorruptFileError, UnsupportedFeatureError
    from vzcore.manifests.metadata import ArrayMetadata

    try:
        return _array_from_v3(doc, ArrayMetadata)
    except NotImplementedError as err:
        feature, hint = [*err.args, "", ""][:2]
        raise UnsupportedFeatureError(url, name, f"{feature} in {key!r}", str(hint)) from None
    except (ValueError, TypeError) as err:
        raise CorruptFileError(url, f"key {key!r}: {err}") from None


def _array_from_v3(
    doc: Mapping[str, Any], cls: type[ArrayMetadata]
) -> tuple[ArrayMetadata, dict[str, Any], tuple[str, ...] | None]:
    if not isinstance(doc, Mapping):
        raise TypeError("the document is not a JSON object")
    fmt = doc.get("zarr_format")
    if fmt != 3:
        if type(fmt) is int and fmt > 3:
            raise NotImplementedError(f"zarr_format {fmt!r}", "only zarr format 3 is read here")
        raise ValueError(f"'zarr_format' must be 3, got {fmt!r}")
    if doc.get("node_type") != "array":
        raise ValueError(f"'node_type' must be 'array', got {doc.get('node_type')!r}")
    for field_name in ("shape", "data_type", "chunk_grid", "fill_value", "codecs"):
        if field_name not in doc:
            raise ValueError(f"it lacks {field_name!r}")
    _check_extensions(doc, _ARRAY_FIELDS)
    if doc.get("storage_transformers"):
        raise NotImplementedError(
            "storage transformers", "chunks behind a storage transformer cannot be referenced"
        )
    shape = _int_tuple(doc["shape"], "shape", 0)
    grid_name, grid_conf = _config(doc["chunk_grid"], "chunk_grid")
    chunk_edges = None
    if grid_name == "rectilinear":
        chunks, chunk_edges = _rectilinear_from_v3(grid_conf, shape)
    elif grid_name != "regular":
        raise NotImplementedError(
            f"chunk grid {grid_name!r}", "only regular and rectilinear chunk grids"
        )
    else:
        chunks = _int_tuple(grid_conf.get("chunk_shape"), "chunk_shape", 1)
    if len(chunks) != len(shape):
        raise ValueError(f"shape {list(shape)} and chunk_shape {list(chunks)} differ in length")
    chunk_key_encoding_from_v3(doc)
    codecs, endian = codecs_from_v3(doc["codecs"], data_type=doc["data_type"])
    dtype = numpy_dtype_from_v3(doc["data_type"], endian=endian)
    if dtype.kind == "O" and not codecs:  # pragma: no cover - codecs_from_v3 ensures it
        raise ValueError("an object data type without its codec")
    try:
        fill = decode_fill_value_v3(doc["fill_value"], dtype, codecs=codecs)
    except ValueError as err:
        raise ValueError(f"'fill_value' {doc['fill_value']!r} does not fit: {err}") from None
    if _is_zero(fill, dtype):
        fill = None
    attributes = doc.get("attributes", {})
    if attributes is None:
        attributes = {}
    if not isinstance(attributes, Mapping):
        raise TypeError("'attributes' must be an object")
    attrs = dict(attributes)
    if attrs.get(FILL_ATTR) is not None:
        attrs[FILL_ATTR] = decode_fill_value_attribute(attrs[FILL_ATTR], dtype)
    dims: tuple[str, ...] | None = None
    if doc.get("dimension_names") is not None:
        names = doc["dimension_names"]
        if not isinstance(names, list) or len(names) != len(shape):
            raise ValueError(f"'dimension_names' must list {len(shape)} names, got {names!r}")
        if any(n is None for n in names):
            raise NotImplementedError(
                f"unnamed dimensions (dimension_names {names!r})",
                "every dimension needs a name for xarray",
            )
        if not all(isinstance(n, str) for n in names):
            raise ValueError(f"'dimension_names' must hold text, got {names!r}")
        dims = tuple(names)
    meta = cls(
        shape=shape,
        dtype=dtype,
        chunk_shape=chunks,
        fill_value=fill,
        codecs=codecs,
        dimension_names=dims,
        chunk_edges=chunk_edges,
    )
    return meta, attrs, dims


def _rectilinear_from_v3(
    conf: Mapping[str, Any], shape: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[tuple[int, ...] | None, ...] | None]:
    """``(chunk_shape, chunk_edges)`` of a rectilinear grid's configuration."""
    from vzcore.manifests.grid import edges_from_json, normalize_grid

    if conf.get("kind", "inline") != "inline":
        raise NotImplementedError(
            f"rectilinear chunk grid kind {conf.get('kind')!r}", "only 'inline' chunk shapes"
        )
    specs = conf.get("chunk_shapes")
    if not isinstance(specs, list) or len(specs) != len(shape):
        raise ValueError(f"'chunk_shapes' must list {len(shape)} dimensions, got {specs!r}")
    chunks: list[int] = []
    edges: list[tuple[int, ...] | None] = []
    for j, (spec, size) in enumerate(zip(specs, shape, strict=True)):
        e = edges_from_json(spec, size, f"chunk_shapes[{j}]")
        if isinstance(e, int):
            chunks.append(e)
            edges.append(None)
        else:
            chunks.append(max(e, default=1))
            edges.append(e if e else None)
    return normalize_grid(shape, tuple(chunks), edges)


def group_attributes_from_v3(
    doc: Mapping[str, Any], *, url: str = "<zarr.json>", key: str = "zarr.json"
) -> dict[str, Any]:
    """Return the attributes of a group's ``zarr.json`` (inverse of :func:`group_metadata_v3`).

    Raises
    ------
    vzcore.errors.CorruptFileError
        A malformed document (``consolidated_metadata`` is checked by its readers).
    vzcore.errors.UnsupportedFeatureError
        A newer zarr format, or a field readers must understand that is not known here.
    """
    from vzcore.errors import CorruptFileError, UnsupportedFeatureError

    fmt = doc.get("zarr_format")
    if fmt != 3:
        if type(fmt) is int and fmt > 3:
            raise UnsupportedFeatureError(
                url, None, f"zarr_format {fmt!r} in {key!r}", "only zarr format 3 is read here"
            )
        raise CorruptFileError(url, f"key {key!r}: 'zarr_format' must be 3, got {fmt!r}")
    if doc.get("node_type") != "group":
        raise CorruptFileError(
            url, f"key {key!r}: 'node_type' must be 'group', got {doc.get('node_type')!r}"
        )
    try:
        _check_extensions(
            doc, frozenset({"zarr_format", "node_type", "attributes", "consolidated_metadata"})
        )
    except NotImplementedError as err:
        raise UnsupportedFeatureError(
            url, None, f"{err.args[0]} in {key!r}", str(err.args[1])
        ) from None
    attrs = doc.get("attributes", {})
    if attrs is None:
        attrs = {}
    if not isinstance(attrs, Mapping):
        raise CorruptFileError(url, f"key {key!r}: 'attributes' must be an object")
    return dict(attrs)
