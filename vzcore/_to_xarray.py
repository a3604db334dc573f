"""ManifestGroup -> xarray: virtual variables stay encoded, loadable ones are decoded.

Loadable variables (by default the 1-D dimension coordinates, which ``combine="by_coords"``
needs, their CF bounds, and the scalars, which xarray's default combine broadcasts) are read
through their manifests and CF-decoded with xarray's own decoders, so a time axis becomes
``datetime64`` whatever units each file used. Every other variable stays a
:class:`~vzcore.manifests.ManifestArray` with its CF encoding attributes
(``_FillValue``, ``scale_factor``, ``units``, ...) untouched, so whoever reads the written
references decodes it exactly as the original would be decoded.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import numpy as np
import xarray as xr
from xarray.coding.common import pop_to, unpack_for_decoding
from xarray.coding.times import CFDatetimeCoder, CFTimedeltaCoder, decode_cf_datetime
from xarray.core.indexing import LazilyIndexedArray, NumpyIndexingAdapter
from xarray.core.variable import calculate_dimensions
from xarray.indexes import Index

from vzcore._decoded_memo import Decoded, Stored, decode_once, keepable
from vzcore._raw_values import ENCODING_KEY as RAW_ENCODING_KEY
from vzcore._raw_values import remember_raw
from vzcore._source_index import SourceIndex, indexed_coordinate, source_index
from vzcore.errors import CFDecodeError, UnsupportedFeatureError, VZError
from vzcore.manifests import ManifestArray
from vzcore.manifests.encoding import SourceEncoding
from vzcore.manifests.loading import load_values
from vzcore.manifests.object_elements import ObjectElementArray

if TYPE_CHECKING:
    from vzcore.group import ManifestGroup, Variable

__all__ = ["DecodeOptions", "group_to_dataset", "group_to_datatree"]


@dataclass(frozen=True)
class DecodeOptions:
    """xarray's decoder flags, applied to loaded variables only."""

    mask_and_scale: bool = True
    decode_times: bool | Any = True
    concat_characters: bool = True
    decode_coords: bool | str = True
    use_cftime: bool | None = None
    decode_timedelta: bool | Any = None


def _default_loadable(group: ManifestGroup) -> list[str]:
    """1-D dimension coordinates with their CF bounds, and scalars.

    (xarray broadcasts scalars when its default combine concatenates, which needs values.)
    """
    names = [name for name, v in group.variables.items() if v.dims in ((name,), ())]
    bounds = (group.variables[n].attrs.get("bounds") for n in names)
    return names + [
        b for b in bounds if isinstance(b, str) and b in group.variables and b not in names
    ]


def _inherited_time_attributes(group: ManifestGroup) -> dict[str, dict[str, Any]]:
    """Return the CF time attributes each bounds variable takes from its time variable.

    xarray's decoder gives a bounds variable without ``units``/``calendar`` those of the
    time variable that names it (``xarray.conventions._update_bounds_attributes``): its
    numbers mean nothing without them. Here they become the bounds variable's attributes,
    so that loading decodes it as xarray does, the combine compares the units each file's
    bounds really use (files whose time units differ then raise for virtual bounds instead
    of being read with one file's units), and written references decode on their own,
    whatever units the combined time coordinate is written in. (xarray's ``to_netcdf``
    writes them on bounds variables too.)
    """
    out: dict[str, dict[str, Any]] = {}
    for v in group.variables.values():
        units, bounds = v.attrs.get("units"), v.attrs.get("bounds")
        if not (isinstance(units, str) and "since" in units and isinstance(bounds, str)):
            continue
        target = group.variables.get(bounds)
        if target is None:
            continue
        extra: dict[str, Any] = {
            k: v.attrs[k] for k in ("units", "calendar") if k in v.attrs and k not in target.attrs
        }
        if extra:
            out[bounds] = extra
    return out


class _LoadedDatetimeCoder(CFDatetimeCoder):
    """xarray's CF datetime decoder for values already in memory: decodes them once.

    ``CFDatetimeCoder.decode`` decodes lazily: it first decodes the first and last values
    (to learn the result's dtype and fail early), then every value when the variable is
    loaded. A loaded coordinate is loaded at once, so that is the decoding done twice
    (and about a third of converting a small file's time coordinate). This coder calls the
    same function with the same arguments (``decode_cf_datetime``) on all the values once,
    which is what loading the lazy result returns; when it fails, xarray's own ``decode``
    runs instead, so errors and their messages are xarray's.
    """

    def decode(self, variable: xr.Variable, name: Any = None) -> xr.Variable:
        units = variable.attrs.get("units", None)
        if not (isinstance(units, str) and "since" in units):
            return variable
        dims, data, attrs, encoding = unpack_for_decoding(variable)
        try:
            values = decode_cf_datetime(
                np.asarray(data), units, attrs.get("calendar"), self.use_cftime, self.time_unit
            )
        except Exception:  # noqa: BLE001  # (warnings as errors too): xarray's path and messages
            return super().decode(variable, name)
        pop_to(attrs, encoding, "units")
        pop_to(attrs, encoding, "calendar")
        return xr.Variable(dims, values, attrs, encoding, fastpath=True)


