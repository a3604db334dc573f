"""Combining per-file virtual datasets: xarray's rules, checked first for what xarray cannot see.

xarray combines virtual datasets fine as long as every join is possible on chunk references.
When it is not, xarray either fails deep inside ``concat`` without saying which files
disagree, or (worse) quietly picks one file's data (``compat="override"``; two files with
the same first coordinate, pydata/xarray#4077; a per-file ``scale_factor`` dropped by
``drop_conflicts``). So before handing the datasets to :func:`xarray.combine_by_coords` /
:func:`xarray.combine_nested`, :func:`combine_virtual` checks, file against file:

* variables that are concatenated (they have a concatenation dimension) and virtual: same
  dims, dtype, chunk shape, codecs, fill value, CF encoding attributes (``scale_factor``,
  ``_FillValue``, ``units``, ...) and lengths along the other dimensions;
* that their chunks along the concatenation dimension form one zarr chunk grid: every file
  but the last along that dimension holds whole chunks, or ends in a partial chunk that
  can be cut to its length (uncompressed; then the grid is rectilinear, see
  :mod:`vzcore.manifests.grid`);
* that files do not overlap along a concatenation dimension (``combine="by_coords"``), and
  that a variable is not missing from some of the files it is concatenated across;
* variables that are *not* concatenated and were loaded (coordinates such as ``lat``):
  equal values in every file. Virtual ones can only be compared by layout (dims, shape and
  dtype); the first file's references are kept, as with ``compat="override"``.

Every failure raises :class:`~vzcore.errors.CombineError` naming the variable, the two
files and what differs.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xarray as xr

from vzcore._dask_graph import is_dask_array, manifest_leaves, unwrap_duck_array
from vzcore.errors import CombineError, VirtualArrayValuesError, VZError
from vzcore.manifests import ManifestArray
from vzcore.manifests.encoding import CF_ENCODING_ATTRS, SourceEncoding
from vzcore.manifests.grid import cut_problem

__all__ = ["CF_ENCODING_ATTRS", "combine_virtual", "explain_unvirtualizable"]


@dataclass(frozen=True)
class _File:
    label: str
    ds: xr.Dataset


def _virtual(var: xr.Variable) -> ManifestArray | None:
    # ``_data`` is the wrapped array as is: ``.data`` would build numpy arrays from indexes.
    data = unwrap_duck_array(var._data)
    return data if isinstance(data, ManifestArray) else None


def _has_missing(var: xr.Variable) -> bool:
    manifest = _virtual(var).manifest  # type: ignore[union-attr]  # called on virtual ones
    return bool(manifest.nchunks and manifest.missing().any())


def _show_codecs(codecs: Sequence[dict[str, Any]]) -> str:
    parts = []
    for c in codecs:
        params = ", ".join(f"{k}={v!r}" for k, v in c.items() if k != "id")
        parts.append(f"{c.get('id')}({params})")
    return "[" + ", ".join(parts) + "]"


def _same(a: Any, b: Any) -> bool:
    """Equality of attribute values or arrays, NaN equal to NaN."""
    if type(a) is type(b) and isinstance(a, str | bytes | int):
        return bool(a == b)
    try:
        aa, bb = np.asarray(a), np.asarray(b)
        if aa.shape != bb.shape:
            return False
        if aa.dtype.kind in "fcmM" and bb.dtype.kind in "fcmM":
            return bool(np.array_equal(aa, bb, equal_nan=True))
        return bool(np.array_equal(aa, bb))
    except (TypeError, ValueError):
        return bool(a == b)


def _first_difference(a: np.ndarray, b: np.ndarray) -> str:
    if a.shape != b.shape:
        return f"shape {a.shape} vs {b.shape}"
    try:
        if a.dtype.kind in "fcmM" and b.dtype.kind in "fcmM":
            differ = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        else:
            differ = np.asarray(a != b)
        where = np.argwhere(differ)
    except (TypeError, ValueError):  # pragma: no cover - exotic object arrays
        return "values differ"
    if not len(where):  # pragma: no cover - _same said they differ
        return "values differ"
    at = tuple(int(i) for i in where[0])
    index = at[0] if len(at) == 1 else at
    return f"first difference at index {index}: {a[at]!r} vs {b[at]!r}, {len(where)} differ"


def _differ(
    name: Hashable, what: str, f1: _File, v1: str, f2: _File, v2: str, why: str
) -> CombineError:
    return CombineError(
        f"{str(name)!r}: {what} between {f1.label!r} ({v1}) and {f2.label!r} ({v2}). {why}"
    )


_JOIN_WHY = (
    "Virtual chunks can only be joined into one array when they decode the same way; "
    "load the variable (loadable_variables=[...]), drop it (drop_variables=[...]), or "
    "combine these files separately."
)


def _missing(name: Hashable, has: str, lacks: str, why: str = "") -> CombineError:
    return CombineError(
        f"{str(name)!r} is in {has!r} but missing from {lacks!r}, which are concatenated "
        f"together; a virtual variable cannot be padded{why}. Drop it (drop_variables=[...] "
        "or preprocess=) or leave out the files that lack it."
    )


def _check_joined_pair(
    name: Hashable, ref: _File, other: _File, concat_dims: set[Hashable]
) -> None:
    """Two files' copies of a variable that will be concatenated into one array."""
    a, b = ref.ds.variables[name], other.ds.variables[name]
    va, vb = _virtual(a) is not None, _virtual(b) is not None
    if va != vb:
        raise _differ(
            name,
            "storage differs",
            ref,
            "virtual" if va else "loaded",
            other,
            "virtual" if vb else "loaded",
            "A variable must be virtual in every file or loaded in every file; pass the same "
            "loadable_variables for all of them.",
        )
    if a.dims != b.dims:
        raise _differ(
            name,
            "dimensions differ",
            ref,
            str(a.dims),
            other,
            str(b.dims),
            "Files concatenated together need the same dimension order.",
        )
    for dim, sa, sb in zip(a.dims, a.shape, b.shape, strict=True):
        if dim not in concat_dims and sa != sb:
            raise _differ(
                name,
                f"lengths along {str(dim)!r} differ",
                ref,
                str(sa),
                other,
                str(sb),
                f"Only the concatenation dimension(s) {sorted(map(str, concat_dims))} "
                "may differ in length.",
            )
    if not va:
        return
    ma, mb = _virtual(a).metadata, _virtual(b).metadata  # type: ignore[union-attr]  # both virtual
    if ma.dtype != mb.dtype:
        raise _differ(name, "dtypes differ", ref, ma.dtype.str, other, mb.dtype.str, _JOIN_WHY)
    if [c for d, c in zip(a.dims, ma.chunk_shape, strict=True) if d not in concat_dims] != [
        c for d, c in zip(b.dims, mb.chunk_shape, strict=True) if d not in concat_dims
    ]:  # along a concatenation dimension they may differ: a rectilinear grid (manifests.grid)
        raise _differ(
            name,
            "chunk shapes differ",
            ref,
            str(ma.chunk_shape),
            other,
            str(mb.chunk_shape),
            "A zarr array has one chunk shape. " + _JOIN_WHY,
        )
    if ma.codecs != mb.codecs:
        raise _differ(
            name,
            "codecs differ",
            ref,
            _show_codecs(ma.codecs),
            other,
            _show_codecs(mb.codecs),
            _JOIN_WHY,
        )
    # The fill value (the only field left that differences() compares) only says what
    # *missing* chunks read as: it matters when both have some, as in np.concatenate.
    if (
        any(d.startswith("fill value ") for d in ma.differences(mb))
        and _has_missing(a)
        and _has_missing(b)
    ):
        raise _differ(
            name,
            "fill values differ",
            ref,
            repr(ma.fill_value),
            other,
            repr(mb.fill_value),
            _JOIN_WHY,
        )
    # The comparison every concatenation of ManifestArrays makes, on the attributes as they
    # are now (after preprocess), so the message names the files as the user gave them.
    for key, xa, xb in SourceEncoding.from_attrs(a.attrs).differences(
        SourceEncoding.from_attrs(b.attrs)
    )[:1]:
        raise _differ(
            name,
            f"attribute {key!r} differs",
            ref,
            xa,
            other,
            xb,
            "The stored values of these files decode differently, and a virtual array "
            "carries one set of attributes. " + _JOIN_WHY,
        )


