"""Zarr v3 data types: numpy dtypes to v3 ``data_type`` fields and back.

:func:`v3_data_type` names numbers and ``bool`` by name (the byte order goes to the
``bytes`` codec) and uses zarr-python's extension types for the rest (``numpy.datetime64``,
``null_terminated_bytes``, ``raw_bytes``, ``fixed_length_utf32``, ``string``,
``variable_length_bytes``, ``struct``: fields in byte order, gaps as ``raw_bytes`` fields,
nested structs allowed, one byte order); :func:`numpy_dtype_from_v3` is its inverse, given
the ``bytes`` codec's byte order (a padded struct comes back packed, padding fields
included: the same memory layout).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vzcore.manifests.zarr_compat import struct_layout
from vzcore.manifests.zarr_v3._common import _config

__all__ = ["numpy_dtype_from_v3", "v3_data_type"]

_KIND_NAMES = {"i": "int", "u": "uint", "f": "float"}


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
        return _struct_data_type(dt)
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


def _struct_data_type(dt: np.dtype[Any]) -> dict[str, Any]:
    """Return the ``struct`` data type of a compound dtype: fields in byte order, padded.

    Gaps become ``raw_bytes`` fields named ``f<index>`` (numpy's name for an unnamed
    field, so that format 2 and format 3 outputs read back as the same dtype), made
    unique against the real field names.
    """
    try:
        layout = struct_layout(dt)
        _byte_order(dt)
    except ValueError as err:
        raise ValueError(f"compound type {dt}: {err}") from None
    taken = set(dt.names or ())
    fields = []
    for i, (fname, fdt) in enumerate(layout):
        if fname is None:
            fname = f"f{i}"
            while fname in taken:
                fname = f"_{fname}"
            taken.add(fname)
        fields.append({"name": fname, "data_type": v3_data_type(fdt)})
    return {"name": "struct", "configuration": {"fields": fields}}


# -- the inverse: v3 data types back into numpy dtypes ------------------------------------

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
_ENDIAN_CHARS = {"little": "<", "big": ">"}
_TIME_UNITS = frozenset(
    {"Y", "M", "W", "D", "h", "m", "s", "ms", "us", "μs", "ns", "ps", "fs", "as"}
)


def _length(conf: Mapping[str, Any], name: str) -> int:
    n = conf.get("length_bytes")
    if type(n) is not int or n <= 0:
        raise ValueError(f"data type {name!r} needs a positive integer 'length_bytes', got {n!r}")
    return n


def _with_order(dt: np.dtype[Any], endian: str | None) -> np.dtype[Any]:
    if dt.fields is not None:
        return np.dtype([(f, _with_order(dt.fields[f][0], endian)) for f in dt.names or ()])
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
            if fdt.kind == "O":
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
