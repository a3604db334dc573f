"""Build kerchunk references (zarr v2 metadata plus chunk references) from a ManifestGroup.

This module is the part of the kerchunk writers that does not depend on the output
container: the JSON writer uses it now, and the Parquet writer and a reader of existing
references are meant to reuse it (the inverse helpers :func:`decode_fill_value` and
:func:`codecs_from_v2` are here for that reader). :func:`build_store_refs` walks the
tree once and returns a :class:`StoreRefs`: every metadata document (``.zgroup``,
``.zattrs``, ``<var>/.zarray``, ...) plus, per array, a :class:`ArrayRefs` that keeps the
chunk references *columnar* (the array's :class:`~vzcore.manifests.ChunkManifest`, whose
flat C-order index is also the order of Parquet record rows). Serialising the references
(dict entries, JSON text, Parquet columns) is left to each writer.

Conventions (zarr format 2, as xarray's zarr backend reads it):

* **Codecs.** ``ArrayMetadata.codecs`` is a tuple of numcodecs configurations in encoding
  order. It becomes ``filters = codecs[:-1]`` and ``compressor = codecs[-1]``; zarr applies
  the filters first and the compressor last when encoding, and the reverse when decoding,
  which is the same pipeline. When the last codec is not a bytes-to-bytes codec (an object
  codec such as ``vlen-utf8``, or an array filter such as ``delta``), every codec goes in
  ``filters`` and ``compressor`` is null. An empty filter list is written as null.
* **Fill value.** For zarr format 2 xarray turns ``.zarray``'s ``fill_value`` into
  ``_FillValue`` and masks it. So ``fill_value`` is the variable's CF ``_FillValue``
  attribute (moved out of ``.zattrs``), or null when there is none (zarr then reads missing
  chunks as zeros, ``""`` for strings). When a virtual array has missing chunks and its
  source fill value (``ArrayMetadata.fill_value``) differs from what zarr would return for
  them, each missing chunk is written as an inline chunk of fill values encoded with the
  array's codecs (``missing_chunks="fill"``), or a WriteError is raised
  (``missing_chunks="error"``).
* **In-memory variables** (numpy data) become one chunk holding the whole array, stored
  inline without compression (raw C-order bytes; object arrays of ``str`` through the
  ``vlen-utf8`` filter, of ``bytes`` through ``vlen-bytes``).
* **Keys.** ``<group path>/<var>/i.j.k`` with ``dimension_separator "."``; a scalar's only
  chunk is ``<var>/0``, as zarr format 2 names it.

``build_store_refs(..., zarr_format=3)`` plans the same store with Zarr format 3 metadata
(``zarr.json`` documents, ``c/i/j`` keys, no fill chunks): see :mod:`vz_kerchunk.refs_v3`.
"""

from __future__ import annotations

import base64
import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from vzcore.errors import WriteError
from vzcore.group import ManifestGroup, Variable, values_to_write
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray, SourceInfo
from vzcore.manifests.attributes import json_attributes
from vzcore.manifests.grid import refuse_rectilinear
from vzcore.manifests.zarr_compat import check_array_document, zarr_v2_dtype
from vzcore.manifests.zarr_v3 import encode_fill_value_v3

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from vzcore.manifests import CodecConfig

__all__ = [
    "ArrayRefs",
    "StoreRefs",
    "build_store_refs",
    "chunk_key_table",
    "codecs_from_v2",
    "decode_fill_value",
    "encode_fill_value",
    "v2_filters_compressor",
]

MissingChunks = Literal["fill", "error"]

OBJECT_CODECS = frozenset(
    {"vlen-utf8", "vlen-bytes", "vlen-array", "json2", "msgpack2", "json", "msgpack", "pickle"}
)
"""numcodecs ids that turn object arrays into bytes: zarr v2 needs them in ``filters``."""

ARRAY_FILTERS = frozenset(
    {"delta", "fixedscaleoffset", "quantize", "astype", "categorize", "packbits", "bitround"}
)
"""numcodecs ids of array-to-array filters, never written as a zarr v2 ``compressor``."""

MAX_FILL_BYTES = 16 * 2**20
"""Most bytes of encoded fill chunks stored for one array's missing chunks (16 MiB)."""

_FILL_ATTR = "_FillValue"
_DIMS_ATTR = "_ARRAY_DIMENSIONS"


# -- codecs ---------------------------------------------------------------------------------