def _time_coders(opts: DecodeOptions) -> tuple[Any, Any] | None:
    """Return ``(decode_times, decode_timedelta)`` using :class:`_LoadedDatetimeCoder`.

    The same coders ``decode_cf_variable`` would make from ``opts``; None when ``opts``
    asks for something else (no time decoding, ``use_cftime=``, a custom coder).
    """
    given = opts.decode_times
    if opts.use_cftime is not None:
        return None
    if given is True:
        coder = _LoadedDatetimeCoder()
        delta = CFTimedeltaCoder() if opts.decode_timedelta is None else opts.decode_timedelta
    elif type(given) is CFDatetimeCoder:
        coder = _LoadedDatetimeCoder(use_cftime=given.use_cftime, time_unit=given.time_unit)
        delta = (
            CFTimedeltaCoder(time_unit=given.time_unit)
            if opts.decode_timedelta is None
            else opts.decode_timedelta
        )
    else:
        return None
    return coder, delta


def _without_concat(opts: DecodeOptions) -> DecodeOptions:
    """Return ``replace(opts, concat_characters=False)``, made once per (hashable) options."""
    try:
        return _without_concat_cached(opts)
    except TypeError:  # options holding something unhashable: made each time
        return replace(opts, concat_characters=False)


@functools.lru_cache(maxsize=64)
def _without_concat_cached(opts: DecodeOptions) -> DecodeOptions:
    return replace(opts, concat_characters=False)


def _decode(name: str, var: xr.Variable, opts: DecodeOptions) -> xr.Variable:
    kwargs: dict[str, Any] = {
        "mask_and_scale": opts.mask_and_scale,
        "decode_times": opts.decode_times,
        "concat_characters": opts.concat_characters,
        "decode_timedelta": opts.decode_timedelta,
    }
    coders = _time_coders(opts)
    if coders is not None:
        kwargs["decode_times"], kwargs["decode_timedelta"] = coders
    elif opts.use_cftime is not None:
        kwargs["use_cftime"] = opts.use_cftime
    decoded = xr.conventions.decode_cf_variable(name, var, **kwargs)
    return decoded.load()


def _plain_numpy(data: Any) -> bool:
    """Return True when xarray would store ``data`` in a Variable unchanged (fastpath is safe).

    xarray's ``as_compatible_data`` keeps a plain ndarray as it is, except that it sends
    object, datetime and timedelta arrays through pandas; that round trip changes nothing for
    datetimes/timedeltas in a unit pandas supports. Passing ``fastpath=True`` for such arrays
    skips its duck-array probe, which imports ``dask.array`` (~80 ms) when dask is installed.
    """
    if type(data) is not np.ndarray:
        return False
    kind = data.dtype.kind
    if kind not in "OMm":
        return True
    if kind == "O":
        return False
    unit, count = np.datetime_data(data.dtype)
    return count == 1 and unit in ("s", "ms", "us", "ns")


def _coordinate_names(attrs: dict[str, Any]) -> list[str]:
    raw = attrs.get("coordinates")
    return raw.split() if isinstance(raw, str) else []