def _check_static_pair(name: Hashable, ref: _File, other: _File, by_value: bool) -> None:
    """Two files' copies of a variable that is not concatenated (one copy is kept)."""
    a, b = ref.ds.variables[name], other.ds.variables[name]
    if a.dims != b.dims or a.shape != b.shape:
        raise _differ(
            name,
            "shapes differ",
            ref,
            f"{dict(zip(map(str, a.dims), a.shape, strict=True))}",
            other,
            f"{dict(zip(map(str, b.dims), b.shape, strict=True))}",
            "It is not concatenated, so every file must hold the same one.",
        )
    if _virtual(a) is not None or _virtual(b) is not None:
        if a.dtype != b.dtype:
            raise _differ(
                name,
                "dtypes differ",
                ref,
                a.dtype.str,
                other,
                b.dtype.str,
                "It is not concatenated, so every file must hold the same one.",
            )
        return  # virtual: cannot compare values; the first file's references are kept
    if not by_value or is_dask_array(a._data) or is_dask_array(b._data):
        return  # never compute a user's dask graph just to compare
    if (
        isinstance(a, xr.IndexVariable)
        and isinstance(b, xr.IndexVariable)
        and a.to_index().equals(b.to_index())
    ):
        return  # the common case (lat, lon), without building numpy arrays
    if not _same(a.values, b.values):
        raise _differ(
            name,
            "values differ",
            ref,
            "first file",
            other,
            _first_difference(a.values, b.values),
            "It is not concatenated (no concatenation dimension), so it must be equal in "
            "every file; pass compat='override' to keep the first file's values anyway.",
        )


