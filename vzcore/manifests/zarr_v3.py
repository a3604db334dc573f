"""Zarr format 3 metadata documents (``zarr.json``) for virtual arrays and groups.

This is the output data model that every Zarr v3 writer shares (kerchunk references with
v3 metadata, Icechunk): plain JSON dicts, built without importing zarr, that zarr-python 3
reads natively (no v2 to v3 translation, no extra codec registration).

Conventions
-----------
* **Codecs.** :func:`v3_codecs` turns ``ArrayMetadata.codecs`` (numcodecs configurations in
  encoding order) into a v3 pipeline: array-to-array filters, then one array-to-bytes codec
  (``bytes`` with the dtype's byte order, ``vlen-utf8`` / ``vlen-bytes`` for
  variable-length strings, or a numcodecs serializer such as ``pcodec``), then the
  bytes-to-bytes codecs. Codecs of the v3 specification are used where one decodes the
  same bytes (``gzip``, ``zstd``, ``blosc``, ``crc32c``); every other numcodecs codec keeps
  its configuration under the name ``numcodecs.<id>``, which zarr-python 3 registers
  itself. Note that v3 ``gzip`` is the gzip container: numcodecs ``zlib`` (HDF5 deflate)
  is ``numcodecs.zlib``, not ``gzip``. Codecs without a zarr v3 codec (``imagecodecs_*``,
  ``categorize``, ``vlen-array``, ``json2``, ...) raise :class:`~vzcore.errors.WriteError`.
* **Data types.** Numbers and ``bool`` by name (``int16``, ``float32``, ...), the byte
  order going to the ``bytes`` codec. zarr-python's extension types cover the rest:
  ``numpy.datetime64`` / ``numpy.timedelta64``, ``null_terminated_bytes`` (numpy ``S``),
  ``raw_bytes`` (``V``), ``fixed_length_utf32`` (``U``), ``string`` (object arrays through
  ``vlen-utf8``), ``variable_length_bytes`` (``vlen-bytes``) and ``struct`` (compound
  types whose fields are packed, in offset order, of one byte order).
* **Fill value.** Zarr v3 requires one, and xarray does *not* treat a format 3 array's
  ``fill_value`` as ``_FillValue``. So ``fill_value`` is what missing chunks read as
  (``ArrayMetadata.fill_value``, the source's own fill value, else zero / ``""``), encoded
  as the v3 specification says (``"NaN"``, ``"Infinity"``, ``[re, im]``, base64 bytes,
  ...). The CF ``_FillValue`` attribute stays in ``attributes`` for xarray's CF decoding,
  in the form xarray's zarr backend expects for format 3 (floats as base64 of a
  little-endian float64, ...; see :func:`encode_fill_value_attribute`).
* **Chunk keys.** The ``default`` chunk key encoding with separator ``"/"`` (``c/0/1``;
  a scalar's only chunk is ``c``), which is the specification's default and what
  zarr-python and Icechunk write. ``chunk_key_encoding="v2"`` gives ``0.1`` keys (``0``
  for a scalar) for outputs whose readers parse v2-style keys (fsspec's Parquet
  ``LazyReferenceMapper`` does).

Reading back
------------
:func:`array_metadata_from_v3` (with :func:`numpy_dtype_from_v3`, :func:`codecs_from_v3`,
:func:`decode_fill_value_v3`, :func:`decode_fill_value_attribute` and
:func:`chunk_key_encoding_from_v3`) inverts these conventions for readers of ``zarr.json``
documents, so that ``array_metadata_v3(*array_metadata_from_v3(doc))`` is ``doc`` again,
and also reads what zarr-python 3 writes. A ``fill_value`` equal to the dtype's zero (or
``""``) becomes ``ArrayMetadata.fill_value = None``, which means the same thing.
"""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vzcore.errors import WriteError
from vzcore.manifests.attributes import json_attributes

if TYPE_CHECKING:
    from vzcore.manifests.metadata import ArrayMetadata, CodecConfig

__all__ = [
    "ChunkKeyEncoding",
    "array_metadata_from_v3",
    "array_metadata_v3",
    "chunk_key",
    "chunk_key_encoding_from_v3",
    "codecs_from_v3",
    "decode_fill_value_attribute",
    "decode_fill_value_v3",
    "encode_fill_value_attribute",
    "encode_fill_value_v3",
    "group_attributes_from_v3",
    "group_metadata_v3",
    "numpy_dtype_from_v3",
    "storage_fill_value",
    "v3_codecs",
    "v3_data_type",
]

ChunkKeyEncoding = Literal["default", "v2"]

FILL_ATTR = "_FillValue"

SERIALIZERS = frozenset({"vlen-utf8", "vlen-bytes", "pcodec", "zfpy"})
"""numcodecs ids that take the place of the v3 ``bytes`` codec (array to bytes)."""

ARRAY_FILTERS = frozenset({"delta", "fixedscaleoffset", "quantize", "astype", "bitround", "packbits"})
"""numcodecs array-to-array filters that zarr-python 3 has as ``numcodecs.<id>``."""

BYTES_CODECS = frozenset(
    {
        "zlib",
        "gzip",
        "bz2",
        "lzma",
        "lz4",
        "zstd",
        "blosc",
        "shuffle",
        "fletcher32",
        "crc32",
        "crc32c",
        "adler32",
        "jenkins_lookup3",
    }
)
"""numcodecs bytes-to-bytes codecs that zarr-python 3 decodes (built in or ``numcodecs.<id>``)."""

