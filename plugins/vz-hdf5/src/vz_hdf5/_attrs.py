"""Conversion of HDF5 attributes into JSON-safe Python values.

Conventions (chosen to match what netCDF4-python and h5netcdf return, made JSON-safe):

* numbers become Python ``int`` / ``float`` / ``bool``; a one-element array (netCDF
  stores every attribute as an array) becomes its single element;
* strings stay as h5py gives them (``bytes`` for fixed-length, ``str`` for
  variable-length), arrays of strings become lists of them: vzcore decodes every reader's
  text attributes by one policy (:mod:`vzcore.manifests.attributes`);
* an empty (null dataspace) attribute becomes ``""`` for strings and ``[]`` otherwise;
* complex numbers become ``[real, imag]``; compound values become ``{field: value}``;
* object references become the referenced object's path (``"/group/var"``), a null
  reference ``None``; region references become the path of the referenced dataset.

The netCDF-4 bookkeeping attributes (:data:`HIDDEN_ATTRS`) are never returned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from vzcore.manifests.attributes import PACKING_ATTRS

from vz_hdf5._kept import make_room
from vz_hdf5._names import decode_name

if TYPE_CHECKING:
    import h5py

__all__ = ["HIDDEN_ATTRS", "jsonable", "read_attrs", "type_description"]

HIDDEN_ATTRS = frozenset(
    {
        "REFERENCE_LIST",
        "CLASS",
        "DIMENSION_LIST",
        "NAME",
        "_Netcdf4Dimid",
        "_Netcdf4Coordinates",
        "_nc3_strict",
        "_NCProperties",
        "_SuperblockVersion",
        "_IsNetcdf4",
    }
)
"""netCDF-4 and dimension-scale internals, hidden like netCDF4-python and h5netcdf do."""


def _ref_name(ref: Any, file: h5py.File | None) -> str | None:
    if not ref or file is None:
        return None
    try:
        name = file[ref].name
    except (KeyError, ValueError, OSError, TypeError):  # dangling or anonymous target
        return None
    return decode_name(name) if name is not None else None


_TYPE_CLASSES = {
    "TypeTimeID": "the HDF5 time type (H5T_TIME)",
    "TypeBitfieldID": "the HDF5 bitfield type",
    "TypeOpaqueID": "the HDF5 opaque type",
    "TypeVlenID": "an HDF5 variable-length sequence type",
    "TypeArrayID": "an HDF5 array type",
    "TypeCompoundID": "an HDF5 compound type",
    "TypeReferenceID": "the HDF5 reference type",
    "TypeEnumID": "an HDF5 enumeration type",
}


def _float_description(tid: Any) -> str:
    """Name an HDF5 float type by its layout (x87 extended, IEEE quadruple, ...)."""
    size = tid.get_size()
    _sign, _epos, esize, _mpos, msize = tid.get_fields()
    if size <= 8 and tid.get_precision() == 8 * size:
        return f"a {8 * size}-bit float"
    if esize == 15 and msize == 64:
        return (
            f"long double (x87 80-bit extended precision stored in {size} bytes, numpy "
            "longdouble on x86)"
        )
    if esize == 15 and msize == 112:
        return "a 128-bit IEEE 754 quadruple-precision float (binary128, long double on some CPUs)"
    return (
        f"a {8 * size}-bit float with {esize} exponent and {msize} mantissa bits "
        f"({tid.get_precision()} significant bits)"
    )


def _member_description(tid: Any) -> str | None:
    """Describe the first part of a compound, array or vlen type h5py cannot convert."""
    import h5py

    if isinstance(tid, h5py.h5t.TypeCompoundID):
        for i in range(tid.get_nmembers()):
            member = tid.get_member_type(i)
            try:
                member.dtype  # noqa: B018  # only whether h5py can convert it
            except (TypeError, ValueError):
                name = tid.get_member_name(i).decode("utf-8", "replace")
                return f"field {name!r} of {type_description(member)}"
        return None
    if isinstance(tid, h5py.h5t.TypeArrayID | h5py.h5t.TypeVlenID):
        base = tid.get_super()
        try:
            base.dtype  # noqa: B018  # only whether h5py can convert it
        except (TypeError, ValueError):
            return f"elements of {type_description(base)}"
    return None


def type_description(tid: Any) -> str:
    """Say in words what HDF5 datatype ``tid`` (an h5py ``TypeID``) is, for messages."""
    import h5py

    cls = type(tid).__name__
    if isinstance(tid, h5py.h5t.TypeFloatID):
        return _float_description(tid)
    if isinstance(tid, h5py.h5t.TypeIntegerID):
        sign = "signed" if tid.get_sign() == h5py.h5t.SGN_2 else "unsigned"
        return f"a {8 * tid.get_size()}-bit {sign} integer"
    text = _TYPE_CLASSES.get(cls, f"HDF5 type class {cls}")
    inner = _member_description(tid)
    return f"{text} with {inner}" if inner else text


def jsonable(value: Any, file: h5py.File | None = None) -> Any:
    """Return ``value`` (as h5py reads an attribute) as JSON-safe Python data."""
    import h5py

    if isinstance(value, h5py.Empty):
        return "" if value.dtype.kind in "SUO" else []
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if isinstance(value, bytes):
        return bytes(value)  # text: decoded by vzcore (see the module docstring)
    if isinstance(value, h5py.Reference | h5py.RegionReference):
        return _ref_name(value, file)
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return jsonable(value[()], file)
        if value.dtype.names is None and value.dtype.kind in "biuf":
            items: list[Any] = value.tolist()
            if value.size == 1 and value.ndim == 1:
                return items[0]
            return items
        if value.dtype.names is None and value.dtype.kind != "V":
            out: list[Any] = jsonable(value.tolist(), file)  # nested lists
        else:
            out = [jsonable(v, file) for v in value]
        if value.ndim == 1 and value.size == 1:
            return out[0]
        return out
    if isinstance(value, np.void):
        if value.dtype.names is not None:
            return {n: jsonable(value[n], file) for n in value.dtype.names}
        return value.tobytes()
    if isinstance(value, np.generic):
        if np.iscomplexobj(value):
            c = complex(value.item())
            return [c.real, c.imag]
        if isinstance(value, np.datetime64 | np.timedelta64):
            return str(value)
        return jsonable(value.item(), file)
    if isinstance(value, complex):
        return [value.real, value.imag]
    if isinstance(value, tuple | list):
        return [jsonable(v, file) for v in value]
    return str(value)


def _kind(obj: Any) -> str:
    """Say what ``obj`` is in messages: ``"group"`` or ``"variable"``."""
    import h5py

    return "group" if isinstance(obj, h5py.Group) else "variable"


_CONVERTED: dict[int, tuple[Any, Any, str | None]] = {}
""":func:`read_attrs`'s value and dtype of an attribute whose value came from a kept
decode (``_header_attrs._ATTRIBUTES``: one object per attribute message), by that decode's
id, the decode itself kept beside them (so the id cannot be another object's). Only
values that cannot change are kept (text, numbers, numpy scalars)."""

_IMMUTABLE = frozenset({str, bytes, int, float, bool, type(None)})


def read_attrs(
    obj: h5py.HLObject,
    hidden: frozenset[str] = HIDDEN_ATTRS,
    url: str = "",
    file: h5py.File | None = None,
    cached: Any = None,
    unreadable: list[Any] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Read the visible attributes of ``obj``.

    ``cached``, when given, stands in for ``obj.attrs`` (an object with the same iteration,
    ``[name]`` and ``get_id(name)``, e.g. one that keeps values already read). Names that
    are not valid UTF-8 are decoded by :func:`vz_hdf5._names.decode_name`.

    ``unreadable``, when given, collects the :class:`~vzcore.errors.UnsupportedFeatureError`
    of each attribute that h5py cannot convert, and those attributes are left out;
    otherwise the first one is raised.

    Raises
    ------
    UnsupportedFeatureError
        For an attribute whose HDF5 type h5py cannot convert to numpy (without
        ``unreadable``).

    Returns
    -------
    attrs
        JSON-safe attribute values by name, in the file's order (text as ``bytes`` or
        ``str`` as h5py gives it: vzcore decodes it), except a one-value numeric
        ``scale_factor``/``add_offset``: a numpy scalar of its stored type, as
        netCDF4-python gives it (the type decides the dtype xarray decodes to).
    dtypes
        The stored numpy dtype string of every numeric attribute (``"<f4"``), which JSON
        cannot carry; CF decoding uses it (e.g. a ``float32`` ``scale_factor``).
    """
    h5attrs = obj.attrs if cached is None else cached
    attrs: dict[str, Any] = {}
    dtypes: dict[str, str] = {}
    # the kept decode of each value, when it came from one (vz_hdf5._header_attrs)
    sources = getattr(h5attrs, "sources", None) if hidden is HIDDEN_ATTRS else None
    for raw_name in h5attrs:
        name = raw_name if type(raw_name) is str else decode_name(raw_name)
        if name in hidden:
            continue
        source = None if sources is None else sources.get(raw_name)
        if source is not None:
            kept = _CONVERTED.get(id(source))
            if kept is not None and kept[0] is source:  # (the same message as before)
                attrs[name] = kept[1]
                if kept[2] is not None:
                    dtypes[name] = kept[2]
                continue
        try:
            value = h5attrs[raw_name]
        except (OSError, TypeError, ValueError) as err:  # h5py: no conversion path
            from vzcore.errors import UnsupportedFeatureError

            from vz_hdf5._names import object_path

            try:
                htype = type_description(h5attrs.get_id(raw_name).get_type())
            except Exception:  # only for the message  # noqa: BLE001
                htype = "an unknown HDF5 type"
            problem = UnsupportedFeatureError(
                url,
                object_path(obj),
                f"attribute {name!r} of {htype} ({err})",
                "h5py cannot convert it to numpy",
                kind=_kind(obj),
            )
            if unreadable is None:
                raise problem from err
            unreadable.append(problem)
            continue
        dtype: str | None = None
        # The common values first (the same results as the general path below): text ...
        if isinstance(value, str | bytes):
            out: Any = value if isinstance(value, str) else bytes(value)
        # ... and numpy scalars of integers, booleans and floats up to float64.
        elif isinstance(value, np.generic) and (
            value.dtype.kind in "biu" or (value.dtype.kind == "f" and value.dtype.itemsize <= 8)
        ):
            dtype = value.dtype.str
            if name in PACKING_ATTRS:
                out = np.asarray(value).reshape(())[()]
            else:  # (what jsonable gives: np.float64 is a float, the others become Python's)
                out = value if isinstance(value, float) else value.item()
        elif (
            isinstance(value, np.ndarray | np.generic)
            and value.dtype.kind in "fc"
            and (value.dtype.itemsize > (8 if value.dtype.kind == "f" else 16))
        ):  # long double: JSON holds float64 only; keep values that float64 holds exactly
            as64 = np.asarray(value).astype(
                np.complex128 if value.dtype.kind == "c" else np.float64
            )
            if not bool((as64 == np.asarray(value)).all()):
                from vzcore.errors import UnsupportedFeatureError

                from vz_hdf5._names import object_path

                problem = UnsupportedFeatureError(
                    url,
                    object_path(obj),
                    f"attribute {name!r} of type long double ({value.dtype}) whose values "
                    "float64 cannot hold exactly, and JSON or zarr attributes hold no wider "
                    "float",
                    kind=_kind(obj),
                )
                if unreadable is None:
                    raise problem
                unreadable.append(problem)
                continue
            out = jsonable(as64 if isinstance(value, np.ndarray) else as64[()])
        else:
            if isinstance(value, np.ndarray | np.generic) and value.dtype.kind in "biufc":
                dtype = value.dtype.str
            if (
                name in PACKING_ATTRS
                and dtype is not None
                and value.size == 1
                and value.dtype.kind != "c"
            ):  # Its type decides xarray's decoded dtype: a numpy scalar, as netCDF4-python gives
                out = np.asarray(value).reshape(())[()]
            else:
                out = jsonable(value, file if file is not None else obj.file)
        attrs[name] = out
        if dtype is not None:
            dtypes[name] = dtype
        if source is not None and (
            type(out) in _IMMUTABLE or isinstance(out, np.generic)
        ):  # (the source is kept beside: its id stays its own)
            make_room(_CONVERTED)
            _CONVERTED[id(source)] = (source, out, dtype)
    return attrs, dtypes