def v2_filters_compressor(
    codecs: Sequence[CodecConfig],
) -> tuple[list[CodecConfig] | None, CodecConfig | None]:
    """Split a codec pipeline (encoding order) into zarr v2 ``filters`` and ``compressor``.

    Parameters
    ----------
    codecs
        numcodecs configurations in encoding order, as in ``ArrayMetadata.codecs``.

    Returns
    -------
    filters, compressor
        ``filters`` is None when empty; ``compressor`` is None when the pipeline is empty or
        ends with an object codec or an array filter.

    Examples
    --------
    >>> v2_filters_compressor(({"id": "shuffle", "elementsize": 4}, {"id": "zlib", "level": 4}))
    ([{'id': 'shuffle', 'elementsize': 4}], {'id': 'zlib', 'level': 4})
    """
    configs = [dict(c) for c in codecs]
    if not configs:
        return None, None
    last_id = configs[-1].get("id")
    if last_id in OBJECT_CODECS or last_id in ARRAY_FILTERS:
        return configs, None
    return (configs[:-1] or None), configs[-1]


def codecs_from_v2(
    filters: Sequence[CodecConfig] | None, compressor: CodecConfig | None
) -> tuple[CodecConfig, ...]:
    """Return the codec pipeline (encoding order) of zarr v2 ``filters`` and ``compressor``.

    The inverse of :func:`v2_filters_compressor`, for readers of references.
    """
    out = [dict(f) for f in filters or ()]
    if compressor is not None:
        out.append(dict(compressor))
    return tuple(out)


# -- fill values ----------------------------------------------------------------------------


def _v2_dtype(dtype: np.dtype[Any]) -> Any:
    """Return the zarr v2 ``dtype`` field: the type string, or a field list for records.

    Record fields are listed in byte order with explicit padding (see
    :func:`vzcore.manifests.zarr_compat.zarr_v2_dtype`).
    """
    return zarr_v2_dtype(dtype)