def _concat_dims_by_coords(files: list[_File]) -> list[Hashable]:
    """Dimensions whose index differs between files (what combine_by_coords concatenates)."""
    first = files[0].ds
    out = []
    for dim in first.dims:
        if dim not in first.indexes:
            continue
        idx = first.indexes[dim]
        if any(dim not in f.ds.indexes or not f.ds.indexes[dim].equals(idx) for f in files[1:]):
            out.append(dim)
    return out


def _positions_by_coords(files: list[_File], dim: Hashable) -> list[int] | None:
    """Rank of each file along ``dim`` as combine_by_coords orders them; None if unordered."""
    if any(dim not in f.ds.indexes or len(f.ds.indexes[dim]) == 0 for f in files):
        return None
    indexes = [f.ds.indexes[dim] for f in files]
    if all(i.is_monotonic_increasing for i in indexes):
        ascending = True
    elif all(i.is_monotonic_decreasing for i in indexes):
        ascending = False
    else:
        return None  # xarray raises its own error
    starts = [i[0] for i in indexes]
    try:
        unique = sorted(set(starts), reverse=not ascending)
    except TypeError:  # pragma: no cover - unorderable coordinate values
        return None
    rank = {v: r for r, v in enumerate(unique)}
    pos = [rank[s] for s in starts]
    # Files at one position must agree along dim; consecutive positions must not overlap.
    first_at: dict[int, int] = {}
    for k, p in enumerate(pos):
        j = first_at.setdefault(p, k)
        if j != k and not indexes[j].equals(indexes[k]):
            raise _overlap(dim, files[j], files[k], indexes[j], indexes[k])
    for p in range(len(unique) - 1):
        j, k = first_at[p], first_at[p + 1]
        last, nxt = indexes[j][-1], indexes[k][0]
        if (last >= nxt) if ascending else (last <= nxt):
            raise _overlap(dim, files[j], files[k], indexes[j], indexes[k])
    return pos


def _overlap(dim: Hashable, f1: _File, f2: _File, i1: Any, i2: Any) -> CombineError:
    return CombineError(
        f"{f1.label!r} ({dim!s} {i1[0]} … {i1[-1]}) and {f2.label!r} ({dim!s} {i2[0]} … "
        f"{i2[-1]}) overlap along {str(dim)!r}, so combine='by_coords' cannot order them "
        "(xarray would keep only one). Leave one of them out, or use combine='nested'."
    )


