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

import logging
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import xarray as xr

from vzcore import plugins
from vzcore._combine import combine_virtual
from vzcore._executors import Parallel, map_files
from vzcore._to_xarray import DecodeOptions, group_to_dataset, group_to_datatree
from vzcore._tree_combine import DEFAULT_RETRIES, open_on_cluster, resolve_client, scan_file
from vzcore._tree_combine import Failed as _Failed
from vzcore._urls import expand_glob, read_head, scan_session, stat_source, to_url
from vzcore.errors import VZError, VZSkippedFilesWarning
from vzcore.names import validate_tree

if TYPE_CHECKING:
    from vzcore.group import ManifestGroup

__all__ = ["open_virtual_dataset", "open_virtual_datatree", "open_virtual_mfdataset", "read_group"]

_log = logging.getLogger("vzcore")


@scan_session()  # a remote file is opened once: sniffing, parsing and stat share it
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
        try:
            head = read_head(full, plugins.head_size(), storage_options)
        except IsADirectoryError:
            head = b""  # a directory (e.g. Parquet references): readers match it by name
        spec = plugins.find_reader(full, head)
    else:
        spec = plugins.get_reader(reader)
    instance = spec.load_class()()
    tree = instance.read(
        full, group=group, storage_options=storage_options, **(reader_options or {})
    )
    validate_tree(tree, full)  # names become store keys and paths in writers
    if getattr(instance, "scans_sources", True):
        _record_sources(tree, storage_options)
    return tree


def _record_sources(tree: ManifestGroup, storage_options: dict[str, Any] | None) -> None:
    """Attach each referenced file's size, mtime and ETag to the manifests, as scanned now.

    Readers that know better (e.g. a reader of existing references that stores them) have
    already attached theirs, and those are kept. A file that cannot be stat'ed is left
    without; the scan itself succeeded, and :func:`vzcore.verify` reports it later.
    """
    known = tree.sources()
    found = {}
    for path in tree.referenced_paths():
        if path in known:
            continue
        try:
            found[path] = stat_source(path, storage_options)
        except (OSError, ValueError, NotImplementedError) as exc:
            _log.debug("could not stat %s: %s", path, exc)
    if found:
        tree.attach_sources(found)


@scan_session()  # ... and loading coordinates too
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


@scan_session()
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


def _expand_paths(
    paths: str | os.PathLike[str] | Sequence[Any],
    storage_options: dict[str, Any] | None = None,
) -> list[Any]:
    if isinstance(paths, str | os.PathLike):
        s = os.fspath(paths)
        if any(ch in s for ch in "*?["):
            found = expand_glob(s, storage_options)  # sorted; remote ones as full URLs
            if not found:
                raise VZError(f"no files match {s!r}")
            return found
        return [s]
    return list(paths)


def _scan_one(item: tuple[Any, dict[str, Any], int]) -> xr.Dataset | _Failed:
    path, kwargs, retries = item
    return scan_file((path, kwargs), retries, open_virtual_dataset)


def _worker_modules(first: Any, open_kwargs: dict[str, Any]) -> list[str]:
    """Return the modules a worker process needs: the core API and the files' reader.

    The reader is the one the first file needs (one cheap sniff); workers import any other
    themselves.
    """
    modules = ["vzcore.api"]
    reader = open_kwargs.get("reader")
    try:
        if reader is None:
            url = to_url(first)
            head = read_head(url, plugins.head_size(), open_kwargs.get("storage_options"))
            spec = plugins.find_reader(url, head)
        else:
            spec = plugins.get_reader(reader)
    except (VZError, OSError):
        return modules  # the scan itself will report the problem
    modules.append(spec.load.partition(":")[0])
    return modules


def _flatten(nested: Any) -> list[Any]:
    if isinstance(nested, list):
        return [x for item in nested for x in _flatten(item)]
    return [nested]


def _unflatten(nested: Any, flat: Iterator[Any]) -> Any:
    if isinstance(nested, list):
        return [_unflatten(item, flat) for item in nested]
    return next(flat)