def _dataset(
    data_vars: dict[str, xr.Variable],
    coords: dict[str, xr.Variable],
    loaded: set[str],
    attrs: dict[str, Any],
    source: str = "",
    built: dict[str, SourceIndex] | None = None,
) -> xr.Dataset:
    """Return the Dataset of one file's variables, indexed only by its loaded coordinates.

    xarray builds a default (pandas) index for every dimension coordinate it is given,
    which needs the values; a virtual dimension coordinate (``loadable_variables`` without
    it) must stay a coordinate without an index, as in VirtualiZarr. It is concatenated and
    written like any virtual variable. The indexes remember ``source``, so that
    ``combine_by_coords`` can name the files it cannot order (:mod:`vzcore._source_index`).

    The result is ``xr.Dataset(data_vars, coords=xr.Coordinates(coords, indexes=...),
    attrs=attrs)``, built directly from the Variables (``Dataset._construct_direct``, as
    xarray's own ``Coordinates`` are) instead of through ``merge_data_and_coords``, which
    copies every variable and merges and aligns what is already one file's aligned
    variables (~5% of a small file's scan). The Dataset is the same: variables in the constructor's order
    (data variables, then coordinates), indexes only for the loaded 1-D dimension
    coordinates, non-indexed coordinates as base Variables, sizes from
    ``calculate_dimensions``. Anything the direct path would not build exactly as the
    constructor does (names clashing with dimensions, conflicting sizes, a data variable
    named like its dimension) goes through the constructor, for its checks and errors.
    ``built`` holds the indexes already made with their coordinates
    (:func:`~vzcore._source_index.indexed_coordinate`), by name.
    """
    built = built or {}
    indexes: dict[Hashable, Index] = {
        n: built[n] if n in built else source_index(v, n, source)
        for n, v in coords.items()
        if n in loaded and v.dims == (n,)
    }
    construct: Any = getattr(xr.Dataset, "_construct_direct", None)
    if construct is not None and not any(v.dims == (n,) for n, v in data_vars.items()):
        variables: dict[Hashable, xr.Variable] = dict(data_vars.items())
        for n, v in coords.items():
            variables[n] = v if n in indexes else v.to_base_variable()
        try:
            dims = calculate_dimensions(variables)
        except ValueError:
            pass  # the constructor's own checks and error, below
        else:
            # (as merge_core: a variable named like a dimension is a coordinate, x(x, y))
            coord_names = set(coords) | {d for d in dims if d in variables}
            ds: xr.Dataset = construct(
                variables, coord_names, dims, dict(attrs) if attrs else None, indexes
            )
            return ds
    return xr.Dataset(data_vars, coords=xr.Coordinates(coords, indexes=indexes), attrs=attrs)


def _check_dimension_names(group: ManifestGroup, names: list[str], source: str) -> None:
    """Raise when a scalar variable is named like a dimension that other variables use.

    netCDF classic files may hold one (MINC: a scalar ``zspace`` beside the dimension
    ``zspace``); an xarray Dataset cannot, and xarray's netcdf4 and scipy engines refuse
    such files too. Say which variable and how to leave it out, instead of xarray's
    "dimension already exists as a scalar variable".
    """
    used = {d for n in names for d in group.variables[n].dims}
    # xarray refuses exactly these (calculate_dimensions); x(x, y) and x(y) it accepts
    clashes = [n for n in names if n in used and not group.variables[n].dims]
    if clashes:
        raise UnsupportedFeatureError(
            source or "<group>",
            clashes[0],
            f"scalar variable(s) {clashes} named like dimensions that other variables use; an "
            "xarray Dataset cannot hold both, and xarray's netcdf4 and scipy engines cannot "
            "open this file either",
            f"leave them out with drop_variables={clashes!r} to open the other variables",
        )


def _stackable_dims(group: ManifestGroup, names: list[str]) -> frozenset[str]:
    """Return the dimensions whose characters xarray concatenates into strings.

    xarray's own rule (``decode_cf_variables``): no variable has the dimension's name, and
    every variable using it is a byte-string variable using it as its last dimension. A
    char coordinate such as AMBER's ``spatial(spatial)`` stays an array of characters.
    """
    variables = group.variables
    out: set[str] = set()
    for name in names:
        out.update(variables[name].dims)
    out.difference_update(variables)
    if not out:  # (every dimension has its variable: nothing to look at)
        return frozenset()
    for name in names:
        v = variables[name]
        if getattr(v.data, "dtype", _OBJECT).kind == "S":
            out.difference_update(v.dims[:-1])  # a byte-string variable's last dimension stays
        else:
            out.difference_update(v.dims)
    return frozenset(out)


_OBJECT = np.dtype(object)