def _decode_float(x: Any) -> float:
    if isinstance(x, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[x]
    return float(x)


def encode_fill_value(value: Any, dtype: np.dtype[Any] | str) -> Any:
    """Return ``value`` as a zarr v2 ``fill_value`` (JSON) for ``dtype``.

    Floats are written as numbers or ``"NaN"``, ``"Infinity"``, ``"-Infinity"``; complex
    as ``[real, imag]``; bytes-like types (``S``, ``V``) base64-encoded; datetimes and
    timedeltas as their int64 count; ``None`` stays ``None``. A one-element list (how an
    attribute array arrives) is unwrapped.

    Raises
    ------
    ValueError
        When ``value`` cannot be represented in ``dtype`` (for integers: exactly).

    Examples
    --------
    >>> encode_fill_value(float("nan"), "<f4")
    'NaN'
    >>> encode_fill_value(-999.0, "<i2")
    -999
    """
    dt = np.dtype(dtype)
    if value is None:
        return None
    if dt.kind in "fiubcmM":  # numbers, booleans and times: the same JSON in zarr v2 and v3
        return encode_fill_value_v3(value, dt)
    v = value
    if isinstance(v, np.ndarray):
        v = v.tolist() if v.ndim else v.item()
    if isinstance(v, list | tuple):
        if len(v) != 1:
            raise ValueError(f"a fill value must be a single value, got {value!r}")
        v = v[0]
    if isinstance(v, np.generic):
        v = v.item()
    kind = dt.kind
    try:
        if kind in "SV":
            raw = v.encode("utf-8") if isinstance(v, str) else bytes(v)
            if kind == "S" and dt.itemsize and len(raw) > dt.itemsize:
                raise ValueError(f"{raw!r} is longer than {dt}")
            return base64.standard_b64encode(raw).decode("ascii")
        if kind == "U":
            s = v.decode("utf-8") if isinstance(v, bytes) else str(v)
            if dt.itemsize and len(s) > dt.itemsize // 4:
                raise ValueError(f"{s!r} is longer than {dt}")
            return s
        if kind == "O":
            if isinstance(v, str):
                return v
            raise ValueError(f"{v!r} is not a string")
    except (TypeError, OverflowError, FloatingPointError, KeyError) as err:
        raise ValueError(f"cannot represent {value!r} as {dt}: {err}") from err
    raise ValueError(f"fill values of dtype {dt} are not supported")


def decode_fill_value(data: Any, dtype: np.dtype[Any] | str) -> Any:
    """Return the value a zarr v2 ``fill_value`` (JSON) stands for, as a numpy scalar.

    The inverse of :func:`encode_fill_value`, for readers of references. ``None`` stays
    ``None``; object dtypes give a Python ``str``.
    """
    dt = np.dtype(dtype)
    if data is None:
        return None
    kind = dt.kind
    if kind == "f":
        return dt.type(_decode_float(data))
    if kind == "c":
        return dt.type(complex(_decode_float(data[0]), _decode_float(data[1])))
    if kind in "mM":
        return np.array(int(data), "i8").view(dt.newbyteorder("="))[()]
    if kind in "SV":
        return np.array(base64.standard_b64decode(data), dtype=dt)[()]
    if kind == "O":
        return str(data)
    return np.array(data, dtype=dt)[()]


def _zero(dtype: np.dtype[Any], codecs: Sequence[CodecConfig]) -> Any:
    """Return what zarr reads for a missing chunk when ``fill_value`` is null."""
    if dtype.kind == "O":
        return b"" if any(c.get("id") == "vlen-bytes" for c in codecs) else ""
    return np.zeros((), dtype)[()]


def _element(value: Any, dtype: np.dtype[Any]) -> np.ndarray:
    """Return ``value`` as a 0-d array of ``dtype``; compound values may be raw bytes."""
    if dtype.fields is not None and isinstance(value, bytes):
        return np.frombuffer(value, dtype=dtype).reshape(())  # as vz-hdf5 records them
    return np.array(value, dtype=dtype)


def _same_value(a: Any, b: Any, dtype: np.dtype[Any]) -> bool:
    """Compare two fill values as elements of ``dtype`` (NaN equals NaN)."""
    if dtype.kind == "O":
        return bool(type(a) is type(b) and a == b)
    try:
        x, y = _element(a, dtype), _element(b, dtype)
    except (TypeError, ValueError, OverflowError):
        return False
    if dtype.kind in "fc":
        return bool(np.array_equal(x, y, equal_nan=True))
    return x.tobytes() == y.tobytes()


# -- chunk keys -----------------------------------------------------------------------------


def chunk_key_table(grid_shape: Sequence[int], prefix: str = "", sep: str = ".") -> NDArray[Any]:
    """Return the zarr v2 keys of every chunk of a grid, flat in C order.

    Built as an outer product of per-axis labels with numpy string operations (no Python
    loop per chunk): ~0.07 s for a million chunks.

    Parameters
    ----------
    grid_shape
        Number of chunks along each axis; ``()`` for a scalar, whose only key is ``"0"``.
    prefix
        Prepended to every key, e.g. ``"group/var/"``.
    sep
        The ``dimension_separator``.

    Returns
    -------
    numpy.ndarray
        1-D array of ``StringDType`` with ``prod(grid_shape)`` keys.

    Examples
    --------
    >>> chunk_key_table((2, 2), "t/").tolist()
    ['t/0.0', 't/0.1', 't/1.0', 't/1.1']
    """
    from numpy.dtypes import StringDType

    sdt = StringDType()
    shape = tuple(int(s) for s in grid_shape)
    if not shape:
        return np.array([prefix + "0"], dtype=sdt)
    if 0 in shape:
        return np.array([], dtype=sdt)
    keys = np.array([f"{prefix}{i}" for i in range(shape[0])], dtype=sdt)
    for n in shape[1:]:
        labels = np.array([f"{sep}{i}" for i in range(n)], dtype=sdt)
        keys = np.strings.add(keys[:, None], labels[None, :]).ravel()
    return keys


# -- the reference plan ---------------------------------------------------------------------


@dataclass(frozen=True)
class ArrayRefs:
    """The chunk references of one array, kept columnar.

    Attributes are the zarr path, the metadata documents and the manifest; serialising
    them (dict entries, JSON text, Parquet rows) is the writer's job.
    """

    path: str
    """Zarr path of the array inside the store, e.g. ``"group/var"``."""
    zarray: dict[str, Any]
    """The ``.zarray`` document."""
    zattrs: dict[str, Any]
    """The ``.zattrs`` document (``_ARRAY_DIMENSIONS`` included, ``_FillValue`` moved out)."""
    manifest: ChunkManifest
    """Where each chunk lives (paths are absolute URLs); flat C order is the key order."""
    fill_chunk: bytes | None = None
    """Encoded chunk to store at every missing chunk, or None to leave them missing."""
    zarr_json: dict[str, Any] | None = None
    """The ``zarr.json`` document of a zarr format 3 store (then ``zarray`` and ``zattrs``
    are empty, and chunk keys are ``c/i/j``); None for zarr format 2."""

    @property
    def zarr_format(self) -> int:
        """2 or 3: the format of this array's metadata (and of its chunk keys)."""
        return 2 if self.zarr_json is None else 3

    @property
    def grid_shape(self) -> tuple[int, ...]:
        """Shape of the chunk grid."""
        return self.manifest.grid_shape

    def keys(self, prefix: str | None = None) -> NDArray[Any]:
        """Return the keys of every chunk, flat in C order (see :func:`chunk_key_table`).

        ``prefix`` replaces ``path + "/"`` (e.g. a JSON-escaped form of it). Zarr format 3
        arrays have ``c/i/j`` keys (``c`` for a scalar) after the prefix.
        """
        base = f"{self.path}/" if prefix is None else prefix
        if self.zarr_json is not None:
            from vz_kerchunk.refs_v3 import chunk_key_table_v3

            encoding = self.zarr_json["chunk_key_encoding"]["name"]
            return chunk_key_table_v3(self.grid_shape, base, encoding)
        return chunk_key_table(self.grid_shape, base)

    def url_counts(self) -> NDArray[np.int64]:
        """Return the number of chunk references to each entry of ``manifest.paths``."""
        pi = self.manifest.path_index.ravel()
        n = len(self.manifest.paths)
        return np.bincount(pi[pi < n].astype(np.intp), minlength=n).astype(np.int64)


@dataclass(frozen=True)
class StoreRefs:
    """Everything a zarr reference store holds: metadata documents and chunk references."""

    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Metadata documents by key (``.zgroup``, ``.zattrs``, ``var/.zarray``, ...; for zarr
    format 3 ``zarr.json``, ``var/zarr.json``, ...), parents first; ``.zmetadata`` is not
    included (see :meth:`consolidated`)."""
    arrays: list[ArrayRefs] = field(default_factory=list)
    """Chunk references of every array, in the order of :attr:`metadata`."""
    zarr_format: int = 2
    """2 or 3: the format of the metadata documents. Format 3 stores carry their
    consolidated metadata inside the root ``zarr.json``."""
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
        documents (the form fsspec's Parquet reference layout keeps its metadata in);
        zarr-python itself reads the consolidated metadata of the root ``zarr.json``.
        """
        return {"metadata": dict(self.metadata), "zarr_consolidated_format": 1}

    def url_counts(self) -> dict[str, int]:
        """Return the number of chunk references to each URL, over all arrays."""
        counts: dict[str, int] = {}
        for arr in self.arrays:
            for url, n in zip(arr.manifest.paths, arr.url_counts().tolist(), strict=True):
                counts[url] = counts.get(url, 0) + n
        return counts

    @property
    def nchunks(self) -> int:
        """Number of chunk entries the references will hold (stored, inline and filled)."""
        total = 0
        for arr in self.arrays:
            m = arr.manifest
            total += m.nchunks if arr.fill_chunk is not None else m.nchunks - int(
                np.count_nonzero(m.missing())
            )
        return total


def _check_name(name: str, where: str) -> None:
    from vzcore.names import validate_name

    validate_name(name, where, WriteError)  # no '..', '/', '\\', control characters
    if name.startswith(".z"):
        raise WriteError(
            f"Cannot write {where} {name!r}: zarr names must not start with '.z' (zarr's own "
            "metadata keys); rename it before writing."
        )


def _in_memory(name: str, data: np.ndarray) -> tuple[ArrayMetadata, ChunkManifest]:
    """Describe in-memory values as one uncompressed inline chunk holding the whole array."""
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
                "zarr v2 encoding here (only all-str or all-bytes); convert it to a fixed "
                "dtype first."
            )
    chunk_shape = tuple(max(1, s) for s in arr.shape)
    meta = ArrayMetadata(shape=arr.shape, dtype=arr.dtype, chunk_shape=chunk_shape, codecs=codecs)
    if arr.size == 0:
        return meta, ChunkManifest.empty(meta.grid_shape)
    if codecs:
        import numcodecs

        raw = bytes(numcodecs.get_codec(dict(codecs[0])).encode(arr))
    else:
        raw = np.ascontiguousarray(arr).tobytes()
    # Built directly: ChunkManifest.from_refs fails on the 0-d grid of a scalar.
    grid = meta.grid_shape
    manifest = ChunkManifest.from_codes(
        (),
        np.full(grid, ChunkManifest.INLINE, np.int8),
        np.zeros(grid, np.uint64),
        np.full(grid, len(raw), np.uint64),
        {0: raw},
    )
    return meta, manifest