def open_virtual_mfdataset(
    paths: str | os.PathLike[str] | Sequence[Any],
    *,
    combine: Literal["by_coords", "nested"] = "by_coords",
    concat_dim: str | Sequence[str] | None = None,
    preprocess: Callable[[xr.Dataset], xr.Dataset] | None = None,
    data_vars: Any = None,
    coords: Any = "minimal",
    compat: Any = None,
    join: Any = "exact",
    combine_attrs: Any = "drop_conflicts",
    parallel: Parallel = False,
    progress: bool | Literal["auto"] | None = "auto",
    errors: Literal["raise", "warn", "skip"] = "raise",
    retries: int = DEFAULT_RETRIES,
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
        Function applied to each file's dataset before combining (in this process).
    data_vars, coords, join, combine_attrs
        As in :func:`xarray.open_mfdataset`, with defaults for virtual data:
        ``data_vars=None`` (variables without the concatenation dimension, such as a static
        ``elevation``, are not broadcast along it; along a new dimension every data variable
        is stacked), ``coords="minimal"``, ``join="exact"`` (virtual arrays cannot be padded
        or reindexed) and ``combine_attrs="drop_conflicts"`` (per-file attributes such as
        ``history`` never make the combine fail).
    compat
        None (default): variables that are not concatenated are checked by value when loaded
        (coordinates such as ``lat``) and by layout when virtual, whose chunk references can
        only be compared, not their values: the first file's are kept. Any other value is
        passed to xarray unchecked (``"override"`` keeps the first file's values blindly).

        Whatever ``compat`` is, virtual variables that are concatenated must agree in dtype,
        chunk shape, codecs, fill value, CF encoding attributes (``scale_factor``,
        ``_FillValue``, ``units``, ...) and in their lengths along the other dimensions,
        their chunks must tile one regular grid (every file but the last along the
        concatenation dimension holds whole chunks) and files may not overlap; otherwise
        :class:`~vzcore.errors.CombineError` names the variable, the two files and what
        differs.
    parallel
        ``False`` (serial), ``"threads"``, ``"processes"``, ``"dask"`` (the active
        dask.distributed Client, else dask's default scheduler), a
        :class:`distributed.Client` or any :class:`concurrent.futures.Executor`. On a
        dask.distributed cluster the files are scanned and combined on the workers, in a
        tree (see ``vzcore._tree_combine``): the client only receives the result.
    progress
        Show a progress bar of files scanned (count, rate, ETA) on stderr: tqdm's (terminal
        or notebook widget) when tqdm is installed, else a plain text line. ``"auto"`` (or
        None) shows it only when it can be seen: stderr is a terminal, or the code runs in
        a Jupyter kernel, and there is more than one file. ``True`` shows it anywhere
        (logs of batch jobs included); ``False`` never.
    errors
        What to do with a file that cannot be scanned: ``"raise"``, ``"warn"`` (skip it
        with a warning listing every skipped file) or ``"skip"``. Skipped files are listed
        in the result's ``encoding["skipped_files"]`` either way.
    retries
        Extra attempts for a file whose scan failed in a way that may pass (a timeout, a
        reset connection: an ``OSError`` other than a missing file or a permission error),
        after 0.2 s, 0.4 s, ...; never for a :class:`~vzcore.errors.VZError` (the file is
        the problem). Default 2; 0 turns retrying off.
    **open_kwargs
        Passed to :func:`open_virtual_dataset` for every file.
    """
    if errors not in ("raise", "warn", "skip"):
        raise VZError(f"errors must be 'raise', 'warn' or 'skip', got {errors!r}")
    if combine not in ("by_coords", "nested"):
        raise VZError(f"combine must be 'by_coords' or 'nested', got {combine!r}")
    if combine == "nested" and concat_dim is None:
        raise VZError("combine='nested' needs concat_dim (a dimension name or a list)")
    expanded = _expand_paths(paths, open_kwargs.get("storage_options"))
    flat_paths = _flatten(expanded)
    if not flat_paths:
        raise VZError("open_virtual_mfdataset needs at least one file")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise VZError(f"retries must be a whole number >= 0, got {retries!r}")
    nested_nd = combine == "nested" and any(isinstance(p, list) for p in expanded)
    client = resolve_client(parallel)
    if client is not None and preprocess is None and not nested_nd:
        return open_on_cluster(
            client, flat_paths, open_kwargs, combine=combine, concat_dim=concat_dim,
            errors=errors, retries=retries, progress=progress,
            combine_options={"data_vars": data_vars, "coords": coords, "compat": compat,
                             "join": join, "combine_attrs": combine_attrs},
        )
    preload = _worker_modules(flat_paths[0], open_kwargs) if parallel == "processes" else ()
    scanned = map_files(
        _scan_one, [(p, open_kwargs, retries) for p in flat_paths], parallel, progress, preload
    )

    failed = [r for r in scanned if isinstance(r, _Failed)]
    if failed and (errors == "raise" or nested_nd):
        first = failed[0]
        if errors != "raise":
            raise VZError(
                f"{len(failed)} file(s) could not be scanned and combine='nested' cannot skip "
                "files of a nested list without breaking its shape; first: "
                f"{first.path!r}: {first.error}"
            ) from first.error
        raise first.error
    if failed and errors == "warn":
        listing = "; ".join(f"{f.path!r}: {f.error}" for f in failed)
        warnings.warn(f"skipped {len(failed)} file(s) that could not be scanned: {listing}",
                      VZSkippedFilesWarning, stacklevel=2)
    kept = [(p, r) for p, r in zip(flat_paths, scanned, strict=True) if not isinstance(r, _Failed)]
    if not kept:
        raise VZError("none of the files could be scanned") from failed[0].error
    datasets = [preprocess(ds) if preprocess is not None else ds for _, ds in kept]
    result = combine_virtual(
        datasets,
        [p for p, _ in kept],
        combine=combine,
        nested=datasets if nested_nd is False else _unflatten(expanded, iter(datasets)),
        concat_dim=concat_dim,
        data_vars=data_vars,
        coords=coords,
        compat=compat,
        join=join,
        combine_attrs=combine_attrs,
    )
    if failed:
        result.encoding["skipped_files"] = [f.path for f in failed]
    return result