def group_to_dataset(
    group: ManifestGroup,
    *,
    loadable_variables: Iterable[str] | None = None,
    drop_variables: Iterable[str] | str | None = None,
    decode: DecodeOptions | None = None,
    storage_options: dict[str, Any] | None = None,
    source: str = "",
) -> xr.Dataset:
    """Turn one group's variables into an xarray Dataset of ManifestArrays and loaded arrays.

    Parameters
    ----------
    group
        The group to convert (its child groups are ignored here).
    loadable_variables
        Variables to read and decode into memory; None means the 1-D dimension coordinates,
        their CF ``bounds`` variables and the scalar (0-d) variables.
    drop_variables
        Variables to leave out.
    decode
        Decoder flags for the loaded variables.
    storage_options
        fsspec options used to read loaded variables.
    source
        Where the group came from, for error messages.
    """
    opts = decode or DecodeOptions()
    drop = {drop_variables} if isinstance(drop_variables, str) else set(drop_variables or ())
    names = [n for n in group.variables if n not in drop]
    if loadable_variables is None:
        loadable = set(_default_loadable(group)) - drop
    else:
        loadable = set(loadable_variables)
        unknown = loadable - set(names)
        if unknown:
            raise VZError(
                f"loadable_variables names {sorted(unknown)} that {source or 'the file'!r} does "
                f"not have (or that were dropped); its variables are {sorted(names)}"
            )

    _check_dimension_names(group, names, source)
    strings = _stackable_dims(group, names)
    variables: dict[str, xr.Variable] = {}
    handles: dict[str, Any] = {}  # one handle per file for all the loaded variables
    indexes: dict[str, SourceIndex] = {}  # the loaded dimension coordinates' (_to_variable)
    inherited = _inherited_time_attributes(group)
    # (most loaded variables are numbers, decoded without joining characters)
    no_concat = _without_concat(opts) if opts.concat_characters else opts
    try:
        for name in names:
            v = group.variables[name]
            if name in inherited:
                v = replace(v, attrs={**v.attrs, **inherited[name]})
            variables[name] = _to_variable(
                name,
                v,
                name in loadable,
                opts,
                storage_options,
                source,
                string_dims=strings,
                handles=handles,
                no_concat=no_concat,
                indexes=indexes,
            )
    finally:
        for f in handles.values():
            f.close()

    coord_names: set[str] = {n for n, v in variables.items() if v.dims == (n,)}
    if opts.decode_coords:
        for xv in variables.values():
            listed = _coordinate_names(xv.attrs)
            if listed and all(c in variables for c in listed):
                coord_names.update(listed)
                xv.encoding["coordinates"] = xv.attrs.pop("coordinates")
        global_listed = _coordinate_names(group.attrs)
        coord_names.update(c for c in global_listed if c in variables)
    ds = _dataset(
        {n: v for n, v in variables.items() if n not in coord_names},
        {n: v for n, v in variables.items() if n in coord_names},
        loadable,
        dict(group.attrs),
        source,
        indexes,
    )
    if source:
        ds.encoding["source"] = source
    return ds


def _to_variable(
    name: str,
    v: Variable,
    load: bool,
    opts: DecodeOptions,
    storage_options: dict[str, Any] | None,
    source: str = "",
    *,
    string_dims: frozenset[str] | None = None,
    handles: dict[str, Any] | None = None,
    no_concat: DecodeOptions,
    indexes: dict[str, SourceIndex] | None = None,
) -> xr.Variable:
    data = v.data
    if not load:
        if isinstance(data, ManifestArray):  # its CF encoding travels with it: concat checks it
            data = data.with_encoding(
                SourceEncoding.from_attrs(v.attrs, source=source, variable=name)
            )
            if data.dtype == object:  # xarray reads an element of object arrays it chunks
                data = ObjectElementArray(data, storage_options, name)
        # A ManifestArray (a duck array) is stored unchanged either way (see _plain_numpy).
        fast = isinstance(data, ManifestArray) or _plain_numpy(data)
        return xr.Variable(v.dims, data, dict(v.attrs), fastpath=fast)
    if isinstance(data, ManifestArray):
        values = load_values(data, storage_options, handles, name=name)
    else:
        values = data
    values = np.asarray(values)
    if values.dtype.names is not None and not values.dtype.isnative:
        # xarray's endianness decoder cannot convert compound types: same values, native order
        values = values.astype(values.dtype.newbyteorder("="))
    if (
        string_dims is not None
        and opts.concat_characters
        and not (v.dims and v.dims[-1] in string_dims)
    ):
        # xarray joins characters only along "stackable" dimensions (see _stackable_dims)
        opts = no_concat  # (``opts`` without concat_characters)
    stored = Stored(name, v.dims, values, v.attrs, opts, source)
    if indexes is None:
        return _decode_loaded(stored, False, indexed=False)[0]
    # (the files of a collection repeat their spatial coordinates: decoded once)
    variable, index = decode_once(stored, functools.partial(_decode_loaded, indexed=True))
    if index is not None:
        indexes[name] = index  # (for _dataset)
    return variable


