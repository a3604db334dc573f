"""Opening files as virtual datasets: the functions users call.

``open_virtual_dataset`` picks a reader (by magic bytes, or ``reader=``), asks it for a
:class:`~vzcore.group.ManifestGroup`, and converts that to an :class:`xarray.Dataset` whose
variables are :class:`~vzcore.manifests.ManifestArray` objects, except the loadable ones
(1-D dimension coordinates by default), which are read and CF-decoded.

Which path to use when:

* ``vzcore.open_virtual_dataset`` / ``open_virtual_mfdataset`` return bare ManifestArrays:
  combine them with ``xr.concat`` / ``xr.combine_*`` directly. This is the fast path
  (no dask), and the one to use in scripts that handle many files.
* ``xr.open_dataset(url, engine="virtualizarr")`` gives the same dataset through xarray's
  plugin system; ``xr.open_mfdataset(..., engine="virtualizarr")`` works too: xarray wraps
  every variable in dask, and ``ds.virtualize`` turns those graphs back into
  ManifestArrays without reading data.
"""

from __future__ import annotations

import glob as _glob
import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import xarray as xr

from vzcore import plugins
from vzcore._to_xarray import DecodeOptions, group_to_dataset, group_to_datatree
from vzcore._urls import read_head, to_url
from vzcore.errors import VZError

if TYPE_CHECKING:
    from vzcore.group import ManifestGroup

__all__ = ["open_virtual_dataset", "open_virtual_datatree", "open_virtual_mfdataset", "read_group"]


def read_group(
    url: str | os.PathLike[str],
    *,
    reader: str | None = None,
    group: str | None = None,
    storage_options: dict[str, Any] | None = None,
    reader_options: dict[str, Any] | None = None,
) -> ManifestGroup:
    """Scan one file with the right reader and return its ManifestGroup (no xarray)."""
    full = to_url(url)
    if reader is None:
        head = read_head(full, plugins.head_size(), storage_options)
        spec = plugins.find_reader(full, head)
    else:
        spec = plugins.get_reader(reader)
    instance = spec.load_class()()
    return instance.read(
        full, group=group, storage_options=storage_options, **(reader_options or {})
    )


def open_virtual_dataset(
    url: str | os.PathLike[str],
    *,
    reader: str | None = None,
    group: str | None = None,
    loadable_variables: Iterable[str] | None = None,
    decode_times: bool | None = None,
    drop_variables: Iterable[str] | str | None = None,
    storage_options: dict[str, Any] | None = None,
    reader_options: dict[str, Any] | None = None,
    mask_and_scale: bool = True,
    decode_timedelta: bool | None = None,
    use_cftime: bool | None = None,
    decode_coords: bool = True,
) -> xr.Dataset:
    """Open one file as a virtual dataset.

    Parameters
    ----------
    url
        Local path or URL (``s3://``, ``https://``, ...).
    reader
        Reader name (``"hdf5"``, ``"netcdf3"``, ``"tiff"``, ...); None picks one by the
        file's magic bytes.
    group
        Group inside the file (HDF5/netCDF4); None for the root.
    loadable_variables
        Variables to read into memory and CF-decode; None means the 1-D dimension
        coordinates. These are written as real data by writers.
    decode_times
        Decode CF times of loaded variables (default True).
    drop_variables
        Variables to leave out.
    storage_options
        fsspec options for remote URLs.
    reader_options
        Options passed to the reader's ``read``.
    mask_and_scale, decode_timedelta, use_cftime, decode_coords
        As in :func:`xarray.open_dataset`; decoding applies to loaded variables only.

    Returns
    -------
    xarray.Dataset
        Virtual variables hold :class:`~vzcore.manifests.ManifestArray` objects.
    """
    full = to_url(url)
    tree = read_group(
        full,
        reader=reader,
        group=group,
        storage_options=storage_options,
        reader_options=reader_options,
    )
    return group_to_dataset(
        tree,
        loadable_variables=loadable_variables,
        drop_variables=drop_variables,
        decode=DecodeOptions(
            mask_and_scale=mask_and_scale,
            decode_times=True if decode_times is None else decode_times,
            decode_timedelta=decode_timedelta,
            use_cftime=use_cftime,
            decode_coords=decode_coords,
        ),
        storage_options=storage_options,
        source=full,
    )