def _encode_fill_chunk(name: str, meta: ArrayMetadata, fill: Any) -> bytes:
    """Encode a whole chunk of ``fill`` with the array's codecs (and check it decodes back)."""
    import numcodecs
    from vzcore.manifests.loading import decode_chunk

    if meta.dtype.kind == "O":
        chunk: Any = np.empty(meta.chunk_shape, dtype=object)
        chunk[...] = fill
    else:
        chunk = np.empty(meta.chunk_shape, dtype=meta.dtype)
        chunk[...] = _element(fill, meta.dtype)
    buf: Any = chunk
    for config in meta.codecs:
        try:
            buf = numcodecs.get_codec(dict(config)).encode(buf)
        except Exception as err:  # any codec failure (unknown id, decode-only codec) is ours to report
            raise WriteError(
                f"Cannot write variable {name!r}: its missing chunks must read as "
                f"{fill!r}, which needs a chunk encoded with codec {config.get('id')!r}, and "
                f"encoding failed ({type(err).__name__}: {err}). Load the variable instead."
            ) from err
    raw = buf.tobytes() if isinstance(buf, np.ndarray) else bytes(memoryview(buf).cast("B"))
    back = decode_chunk(raw, meta, "<fill chunk>")
    same = (
        all(x == fill for x in back.ravel().tolist())
        if meta.dtype.kind == "O"
        else np.array_equal(back, chunk, equal_nan=meta.dtype.kind in "fc")
    )
    if not same:  # pragma: no cover - a codec that does not round-trip
        raise WriteError(
            f"Cannot write variable {name!r}: its fill chunk does not survive its codecs "
            f"{list(meta.codecs)}; load the variable instead."
        )
    return raw


