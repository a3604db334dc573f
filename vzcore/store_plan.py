"""One plan of a zarr store for every writer: metadata documents, chunk references, groups.

:func:`plan` walks a :class:`~vzcore.group.ManifestGroup` tree once, makes every check
(dimension lengths, names, variable/group clashes, attributes, dtypes, codecs, fill values)
and returns a :class:`StorePlan`: the zarr format 2 or 3 documents of every group and array
(:mod:`vzcore.manifests.zarr_v2`, :mod:`vzcore.manifests.zarr_v3`) and, per array, an
:class:`ArrayPlan` whose chunk references stay *columnar* (the array's
:class:`~vzcore.manifests.ChunkManifest`, whose flat C-order index is also the key order).
Writer plugins only serialize a plan: kerchunk JSON, Parquet records, Icechunk virtual refs.

In-memory variables (numpy values) become one chunk holding the whole array, stored inline
(C-order bytes in the array's byte order; object arrays of ``str`` through ``vlen-utf8``, of
``bytes`` through ``vlen-bytes``); their values stay on the plan (:attr:`ArrayPlan.values`)
for writers that store them through zarr. A numeric chunk of at least
:data:`INLINE_COMPRESS_MIN_BYTES` is compressed when that saves a quarter of its bytes, with
the one codec of :data:`INLINE_CODECS` that gives the fewest (``blosc``: zstd after a byte or
bit shuffle, a codec of zarr format 2 (numcodecs) and of the zarr v3 specification, so every
client reads it); the array's metadata names it. ``plan(..., compress_inline=False)`` keeps
every inline chunk uncompressed, the layout earlier versions wrote (an append to such a store
keeps its layout: ``vz_icechunk``'s append writes with the repository's codecs).

Names: no ``..``, ``/``, backslash or control characters (:func:`vzcore.names.validate_name`),
no name starting with ``.z`` (zarr v2's own metadata keys) and, in zarr format 3, no node
called ``zarr.json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vzcore.errors import WriteError
from vzcore.group import ManifestGroup, Variable, values_to_write
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray, SourceInfo
from vzcore.manifests.attributes import json_attributes
from vzcore.manifests.chunk_keys import chunk_key_table_v3
from vzcore.manifests.zarr_compat import check_array_document
from vzcore.manifests.zarr_v2 import MissingChunks, array_documents_v2
from vzcore.manifests.zarr_v3 import ChunkKeyEncoding, array_metadata_v3, group_metadata_v3
from vzcore.packed_dtypes import check_packed_dtypes

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from vzcore.manifests import CodecConfig

__all__ = [
    "INLINE_CODECS",
    "INLINE_COMPRESS_MIN_BYTES",
    "ArrayPlan",
    "GroupPlan",
    "MissingChunks",
    "StorePlan",
    "in_memory_chunk",
    "iter_missing",
    "plan",
]

ZarrFormat = Literal[2, 3]


@dataclass(frozen=True)
class ArrayPlan:
    """One array of the store: its documents and its chunk references, kept columnar."""

    path: str
    """Zarr path of the array inside the store, e.g. ``"group/var"``."""
    dims: tuple[str, ...]
    """Dimension names, one per axis."""
    attrs: dict[str, Any]
    """The variable's attributes as given (the documents hold their JSON form)."""
    metadata: ArrayMetadata
    """Shape, dtype, chunking, codecs and fill value of the stored chunks."""
    manifest: ChunkManifest
    """Where each chunk lives (paths are absolute URLs); flat C order is the key order."""
    documents: dict[str, dict[str, Any]]
    """Metadata documents by key relative to :attr:`path`: ``.zarray`` and ``.zattrs``
    (zarr format 2) or ``zarr.json`` (zarr format 3)."""
    chunk_key_encoding: ChunkKeyEncoding = "default"
    """``"default"`` (``c/i/j``) or ``"v2"`` (``i.j``) keys; zarr format 2 keys are ``i.j``."""
    fill_chunk: bytes | None = None
    """Encoded chunk to store at every missing chunk (zarr format 2 only), or None."""
    values: np.ndarray | None = None
    """The values of an in-memory variable (then :attr:`manifest` holds them as one inline
    chunk); None for a virtual one."""
    array: ManifestArray | None = None
    """The virtual array itself; None for an in-memory variable."""

    @property
    def name(self) -> str:
        """The array's own name (last part of :attr:`path`)."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def zarr_format(self) -> int:
        """2 or 3: the format of this array's metadata (and of its chunk keys)."""
        return 3 if "zarr.json" in self.documents else 2

    @property
    def document(self) -> dict[str, Any]:
        """The array's metadata document: ``.zarray`` (format 2) or ``zarr.json`` (format 3)."""
        return self.documents.get("zarr.json") or self.documents[".zarray"]

    @property
    def grid_shape(self) -> tuple[int, ...]:
        """Shape of the chunk grid."""
        return self.manifest.grid_shape

    @property
    def key_encoding(self) -> ChunkKeyEncoding:
        """How chunk keys are spelt: ``"v2"`` (``i.j``, zarr format 2) or ``"default"``."""
        return "v2" if self.zarr_format == 2 else self.chunk_key_encoding

    def keys(self, prefix: str | None = None) -> NDArray[Any]:
        """Return the keys of every chunk, flat in C order.

        ``prefix`` replaces ``path + "/"`` (e.g. a JSON-escaped form of it).
        """
        base = f"{self.path}/" if prefix is None else prefix
        return chunk_key_table_v3(self.grid_shape, base, self.key_encoding)

    def url_counts(self) -> NDArray[np.int64]:
        """Return the number of chunk references to each entry of ``manifest.paths``."""
        return self.manifest.reference_counts()


