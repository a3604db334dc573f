"""Attributes as JSON: what every metadata document (zarr v2, zarr v3, Icechunk) stores.

Two steps, each done once:

* :func:`read_attributes` (applied by vzcore to every group and variable a reader returns,
  :func:`clean_tree_attributes`) turns the values readers hand over as their format library
  gives them (``str``, ``bytes``, numpy scalars and arrays, lists, dicts) into JSON types,
  with **the one text policy** below;
* :func:`json_attributes` (applied by every writer) checks that what is about to be written
  is JSON, and refuses by name what is not (bytes a user put in ``ds.attrs`` that are not
  UTF-8, arbitrary objects): what a user set is never altered silently.

The text policy for attribute values read from a file. Attributes are stored as JSON,
which holds text, not bytes; a text attribute read as bytes (a netCDF ``NC_CHAR`` or
fixed-length HDF5 string, ``numpy.bytes_``), or as a ``str`` carrying ``surrogateescape``
code points (h5py's variable-length strings), is decoded as UTF-8. When the bytes are not
valid UTF-8, each invalid byte becomes U+FFFD (``bytes.decode("utf-8", "replace")``). That
is exactly the string netCDF-C's Python binding returns (netCDF4-python decodes every text
attribute with ``errors="replace"``), so it is what ``xarray.open_dataset`` shows for the
original file with its default engine for netCDF-4/HDF5 and netCDF-3 files
(``engine="netcdf4"``) and with ``engine="scipy"`` (measured: netCDF4 1.7, xarray
2026.9): a value read through the output equals what xarray reads from the original. It
is not silent: one :class:`~vzcore.errors.VZAttributeTextWarning` per file names every
replaced attribute (file, group or variable, attribute) and its stored bytes. Latin-1 or
another guessed encoding would keep the bytes but show text no reference library shows;
``surrogateescape`` strings (h5netcdf's choice) are not valid Unicode, and strict JSON
parsers (zarr-python's, Rust's serde, orjson) refuse them.

The exception: the data-bearing attributes :data:`DATA_ATTRS` (``_FillValue``,
``missing_value``) are compared with the data when xarray masks it, so they are not text
but values of the variable's type. Their non-UTF-8 bytes are kept as ``bytes`` unchanged,
as xarray keeps them (its scipy and h5netcdf backends never decode these two, and its
netCDF4 backend gives a ``char`` variable's ``_FillValue`` as bytes). Writers store a
``_FillValue`` as the array's fill value (losslessly, base64 in zarr v2); bytes they
cannot store are refused by name (:class:`~vzcore.errors.WriteError`), never rewritten.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from vzcore.errors import VZAttributeTextWarning, WriteError

if TYPE_CHECKING:
    from vzcore.group import ManifestGroup

__all__ = [
    "DATA_ATTRS",
    "PACKING_ATTRS",
    "clean_tree_attributes",
    "json_attributes",
    "read_attributes",
]

DATA_ATTRS = frozenset({"_FillValue", "missing_value"})
"""Attributes compared with the data when xarray masks it: non-UTF-8 bytes stay bytes."""

PACKING_ATTRS = frozenset({"scale_factor", "add_offset"})
"""CF packing attributes, whose numeric type decides the dtype xarray decodes a packed
variable to: kept as numpy scalars of their stored type (see :mod:`vzcore.packed_dtypes`)."""


def _as_bytes(value: str) -> bytes | None:
    """Return the stored bytes of a ``str`` holding surrogate code points, else None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return value.encode("utf-8", "surrogateescape")  # h5py's vlen strings
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass")
    return None