def _check_tiling(name: Hashable, dim: Hashable, holders: list[tuple[int, _File]]) -> None:
    """Along ``dim``, every file but those at the last position must hold whole chunks."""
    last = max(p for p, _ in holders)
    for p, f in holders:
        if p == last:
            continue
        arr = _virtual(f.ds.variables[name])
        if arr is None:
            return
        axis = f.ds.variables[name].dims.index(dim)
        length, chunk = arr.shape[axis], arr.chunk_shape[axis]
        if length % chunk and (why := cut_problem(arr.metadata, axis)) is not None:
            nxt = (
                min((q, g) for q, g in holders if q > p)[1] if any(q > p for q, _ in holders) else f
            )
            raise CombineError(
                f"{str(name)!r}: {f.label!r} has {length} elements along {str(dim)!r}, not a "
                f"whole number of chunks of {chunk}, and {nxt.label!r} follows it; {why}. "
                "These files cannot be concatenated as references: load the variable "
                "(loadable_variables=[...]), leave the short file out (or put it last), or "
                f"rewrite the files with a chunk size that divides {length}."
            )


def _new_dim_joined(name: Hashable, ds: xr.Dataset, data_vars: Any, coords: Any) -> bool:
    """Whether concat along a dimension no file has includes ``name`` (xarray's rules)."""
    if name in ds.data_vars:
        if data_vars in (None, "all"):
            return True
        return not isinstance(data_vars, str) and name in data_vars
    if coords == "all":
        return True
    return not isinstance(coords, str) and name in coords


def check_files(
    files: list[_File],
    concat_dims: list[Hashable],
    positions: dict[Hashable, list[int]],
    *,
    data_vars: Any,
    coords: Any,
    by_value: bool,
    complete: bool = True,
) -> None:
    """Check one group of files that xarray concatenates together (see module docstring).

    ``complete=False`` when the files are not all joined along the same dimensions (a
    nested list with merges), so a variable need not be in every file.
    """
    dims = set(concat_dims)
    present = {d for f in files for d in f.ds.dims}
    new_dims = [d for d in concat_dims if d not in present]
    names: dict[Hashable, None] = {}
    for f in files:
        names.update(dict.fromkeys(f.ds.variables))
    for name in names:
        holders = [(k, f) for k, f in enumerate(files) if name in f.ds.variables]
        _, ref = holders[0]
        var = ref.ds.variables[name]
        joined = bool(dims & set(var.dims)) or any(
            _new_dim_joined(name, ref.ds, data_vars, coords) for _ in new_dims
        )
        if joined:
            if complete and name in ref.ds.data_vars and len(holders) < len(files):
                lacking = next(f for f in files if name not in f.ds.variables)
                raise _missing(name, ref.label, lacking.label)
            for _, f in holders[1:]:
                _check_joined_pair(name, ref, f, dims)
            for dim, pos in positions.items():
                if dim in var.dims:
                    _check_tiling(name, dim, [(pos[k], f) for k, f in holders])
        else:
            for _, f in holders[1:]:
                _check_static_pair(name, ref, f, by_value)


def _groups_by_data_vars(files: list[_File]) -> list[list[_File]]:
    """Files grouped as combine_by_coords groups them (by their set of data variables)."""
    groups: dict[tuple[str, ...], list[_File]] = {}
    for f in files:
        groups.setdefault(tuple(sorted(map(str, f.ds.data_vars))), []).append(f)
    return list(groups.values())


def _check_across_groups(groups: list[list[_File]], concat_dims: set[Hashable]) -> None:
    """Refuse a data variable concatenated in two groups: some file lacks a variable."""
    seen: dict[Hashable, tuple[_File, set[Hashable]]] = {}
    for group in groups:
        f = group[0]
        for name, var in f.ds.data_vars.items():
            if not concat_dims & set(var.dims):
                continue
            if name in seen:
                g, g_vars = seen[name]
                mine = set(f.ds.data_vars)
                extra = sorted(map(str, g_vars - mine))
                if extra:
                    raise CombineError(
                        f"{extra[0]!r} is in {g.label!r} but missing from {f.label!r}, whose "
                        f"other variables ({str(name)!r}) are concatenated with it; a virtual "
                        "variable cannot be padded. Drop it (drop_variables=[...] or "
                        "preprocess=) or leave out the files that lack it."
                    )
                extra = sorted(map(str, mine - g_vars))
                raise CombineError(
                    f"{extra[0]!r} is in {f.label!r} but missing from {g.label!r}, whose other "
                    f"variables ({str(name)!r}) are concatenated with it; a virtual variable "
                    "cannot be padded. Drop it (drop_variables=[...] or preprocess=) or leave "
                    "out the files that lack it."
                )
            seen[name] = (f, set(f.ds.data_vars))