def open_virtual_datatree(
    url: str | os.PathLike[str],
    *,
    reader: str | None = None,
    group: str | None = None,
    loadable_variables: Iterable[str] | None = None,
    decode_times: bool | None = None,
    drop_variables: Iterable[str] | str | None = None,
    storage_options: dict[str, Any] | None = None,
    reader_options: dict[str, Any] | None = None,
) -> xr.DataTree:
    """Open a file's whole group hierarchy as a virtual DataTree (see open_virtual_dataset)."""
    full = to_url(url)
    tree = read_group(
        full,
        reader=reader,
        group=group,
        storage_options=storage_options,
        reader_options=reader_options,
    )
    return group_to_datatree(
        tree,
        loadable_variables=loadable_variables,
        drop_variables=drop_variables,
        decode=DecodeOptions(decode_times=True if decode_times is None else decode_times),
        storage_options=storage_options,
        source=full,
    )


def _expand_paths(paths: str | os.PathLike[str] | Sequence[Any]) -> list[Any]:
    if isinstance(paths, str | os.PathLike):
        s = os.fspath(paths)
        if any(ch in s for ch in "*?["):
            if "://" in s and not s.startswith("file://"):
                import fsspec

                fs, _, found = fsspec.get_fs_token_paths(s)
                protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
                return [f"{protocol}://{p}" for p in sorted(found)]
            found = sorted(_glob.glob(s.removeprefix("file://")))
            if not found:
                raise VZError(f"no files match {s!r}")
            return found
        return [s]
    return list(paths)


def open_virtual_mfdataset(
    paths: str | os.PathLike[str] | Sequence[Any],
    *,
    combine: Literal["by_coords", "nested"] = "by_coords",
    concat_dim: str | Sequence[str] | None = None,
    preprocess: Callable[[xr.Dataset], xr.Dataset] | None = None,
    data_vars: Any = "all",
    coords: Any = "different",
    compat: Any = "no_conflicts",
    join: Any = "outer",
    combine_attrs: Any = "override",
    **open_kwargs: Any,  # passed to open_virtual_dataset (reader, loadable_variables, ...)
) -> xr.Dataset:
    """Open many files as one virtual dataset, combined with xarray's semantics.

    Parameters
    ----------
    paths
        A glob string, a path, or a (nested, for ``combine="nested"``) list of paths.
    combine
        ``"by_coords"`` (order by coordinate values) or ``"nested"`` (order as given).
    concat_dim
        Dimension(s) to concatenate along for ``combine="nested"``.
    preprocess
        Function applied to each file's dataset before combining.
    data_vars, coords, compat, join, combine_attrs
        As in :func:`xarray.open_mfdataset`.
    **open_kwargs
        Passed to :func:`open_virtual_dataset` for every file.
    """
    expanded = _expand_paths(paths)

    def _open(p: Any) -> Any:
        if isinstance(p, list):
            return [_open(q) for q in p]
        ds = open_virtual_dataset(p, **open_kwargs)
        return preprocess(ds) if preprocess is not None else ds

    datasets = _open(expanded)
    combine_kwargs: dict[str, Any] = {
        "data_vars": data_vars,
        "coords": coords,
        "compat": compat,
        "join": join,
        "combine_attrs": combine_attrs,
    }
    if combine == "nested":
        if concat_dim is None:
            raise VZError("combine='nested' needs concat_dim (a dimension name or None list)")
        return xr.combine_nested(datasets, concat_dim=concat_dim, **combine_kwargs)
    if combine == "by_coords":
        return xr.combine_by_coords(datasets, **combine_kwargs)
    raise VZError(f"combine must be 'by_coords' or 'nested', got {combine!r}")
