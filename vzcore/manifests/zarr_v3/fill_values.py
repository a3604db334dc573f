"""Zarr v3 fill values: the array's ``fill_value`` and the CF ``_FillValue`` attribute.

:func:`storage_fill_value` is what missing chunks read as; :func:`encode_fill_value_v3` and
:func:`decode_fill_value_v3` convert it to and from the specification's JSON form
(``"NaN"``, ``[re, im]``, base64 bytes, ...). :func:`encode_fill_value_attribute` and
:func:`decode_fill_value_attribute` do the same for the ``_FillValue`` attribute, in the
form xarray's zarr backend reads from format 3 (floats as base64 of a little-endian
float64, ...).
"""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from vzcore.manifests.metadata import ArrayMetadata

__all__ = [
    "FILL_ATTR",
    "decode_fill_value_attribute",
    "decode_fill_value_v3",
    "encode_fill_value_attribute",
    "encode_fill_value_v3",
    "storage_fill_value",
]

FILL_ATTR = "_FillValue"


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
            arr = (
                np.array(value, dtype=dt)
                if not isinstance(value, bytes)
                else np.frombuffer(value, dtype=dt)
            )
        rec = arr.astype(dt).reshape(())
        return {f: encode_fill_value_v3(rec[f][()], dt.fields[f][0]) for f in dt.names or ()}
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
            c = (
                complex(_to_float(v[0]), _to_float(v[1]))
                if isinstance(v, list | tuple)
                else complex(v)
            )
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
            c = (
                complex(_to_float(v[0]), _to_float(v[1]))
                if isinstance(v, list | tuple)
                else complex(v)
            )
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


# -- the inverse: v3 fill values back into values -----------------------------------------


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
            # Padding (raw bytes) fields may be left out: they are zero, as zarr reads them.
            names = set(dt.names or ())
            needed = {f for f in names if dt.fields[f][0].kind != "V"}
            if not isinstance(data, Mapping) or not needed <= set(data) <= names:
                raise ValueError(f"a struct fill value must map the fields {dt.names}")
            rec = np.zeros((), dtype=dt)
            for f in data:
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