@dataclass(frozen=True)
class GroupPlan:
    """One group of the store."""

    path: str
    """Zarr path of the group (``""`` for the root)."""
    documents: dict[str, dict[str, Any]]
    """``.zgroup`` and ``.zattrs`` (zarr format 2) or ``zarr.json`` (format 3, without
    consolidated metadata)."""


@dataclass(frozen=True)
class StorePlan:
    """Everything a zarr store of references holds: documents and chunk references."""

    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Metadata documents by key (``.zgroup``, ``.zattrs``, ``var/.zarray``, ...; for zarr
    format 3 ``zarr.json``, ``var/zarr.json``, ..., the root's carrying zarr-python's inline
    consolidated metadata), parents first; ``.zmetadata`` is not included (see
    :meth:`consolidated`)."""
    arrays: list[ArrayPlan] = field(default_factory=list)
    """Every array, in the order of :attr:`metadata`."""
    groups: list[GroupPlan] = field(default_factory=list)
    """Every group, parents first."""
    zarr_format: int = 2
    """2 or 3: the format of the metadata documents."""
    sources: dict[str, SourceInfo] = field(default_factory=dict)
    """Scan-time identity (size, mtime, ETag) of the files the chunks point into, by URL."""

    def sources_json(self) -> dict[str, Any]:
        """Return the source metadata that writers store under the ``"vzcore"`` key.

        ``{"sources": {url: {"size": ..., "mtime": ..., "etag": ...}}}``: standard readers
        of references ignore the key.
        """
        return {"sources": {url: info.to_json() for url, info in sorted(self.sources.items())}}

    def consolidated(self) -> dict[str, Any]:
        """Return the ``.zmetadata`` document (zarr v2 consolidated metadata).

        For a zarr format 3 store this is the same wrapper around the ``zarr.json``
        documents (the form fsspec's Parquet reference layout keeps its metadata in).
        """
        return {"metadata": dict(self.metadata), "zarr_consolidated_format": 1}

    def url_counts(self) -> dict[str, int]:
        """Return the number of chunk references to each URL, over all arrays."""
        counts: dict[str, int] = {}
        for arr in self.arrays:
            for url, n in zip(arr.manifest.paths, arr.url_counts().tolist(), strict=True):
                counts[url] = counts.get(url, 0) + n
        return counts

    def urls(self) -> set[str]:
        """Return every URL a chunk reference points into."""
        return {url for arr in self.arrays for url in arr.manifest.paths}

    @property
    def nchunks(self) -> int:
        """Number of chunk entries the references will hold (stored, inline and filled)."""
        total = 0
        for arr in self.arrays:
            m = arr.manifest
            missing = 0 if arr.fill_chunk is not None else int(np.count_nonzero(m.missing()))
            total += m.nchunks - missing
        return total


def iter_missing(arr: ArrayPlan) -> Iterator[int]:
    """Yield flat C-order indexes of the missing chunks of ``arr`` (for fill chunks)."""
    yield from np.flatnonzero(arr.manifest.path_index.ravel() == arr.manifest.missing_code).tolist()


# -- checks ---------------------------------------------------------------------------------


def check_name(name: str, where: str, zarr_format: int) -> None:
    """Raise WriteError when ``name`` cannot name a node of a zarr store of this format."""
    from vzcore.names import validate_name

    validate_name(name, where, WriteError)  # no '..', '/', '\\', control characters
    if name.startswith(".z"):
        raise WriteError(
            f"Cannot write {where} {name!r}: zarr names must not start with '.z' (zarr's own "
            "metadata keys); rename it before writing."
        )
    if zarr_format == 3 and name == "zarr.json":
        raise WriteError(
            f"Cannot write {where} {name!r}: it is the name of Zarr v3's metadata document; "
            "rename it before writing."
        )


INLINE_COMPRESS_MIN_BYTES = 256
"""Inline chunks of fewer bytes stay uncompressed (a codec would save too little)."""

INLINE_CODECS: tuple[CodecConfig, ...] = (
    {"id": "blosc", "cname": "zstd", "clevel": 5, "shuffle": 1, "blocksize": 0},
    {"id": "blosc", "cname": "zstd", "clevel": 5, "shuffle": 2, "blocksize": 0},
)
"""The codecs tried on a loaded numeric array's inline chunk (byte, then bit shuffle + zstd).

Zstd alone barely shrinks regular coordinates (4,000 float64 days: 32,000 -> 3,849 bytes,
no better than Parquet's own zstd of the raw chunk); shuffled first, 599 or 273 bytes."""


def _compressed(arr: np.ndarray, raw: bytes) -> tuple[CodecConfig, bytes] | None:
    """Return the codec of :data:`INLINE_CODECS` that pays most for ``arr``, and its bytes.

    None when ``arr`` is not numeric, ``raw`` is shorter than
    :data:`INLINE_COMPRESS_MIN_BYTES` or no codec saves a quarter of its bytes.
    """
    if arr.dtype.kind not in "biufcmM" or len(raw) < INLINE_COMPRESS_MIN_BYTES:
        return None
    import numcodecs

    # Encode the array, not ``raw``: blosc shuffles by the buffer's item size.
    tried = [(c, bytes(numcodecs.get_codec(dict(c)).encode(arr))) for c in INLINE_CODECS]
    config, packed = min(tried, key=lambda t: len(t[1]))  # the first of equals
    return (config, packed) if len(packed) <= len(raw) * 3 // 4 else None


def in_memory_chunk(
    name: str, data: np.ndarray, *, compress: bool = True
) -> tuple[ArrayMetadata, ChunkManifest, np.ndarray]:
    """Describe in-memory values as one inline chunk holding the whole array.

    Parameters
    ----------
    name
        The variable's path (for messages).
    data
        Its values.
    compress
        Compress a numeric chunk when that pays (see :data:`INLINE_CODECS`); False keeps
        the raw bytes, as earlier versions stored them.

    Returns
    -------
    metadata, manifest, values
        ``values`` is ``data`` as the plain numpy array that is stored
        (:func:`vzcore.group.values_to_write`).

    Raises
    ------
    vzcore.errors.WriteError
        Masked elements, or an object array holding other than all ``str`` or all ``bytes``.
    """
    arr = values_to_write(name, data)
    codecs: tuple[CodecConfig, ...] = ()
    if arr.dtype.kind == "O":
        flat = arr.ravel().tolist()
        if all(isinstance(x, str) for x in flat):
            codecs = ({"id": "vlen-utf8"},)
        elif all(isinstance(x, bytes) for x in flat):
            codecs = ({"id": "vlen-bytes"},)
        else:
            kinds = sorted({type(x).__name__ for x in flat})
            raise WriteError(
                f"Cannot write variable {name!r}: an object array holding {kinds} has no "
                "zarr encoding here (only all-str or all-bytes); convert it to a fixed "
                "dtype first."
            )
    chunk_shape = tuple(max(1, s) for s in arr.shape)
    if arr.size == 0:
        meta = ArrayMetadata(arr.shape, arr.dtype, chunk_shape, codecs=codecs)
        return meta, ChunkManifest.empty(meta.grid_shape), arr
    if codecs:
        import numcodecs

        raw = bytes(numcodecs.get_codec(dict(codecs[0])).encode(arr))
    else:
        contiguous = np.ascontiguousarray(arr)
        raw = contiguous.tobytes()
        packed = _compressed(contiguous, raw) if compress else None
        if packed is not None:
            codecs, raw = (packed[0],), packed[1]
    meta = ArrayMetadata(arr.shape, arr.dtype, chunk_shape, codecs=codecs)
    grid = meta.grid_shape  # built from codes: ChunkManifest.from_refs fails on a 0-d grid
    manifest = ChunkManifest.from_codes(
        (),
        np.full(grid, ChunkManifest.INLINE, np.int8),
        np.zeros(grid, np.uint64),
        np.full(grid, len(raw), np.uint64),
        {0: raw},
    )
    return meta, manifest, arr


# -- the walk -------------------------------------------------------------------------------


@dataclass
class _Options:
    zarr_format: ZarrFormat
    missing_chunks: MissingChunks
    chunk_key_encoding: ChunkKeyEncoding
    compress_inline: bool = True


def _array_plan(path: str, var: Variable, opts: _Options) -> ArrayPlan:
    data = var.data
    values: np.ndarray | None = None
    array: ManifestArray | None = None
    if isinstance(data, ManifestArray):
        meta, manifest, array = data.metadata, data.manifest, data
    elif isinstance(data, np.ndarray):
        meta, manifest, values = in_memory_chunk(path, data, compress=opts.compress_inline)
    else:
        raise WriteError(
            f"Cannot write variable {path!r}: its data is a {type(data).__name__}, neither a "
            "ManifestArray nor a numpy array; load it or make it virtual first."
        )
    fill_chunk = None
    if opts.zarr_format == 2:
        zarray, zattrs, fill_chunk = array_documents_v2(
            path,
            meta,
            manifest,
            var.attrs,
            var.dims,
            virtual=array is not None,
            missing_chunks=opts.missing_chunks,
        )
        documents = {".zarray": zarray, ".zattrs": zattrs}
    else:
        doc = array_metadata_v3(
            meta, var.attrs, var.dims, name=path, chunk_key_encoding=opts.chunk_key_encoding
        )
        check_array_document(doc, 3, path)
        documents = {"zarr.json": doc}
    return ArrayPlan(
        path=path,
        dims=tuple(var.dims),
        attrs=dict(var.attrs),
        metadata=meta,
        manifest=manifest,
        documents=documents,
        chunk_key_encoding=opts.chunk_key_encoding,
        fill_chunk=fill_chunk,
        values=values,
        array=array,
    )


def _walk(group: ManifestGroup, path: str, out: StorePlan, opts: _Options) -> None:
    where = f"group {path!r}" if path else "the root group"
    try:
        group.dims  # noqa: B018  # validates that dimension lengths agree
    except ValueError as err:
        raise WriteError(f"Cannot write {where}: {err}; fix the dataset first.") from err
    base = f"{path}/" if path else ""
    attrs = json_attributes(group.attrs, where)
    if opts.zarr_format == 2:
        gdocs = {".zgroup": {"zarr_format": 2}, ".zattrs": attrs}
    else:
        gdocs = {"zarr.json": group_metadata_v3(attrs)}
    out.groups.append(GroupPlan(path, gdocs))
    out.metadata.update({f"{base}{k}": v for k, v in gdocs.items()})
    for name, var in group.variables.items():
        check_name(name, "variable", opts.zarr_format)
        if name in group.groups:
            raise WriteError(
                f"Cannot write {where}: {name!r} is both a variable and a child group; "
                "rename one of them."
            )
        arr = _array_plan(f"{base}{name}", var, opts)
        out.metadata.update({f"{arr.path}/{k}": v for k, v in arr.documents.items()})
        out.arrays.append(arr)
    for name, child in group.groups.items():
        check_name(name, "group", opts.zarr_format)
        _walk(child, f"{base}{name}", out, opts)


def plan(
    group: ManifestGroup,
    zarr_format: ZarrFormat = 2,
    *,
    missing_chunks: MissingChunks = "fill",
    chunk_key_encoding: ChunkKeyEncoding = "default",
    prefix: str = "",
    compress_inline: bool = True,
    allow_float64_decoding: bool = False,
) -> StorePlan:
    """Plan the zarr store of a ManifestGroup tree, making every check once.

    Parameters
    ----------
    group
        The root of the tree to write.
    zarr_format
        2 (``.zgroup``/``.zattrs``/``.zarray`` documents, ``i.j`` keys) or 3 (``zarr.json``
        documents; the root's carries the inline consolidated metadata of every node).
    missing_chunks
        Zarr format 2 only: what to do when a virtual array's missing chunks would read
        differently through zarr than in the source (see :mod:`vzcore.manifests.zarr_v2`):
        ``"fill"`` stores an encoded fill chunk for each, ``"error"`` raises WriteError.
        Zarr format 3 ``fill_value`` is the source's, so no fill chunk is ever needed.
    chunk_key_encoding
        Zarr format 3 only: ``"default"`` (``c/i/j`` keys) or ``"v2"`` (``i.j`` keys).
    prefix
        Path of the group the tree's root is written to (``""``: the store's root).
    compress_inline
        Compress in-memory variables' inline chunks where that pays (see
        :func:`in_memory_chunk`); False stores them raw, as earlier versions did.
    allow_float64_decoding
        Write packed variables whose ``float32`` (or other non-JSON) ``scale_factor`` /
        ``add_offset`` make xarray decode them to another dtype from the store than from
        their files (float64 instead of float32; see :mod:`vzcore.packed_dtypes`). Default
        False: refuse them with :class:`~vzcore.errors.DecodedDtypeError`.

    Returns
    -------
    StorePlan
        Documents, groups, per-array chunk references and the tree's source files.

    Raises
    ------
    vzcore.errors.WriteError
        A name, attribute, codec, dtype or fill value cannot be written in this format (the
        message says which).
    vzcore.errors.DecodedDtypeError
        Packed variables would decode to another dtype from the store (a WriteError).
    vzcore.errors.CombineError
        Zarr format 2 and an array with a rectilinear chunk grid.
    """
    if missing_chunks not in ("fill", "error"):
        raise ValueError(f"missing_chunks must be 'fill' or 'error', got {missing_chunks!r}")
    if isinstance(zarr_format, bool) or zarr_format not in (2, 3):
        raise ValueError(f"zarr_format must be 2 or 3, got {zarr_format!r}")
    if chunk_key_encoding not in ("default", "v2"):
        raise ValueError(
            f"chunk_key_encoding must be 'default' or 'v2', got {chunk_key_encoding!r}"
        )
    out = StorePlan(zarr_format=zarr_format, sources=group.sources())
    opts = _Options(zarr_format, missing_chunks, chunk_key_encoding, compress_inline)
    _walk(group, prefix, out, opts)
    check_packed_dtypes(out, allow_float64_decoding)
    if zarr_format == 3:
        # zarr-python's inline consolidated metadata: every node below the root, by path.
        base = f"{prefix}/" if prefix else ""
        below: dict[str, Any] = {}
        for key, doc in out.metadata.items():
            rel = key[len(base) : -len("/zarr.json")] if key.endswith("/zarr.json") else ""
            if rel and key.startswith(base):
                below[rel] = (
                    doc
                    if doc["node_type"] == "array"
                    else group_metadata_v3(doc["attributes"], consolidated={})
                )
        out.metadata[f"{base}zarr.json"] = group_metadata_v3(
            out.groups[0].documents["zarr.json"]["attributes"], consolidated=below
        )
    return out
