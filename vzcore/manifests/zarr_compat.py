"""What zarr-python 3 can read: compound-type layouts and a check of every array document.

Two jobs, shared by every reader and writer so that each is done once:

* **Compound types.** A numpy structured dtype may have padding, fields out of offset
  order (HDF5 compound types often do) or overlapping fields. zarr-python 3 reads a
  structured type as a list of fields *packed in order*, so :func:`struct_layout` rewrites a
  dtype as its fields sorted by offset, with explicit padding fields of raw bytes in the
  gaps: the same bytes in memory, hence the same chunks, in a form zarr parses. Field
  types zarr has no form for (sub-array fields such as ``('c', '>f8', (2,))``, overlapping
  fields, field titles) make :func:`unsupported_dtype_reason` return a reason, which readers
  turn into :class:`~vzcore.errors.UnsupportedFeatureError` for that one variable.
  :func:`zarr_v2_dtype` is the zarr format 2 ``dtype`` field (padding fields are named
  ``""``, numpy's own ``descr`` convention, which zarr-python reads as numpy does).
* **Document check.** :func:`check_array_document` parses an array's ``.zarray`` or
  ``zarr.json`` with zarr-python's own metadata classes before a writer stores it, so that
  no output ever holds a document its reader cannot parse (with consolidated metadata one
  such document makes the whole store unreadable). Parsing is cached per distinct document
  (attributes aside), so ten thousand arrays with the same metadata are parsed once. When
  zarr-python is not installed there is no reader to target and the check is skipped.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

import numpy as np

__all__ = [
    "check_array_document",
    "plain_v2_document",
    "struct_layout",
    "unsupported_dtype_reason",
    "zarr_v2_dtype",
]


def struct_layout(dtype: np.dtype[Any]) -> list[tuple[str | None, np.dtype[Any]]]:
    """Return the fields of a structured dtype in byte order, padding gaps included.

    Parameters
    ----------
    dtype
        A structured dtype (``dtype.names`` is not None), e.g. an HDF5 compound type.

    Returns
    -------
    list of (name, dtype)
        One entry per field sorted by offset, and ``(None, dtype('V<n>'))`` for each gap
        of ``n`` bytes (trailing padding included): packed in this order the entries have
        exactly ``dtype``'s memory layout.

    Raises
    ------
    ValueError
        When no packed field list has that layout: overlapping fields, sub-array fields
        (zarr-python 3 reads neither), field titles. The message says which field.

    Examples
    --------
    >>> dt = np.dtype({"names": ["a", "b"], "formats": ["<i4", "<f8"], "offsets": [8, 0]})
    >>> struct_layout(dt)
    [('b', dtype('<f8')), ('a', dtype('<i4'))]
    """
    if dtype.names is None or dtype.fields is None:
        raise ValueError(f"{dtype} is not a structured dtype")
    entries = []
    for name in dtype.names:
        fdt, offset, *title = dtype.fields[name]
        if title:
            raise ValueError(f"field {name!r} has a title ({title[0]!r})")
        if fdt.subdtype is not None:
            raise ValueError(
                f"field {name!r} is a sub-array of shape {fdt.shape} (zarr-python 3 has no "
                "sub-array fields)"
            )
        if fdt.names is not None:
            struct_layout(fdt)  # the same rules inside nested compound types
        entries.append((offset, name, fdt))
    entries.sort(key=lambda e: e[0])
    out: list[tuple[str | None, np.dtype[Any]]] = []
    end = 0
    previous = None
    for offset, name, fdt in entries:
        if offset < end:
            raise ValueError(
                f"fields {previous!r} and {name!r} overlap (field {name!r} starts at byte "
                f"{offset}, inside {previous!r})"
            )
        if offset > end:
            out.append((None, np.dtype(f"V{offset - end}")))
        out.append((name, fdt))
        end = offset + fdt.itemsize
        previous = name
    if end > dtype.itemsize:  # pragma: no cover - numpy refuses such dtypes
        raise ValueError(f"field {previous!r} ends past the {dtype.itemsize}-byte element")
    if end < dtype.itemsize:
        out.append((None, np.dtype(f"V{dtype.itemsize - end}")))
    return out


def unsupported_dtype_reason(dtype: np.dtype[Any]) -> str | None:
    """Return why zarr-python 3 cannot hold ``dtype`` in any zarr format, or None.

    Readers call this for structured dtypes and raise
    :class:`~vzcore.errors.UnsupportedFeatureError` with the reason.

    Examples
    --------
    >>> unsupported_dtype_reason(np.dtype([("a", "<i4"), ("c", ">f8", (2,))]))
    "compound dtype [('a', '<i4'), ('c', '>f8', (2,))]: field 'c' is a sub-array of shape (2,) (zarr-python 3 has no sub-array fields)"
    """
    if dtype.names is None:
        return None
    try:
        struct_layout(dtype)
    except ValueError as err:
        return f"compound dtype {_describe(dtype)}: {err}"
    return None


def _describe(dtype: np.dtype[Any]) -> str:
    try:
        return str(dtype.descr) if dtype.names is not None else str(dtype)
    except ValueError:  # numpy has no descr for out-of-order or overlapping fields
        return str(dtype)


def zarr_v2_dtype(dtype: np.dtype[Any]) -> Any:
    """Return the zarr format 2 ``dtype`` field of ``dtype``.

    A type string (``"<f4"``) for plain types; for structured types a list of
    ``[name, type]`` pairs in byte order, with ``["", "|V<n>"]`` for padding and nested
    lists for nested compound types (see :func:`struct_layout`).

    Raises
    ------
    ValueError
        A structured type zarr-python cannot read (see :func:`struct_layout`).

    Examples
    --------
    >>> dt = np.dtype({"names": ["a", "b"], "formats": ["<i4", ">f8"], "offsets": [8, 0]})
    >>> zarr_v2_dtype(dt)
    [['b', '>f8'], ['a', '<i4']]
    """
    if dtype.names is None:
        return dtype.str
    return [
        ["" if name is None else name, zarr_v2_dtype(fdt)] for name, fdt in struct_layout(dtype)
    ]


# -- the document check --------------------------------------------------------------------


def check_array_document(doc: Mapping[str, Any], zarr_format: Literal[2, 3], name: str) -> None:
    """Parse an array document with zarr-python's own metadata classes before it is written.

    Parameters
    ----------
    doc
        A ``.zarray`` document (format 2) or an array's ``zarr.json`` (format 3), as it
        will be stored. Its ``attributes`` are not part of the check.
    zarr_format
        2 or 3.
    name
        The array's path in the output, for the message.

    Raises
    ------
    vzcore.errors.WriteError
        zarr-python cannot parse the document (the message gives zarr's reason, the
        variable and how to leave it out).

    Notes
    -----
    Each distinct document is parsed once per process (an LRU cache keyed by its JSON
    text). Without zarr-python installed the check does nothing. Plain zarr format 2
    documents (a numeric dtype, zlib/shuffle/gzip/checksum codecs with integer parameters,
    a numeric or null fill value) are known to parse and skip zarr-python (whose import
    costs ~0.3 s); ``tests/test_zarr_compat_plain.py`` holds that against zarr itself.
    """
    if zarr_format not in (2, 3):
        raise ValueError(f"zarr_format must be 2 or 3, got {zarr_format!r}")
    key = {k: v for k, v in doc.items() if k != "attributes"}
    if zarr_format == 2 and plain_v2_document(key):
        return
    try:
        text = json.dumps(key, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as err:
        reason: str | None = f"it is not valid JSON ({err})"
    else:
        reason = _parse(text, zarr_format)
    if reason is not None:
        from vzcore.errors import WriteError

        short = name.rsplit("/", 1)[-1]
        raise WriteError(
            f"Cannot write variable {name!r} as zarr format {zarr_format}: its array metadata "
            f"would be unreadable, {reason}. Leave the variable out (ds.drop_vars([{short!r}]), "
            "or drop_variables=[...] when opening the file)"
            + (", or write zarr_format=2." if zarr_format == 3 else ".")
        )


_PLAIN_CODECS: dict[str, frozenset[str]] = {
    "zlib": frozenset({"level"}),
    "gzip": frozenset({"level"}),
    "shuffle": frozenset({"elementsize"}),
    "fletcher32": frozenset(),
    "crc32": frozenset(),
    "adler32": frozenset(),
    "blosc": frozenset({"clevel", "shuffle", "blocksize"}),
}
"""numcodecs built-in codecs (and their integer parameters) that zarr-python always parses."""

_PLAIN_NAMES: dict[str, tuple[str, frozenset[str]]] = {
    "blosc": ("cname", frozenset({"blosclz", "lz4", "lz4hc", "zlib", "zstd", "snappy"})),
}
"""Codecs with one text parameter, and the values it may take (Blosc's compressors; vzcore
compresses loaded variables' inline chunks with ``blosc``/``zstd``)."""

_PLAIN_KEYS = frozenset(
    {
        "zarr_format",
        "shape",
        "chunks",
        "dtype",
        "compressor",
        "fill_value",
        "order",
        "filters",
        "dimension_separator",
    }
)


def _plain_codec(config: Any) -> bool:
    if not isinstance(config, dict):
        return False
    codec = config.get("id")
    params = _PLAIN_CODECS.get(codec)  # type: ignore[arg-type]  # any JSON value
    text, values = _PLAIN_NAMES.get(codec, ("", frozenset()))  # type: ignore[arg-type]
    return params is not None and all(
        k == "id"
        or (k == text and isinstance(v, str) and v in values)
        or (k in params and type(v) is int and 0 <= v < 2**31)
        for k, v in config.items()
    )


def plain_v2_document(doc: Mapping[str, Any]) -> bool:
    """Tell whether a ``.zarray`` document is of the plain kind zarr-python always parses.

    A numeric or boolean dtype string in numpy's canonical form, regular ``shape`` and
    ``chunks``, codecs from a short list of numcodecs built-ins with integer parameters,
    and a null, numeric, or ``"NaN"``/``"Infinity"``/``"-Infinity"`` fill value.
    """
    if set(doc) != _PLAIN_KEYS or doc["zarr_format"] != 2 or doc["order"] != "C":
        return False
    if doc["dimension_separator"] not in (".", "/"):
        return False
    shape, chunks, dtype = doc["shape"], doc["chunks"], doc["dtype"]
    if not (isinstance(shape, list) and isinstance(chunks, list) and len(shape) == len(chunks)):
        return False
    if not all(type(n) is int and n >= 0 for n in shape):
        return False
    if not all(type(c) is int and c > 0 for c in chunks):
        return False
    if not isinstance(dtype, str):
        return False
    try:
        dt = np.dtype(dtype)
    except TypeError:
        return False
    if dt.kind not in "biuf" or dt.str != dtype:
        return False
    fill = doc["fill_value"]
    if fill is not None:
        if isinstance(fill, str):
            if dt.kind != "f" or fill not in ("NaN", "Infinity", "-Infinity"):
                return False
        elif type(fill) is bool:
            if dt.kind != "b":
                return False
        elif type(fill) is int:
            if dt.kind == "b":
                return False
            if dt.kind in "iu" and not (np.iinfo(dt).min <= fill <= np.iinfo(dt).max):
                return False
        elif type(fill) is float:
            if dt.kind != "f" or not np.isfinite(fill):
                return False
        else:
            return False
    filters, compressor = doc["filters"], doc["compressor"]
    if filters is not None and not (
        isinstance(filters, list) and filters and all(map(_plain_codec, filters))
    ):
        return False
    return compressor is None or _plain_codec(compressor)


@lru_cache(maxsize=4096)
def _parse(text: str, zarr_format: int) -> str | None:
    """Return None when zarr parses the document ``text``, else why not."""
    try:
        import zarr
        from zarr.core.metadata.v2 import ArrayV2Metadata
        from zarr.core.metadata.v3 import ArrayV3Metadata
    except ImportError:  # no zarr-python here: nothing to check against
        return None
    data = json.loads(text)
    try:
        with warnings.catch_warnings():
            # zarr warns about, e.g., extension data types without a stable specification;
            # this check only asks whether the document parses.
            warnings.simplefilter("ignore")
            if zarr_format == 2:
                ArrayV2Metadata.from_dict(data)
            elif (data.get("chunk_grid") or {}).get("name") == "rectilinear":
                # zarr-python 3.4 reads rectilinear grids behind an experimental flag
                # (vzcore.manifests.grid.ZARR_FLAG); readers of the output set it too.
                with zarr.config.set({"array.rectilinear_chunks": True}):
                    ArrayV3Metadata.from_dict(data)
            else:
                ArrayV3Metadata.from_dict(data)
    except Exception as err:  # noqa: BLE001  # any failure of zarr's parser is the answer
        return f"zarr-python {zarr.__version__} cannot parse it ({type(err).__name__}: {err})"
    return None