def _check_static_across(files: list[_File], skip_dims: set[Hashable], by_value: bool) -> None:
    """Variables without a concatenation dimension, shared by differently-shaped groups."""
    ref: dict[Hashable, _File] = {}
    for f in files:
        for name, var in f.ds.variables.items():
            if skip_dims & set(var.dims):
                continue
            if name in ref:
                _check_static_pair(name, ref[name], f, by_value)
            else:
                ref[name] = f


def _is_flat(nested: Any) -> bool:
    return isinstance(nested, list) and not any(isinstance(x, list) for x in nested)


def combine_virtual(
    datasets: list[xr.Dataset],
    paths: list[Any],
    *,
    combine: Literal["by_coords", "nested"],
    nested: Any = None,
    concat_dim: Any = None,
    data_vars: Any = None,
    coords: Any = "minimal",
    compat: Any = None,
    join: Any = "exact",
    combine_attrs: Any = "drop_conflicts",
) -> xr.Dataset:
    """Check that the files can be joined as references, then combine them with xarray.

    Parameters
    ----------
    datasets
        One virtual dataset per file (after ``preprocess``), in the order given.
    paths
        The file each dataset came from, for messages.
    combine
        ``"by_coords"`` or ``"nested"``.
    nested
        For ``"nested"``: the datasets in the user's (possibly nested) list structure.
    concat_dim, data_vars, coords, join, combine_attrs
        As in :func:`xarray.combine_nested` / :func:`xarray.combine_by_coords`.
    compat
        None: loaded variables that are not concatenated must be equal in every file
        (checked by value here), virtual ones are taken from the first file; then xarray
        runs with ``compat="override"``. Any other value is passed to xarray as is.
    """
    files = [_File(os.fspath(p), ds) for p, ds in zip(paths, datasets, strict=True)]
    by_value = compat is None
    options = {"data_vars": data_vars, "coords": coords}
    if combine == "by_coords":
        groups = _groups_by_data_vars(files)
        group_dims = [_concat_dims_by_coords(g) for g in groups]
        for group, dims in zip(groups, group_dims, strict=True):
            positions = {}
            for dim in dims:
                pos = _positions_by_coords(group, dim)
                if pos is not None:
                    positions[dim] = pos
            # Check in combined order, so messages compare each file with the earliest.
            order = sorted(range(len(group)), key=lambda k: [positions[d][k] for d in positions])
            group = [group[k] for k in order]
            positions = {d: [pos[k] for k in order] for d, pos in positions.items()}
            check_files(group, dims, positions, by_value=by_value, **options)
        all_dims = {d for dims in group_dims for d in dims}
        # Groups whose coordinates differ are not concatenated but merged (and padded): a
        # variable they share along such a dimension means some file lacks another one.
        across = set(_concat_dims_by_coords([g[0] for g in groups])) if len(groups) > 1 else set()
        _check_across_groups(groups, all_dims | across)
        if len(groups) > 1:  # variables shared between groups are merged too
            _check_static_across([g[0] for g in groups], all_dims, by_value)
    elif combine == "nested":
        if concat_dim is None:
            raise VZError("combine='nested' needs concat_dim (a dimension name or a list)")
        dims_given = (
            [concat_dim] if isinstance(concat_dim, str) or concat_dim is None else list(concat_dim)
        )
        dims = [d for d in dims_given if d is not None]
        if len(dims_given) == 1 and _is_flat(nested) and dims:
            check_files(
                files, dims, {dims[0]: list(range(len(files)))}, by_value=by_value, **options
            )
        elif dims:  # N-D nesting: layout checks only; xarray checks the structure
            check_files(files, dims, {}, by_value=by_value, complete=False, **options)
    else:
        raise VZError(f"combine must be 'by_coords' or 'nested', got {combine!r}")

    kwargs: dict[str, Any] = {
        "data_vars": data_vars,
        "coords": coords,
        "compat": "override" if compat is None else compat,
        "join": join,
        "combine_attrs": combine_attrs,
    }
    try:
        if combine == "nested":
            result = xr.combine_nested(nested, concat_dim=concat_dim, **kwargs)
        else:
            result = xr.combine_by_coords(datasets, **kwargs)
    except CombineError:
        raise
    except VirtualArrayValuesError as err:
        raise CombineError(
            f"cannot combine {len(files)} files with combine={combine!r}: xarray needed the "
            f"values of a virtual variable ({err.operation}); this happens when coordinates "
            "differ and join/compat ask to align or compare them. Use join='exact' and "
            "compat='override' (the defaults), or load the variables involved."
        ) from err
    except (ValueError, KeyError, IndexError) as err:
        raise CombineError(
            f"cannot combine {len(files)} files with combine={combine!r}: {err}"
        ) from err
    if not isinstance(result, xr.Dataset):  # pragma: no cover - datasets in, dataset out
        raise CombineError(f"xarray returned a {type(result).__name__}, expected a Dataset")
    return result


