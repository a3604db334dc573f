"""xarray -> ManifestGroup: what writers receive.

Virtual variables (ManifestArrays, bare or inside xarray's wrappers or a structural dask
graph) pass through with their attributes. In-memory variables are CF-encoded with
xarray's own encoder, using the encoding they were decoded with (units, calendar, dtype,
``_FillValue``), so a time axis combined from files with different units is re-encoded in
one unit and written as real data. Attributes are converted to JSON-safe values.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from vzcore._dask_graph import dask_to_manifest_array, is_dask_array, unwrap_duck_array
from vzcore._raw_values import raw_values_for
from vzcore.errors import NotVirtualizableError
from vzcore.group import ManifestGroup, Variable
from vzcore.manifests import ManifestArray
from vzcore.manifests.attributes import PACKING_ATTRS

__all__ = ["dataset_to_group", "datatree_to_group", "json_safe", "virtual_data"]

# Encoding keys that describe values (kept when re-encoding loaded variables); the others
# (chunksizes, zlib, source, preferred_chunks, ...) describe the original storage.
_VALUE_ENCODING = (
    "units",
    "calendar",
    "dtype",
    "_FillValue",
    "missing_value",
    "scale_factor",
    "add_offset",
)


def json_safe(value: Any) -> Any:
    """Return ``value`` with numpy scalars/arrays and UTF-8 bytes turned into JSON-safe Python.

    Other bytes stay bytes, never mangled: the writer then says which attribute it cannot
    store.
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


def variable_attrs(attrs: dict[Any, Any]) -> dict[str, Any]:
    """Return a variable's attributes JSON-safe, numeric packing attributes kept as numpy.

    The type of ``scale_factor``/``add_offset`` decides the dtype xarray decodes to, so the
    store plan needs it (:mod:`vzcore.packed_dtypes`); writers store them as JSON numbers.
    """
    return {
        str(k): v
        if k in PACKING_ATTRS and isinstance(v, np.generic) and v.dtype.kind in "iuf"
        else json_safe(v)
        for k, v in attrs.items()
    }


def virtual_data(name: str, var: xr.Variable) -> ManifestArray | np.ndarray | None:
    """Return the ManifestArray behind ``var``, numpy values for plain data, or None."""
    raw = var._data  # the wrapped array, before xarray converts anything
    if is_dask_array(raw):
        return dask_to_manifest_array(raw, name)
    inner = unwrap_duck_array(raw)
    if isinstance(inner, ManifestArray):
        return inner
    return None


def _encode_loaded(name: str, var: xr.Variable) -> tuple[np.ndarray, dict[str, Any]]:
    """CF-encode a loaded variable: its stored values bit for bit when they are known.

    When the decoded values are those loaded (one file, or files laid end to end by the
    combine) under the encoding they were decoded with, the stored values are written
    back unchanged (see :mod:`vzcore._raw_values`). Otherwise xarray encodes them, and
    times are checked to decode back exactly; when they do not (e.g. float units of the
    first file for times of files with other units), they are written as int64 counts of
    the coarsest unit that holds every value exactly.
    """
    source_encoding = var.encoding
    var = var.copy(deep=False)
    var.encoding = {k: v for k, v in var.encoding.items() if k in _VALUE_ENCODING}
    # Without a _FillValue in its encoding the source had none: do not invent one.
    var.encoding.setdefault("_FillValue", None)
    raw = raw_values_for(name, source_encoding, var.values)
    try:
        encoded = xr.conventions.encode_cf_variable(var, name=name)
    except ValueError:
        # xarray decodes some encodings it will not write (``_FillValue`` NaN beside
        # ``missing_value`` -9999, ARM's files); stored values need no encoder
        if raw is None:
            raise
        return raw, _stored_attrs(var.attrs, source_encoding)
    if raw is not None:
        attrs = dict(encoded.attrs)
        for key in ("units", "calendar"):  # as stored, not as xarray would spell them
            if key in source_encoding:
                attrs[key] = source_encoding[key]
            elif key in attrs and key not in var.attrs:
                del attrs[key]
        return raw, attrs
    if var.dtype.kind in "mM" and not _decodes_back(name, encoded, var):
        var.encoding = {k: v for k, v in var.encoding.items() if k in ("calendar", "_FillValue")}
        var.encoding["units"] = _exact_time_units(var)
        var.encoding["dtype"] = np.dtype("int64")
        encoded = xr.conventions.encode_cf_variable(var, name=name)
        if not _decodes_back(name, encoded, var):
            raise NotVirtualizableError(
                f"variable {name!r} holds times that no CF encoding tried here stores exactly "
                f"(last tried: {encoded.attrs.get('units')!r}); open the files with "
                "decode_times=False to write the stored numbers as they are"
            )
    values = np.asarray(encoded.values)
    return values, dict(encoded.attrs)