def _decode_loaded(
    stored: Stored, keep: bool, *, indexed: bool
) -> tuple[xr.Variable, SourceIndex | None, Decoded | None]:
    """Decode the stored values of a loaded variable with xarray's decoders.

    Returns the Variable, its :class:`SourceIndex` when it is a dimension coordinate
    (``indexed``: the caller keeps the indexes) and, when ``keep``, what
    :mod:`vzcore._decoded_memo` keeps of them for the next file (None if it cannot).
    """
    name, dims, values, attrs, opts, source = stored
    # Wrapped as a backend array (as xarray's own backends hand data to its decoders), so
    # the Variables the decoders build skip xarray's duck-array probe (see _plain_numpy).
    # xarray's NumpyIndexingAdapter.__init__ is unannotated
    adapter = NumpyIndexingAdapter(np.asarray(values))  # type: ignore[no-untyped-call]
    # (fastpath: xarray keeps a LazilyIndexedArray as it is either way)
    raw = xr.Variable(dims, LazilyIndexedArray(adapter), dict(attrs), fastpath=True)
    try:
        decoded = _decode(name, raw, opts)
        # remembered so that writers write these stored values back bit for bit
        # (``values`` is what ``raw.values`` returns, without xarray's indexing layers)
        index_values = decoded.values
        piece = remember_raw(name, decoded.encoding, values, index_values)
        if piece is not None:  # travels with the dataset to other processes
            decoded.encoding[RAW_ENCODING_KEY] = piece
        if decoded.dims == (name,):
            if indexed:
                built = indexed_coordinate(
                    name, index_values, decoded.attrs, decoded.encoding, source
                )
                if built is not None:
                    variable, index = built
                    return variable, index, keepable(variable, index) if keep else None
            plain = xr.IndexVariable(  # type: ignore[no-untyped-call]  # xarray's is unannotated
                decoded.dims,
                index_values,
                decoded.attrs,
                decoded.encoding,
                fastpath=_plain_numpy(index_values),
            )
            return plain, None, None
        decoded.load()  # xarray decodes lazily: surface decoding errors here
    except (ValueError, TypeError, OverflowError, ArithmeticError) as err:
        # xarray/pandas/cftime reject values their CF attributes cannot decode (e.g. times
        # out of range in a damaged file): say which variable of which file.
        raise CFDecodeError(source, name, f"{type(err).__name__}: {err}") from err
    return decoded, None, keepable(decoded, None) if keep else None


class _NodeOptions(TypedDict, total=False):
    """The options of :func:`group_to_dataset` that apply to every node of a tree as given."""

    drop_variables: Iterable[str] | str | None
    decode: DecodeOptions | None
    storage_options: dict[str, Any] | None
    source: str


def group_to_datatree(
    group: ManifestGroup,
    *,
    loadable_variables: Iterable[str] | None = None,
    **options: Unpack[_NodeOptions],
) -> xr.DataTree:
    """Turn a group and all its descendants into an xarray DataTree.

    The options are those of :func:`group_to_dataset`; ``loadable_variables`` names
    variables in whichever groups hold them.
    """
    datasets: dict[str, xr.Dataset] = {}
    for path, node in group.walk():
        names = set(node.variables)
        loadable = (
            None if loadable_variables is None else [n for n in loadable_variables if n in names]
        )
        datasets["/" + path] = group_to_dataset(node, loadable_variables=loadable, **options)
    try:
        return xr.DataTree.from_dict(datasets)
    except ValueError as exc:
        raise _unaligned_error(datasets, options.get("source", ""), exc) from exc


def _unaligned_error(
    datasets: dict[str, xr.Dataset], source: str, exc: ValueError
) -> UnsupportedFeatureError:
    """Name the group and dimension that keep a DataTree from aligning with its parents.

    xarray's DataTree requires a group's dimensions to have its ancestors' lengths; a file
    whose subgroup redefines a dimension with another length (netCDF-4 allows it) cannot be
    one tree, in xarray's own ``open_datatree`` too. The group alone opens as a Dataset.
    """
    for path, ds in datasets.items():
        parts = [p for p in path.split("/") if p]
        for depth in range(len(parts) - 1, -1, -1):
            parent = "/" + "/".join(parts[:depth])
            other = datasets.get(parent)
            if other is None:
                continue
            for dim, size in ds.sizes.items():
                if dim in other.sizes and other.sizes[dim] != size:
                    return UnsupportedFeatureError(
                        source,
                        path,
                        f"group whose dimension {dim!r} has length {size} where its parent "
                        f"group {parent!r} gives it length {other.sizes[dim]}: xarray's "
                        f"DataTree cannot align them (xr.open_datatree fails on it too)",
                        f"open that group alone with open_virtual_dataset(..., group={path!r})",
                        kind="group",
                    )
    return UnsupportedFeatureError(
        source,
        None,
        f"group tree that xarray's DataTree cannot build ({exc})",
        "open each group alone with open_virtual_dataset(..., group=PATH)",
    )