def read_attributes(
    attrs: Mapping[Any, Any], replaced: list[tuple[str, bytes]] | None = None
) -> dict[str, Any]:
    """Return attributes as a reader handed them over, turned into JSON types by the text policy.

    Parameters
    ----------
    attrs
        Attribute values as the format library gives them: ``str``, ``bytes``, numpy
        scalars and arrays (an array becomes a list), lists, tuples and dicts of those.
    replaced
        When given, collects ``(name, stored bytes)`` of every value whose invalid UTF-8
        bytes became U+FFFD (see the module docstring).

    Returns
    -------
    dict
        The attributes with JSON types; ``bytes`` remain only for non-UTF-8 values of
        :data:`DATA_ATTRS`, numpy scalars only for numeric :data:`PACKING_ATTRS` (their type
        decides the dtype xarray decodes to; writers store them as JSON numbers).
    """
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        key = k if type(k) is str else str(k)
        kind = type(v)
        # (_clean's first answers, without a call per attribute)
        if kind is bytes:
            try:
                out[key] = v.decode("utf-8")
            except UnicodeDecodeError:
                out[key] = _text(v, key, replaced)
        elif (kind is str and v.isascii()) or kind is int or kind is float:
            out[key] = v
        else:
            out[key] = _clean(v, key, replaced)
    return out


def _text(raw: bytes, key: str, replaced: list[tuple[str, bytes]] | None) -> str | bytes:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if key in DATA_ATTRS:
            return bytes(raw)
        if replaced is not None:
            replaced.append((key, bytes(raw)))
        return raw.decode("utf-8", "replace")


def _clean(value: Any, key: str, replaced: list[tuple[str, bytes]] | None) -> Any:
    """Return one attribute value under the text policy (see :func:`read_attributes`)."""
    kind = type(value)
    # (the common exact types first: what the general tests below give them, fewer tests)
    if kind is bytes:
        return _text(value, key, replaced)
    if kind is str and value.isascii():
        return value
    if kind is int or kind is float:
        return value
    if isinstance(value, str):
        if value.isascii():
            return str(value)
        raw = _as_bytes(value)
        return str(value) if raw is None else _text(raw, key, replaced)
    if isinstance(value, bytes):
        return _text(value, key, replaced)
    if isinstance(value, np.ndarray):
        return _clean(value.tolist(), key, replaced)
    if isinstance(value, np.generic):
        if key in PACKING_ATTRS and value.dtype.kind in "iuf":
            if value.dtype.isnative:  # (astype to its own dtype: an equal scalar)
                return value
            return value.astype(value.dtype.newbyteorder("="))  # as netCDF4-python gives it
        return _clean(value.item(), key, replaced)
    if isinstance(value, Mapping):
        return {str(k): _clean(v, key, replaced) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v, key, replaced) for v in value]
    return value


def clean_tree_attributes(tree: ManifestGroup, url: str) -> None:
    """Apply :func:`read_attributes` to every group's and variable's attributes, in place.

    vzcore calls it once on the tree a reader returns for ``url``; readers hand over raw
    values and do no text decoding of their own.

    Warns
    -----
    VZAttributeTextWarning
        Once, naming every attribute whose non-UTF-8 bytes became U+FFFD.
    """
    notes: list[str] = []
    for path, group in tree.walk():
        where = f"/{path}" if path else "/"
        replaced: list[tuple[str, bytes]] = []
        group.attrs = read_attributes(group.attrs, replaced)
        notes += [f"attribute {k!r} of group {where!r} (stored bytes {b!r})" for k, b in replaced]
        for name, var in group.variables.items():
            replaced = []
            var.attrs = read_attributes(var.attrs, replaced)
            if replaced:
                full = f"{where.rstrip('/')}/{name}"
                notes += [
                    f"attribute {k!r} of variable {full!r} (stored bytes {b!r})"
                    for k, b in replaced
                ]
    if notes:
        warnings.warn(
            f"{url}: text attributes that are not valid UTF-8 read with each invalid byte "
            "replaced by U+FFFD, as netCDF4-python and xarray show them for this file: "
            + "; ".join(notes),
            VZAttributeTextWarning,
            stacklevel=2,
        )


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