def _fill_rule(meta: ArrayMetadata, attrs: dict[str, Any]) -> tuple[Any, dict[str, Any], Any]:
    """Apply the fill-value rule: return ``(fill_value JSON, attrs, value of missing chunks)``."""
    if _FILL_ATTR not in attrs:
        return None, attrs, _zero(meta.dtype, meta.codecs)
    try:
        fill_json = encode_fill_value(attrs[_FILL_ATTR], meta.dtype)
    except ValueError:
        # The attribute cannot be zarr's fill_value (wrong type or range for the dtype):
        # keep it in .zattrs, where xarray's CF decoding still masks with it.
        return None, attrs, _zero(meta.dtype, meta.codecs)
    if fill_json is None:
        return None, {k: v for k, v in attrs.items() if k != _FILL_ATTR}, _zero(
            meta.dtype, meta.codecs
        )
    out = {k: v for k, v in attrs.items() if k != _FILL_ATTR}
    return fill_json, out, decode_fill_value(fill_json, meta.dtype)


def _array_refs(
    path: str, var: Variable, missing_chunks: MissingChunks
) -> ArrayRefs:
    data = var.data
    if isinstance(data, ManifestArray):
        meta, manifest, virtual = data.metadata, data.manifest, True
    elif isinstance(data, np.ndarray):
        meta, manifest = _in_memory(path, data)
        virtual = False
    else:
        raise WriteError(
            f"Cannot write variable {path!r}: its data is a {type(data).__name__}, neither a "
            "ManifestArray nor a numpy array; load it or make it virtual first."
        )
    refuse_rectilinear(meta, path, "zarr format 2 references (kerchunk JSON or Parquet)")
    attrs = json_attributes(var.attrs, f"variable {path!r}")
    fill_json, attrs, zarr_missing = _fill_rule(meta, attrs)
    fill_chunk = None
    if virtual and manifest.nchunks:
        n_missing = int(np.count_nonzero(manifest.missing()))
        source = meta.fill_value if meta.fill_value is not None else _zero(meta.dtype, meta.codecs)
        if n_missing and not _same_value(source, zarr_missing, meta.dtype):
            if missing_chunks == "error":
                raise WriteError(
                    f"Cannot write variable {path!r}: {n_missing} of its chunks are missing and "
                    f"read as {source!r} in the source, but zarr would read them as "
                    f"{zarr_missing!r} (fill_value follows the _FillValue attribute, "
                    f"{var.attrs.get(_FILL_ATTR, 'absent')!r}). Pass missing_chunks='fill' to "
                    "store encoded fill chunks for them."
                )
            fill_chunk = _encode_fill_chunk(path, meta, source)
            if len(fill_chunk) * n_missing > MAX_FILL_BYTES:
                raise WriteError(
                    f"Cannot write variable {path!r}: {n_missing} of its chunks are missing and "
                    f"must read as {source!r}, but storing them as encoded fill chunks would "
                    f"take {len(fill_chunk) * n_missing} bytes (more than {MAX_FILL_BYTES}); "
                    "drop or load the variable, or give it a _FillValue attribute equal to "
                    f"{source!r} if masking those values is acceptable."
                )
    filters, compressor = v2_filters_compressor(meta.codecs)
    try:
        dtype_json = _v2_dtype(meta.dtype)
    except ValueError as err:
        raise WriteError(
            f"Cannot write variable {path!r}: {err}; zarr cannot read this dtype, so leave the "
            f"variable out (ds.drop_vars([{path.rsplit('/', 1)[-1]!r}]) or drop_variables=[...] "
            "when opening the file)."
        ) from None
    zarray = {
        "zarr_format": 2,
        "shape": list(meta.shape),
        "chunks": list(meta.chunk_shape),
        "dtype": dtype_json,
        "compressor": compressor,
        "fill_value": fill_json,
        "order": "C",
        "filters": filters,
        "dimension_separator": ".",
    }
    check_array_document(zarray, 2, path)
    attrs[_DIMS_ATTR] = list(var.dims)
    return ArrayRefs(path=path, zarray=zarray, zattrs=attrs, manifest=manifest, fill_chunk=fill_chunk)