def _stored_attrs(attrs: dict[Any, Any], encoding: dict[Any, Any]) -> dict[str, Any]:
    """Return a loaded variable's attributes as stored: the decoded ones plus its encoding."""
    out = {str(k): v for k, v in attrs.items()}
    for key in (*_VALUE_ENCODING, "_Unsigned"):
        if key in encoding and key != "dtype" and encoding[key] is not None:
            out[key] = encoding[key]
    return out


def _decodes_back(name: str, encoded: xr.Variable, var: xr.Variable) -> bool:
    """Return True when xarray decodes ``encoded`` to exactly ``var``'s values."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. SerializationWarning about a time unit
        back = xr.conventions.decode_cf_variable(
            name, encoded, decode_times=True, decode_timedelta=True
        )
        got = np.asarray(back.values)
    want = np.asarray(var.values)
    if got.shape != want.shape or got.dtype.kind != want.dtype.kind:
        return False
    nat_got, nat_want = np.isnat(got), np.isnat(want)
    # numpy compares times of different resolutions by value
    return bool((nat_got == nat_want).all() and (got[~nat_got] == want[~nat_want]).all())


_TIME_UNITS = (
    ("days", 86400 * 10**9),
    ("hours", 3600 * 10**9),
    ("minutes", 60 * 10**9),
    ("seconds", 10**9),
    ("milliseconds", 10**6),
    ("microseconds", 10**3),
    ("nanoseconds", 1),
)


def _exact_time_units(var: xr.Variable) -> str:
    """Return ``"<unit> since <first value>"``, the coarsest unit holding every value exactly."""
    values = np.asarray(var.values)
    ns = values.astype("M8[ns]" if values.dtype.kind == "M" else "m8[ns]").view("i8")
    valid = ns[ns != np.iinfo("i8").min]  # NaT
    if not valid.size:
        return "seconds since 1970-01-01" if values.dtype.kind == "M" else "seconds"
    kind = values.dtype.kind
    ref = int(valid.min()) if kind == "M" else 0
    deltas = valid - ref
    unit = next(u for u, size in _TIME_UNITS if not (deltas % size).any())
    if kind == "m":
        return unit
    first = np.datetime64(ref, "ns")
    return f"{unit} since {np.datetime_as_string(first)}"


def dataset_to_group(ds: xr.Dataset) -> ManifestGroup:
    """Convert a (virtual) Dataset into the ManifestGroup that writers consume."""
    variables, global_attrs = xr.conventions.encode_dataset_coordinates(ds)
    out = ManifestGroup(attrs=json_safe(dict(global_attrs)))
    for name, var in variables.items():
        key = str(name)
        data = virtual_data(key, var)
        attrs = dict(var.attrs)
        if "coordinates" in var.encoding and "coordinates" not in attrs:
            attrs["coordinates"] = var.encoding["coordinates"]
        if isinstance(data, ManifestArray):
            out.variables[key] = Variable(var.dims, data, variable_attrs(attrs))
            continue
        if data is not None:
            var = xr.Variable(var.dims, data, var.attrs, var.encoding)
        try:
            values, enc_attrs = _encode_loaded(key, var)
        except Exception as err:  # xarray's encoder: report which variable failed
            raise NotVirtualizableError(
                f"variable {key!r} holds in-memory values that could not be CF-encoded for "
                f"writing: {type(err).__name__}: {err}"
            ) from err
        if "coordinates" in attrs:
            enc_attrs.setdefault("coordinates", attrs["coordinates"])
        out.variables[key] = Variable(var.dims, values, variable_attrs(enc_attrs))
    return out


def datatree_to_group(tree: xr.DataTree) -> ManifestGroup:
    """Convert a (virtual) DataTree into a ManifestGroup tree."""
    root = dataset_to_group(tree.to_dataset(inherit=False))
    for name, child in tree.children.items():
        root.groups[str(name)] = datatree_to_group(child)
    return root
