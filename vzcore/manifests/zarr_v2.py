"""Zarr format 2 metadata documents (``.zarray``, ``.zattrs``) for virtual arrays, and the inverse.

The zarr v2 half of the output model that every writer of kerchunk references shares (the
zarr v3 half is :mod:`vzcore.manifests.zarr_v3`); :func:`array_documents_v2` is what
:func:`vzcore.store_plan.plan` calls for ``zarr_format=2``. Conventions (as xarray's zarr
backend reads format 2):

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
* **Keys.** ``<group path>/<var>/i.j.k`` with ``dimension_separator "."``; a scalar's only
  chunk is ``<var>/0``, as zarr format 2 names it (:func:`vzcore.manifests.chunk_keys.chunk_key_table`).

:func:`codecs_from_v2` and :func:`decode_fill_value` invert the conventions for readers of
references.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vzcore.errors import WriteError
from vzcore.manifests.attributes import json_attributes
from vzcore.manifests.codec_kinds import ARRAY_FILTERS, OBJECT_CODECS
from vzcore.manifests.grid import refuse_rectilinear
from vzcore.manifests.zarr_compat import check_array_document, zarr_v2_dtype
from vzcore.manifests.zarr_v3 import encode_fill_value_v3
from vzcore.manifests.zarr_v3.fill_values import _scalar

if TYPE_CHECKING:
    from vzcore.manifests.manifest import ChunkManifest
    from vzcore.manifests.metadata import ArrayMetadata, CodecConfig

__all__ = [
    "MAX_FILL_BYTES",
    "MissingChunks",
    "array_documents_v2",
    "codecs_from_v2",
    "decode_fill_value",
    "encode_fill_value",
    "v2_filters_compressor",
]

MissingChunks = Literal["fill", "error"]

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


def _decode_float(x: Any) -> float:
    if isinstance(x, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[x]
    return float(x)


def encode_fill_value(value: Any, dtype: np.dtype[Any] | str) -> Any:
    """Return ``value`` as a zarr v2 ``fill_value`` (JSON) for ``dtype``.

    Numbers, booleans, datetimes and timedeltas are written as zarr v3 writes them (see
    :func:`~vzcore.manifests.zarr_v3.encode_fill_value_v3`); bytes-like types (``S``,
    ``V``) base64-encoded without padding to the item size; strings as they are; ``None``
    stays ``None``. A one-element list (how an attribute array arrives) is unwrapped.

    Raises
    ------
    ValueError
        When ``value`` cannot be represented in ``dtype`` (for integers: exactly).

    Examples
    --------
    >>> encode_fill_value(b"ab", "S4")
    'YWI='
    """
    dt = np.dtype(dtype)
    if value is None:
        return None
    if dt.kind in "fiubcmM":  # numbers, booleans and times: the same JSON in zarr v2 and v3
        return encode_fill_value_v3(value, dt)
    v = _scalar(value)
    if isinstance(v, list | tuple) and len(v) != 1:
        raise ValueError(f"a fill value must be a single value, got {value!r}")
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


# -- fill chunks ----------------------------------------------------------------------------


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
        except (
            Exception
        ) as err:  # any codec failure (unknown id, decode-only codec) is ours to report
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
    out = {k: v for k, v in attrs.items() if k != _FILL_ATTR}
    if fill_json is None:
        return None, out, _zero(meta.dtype, meta.codecs)
    return fill_json, out, decode_fill_value(fill_json, meta.dtype)


def _fill_chunk(
    path: str,
    meta: ArrayMetadata,
    manifest: ChunkManifest,
    zarr_missing: Any,
    fill_attr: Any,
    missing_chunks: MissingChunks,
) -> bytes | None:
    """Return the encoded chunk to store at every missing chunk, or None when none is needed."""
    if not manifest.nchunks:
        return None
    n_missing = int(np.count_nonzero(manifest.missing()))
    source = meta.fill_value if meta.fill_value is not None else _zero(meta.dtype, meta.codecs)
    if not n_missing or _same_value(source, zarr_missing, meta.dtype):
        return None
    if missing_chunks == "error":
        raise WriteError(
            f"Cannot write variable {path!r}: {n_missing} of its chunks are missing and "
            f"read as {source!r} in the source, but zarr would read them as "
            f"{zarr_missing!r} (fill_value follows the _FillValue attribute, "
            f"{fill_attr!r}). Pass missing_chunks='fill' to store encoded fill chunks for them."
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
    return fill_chunk


def array_documents_v2(
    path: str,
    meta: ArrayMetadata,
    manifest: ChunkManifest,
    attrs: Mapping[str, Any],
    dims: Sequence[str],
    *,
    virtual: bool = True,
    missing_chunks: MissingChunks = "fill",
) -> tuple[dict[str, Any], dict[str, Any], bytes | None]:
    """Return the ``.zarray`` and ``.zattrs`` documents of an array, and its fill chunk.

    Parameters
    ----------
    path
        The array's zarr path, for messages.
    meta, manifest
        The array's metadata and chunk references.
    attrs
        Its attributes (``_FillValue`` becomes ``fill_value``, see the module docstring).
    dims
        Its dimension names (``_ARRAY_DIMENSIONS``).
    virtual
        False for values held in memory (they have no missing chunks to fill).
    missing_chunks
        ``"fill"`` or ``"error"`` (see the module docstring).

    Returns
    -------
    zarray, zattrs, fill_chunk
        ``fill_chunk`` is the encoded chunk to store at every missing chunk, or None.

    Raises
    ------
    vzcore.errors.WriteError
        An attribute, the dtype, or a needed fill chunk cannot be written.
    vzcore.errors.CombineError
        The array has a rectilinear chunk grid, which zarr v2 cannot hold.
    """
    refuse_rectilinear(meta, path, "zarr format 2 references (kerchunk JSON or Parquet)")
    # _FillValue first: a value of the variable's type (bytes too), not JSON text.
    fill_json, zattrs, zarr_missing = _fill_rule(meta, dict(attrs))
    zattrs = json_attributes(zattrs, f"variable {path!r}")
    fill_chunk = None
    if virtual:
        fill_chunk = _fill_chunk(
            path, meta, manifest, zarr_missing, attrs.get(_FILL_ATTR, "absent"), missing_chunks
        )
    filters, compressor = v2_filters_compressor(meta.codecs)
    try:
        dtype_json = zarr_v2_dtype(meta.dtype)
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
    zattrs[_DIMS_ATTR] = list(dims)
    return zarray, zattrs, fill_chunk