_BLOSC_SHUFFLE = {0: "noshuffle", 1: "shuffle", 2: "bitshuffle"}
_KIND_NAMES = {"i": "int", "u": "uint", "f": "float"}


def _where(name: str | None) -> str:
    return f"variable {name!r}" if name else "an array"


# -- data types ---------------------------------------------------------------------------


def _byte_order(dtype: np.dtype[Any]) -> str | None:
    """Return ``"little"``/``"big"`` for multi-byte types, None where order is moot."""
    if dtype.fields is not None:
        orders = {_byte_order(dtype.fields[f][0]) for f in dtype.names or ()} - {None}
        if len(orders) > 1:
            raise ValueError("its fields mix little- and big-endian types")
        return orders.pop() if orders else None
    if dtype.kind in "SVbO" or dtype.itemsize == 1:
        return None
    if dtype.byteorder == "=":
        return "little" if np.little_endian else "big"
    return "big" if dtype.byteorder == ">" else "little"


def v3_data_type(dtype: np.dtype[Any] | str, *, codecs: Sequence[Mapping[str, Any]] = ()) -> Any:
    """Return the zarr v3 ``data_type`` of a numpy dtype (a name, or a name + configuration).

    Parameters
    ----------
    dtype
        The element type as stored (its byte order does not matter here).
    codecs
        The numcodecs pipeline: an ``object`` dtype is ``string`` with ``vlen-utf8`` and
        ``variable_length_bytes`` with ``vlen-bytes``.

    Raises
    ------
    ValueError
        For types zarr-python 3 has no data type for (the message says why).

    Examples
    --------
    >>> v3_data_type(">f4")
    'float32'
    >>> v3_data_type("M8[s]")
    {'name': 'numpy.datetime64', 'configuration': {'unit': 's', 'scale_factor': 1}}
    """
    dt = np.dtype(dtype)
    if dt.subdtype is not None:
        raise ValueError(f"sub-array element types ({dt}) have no zarr v3 data type")
    kind = dt.kind
    if dt.fields is not None:
        fields = []
        offset = 0
        for fname in dt.names or ():
            fdt, foffset = dt.fields[fname][:2]
            if foffset != offset:
                raise ValueError(
                    f"compound type {dt} has padding or reordered fields (field {fname!r} "
                    f"at byte {foffset}, expected {offset}); zarr v3 structs are packed"
                )
            if fdt.fields is not None or fdt.subdtype is not None:
                raise ValueError(f"field {fname!r} of {dt} is itself a compound or array type")
            fields.append({"name": fname, "data_type": v3_data_type(fdt)})
            offset += fdt.itemsize
        if offset != dt.itemsize:
            raise ValueError(f"compound type {dt} has {dt.itemsize - offset} trailing pad bytes")
        _byte_order(dt)
        return {"name": "struct", "configuration": {"fields": fields}}
    if kind == "b":
        return "bool"
    if kind in "iuf":
        return f"{_KIND_NAMES[kind]}{dt.itemsize * 8}"
    if kind == "c":
        return f"complex{dt.itemsize * 8}"
    if kind in "mM":
        unit, count = np.datetime_data(dt)
        if unit == "generic":
            raise ValueError(f"{dt} has no time unit")
        name = "numpy.datetime64" if kind == "M" else "numpy.timedelta64"
        return {"name": name, "configuration": {"unit": unit, "scale_factor": int(count)}}
    if kind == "S":
        if not dt.itemsize:
            raise ValueError("zero-length byte strings (S0) have no zarr v3 data type")
        return {"name": "null_terminated_bytes", "configuration": {"length_bytes": dt.itemsize}}
    if kind == "V":
        if not dt.itemsize:
            raise ValueError("zero-length opaque types (V0) have no zarr v3 data type")
        return {"name": "raw_bytes", "configuration": {"length_bytes": dt.itemsize}}
    if kind == "U":
        if not dt.itemsize:
            raise ValueError("zero-length unicode strings (U0) have no zarr v3 data type")
        return {"name": "fixed_length_utf32", "configuration": {"length_bytes": dt.itemsize}}
    if kind == "O":
        ids = [c.get("id") for c in codecs]
        if "vlen-utf8" in ids:
            return "string"
        if "vlen-bytes" in ids:
            return "variable_length_bytes"
        raise ValueError(
            "object arrays need a vlen-utf8 or vlen-bytes codec to have a zarr v3 data type"
        )
    raise ValueError(f"numpy dtype {dt} has no zarr v3 data type")


# -- fill values --------------------------------------------------------------------------


def _float_json(x: float) -> float | str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def _scalar(value: Any) -> Any:
    """Unwrap numpy scalars, 0-d arrays and one-element lists (how attributes arrive)."""
    v = value
    if isinstance(v, np.ndarray):
        v = v.tolist() if v.ndim else v.item()
    if isinstance(v, list | tuple) and len(v) == 1:
        v = v[0]
    if isinstance(v, np.generic):
        v = v.item()
    return v


def _to_float(v: Any) -> float:
    if isinstance(v, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v]
    return float(v)


def storage_fill_value(meta: ArrayMetadata) -> Any:
    """Return what the missing chunks of ``meta`` read as (its fill value, else zero/empty)."""
    if meta.fill_value is not None:
        return meta.fill_value
    dt = meta.dtype
    if dt.kind == "O":
        return b"" if any(c.get("id") == "vlen-bytes" for c in meta.codecs) else ""
    return np.zeros((), dt)[()]


