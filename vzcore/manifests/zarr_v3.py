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
"""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vzcore.errors import WriteError

if TYPE_CHECKING:
    from vzcore.manifests.metadata import ArrayMetadata

__all__ = [
    "ChunkKeyEncoding",
    "array_metadata_v3",
    "chunk_key",
    "encode_fill_value_attribute",
    "encode_fill_value_v3",
    "group_metadata_v3",
    "json_attributes",
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
            return int(np.array(v, dtype=dt).view("i8"))
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


def json_attributes(attrs: Mapping[str, Any], where: str = "attributes") -> dict[str, Any]:
    """Return ``attrs`` with numpy scalars/arrays turned into JSON types.

    Raises
    ------
    vzcore.errors.WriteError
        For values JSON cannot hold (non-UTF-8 bytes, arbitrary objects).
    """

    def safe(value: Any, key: str) -> Any:
        if isinstance(value, np.ndarray):
            return safe(value.tolist(), key)
        if isinstance(value, np.generic):
            return safe(value.item(), key)
        if isinstance(value, bytes):
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError as err:
                raise WriteError(
                    f"Cannot write attribute {key!r} of {where}: bytes {value[:20]!r} are not "
                    "UTF-8 text, and JSON attributes hold text only; decode or drop it first."
                ) from err
        if isinstance(value, Mapping):
            return {str(k): safe(v, key) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [safe(v, key) for v in value]
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise WriteError(
            f"Cannot write attribute {key!r} of {where}: a {type(value).__name__} is not "
            "JSON-serialisable; convert it to a number, string or list first."
        )

    return {str(k): safe(v, str(k)) for k, v in attrs.items()}


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