# -- explaining a combined dataset that cannot be written (xr.open_mfdataset) ------------


def _sources(leaves: list[ManifestArray]) -> list[str]:
    return list(
        dict.fromkeys(
            a.encoding.source for a in leaves if a.encoding is not None and a.encoding.source
        )
    )


def _explain_variable(ds: xr.Dataset, name: Hashable) -> CombineError | None:
    var = ds.variables[name]
    leaves = [a for a in manifest_leaves(var._data) if a.encoding is not None]
    pieces = [a for a in leaves if a.ndim == var.ndim and a.encoding is not None]
    if not pieces:
        return None
    concat = {d for i, d in enumerate(var.dims) if var.shape[i] > max(a.shape[i] for a in pieces)}
    mine = _sources(leaves)
    if concat:  # every file concatenated along these dims should hold the variable
        together: dict[str, None] = {}
        for peer in ds.variables.values():
            if concat & set(peer.dims) and is_dask_array(peer._data):
                together.update(dict.fromkeys(_sources(manifest_leaves(peer._data))))
        lacking = [f for f in together if f not in mine]
        if lacking:
            return _missing(
                name, mine[0], lacking[0], " (xarray filled it with NaN, which needs the values)"
            )
    covered = {d: sum(a.shape[i] for a in pieces) for i, d in enumerate(var.dims) if d in concat}
    short = [d for d, n in covered.items() if n < var.sizes[d]]
    files = [
        _File(
            a.encoding.source,
            xr.Dataset(
                coords=xr.Coordinates(
                    {name: xr.Variable(var.dims, a, dict(a.encoding.raw))}, indexes={}
                )
            ),
        )
        for a in pieces
        if a.encoding is not None
    ]
    for other in files[1:]:
        try:
            _check_joined_pair(name, files[0], other, concat)
        except CombineError as err:
            return err
    if short:  # padded, and the file that lacks it left no trace (e.g. compat='override')
        d = short[0]
        return CombineError(
            f"{str(name)!r} holds chunks of {len(mine)} file(s) ({mine[0]!r}"
            f"{' …' if len(mine) > 1 else ''}) covering {covered[d]} of its {var.sizes[d]} "
            f"steps along {str(d)!r}: xarray filled the rest with NaN, which needs the values. "
            "Some files lack this variable (or their copies were dropped by compat='override'); "
            "drop it (drop_variables=[...] or preprocess=) or leave out the files that lack "
            "it. vzcore.open_virtual_mfdataset(...) names them."
        )
    return None


def explain_unvirtualizable(ds: xr.Dataset) -> CombineError | None:
    """Say which files make a combined dataset impossible to write as references.

    ``xr.open_mfdataset`` combines files with xarray's own rules, which pad a variable that
    some files lack and reindex dimensions whose lengths differ: computations on values
    that references cannot express. The per-file arrays at the leaves of each variable's
    dask graph still carry their source (see :mod:`vzcore.manifests.encoding`), so the
    same file-against-file checks as :func:`combine_virtual` name the files and what
    differs. Returns None when nothing explains it.
    """
    for name, var in ds.variables.items():
        if not is_dask_array(var._data):
            continue
        found = _explain_variable(ds, name)
        if found is not None:
            return found
    return None