def encode_fill_value_v3(
    value: Any, dtype: np.dtype[Any] | str, *, codecs: Sequence[Mapping[str, Any]] = ()
) -> Any:
    """Return ``value`` as the ``fill_value`` of a zarr v3 array of ``dtype`` (JSON).

    Floats are numbers or ``"NaN"``/``"Infinity"``/``"-Infinity"``, complex ``[re, im]``,
    datetimes and timedeltas their int64 count (NaT is the int64 minimum), fixed-size and
    variable-length bytes base64, strings themselves, structs ``{field: value}``.

    Raises
    ------
    ValueError
        When ``value`` cannot be represented exactly in ``dtype``.

    Examples
    --------
    >>> encode_fill_value_v3(float("nan"), "<f4")
    'NaN'
    >>> encode_fill_value_v3(-999.0, ">i2")
    -999
    """
    dt = np.dtype(dtype)
    kind = dt.kind
    if dt.fields is not None:
        arr = np.asarray(value)
        if arr.dtype.fields is None:
            arr = np.array(value, dtype=dt) if not isinstance(value, bytes) else np.frombuffer(
                value, dtype=dt
            )
        rec = arr.astype(dt).reshape(())
        return {
            f: encode_fill_value_v3(rec[f][()], dt.fields[f][0]) for f in dt.names or ()
        }
    v = _scalar(value)
    if isinstance(v, list | tuple) and not (kind == "c" and len(v) == 2):
        raise ValueError(f"a fill value must be a single value, got {value!r}")
    try:
        if kind == "f":
            x = _to_float(v)
            if math.isfinite(x):
                with np.errstate(over="raise"):
                    x = float(dt.type(x))
            return _float_json(x)
        if kind in "iu":
            if isinstance(v, float) and not v.is_integer():
                raise ValueError(f"{v!r} is not an integer")
            i = int(v)
            info = np.iinfo(dt)
            if not info.min <= i <= info.max:
                raise ValueError(f"{i} is out of range for {dt}")
            return i
        if kind == "b":
            if v not in (0, 1):
                raise ValueError(f"{v!r} is not a boolean")
            return bool(v)
        if kind == "c":
            c = complex(_to_float(v[0]), _to_float(v[1])) if isinstance(v, list | tuple) else complex(v)
            c = complex(dt.type(c))
            return [_float_json(c.real), _float_json(c.imag)]
        if kind in "mM":
            if isinstance(v, int) and not isinstance(v, bool):
                return v
            return int(np.array(v, dtype=dt.newbyteorder("=")).view("i8"))
        if kind in "SV":
            raw = v.encode("utf-8") if isinstance(v, str) else bytes(v)
            if len(raw) > dt.itemsize:
                raise ValueError(f"{raw!r} is longer than {dt}")
            return base64.standard_b64encode(raw.ljust(dt.itemsize, b"\0")).decode("ascii")
        if kind == "U":
            s = v.decode("utf-8") if isinstance(v, bytes) else str(v)
            if len(s) > dt.itemsize // 4:
                raise ValueError(f"{s!r} is longer than {dt}")
            return s
        if kind == "O":
            if any(c.get("id") == "vlen-bytes" for c in codecs):
                raw = v.encode("utf-8") if isinstance(v, str) else bytes(v)
                return base64.standard_b64encode(raw).decode("ascii")
            if isinstance(v, bytes):
                return v.decode("utf-8")
            if isinstance(v, str):
                return v
            raise ValueError(f"{v!r} is not a string")
    except (TypeError, OverflowError, FloatingPointError, KeyError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot represent {value!r} as {dt}: {err}") from err
    raise ValueError(f"fill values of dtype {dt} are not supported")


def _b64_double(x: float) -> str:
    return base64.standard_b64encode(struct.pack("<d", x)).decode("ascii")


def encode_fill_value_attribute(value: Any, dtype: np.dtype[Any] | str) -> Any:
    """Return a CF ``_FillValue`` attribute in the form xarray reads from zarr format 3.

    xarray's zarr backend decodes a format 3 array's ``_FillValue`` attribute itself
    (``xarray.backends.zarr.FillValueCoder``): floats must be the base64 text of a
    little-endian float64, complex a list of two such texts, integers and booleans plain
    JSON numbers. It cannot decode ``_FillValue`` on other types.

    Raises
    ------
    ValueError
        When ``value`` is not one number, or ``dtype`` is not a number or bool type.

    Examples
    --------
    >>> encode_fill_value_attribute(-999, "<f4")
    'AAAAAAA4j8A='
    >>> encode_fill_value_attribute(-1, ">i2")
    -1
    """
    dt = np.dtype(dtype)
    v = _scalar(value)
    kind = dt.kind
    if isinstance(v, list | tuple) and not (kind == "c" and len(v) == 2):
        raise ValueError(f"a _FillValue must be a single value, got {value!r}")
    try:
        if kind == "f":
            return _b64_double(float(np.float64(_to_float(v)).astype(dt)))
        if kind == "c":
            c = complex(_to_float(v[0]), _to_float(v[1])) if isinstance(v, list | tuple) else complex(v)
            return [_b64_double(c.real), _b64_double(c.imag)]
        if kind in "iu":
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ValueError(f"{v!r} is not a number")
            if isinstance(v, float) and not v.is_integer():
                raise ValueError(f"{v!r} is not an integer")
            return int(v)
        if kind == "b":
            if v not in (0, 1):
                raise ValueError(f"{v!r} is not a boolean")
            return bool(v)
    except (TypeError, OverflowError, KeyError) as err:
        raise ValueError(f"cannot represent {value!r} as {dt}: {err}") from err
    raise ValueError(
        f"xarray cannot decode a _FillValue attribute on a zarr format 3 array of dtype {dt}"
    )


# -- codecs -------------------------------------------------------------------------------


def _named(name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": name, "configuration": dict(config)}


def _bytes_codec(meta: ArrayMetadata, name: str | None) -> dict[str, Any]:
    try:
        order = _byte_order(meta.dtype)
    except ValueError as err:
        raise WriteError(
            f"Cannot write {_where(name)} as zarr v3: compound dtype {meta.dtype} {err}, and "
            "the v3 bytes codec has one byte order; use zarr_format=2 or load the variable."
        ) from None
    if order is None:
        return {"name": "bytes"}
    return _named("bytes", {"endian": order})


def _bytes_to_bytes(config: Mapping[str, Any], meta: ArrayMetadata) -> dict[str, Any]:
    cid = config["id"]
    params = {k: v for k, v in config.items() if k != "id"}
    if cid == "gzip":
        return _named("gzip", {"level": int(params.get("level", 5))})
    if cid == "zstd":
        return _named(
            "zstd", {"level": int(params.get("level", 0)), "checksum": bool(params.get("checksum"))}
        )
    if cid == "crc32c" and not params:
        return _named("crc32c", {})
    if cid == "blosc":
        shuffle = int(params.get("shuffle", 1))
        if shuffle == -1:  # numcodecs AUTOSHUFFLE: bit shuffle for 1-byte items
            shuffle = 2 if meta.dtype.itemsize == 1 else 1
        return _named(
            "blosc",
            {
                "cname": params.get("cname", "lz4"),
                "clevel": int(params.get("clevel", 5)),
                "shuffle": _BLOSC_SHUFFLE.get(shuffle, "shuffle"),
                "typesize": max(1, int(meta.dtype.itemsize)) if meta.dtype.kind != "O" else 1,
                "blocksize": int(params.get("blocksize", 0)),
            },
        )
    return _named(f"numcodecs.{cid}", params)


def v3_codecs(meta: ArrayMetadata, *, name: str | None = None) -> list[dict[str, Any]]:
    """Return the zarr v3 ``codecs`` list that decodes chunks stored as ``meta`` says.

    Parameters
    ----------
    meta
        The array's metadata: ``codecs`` in encoding order and the dtype as stored.
    name
        The variable, for error messages.

    Raises
    ------
    vzcore.errors.WriteError
        For a codec with no zarr v3 equivalent, a pipeline v3 cannot express (an array
        filter after a bytes codec), or a compound dtype mixing byte orders.

    Examples
    --------
    >>> from vzcore.manifests import ArrayMetadata
    >>> meta = ArrayMetadata((4,), ">i4", (2,), codecs=({"id": "shuffle", "elementsize": 4},
    ...                                                   {"id": "zlib", "level": 4}))
    >>> [c["name"] for c in v3_codecs(meta)]
    ['bytes', 'numcodecs.shuffle', 'numcodecs.zlib']
    """
    filters: list[dict[str, Any]] = []
    serializer: dict[str, Any] | None = None
    compressors: list[dict[str, Any]] = []
    for config in meta.codecs:
        cid = str(config.get("id"))
        params = {k: v for k, v in config.items() if k != "id"}
        if cid in ARRAY_FILTERS:
            if serializer is not None or compressors:
                raise WriteError(
                    f"Cannot write {_where(name)} as zarr v3: array filter {cid!r} comes after "
                    f"a bytes codec in {[c.get('id') for c in meta.codecs]}, which zarr v3 "
                    "pipelines cannot express; use zarr_format=2."
                )
            filters.append(_named(f"numcodecs.{cid}", params))
        elif cid in SERIALIZERS:
            if serializer is not None or compressors:
                raise WriteError(
                    f"Cannot write {_where(name)} as zarr v3: codec {cid!r} turns an array into "
                    "bytes but is not the first such codec in "
                    f"{[c.get('id') for c in meta.codecs]}; use zarr_format=2."
                )
            if cid in ("vlen-utf8", "vlen-bytes") and meta.dtype.kind != "O":
                raise WriteError(
                    f"Cannot write {_where(name)} as zarr v3: codec {cid!r} needs an object "
                    f"dtype, not {meta.dtype}."
                )
            serializer = (
                _named(cid, {}) if cid in ("vlen-utf8", "vlen-bytes") else _named(
                    f"numcodecs.{cid}", params
                )
            )
        elif cid in BYTES_CODECS:
            if serializer is None:
                serializer = _bytes_codec(meta, name)
            compressors.append(_bytes_to_bytes(config, meta))
        else:
            hint = (
                "it comes from imagecodecs, whose codecs zarr-python 3 does not load by itself"
                if cid.startswith("imagecodecs_")
                else "zarr-python 3 has no codec for it"
            )
            raise WriteError(
                f"Cannot write {_where(name)} as zarr v3: codec {cid!r} has no zarr v3 "
                f"equivalent ({hint}); write zarr_format=2 references (readers register the "
                "numcodecs codec), or load the variable."
            )
    if serializer is None:
        if meta.dtype.kind == "O":
            raise WriteError(
                f"Cannot write {_where(name)} as zarr v3: an object array needs a vlen-utf8 or "
                f"vlen-bytes codec, and its codecs are {list(meta.codecs)}."
            )
        serializer = _bytes_codec(meta, name)
    return [*filters, serializer, *compressors]


# -- documents ----------------------------------------------------------------------------


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
        it from format 3 (see the module docstring), everything else made JSON-safe.
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
    attributes = json_attributes(
        {k: v for k, v in attrs.items() if k != FILL_ATTR}, where
    )
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
        "chunk_grid": _named("regular", {"chunk_shape": list(meta.chunk_shape)}),
        "chunk_key_encoding": _key_encoding_doc(chunk_key_encoding),
        "fill_value": fill_json,
        "codecs": codecs,
        "attributes": attributes,
    }
    if dimension_names is not None:
        doc["dimension_names"] = dims
    return doc


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

_V3_NUMERIC = {
    "bool": "?",
    "int8": "i1",
    "int16": "i2",
    "int32": "i4",
    "int64": "i8",
    "uint8": "u1",
    "uint16": "u2",
    "uint32": "u4",
    "uint64": "u8",
    "float16": "f2",
    "float32": "f4",
    "float64": "f8",
    "complex64": "c8",
    "complex128": "c16",
}
_SHUFFLE_IDS = {name: code for code, name in _BLOSC_SHUFFLE.items()}
_ENDIAN_CHARS = {"little": "<", "big": ">"}
_TIME_UNITS = frozenset({"Y", "M", "W", "D", "h", "m", "s", "ms", "us", "μs", "ns", "ps", "fs",
                         "as"})


def _config(obj: Any, what: str) -> tuple[str, dict[str, Any]]:
    """Return ``(name, configuration)`` of a named configuration (a name alone, or an object)."""
    if isinstance(obj, str):
        return obj, {}
    if not isinstance(obj, Mapping) or not isinstance(obj.get("name"), str):
        raise TypeError(f"{what} {obj!r} must be a name or an object with a 'name'")
    conf = obj.get("configuration", {})
    if conf is None:
        conf = {}
    if not isinstance(conf, Mapping):
        raise TypeError(f"{what} {obj['name']!r} has a configuration that is not an object")
    return obj["name"], dict(conf)


def _length(conf: Mapping[str, Any], name: str) -> int:
    n = conf.get("length_bytes")
    if type(n) is not int or n <= 0:
        raise ValueError(f"data type {name!r} needs a positive integer 'length_bytes', got {n!r}")
    return n


def _with_order(dt: np.dtype[Any], endian: str | None) -> np.dtype[Any]:
    if dt.fields is not None:
        return np.dtype(
            [(f, _with_order(dt.fields[f][0], endian)) for f in dt.names or ()]
        )
    if dt.kind in "SVbO" or dt.itemsize == 1:
        return dt
    if endian is None:
        raise ValueError(
            f"the 'bytes' codec has no 'endian', which a {dt.itemsize}-byte data type needs"
        )
    return dt.newbyteorder("<" if endian == "little" else ">")


def numpy_dtype_from_v3(data_type: Any, *, endian: str | None = "little") -> np.dtype[Any]:
    """Return the numpy dtype of a zarr v3 ``data_type`` (the inverse of :func:`v3_data_type`).

    Parameters
    ----------
    data_type
        The ``data_type`` field: a name (``"int16"``, ``"string"``) or a name and
        configuration (``{"name": "numpy.datetime64", "configuration": {...}}``).
    endian
        ``"little"`` or ``"big"``: the ``bytes`` codec's byte order, given to multi-byte
        types; None when the document has none (then a multi-byte type is an error).

    Raises
    ------
    ValueError, TypeError
        A malformed data type.
    NotImplementedError
        A data type this module does not know (``args``: feature, hint).

    Examples
    --------
    >>> numpy_dtype_from_v3("int16", endian="big")
    dtype('>i2')
    >>> numpy_dtype_from_v3({"name": "numpy.datetime64",
    ...                      "configuration": {"unit": "s", "scale_factor": 1}})
    dtype('<M8[s]')
    """
    if endian is not None and endian not in _ENDIAN_CHARS:
        raise ValueError(f"endian must be 'little' or 'big', got {endian!r}")
    name, conf = _config(data_type, "data_type")
    if isinstance(data_type, str) and name in _V3_NUMERIC:
        return _with_order(np.dtype(_V3_NUMERIC[name]), endian)
    if isinstance(data_type, str) and name in ("string", "variable_length_bytes", "bytes"):
        return np.dtype(object)
    if isinstance(data_type, str) and name.startswith("r") and name[1:].isdigit():
        bits = int(name[1:])
        if bits <= 0 or bits % 8:
            raise ValueError(f"raw data type {name!r} is not a whole number of bytes")
        return np.dtype(f"V{bits // 8}")
    if name in ("numpy.datetime64", "numpy.timedelta64"):
        unit, scale = conf.get("unit"), conf.get("scale_factor", 1)
        if unit not in _TIME_UNITS or type(scale) is not int or scale <= 0:
            raise ValueError(f"data type {name!r} has an invalid configuration {conf!r}")
        unit = "us" if unit == "μs" else unit
        code = "M8" if name == "numpy.datetime64" else "m8"
        count = "" if scale == 1 else str(scale)
        return _with_order(np.dtype(f"{code}[{count}{unit}]"), endian)
    if name == "null_terminated_bytes":
        return np.dtype(f"S{_length(conf, name)}")
    if name == "raw_bytes":
        return np.dtype(f"V{_length(conf, name)}")
    if name == "fixed_length_utf32":
        n = _length(conf, name)
        if n % 4:
            raise ValueError(f"data type {name!r} needs a multiple of 4 bytes, got {n}")
        return _with_order(np.dtype(f"U{n // 4}"), endian)
    if name in ("struct", "structured"):
        fields = conf.get("fields")
        if not isinstance(fields, list) or not fields:
            raise ValueError(f"data type {name!r} needs a non-empty list of 'fields'")
        out: list[tuple[str, np.dtype[Any]]] = []
        for f in fields:
            if isinstance(f, Mapping):
                fname, ftype = f.get("name"), f.get("data_type")
            elif isinstance(f, list) and len(f) == 2:
                fname, ftype = f
            else:
                raise ValueError(f"struct field {f!r} is neither {{name, data_type}} nor a pair")
            if not isinstance(fname, str) or not fname:
                raise ValueError(f"struct field name {fname!r} is not a non-empty text")
            fdt = numpy_dtype_from_v3(ftype, endian=endian)
            if fdt.kind == "O" or fdt.fields is not None:
                raise NotImplementedError(
                    f"struct field {fname!r} of type {ftype!r}",
                    "fields must be numbers, booleans, times or fixed-size bytes/text",
                )
            out.append((fname, fdt))
        if len({f for f, _ in out}) != len(out):
            raise ValueError(f"data type {name!r} repeats a field name")
        return np.dtype(out)
    raise NotImplementedError(
        f"zarr v3 data type {data_type!r}",
        "it is not a zarr v3 core type nor one of zarr-python's extension types known here",
    )


def codecs_from_v3(
    codecs: Any, *, data_type: Any = None
) -> tuple[tuple[CodecConfig, ...], str | None]:
    """Return the numcodecs pipeline (encoding order) and byte order of a v3 ``codecs`` list.

    The inverse of :func:`v3_codecs`: ``bytes`` gives the byte order (``"little"``,
    ``"big"``, or None when it has no ``endian``) and no codec; ``numcodecs.<id>`` gives
    ``{"id": <id>, **configuration}``; the specification's ``gzip``, ``zstd``, ``blosc`` and
    ``crc32c`` give numcodecs' ``gzip``, ``zstd`` (``checksum`` only when true), ``blosc``
    (``shuffle`` as a number, ``typesize`` dropped: numcodecs takes it from the data) and
    ``crc32c``; ``vlen-utf8``/``vlen-bytes`` stay themselves; a ``transpose`` that keeps
    the axis order is dropped.

    Parameters
    ----------
    codecs
        The document's ``codecs`` field.
    data_type
        The document's ``data_type``, to check that object types have their codec.

    Raises
    ------
    ValueError, TypeError
        A malformed list (no array-to-bytes codec, codecs in an impossible order, ...).
    NotImplementedError
        A codec the manifests cannot hold (sharding, a real transpose, unknown names).

    Examples
    --------
    >>> codecs_from_v3([{"name": "bytes", "configuration": {"endian": "big"}},
    ...                 {"name": "numcodecs.zlib", "configuration": {"level": 4}}])
    (({'id': 'zlib', 'level': 4},), 'big')
    """
    if not isinstance(codecs, list) or not codecs:
        raise ValueError(f"'codecs' must be a non-empty list, got {codecs!r}")
    out: list[CodecConfig] = []
    endian: str | None = None
    stage = 0  # 0: array -> array, 1: array -> bytes seen, then bytes -> bytes
    serializer: str | None = None
    for item in codecs:
        name, conf = _config(item, "codec")
        conf.pop("id", None)
        if name.startswith("numcodecs."):
            cid = name[len("numcodecs."):]
            if not cid:
                raise ValueError(f"codec name {name!r} names no numcodecs codec")
            kind = 0 if cid in ARRAY_FILTERS else 1 if cid in SERIALIZERS else 2
            config: CodecConfig | None = {"id": cid, **conf}
        elif name == "bytes":
            kind, config = 1, None
            endian = conf.get("endian")
            if endian is not None and endian not in _ENDIAN_CHARS:
                raise ValueError(f"the 'bytes' codec has endian {endian!r}")
        elif name in ("vlen-utf8", "vlen-bytes"):
            kind, config = 1, {"id": name}
        elif name == "transpose":
            order = conf.get("order")
            if not isinstance(order, list) or not all(type(i) is int for i in order):
                raise ValueError(f"the 'transpose' codec needs an 'order' list, got {order!r}")
            if order != list(range(len(order))):
                raise NotImplementedError(
                    f"codec 'transpose' with order {order}",
                    "chunks stored in another axis order cannot be referenced as they are",
                )
            kind, config = 0, None
        elif name == "gzip":
            kind, config = 2, {"id": "gzip", "level": int(conf.get("level", 5))}
        elif name == "zstd":
            kind, config = 2, {"id": "zstd", "level": int(conf.get("level", 0))}
            if conf.get("checksum"):
                config["checksum"] = True
        elif name == "crc32c":
            kind, config = 2, {"id": "crc32c"}
        elif name == "blosc":
            shuffle = conf.get("shuffle", "noshuffle")
            if shuffle not in _SHUFFLE_IDS:
                raise ValueError(f"the 'blosc' codec has shuffle {shuffle!r}")
            kind, config = 2, {
                "id": "blosc",
                "cname": conf.get("cname", "lz4"),
                "clevel": int(conf.get("clevel", 5)),
                "shuffle": _SHUFFLE_IDS[shuffle],
                "blocksize": int(conf.get("blocksize", 0)),
            }
        elif name == "sharding_indexed":
            raise NotImplementedError(
                "codec 'sharding_indexed' (sharded chunks)",
                "reference the inner chunks of each shard instead",
            )
        else:
            raise NotImplementedError(
                f"codec {name!r}",
                "it is neither a zarr v3 core codec nor a 'numcodecs.<id>' codec",
            )
        if kind < stage or (kind == 1 and stage == 1 and serializer is not None):
            raise ValueError(
                f"codec {name!r} comes after "
                + ("an array-to-bytes codec" if stage == 1 else "bytes-to-bytes codecs")
                + "; zarr v3 pipelines are array-to-array, one array-to-bytes, bytes-to-bytes"
            )
        if kind == 1:
            serializer = name
        if kind == 2 and serializer is None:
            raise ValueError(f"codec {name!r} comes before any array-to-bytes codec ('bytes')")
        stage = max(stage, kind)
        if config is not None:
            out.append(config)
    if serializer is None:
        raise ValueError("'codecs' has no array-to-bytes codec ('bytes', 'vlen-utf8', ...)")
    if data_type is not None:
        want = {"string": "vlen-utf8", "variable_length_bytes": "vlen-bytes",
                "bytes": "vlen-bytes"}.get(data_type if isinstance(data_type, str) else "")
        if want is not None and serializer != want:
            raise ValueError(f"data type {data_type!r} needs the {want!r} codec, not {serializer!r}")
        if want is None and serializer in ("vlen-utf8", "vlen-bytes"):
            raise ValueError(f"codec {serializer!r} on data type {data_type!r}")
    return tuple(out), endian


def _unfloat(x: Any, dt: np.dtype[Any]) -> float:
    if isinstance(x, str):
        if x.startswith("0x"):
            raw = bytes.fromhex(x[2:])
            if len(raw) != dt.itemsize:
                raise ValueError(f"{x!r} is not {dt.itemsize} bytes")
            return float(np.frombuffer(raw, dtype=dt.newbyteorder(">"))[0])
        return _to_float(x)
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise TypeError(f"{x!r} is not a number")
    return float(x)


def decode_fill_value_v3(
    data: Any, dtype: np.dtype[Any] | str, *, codecs: Sequence[Mapping[str, Any]] = ()
) -> Any:
    """Return the value a zarr v3 ``fill_value`` stands for (inverse of :func:`encode_fill_value_v3`).

    Numbers come back as numpy scalars of ``dtype`` (as the zarr v2 readers give them),
    fixed-size bytes as ``numpy.bytes_``, ``raw_bytes`` and structs as the raw ``bytes`` of
    one element (as vz-hdf5 records them), strings as ``str`` and variable-length bytes as
    ``bytes``. Floats also accept the specification's ``"0x..."`` bit patterns.

    Raises
    ------
    ValueError
        When ``data`` is not a fill value of ``dtype``.

    Examples
    --------
    >>> decode_fill_value_v3("NaN", "<f4")
    np.float32(nan)
    >>> decode_fill_value_v3(-5, ">i2")
    np.int16(-5)
    """
    dt = np.dtype(dtype)
    kind = dt.kind
    try:
        if dt.fields is not None:
            if isinstance(data, str):
                raw = base64.b64decode(data, validate=True)
                if len(raw) != dt.itemsize:
                    raise ValueError(f"{len(raw)} bytes for a {dt.itemsize}-byte struct")
                return raw
            if not isinstance(data, Mapping) or set(data) != set(dt.names or ()):
                raise ValueError(f"a struct fill value must map the fields {dt.names}")
            rec = np.zeros((), dtype=dt)
            for f in dt.names or ():
                rec[f] = decode_fill_value_v3(data[f], dt.fields[f][0])
            return rec.tobytes()
        if kind == "f":
            return dt.type(_unfloat(data, dt))
        if kind == "c":
            if not isinstance(data, list) or len(data) != 2:
                raise ValueError(f"{data!r} is not a [real, imag] pair")
            part = np.dtype(f"f{dt.itemsize // 2}")
            return dt.type(complex(_unfloat(data[0], part), _unfloat(data[1], part)))
        if kind in "iu":
            if isinstance(data, bool) or not isinstance(data, int):
                raise ValueError(f"{data!r} is not an integer")
            info = np.iinfo(dt)
            if not info.min <= data <= info.max:
                raise ValueError(f"{data} is out of range")
            return np.array(data, dtype=dt)[()]
        if kind == "b":
            if not isinstance(data, bool):
                raise ValueError(f"{data!r} is not a boolean")
            return np.bool_(data)
        if kind in "mM":
            if data == "NaT":
                data = -(2**63)
            if isinstance(data, bool) or not isinstance(data, int):
                raise ValueError(f"{data!r} is not an integer count")
            return np.array(data, "i8").view(dt.newbyteorder("="))[()]
        if kind in "SV":
            if isinstance(data, list) and all(type(b) is int for b in data):
                raw = bytes(data)
            elif isinstance(data, str):
                raw = base64.b64decode(data, validate=True)
            else:
                raise ValueError(f"{data!r} is neither base64 text nor a list of bytes")
            if len(raw) > dt.itemsize:
                raise ValueError(f"{len(raw)} bytes do not fit")
            if kind == "V":
                return raw.ljust(dt.itemsize, b"\0")
            return np.array(raw, dtype=dt)[()]
        if kind == "U":
            if not isinstance(data, str) or len(data) > dt.itemsize // 4:
                raise ValueError(f"{data!r} is not text of at most {dt.itemsize // 4} characters")
            return np.array(data, dtype=dt)[()]
        if kind == "O":
            if any(c.get("id") == "vlen-bytes" for c in codecs):
                if not isinstance(data, str):
                    raise ValueError(f"{data!r} is not base64 text")
                return base64.b64decode(data, validate=True)
            if not isinstance(data, str):
                raise ValueError(f"{data!r} is not text")
            return data
    except (TypeError, OverflowError, KeyError, IndexError, AttributeError) as err:
        raise ValueError(f"{data!r} is not a {dt} value ({err})") from err
    except ValueError as err:
        raise ValueError(f"{data!r} is not a {dt} value ({err})") from None
    raise ValueError(f"fill values of dtype {dt} are not supported")


def decode_fill_value_attribute(value: Any, dtype: np.dtype[Any] | str) -> Any:
    """Return the CF ``_FillValue`` that a format 3 attribute holds, as a numpy scalar.

    The inverse of :func:`encode_fill_value_attribute` (and of xarray's zarr backend):
    floats from the base64 text of a little-endian float64 (a plain number or ``"NaN"`` is
    accepted too), complex from two such texts, integers and booleans from JSON. The result
    is a scalar of ``dtype``'s type, the value the zarr v2 reader puts into ``_FillValue``.
    Attributes on other types are returned unchanged (xarray does not decode them either).

    Raises
    ------
    ValueError
        When ``value`` is not such an encoding, or does not fit ``dtype``.

    Examples
    --------
    >>> decode_fill_value_attribute("AAAAAAA4j8A=", "<f4")
    np.float32(-999.0)
    """
    dt = np.dtype(dtype)
    kind = dt.kind

    def b64_double(x: Any) -> float:
        if isinstance(x, str) and x not in ("NaN", "Infinity", "-Infinity"):
            raw = base64.b64decode(x, validate=True)
            if len(raw) != 8:
                raise ValueError(f"{x!r} is not the base64 of 8 bytes")
            return float(struct.unpack("<d", raw)[0])
        return _unfloat(x, np.dtype("f8"))

    try:
        if kind == "f":
            with np.errstate(over="ignore"):
                return dt.type(b64_double(value))
        if kind == "c":
            if not isinstance(value, list) or len(value) != 2:
                raise ValueError("a complex _FillValue is a pair")
            with np.errstate(over="ignore"):
                return dt.type(complex(b64_double(value[0]), b64_double(value[1])))
        if kind in "iu":
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError("an integer _FillValue is a JSON integer")
            info = np.iinfo(dt)
            if not info.min <= value <= info.max:
                raise ValueError(f"{value} is out of range for {dt}")
            return np.array(value, dtype=dt)[()]
        if kind == "b":
            if not isinstance(value, bool) and value not in (0, 1):
                raise ValueError("a boolean _FillValue is true or false")
            return np.bool_(value)
    except (TypeError, OverflowError, struct.error) as err:
        raise ValueError(f"_FillValue {value!r} is not a {dt} value ({err})") from err
    except ValueError as err:
        raise ValueError(f"_FillValue {value!r} is not a {dt} value ({err})") from None
    return value


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
    {"zarr_format", "node_type", "shape", "data_type", "chunk_grid", "chunk_key_encoding",
     "fill_value", "codecs", "attributes", "dimension_names", "storage_transformers"}
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
    if grid_name != "regular":
        raise NotImplementedError(f"chunk grid {grid_name!r}", "only regular chunk grids")
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
    meta = cls(shape=shape, dtype=dtype, chunk_shape=chunks, fill_value=fill, codecs=codecs,
               dimension_names=dims)
    return meta, attrs, dims


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
            raise UnsupportedFeatureError(url, None, f"zarr_format {fmt!r} in {key!r}",
                                          "only zarr format 3 is read here")
        raise CorruptFileError(url, f"key {key!r}: 'zarr_format' must be 3, got {fmt!r}")
    if doc.get("node_type") != "group":
        raise CorruptFileError(
            url, f"key {key!r}: 'node_type' must be 'group', got {doc.get('node_type')!r}"
        )
    try:
        _check_extensions(doc, frozenset({"zarr_format", "node_type", "attributes",
                                          "consolidated_metadata"}))
    except NotImplementedError as err:
        raise UnsupportedFeatureError(url, None, f"{err.args[0]} in {key!r}",
                                      str(err.args[1])) from None
    attrs = doc.get("attributes", {})
    if attrs is None:
        attrs = {}
    if not isinstance(attrs, Mapping):
        raise CorruptFileError(url, f"key {key!r}: 'attributes' must be an object")
    return dict(attrs)