def _walk(
    group: ManifestGroup, prefix: str, out: StoreRefs, missing_chunks: MissingChunks
) -> None:
    where = f"group {prefix!r}" if prefix else "the root group"
    try:
        group.dims  # noqa: B018  # validates that dimension lengths agree
    except ValueError as err:
        raise WriteError(f"Cannot write {where}: {err}; fix the dataset first.") from err
    base = f"{prefix}/" if prefix else ""
    out.metadata[f"{base}.zgroup"] = {"zarr_format": 2}
    out.metadata[f"{base}.zattrs"] = json_attributes(group.attrs, where)
    for name, var in group.variables.items():
        _check_name(name, "variable")
        if name in group.groups:
            raise WriteError(
                f"Cannot write {where}: {name!r} is both a variable and a child group; "
                "rename one of them."
            )
        arr = _array_refs(f"{base}{name}", var, missing_chunks)
        out.metadata[f"{arr.path}/.zarray"] = arr.zarray
        out.metadata[f"{arr.path}/.zattrs"] = arr.zattrs
        out.arrays.append(arr)
    for name, child in group.groups.items():
        _check_name(name, "group")
        _walk(child, f"{base}{name}", out, missing_chunks)


def build_store_refs(
    group: ManifestGroup,
    *,
    missing_chunks: MissingChunks = "fill",
    zarr_format: Literal[2, 3] = 2,
) -> StoreRefs:
    """Plan the zarr reference store of a ManifestGroup tree.

    Parameters
    ----------
    group
        The root of the tree to write.
    missing_chunks
        What to do when a virtual array's missing chunks would read differently through
        zarr than in the source (see the module docstring): ``"fill"`` stores an encoded
        fill chunk for each, ``"error"`` raises WriteError. Zarr format 3 stores never
        need fill chunks (their ``fill_value`` is the source's), so it is ignored there.
    zarr_format
        2 (``.zarray``/``.zattrs``/``.zgroup`` documents) or 3 (``zarr.json`` documents,
        see :mod:`vz_kerchunk.refs_v3`).

    Returns
    -------
    StoreRefs
        Metadata documents and per-array chunk references.

    Raises
    ------
    vzcore.errors.WriteError
        A name, attribute or variable cannot be represented (the message says which).
    """
    if missing_chunks not in ("fill", "error"):
        raise ValueError(f"missing_chunks must be 'fill' or 'error', got {missing_chunks!r}")
    if zarr_format == 3:
        from vz_kerchunk.refs_v3 import build_store_refs_v3

        return dataclasses.replace(build_store_refs_v3(group), sources=group.sources())
    if zarr_format != 2:
        raise ValueError(f"zarr_format must be 2 or 3, got {zarr_format!r}")
    out = StoreRefs(sources=group.sources())
    _walk(group, "", out, missing_chunks)
    return out


def iter_missing(arr: ArrayRefs) -> Iterator[int]:
    """Yield flat C-order indexes of the missing chunks of ``arr`` (for fill chunks)."""
    yield from np.flatnonzero(arr.manifest.path_index.ravel() == arr.manifest.missing_code).tolist()
