"""Packed variables whose CF-decoded dtype a zarr store cannot keep.

xarray decodes a packed variable (``scale_factor``/``add_offset``) to the float type *of
those attributes*: ``int16`` data with a ``float32`` ``scale_factor`` decodes to ``float32``
(``xarray.coding.variables``; CF conventions §8.1). A zarr store keeps attributes as JSON,
which has one number type: read back, the same ``scale_factor`` is a Python ``float`` and
xarray decodes the variable to ``float64``. The raw values stay exact; the decoded values
do not equal what xarray reads from the original file (other dtype, other rounding).
No store-side encoding avoids it (see ``docs/upstream.md``), so :func:`check_packed_dtypes`
asks xarray's own decoder, for every packed array of a plan, which dtype it decodes to from
the source's attributes and from the attributes as written, and refuses the write when they
differ, unless the caller accepts float64 decoding.

xarray is imported only when a plan holds a packed array whose attributes are not all
``float64`` (or Python numbers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from vzcore.errors import DecodedDtypeError
from vzcore.manifests.attributes import PACKING_ATTRS

if TYPE_CHECKING:
    from vzcore.store_plan import StorePlan

__all__ = ["ChangedDecoding", "check_packed_dtypes", "decoded_dtypes"]

_PACKING = tuple(sorted(PACKING_ATTRS, reverse=True))  # scale_factor, add_offset
# Attributes that decide the decoded dtype (``_Unsigned`` changes the raw dtype first).
_DECIDING = (*_PACKING, "_Unsigned")


@dataclass(frozen=True)
class ChangedDecoding:
    """One array whose CF-decoded dtype would change in the store."""

    path: str
    """The array's path in the store."""
    files: tuple[str, ...]
    """The files its chunks come from; for a loaded variable, the store's files."""
    loaded: bool
    """Whether the variable is loaded (its values are written inline)."""
    attributes: str
    """The packing attributes and their types, e.g. ``"scale_factor float32"``."""
    source: np.dtype[Any]
    """The dtype xarray decodes to from the original attributes."""
    store: np.dtype[Any]
    """The dtype xarray decodes to from the attributes as stored."""


def _json_form(attrs: dict[str, Any]) -> dict[str, Any]:
    # What a zarr client hands xarray: the attributes parsed back from their JSON text.
    out: dict[str, Any] = json.loads(json.dumps({k: attrs[k] for k in _DECIDING if k in attrs}))
    return out


def _keeps_type(value: Any) -> bool:
    # Python numbers, numpy float64 and int64 come back from JSON as the same dtype.
    if type(value) in (float, int):
        return True
    return isinstance(value, np.generic) and value.dtype in (np.float64, np.int64)


def decoded_dtypes(
    dtype: np.dtype[Any], attrs: dict[str, Any], stored_attrs: dict[str, Any]
) -> tuple[np.dtype[Any], np.dtype[Any]] | None:
    """Return the dtypes xarray decodes to from ``attrs`` and from ``stored_attrs``.

    Parameters
    ----------
    dtype
        The stored (raw) dtype of the array.
    attrs
        The variable's attributes as the reader gave them (numpy scalars kept).
    stored_attrs
        The same attributes in the JSON form a writer stores.

    Returns
    -------
    tuple of numpy.dtype or None
        ``(from the source, from the store)``; None when the array is not packed, its
        packing attributes keep their type through JSON, or xarray cannot decode it at all
        (then the original does not decode either).
    """
    if all(_keeps_type(attrs[k]) for k in _PACKING if k in attrs):
        return None
    import xarray as xr

    def decode(a: dict[str, Any]) -> np.dtype[Any]:
        var = xr.Variable(("x",), np.zeros(1, dtype), {k: a[k] for k in _DECIDING if k in a})
        decoded = xr.conventions.decode_cf_variable(
            "probe", var, decode_times=False, decode_timedelta=False
        )
        out: np.dtype[Any] = np.dtype(decoded.dtype)
        return out

    try:
        return decode(attrs), decode(_json_form(stored_attrs))
    except Exception:  # noqa: BLE001  # xarray refuses these attributes either way
        return None


def _attribute_types(attrs: dict[str, Any]) -> str:
    return ", ".join(f"{k} {np.asarray(attrs[k]).dtype}" for k in _PACKING if k in attrs)


def changed_decodings(store: StorePlan) -> list[ChangedDecoding]:
    """Return the arrays of a plan whose decoded dtype the store would change.

    A loaded array's files are the store's (what it was loaded from is not recorded).
    """
    out = []
    for arr in store.arrays:
        stored = arr.documents.get(".zattrs")
        if stored is None:
            stored = arr.documents["zarr.json"].get("attributes", {})
        dtypes = decoded_dtypes(arr.metadata.dtype, arr.attrs, stored)
        if dtypes is None or dtypes[0] == dtypes[1]:
            continue
        files = tuple(store.sources if arr.array is None else arr.manifest.paths)
        out.append(
            ChangedDecoding(
                arr.path, files, arr.array is None, _attribute_types(arr.attrs), *dtypes
            )
        )
    return out


def check_packed_dtypes(store: StorePlan, allow_float64_decoding: bool) -> None:
    """Refuse a plan whose packed arrays would decode to another dtype than their source.

    Parameters
    ----------
    store
        The plan.
    allow_float64_decoding
        True: write them anyway (raw values exact, decoded values float64).

    Raises
    ------
    vzcore.errors.DecodedDtypeError
        Naming every such array, its files, its attributes and both remedies.
    """
    if allow_float64_decoding:
        return
    changed = changed_decodings(store)
    if changed:
        raise DecodedDtypeError(changed)
