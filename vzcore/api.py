"""Opening files as virtual datasets: the functions users call.

``open_virtual_dataset`` picks a reader (by magic bytes, or ``reader=``), asks it for a
:class:`~vzcore.group.ManifestGroup`, and converts that to an :class:`xarray.Dataset` whose
variables are :class:`~vzcore.manifests.ManifestArray` objects, except the loadable ones
(1-D dimension coordinates, their CF bounds and scalars by default), which are read and CF-decoded.

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack

import xarray as xr

from vzcore import plugins
from vzcore._combine import combine_virtual
from vzcore._executors import Parallel, _progress, map_files, own_process_pool
from vzcore._file_access import open_source, park_source, scan_session, scanned_source
from vzcore._open_options import (
    OpenKwargs,
    OpenOptions,
    is_keyed,
    reader_keywords,
    takes_open_options,
)
from vzcore._to_xarray import group_to_dataset, group_to_datatree
from vzcore._tree_combine import (
    DEFAULT_RETRIES,
    open_on_cluster,
    resolve_client,
    scan_file,
    warn_skipped,
)
from vzcore._tree_combine import Failed as _Failed
from vzcore._urls import expand_glob, to_url
from vzcore.errors import UnsupportedFeatureError, VZError
from vzcore.manifests import ManifestArray
from vzcore.manifests.attributes import clean_tree_attributes
from vzcore.names import validate_tree

if TYPE_CHECKING:
    from vzcore.group import ManifestGroup, Variable
    from vzcore.registry import ReaderSpec

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
    drop_variables: Iterable[str] | str | None = None,
) -> ManifestGroup:
    """Scan one file with the right reader and return its ManifestGroup (no xarray).

    Parameters
    ----------
    url
        Local path or URL of the file.
    reader
        Reader name; None picks one by the file's magic bytes.
    group
        Group inside the file; None for the root.
    storage_options
        fsspec options for remote URLs.
    reader_options
        The reader's options, flat or keyed by reader name (see
        :func:`open_virtual_dataset`).
    drop_variables
        Variables the reader should not parse, when its ``read`` declares
        ``drop_variables``; otherwise they are left in (the xarray conversion drops them).

    Returns
    -------
    vzcore.group.ManifestGroup
        The file's tree of virtual arrays, attributes and dimensions.
    """
    opts = OpenOptions(
        reader=reader,
        group=group,
        storage_options=storage_options,
        reader_options=reader_options,
        drop_variables=drop_variables,
    )
    return _read(to_url(url), opts)


def _find_spec(full: str, opts: OpenOptions) -> ReaderSpec:
    if opts.reader is not None:
        return plugins.get_reader(opts.reader)
    try:
        source = open_source(full, opts.storage_options, allow_empty=True)
    except IsADirectoryError:  # (e.g. Parquet references): readers match it by name
        return plugins.find_reader(full, b"", directory=True)
    try:
        head = source.read_at(0, plugins.head_size())
        spec = plugins.find_reader(full, head, size=source.size, read_at=source.read_probe)
    except BaseException:
        source.close()
        raise
    if not park_source(source):  # (in a scan session the reader opens this same file)
        source.close()
    return spec


def _read(full: str, opts: OpenOptions, *, subgroups: bool = True) -> ManifestGroup:
    spec = _find_spec(full, opts)
    cls = spec.load_class()
    options = opts.options_for(spec.name)
    keywords = reader_keywords(cls.read)  # one signature per file, not one per question
    flat = not is_keyed(opts.reader_options or {})
    if flat and "drop_variables" not in keywords:
        options.pop("drop_variables", None)  # given flat: the core drops them (_dropped)
    spec.check_options(cls, options)  # the one check of reader options, before reading
    instance = cls()
    if not subgroups and "subgroups" in keywords:
        options["subgroups"] = False  # one group wanted: its children are not read at all
    if opts.drop_variables and "drop_variables" in keywords:
        # The reader skips them before parsing (see the module docstring).
        given = _names_of(options.get("drop_variables"))
        options["drop_variables"] = list(dict.fromkeys((*given, *opts.drop_variables)))
    try:
        tree = instance.read(
            full, group=opts.group, storage_options=opts.storage_options, **options
        )
    except UnsupportedFeatureError as err:
        # Say the remedy that every reader declaring drop_variables takes.
        if (
            err.variable
            and getattr(err, "kind", "variable") == "variable"  # groups cannot be dropped
            and "drop_variables" not in err.hint
            and "drop_variables" in keywords
        ):
            remedy = f"or leave it out: drop_variables=[{err.variable!r}]"
            raise UnsupportedFeatureError(
                err.url, err.variable, err.feature, f"{err.hint}; {remedy}" if err.hint else remedy
            ) from err
        raise
    validate_tree(tree, full)  # names become store keys and paths in writers
    clean_tree_attributes(tree, full)  # the one text policy for attribute values
    if instance.scans_sources:
        _record_sources(tree, opts.storage_options)
    return tree


def _names_of(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _record_sources(tree: ManifestGroup, storage_options: dict[str, Any] | None) -> None:
    """Attach each referenced file's size, mtime and ETag to the manifests, as scanned now.

    Readers that know better (e.g. a reader of existing references that stores them) have
    already attached theirs, and those are kept. A file that cannot be stat'ed is left
    without; the scan itself succeeded, and :func:`vzcore.verify` reports it later.
    """
    # (one walk: the tree's sources(), referenced_paths() and attach_sources() together)
    virtual: list[tuple[Variable, ManifestArray]] = []
    known: set[str] = set()
    paths: dict[str, None] = {}  # in order of reference, as referenced_paths()
    for _, group in tree.walk():
        for v in group.variables.values():
            if isinstance(v.data, ManifestArray):
                manifest = v.data.manifest
                virtual.append((v, v.data))
                known.update(manifest.sources)
                paths.update(dict.fromkeys(manifest.paths))
    found = {}
    for path in paths:
        if path in known:
            continue
        try:
            found[path] = scanned_source(path, storage_options)  # (as read now)
        except (OSError, ValueError, NotImplementedError) as exc:
            _log.debug("could not stat %s: %s", path, exc)
    if found:
        for v, array in virtual:
            if not found.keys().isdisjoint(array.manifest.paths):
                v.data = array.with_sources(found)


def _dropped(opts: OpenOptions) -> list[str] | None:
    """Return every variable to drop after reading (top level and flat reader options)."""
    flat = opts.reader_options or {}
    extra = () if is_keyed(flat) else _names_of(flat.get("drop_variables"))
    names = (*(opts.drop_variables or ()), *extra)
    return list(dict.fromkeys(names)) or None


@scan_session()  # ... and loading coordinates too
def open_dataset_with(url: str | os.PathLike[str], opts: OpenOptions) -> xr.Dataset:
    """Open one file as a virtual dataset with options already gathered (every entry point).

    Parameters
    ----------
    url
        Local path or URL of the file.
    opts
        The options, as :func:`open_virtual_dataset` documents them.

    Returns
    -------
    xarray.Dataset
        As :func:`open_virtual_dataset`.
    """
    return _open_with(url, opts, group_to_dataset, subgroups=False)


@scan_session()
def open_datatree_with(url: str | os.PathLike[str], opts: OpenOptions) -> xr.DataTree:
    """Open a file's group hierarchy as a virtual DataTree with options already gathered.

    As :func:`open_dataset_with`, returning what :func:`open_virtual_datatree` returns.
    """
    return _open_with(url, opts, group_to_datatree, subgroups=True)


def _open_with[T](
    url: str | os.PathLike[str],
    opts: OpenOptions,
    convert: Callable[..., T],
    *,
    subgroups: bool,
) -> T:
    """Read the file and convert its ManifestGroup to xarray (``group_to_dataset``/``_datatree``)."""
    full = to_url(url)
    tree = _read(full, opts, subgroups=subgroups)
    return convert(
        tree,
        loadable_variables=opts.loadable_variables,
        drop_variables=_dropped(opts),
        decode=opts.decode,
        storage_options=opts.storage_options,
        source=full,
    )


@takes_open_options
def open_virtual_dataset(
    url: str | os.PathLike[str],
    **options: Unpack[OpenKwargs],
) -> xr.Dataset:
    """Open one file as a virtual dataset.

    Parameters
    ----------
    url
        Local path or URL (``s3://``, ``https://``, ...) of a file, or of existing
        references (kerchunk JSON or Parquet).
    **options
        The options of opening a file, described in :class:`vzcore._open_options.OpenKwargs`
        (``help()`` and the API reference list them here).

    Returns
    -------
    xarray.Dataset
        Virtual variables hold :class:`~vzcore.manifests.ManifestArray` objects; loaded
        ones hold numpy arrays.

    Raises
    ------
    vzcore.errors.VZError
        No reader fits, the file cannot be read, or a variable cannot be virtualized (the
        message names the file, the variable and what to do).

    Examples
    --------
    >>> vds = vzcore.open_virtual_dataset("air.nc")  # doctest: +SKIP
    >>> vds = vzcore.open_virtual_dataset("air.nc", loadable_variables=[])  # doctest: +SKIP
    """
    opts = OpenOptions.given_to("open_virtual_dataset", options)
    return open_dataset_with(url, opts)


@takes_open_options
def open_virtual_datatree(
    url: str | os.PathLike[str],
    **options: Unpack[OpenKwargs],
) -> xr.DataTree:
    """Open a file's whole group hierarchy as a virtual DataTree.

    Every group becomes a node; options apply to every node (``loadable_variables`` and
    ``drop_variables`` name variables in whichever groups hold them).

    Parameters
    ----------
    url
        Local path or URL of the file, or of existing references.
    **options
        The options of :func:`open_virtual_dataset`, applied to every node (``help()`` and
        the API reference list them here).

    Returns
    -------
    xarray.DataTree
        One node per group; virtual variables hold ManifestArrays.

    Raises
    ------
    vzcore.errors.VZError
        As :func:`open_virtual_dataset`.

    Examples
    --------
    >>> vdt = vzcore.open_virtual_datatree("groups.nc")  # doctest: +SKIP
    >>> vdt.virtualize.to_kerchunk("refs.json")  # doctest: +SKIP
    """
    opts = OpenOptions.given_to("open_virtual_datatree", options)
    return open_datatree_with(url, opts)


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


def _scan_one(item: tuple[Any, OpenOptions, int]) -> xr.Dataset | _Failed:
    path, opts, retries = item
    return scan_file((path, {"opts": opts}), retries, open_dataset_with)


class _PoolBatches(TypedDict):
    """How the process-pool path scans and combines batches (``open_on_pool``'s keywords)."""

    combine: Literal["by_coords", "nested"]
    concat_dim: str | Sequence[str] | None
    errors: Literal["raise", "warn", "skip"]
    retries: int
    combine_options: dict[str, Any]


class _Batches(_PoolBatches):
    """How the cluster and process-pool paths scan and combine batches.

    Typed so that mypy checks its names against ``open_on_cluster``'s and ``_open_on_pool``'s
    keywords.
    """

    progress: bool | Literal["auto"] | None


def _open_on_pool(
    pool: tuple[Any, bool, int],
    flat_paths: list[Any],
    opts: OpenOptions,
    *,
    progress: bool | Literal["auto"] | None,
    **kwargs: Unpack[_PoolBatches],
) -> xr.Dataset:
    """Run :func:`vzcore._pool_combine.open_on_pool`, then shut down a pool made for it."""
    from vzcore._pool_combine import open_on_pool

    executor, own, workers = pool
    bar = _progress(len(flat_paths), progress)
    try:
        return open_on_pool(
            executor,
            flat_paths,
            open_dataset_with,
            {"opts": opts},
            bar=bar,
            workers=workers,
            **kwargs,
        )
    finally:
        bar.close()
        if own:
            executor.shutdown(wait=True, cancel_futures=True)


def _worker_modules(first: Any, opts: OpenOptions) -> list[str]:
    """Return the modules a worker process needs: the core API and the files' reader.

    The reader is the one the first file needs (one cheap sniff); workers import any other
    themselves.
    """
    modules = ["vzcore.api"]
    try:
        spec = _find_spec(to_url(first), opts)
    except Exception:  # noqa: BLE001  # a hint only: the scan itself reports (or retries) it
        return modules
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


def _gather_options(open_kwargs: dict[str, Any]) -> OpenOptions:
    unknown = sorted(set(open_kwargs) - set(OpenOptions.names()))
    if unknown:
        raise TypeError(
            f"open_virtual_mfdataset got unknown option(s) {unknown}; the options of each "
            f"file's opening are {', '.join(OpenOptions.names())}, and the combine options "
            "are its own parameters (see its docstring)"
        )
    return OpenOptions(**open_kwargs)


def _check_flat_reader_options(paths: list[Any], opts: OpenOptions) -> None:
    """Refuse flat ``reader_options`` when the files need different readers.

    Each reader refuses options it does not know, so flat options meant for one reader
    (say the kerchunk reader's ``allowed_prefixes``) would break the files of another;
    say how to key them instead. Costs one sniff per file, and only when the files' names
    end differently (references plus ``.nc`` files); files of one extension but two
    formats get the reader's own refusal, which names it and its valid options.
    """
    given = opts.reader_options
    if not given or opts.reader is not None or is_keyed(given) or len(paths) < 2:
        return
    if len({os.path.splitext(os.fspath(p).rstrip("/"))[1] for p in paths}) < 2:
        return
    found: dict[str, str] = {}
    for path in paths:
        try:
            name = _find_spec(to_url(path), opts).name
        except (VZError, OSError):
            continue  # the scan reports it
        found.setdefault(name, os.fspath(path))
    if len(found) > 1:
        example = ", ".join(f"{name!r}: {{...}}" for name in sorted(found))
        shown = ", ".join(f"{name!r} ({path!r})" for name, path in sorted(found.items()))
        raise VZError(
            f"reader_options {sorted(given)} were given flat, but the files need different "
            f"readers: {shown}, and each reader takes only its own options. Key them by "
            f"reader name: reader_options={{{example}}}; variables to leave out go in "
            "drop_variables=[...], which every reader takes."
        )


def _check_indexed(paths: list[Any], datasets: list[xr.Dataset]) -> None:
    """Refuse ``combine="by_coords"`` over virtual dimension coordinates, saying what to do.

    Ordering files by coordinate values needs those values: a dimension coordinate left out
    of ``loadable_variables`` is virtual and has no index.
    """
    for path, ds in zip(paths, datasets, strict=True):
        virtual = [str(n) for n, c in ds.coords.items() if c.dims == (n,) and n not in ds.xindexes]
        if virtual:
            raise VZError(
                f"combine='by_coords' orders files by the values of their dimension "
                f"coordinates, but {virtual} in {os.fspath(path)!r} are virtual (not in "
                "loadable_variables), so their values are not known. Load them "
                f"(loadable_variables=[..., {virtual[0]!r}]) or give the order yourself: "
                "combine='nested', concat_dim=<dimension>."
            )


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
    **open_kwargs: Any,  # the options of open_virtual_dataset (OpenOptions), for every file
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
        their chunks must tile one grid (every file but the last along the concatenation
        dimension holds whole chunks, or ends in an uncompressed partial chunk, which makes
        a rectilinear grid that only zarr v3 outputs hold; see ``docs/variable-chunks.md``)
        and files may not overlap; otherwise
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
        in the result's ``encoding["skipped_files"]`` either way. (vzcore warnings are not
        failures: raised in worker processes, they are warned again here, once per file,
        and a filter that turns them into errors raises them, whatever ``errors`` says.)
    retries
        Extra attempts for a file whose scan failed in a way that may pass (a timeout, a
        reset connection: an ``OSError`` other than a missing file or a permission error),
        after 0.2 s, 0.4 s, ...; never for a :class:`~vzcore.errors.VZError` (the file is
        the problem). Default 2; 0 turns retrying off.
    **open_kwargs
        The options of :func:`open_virtual_dataset`, applied to every file: ``reader``,
        ``group``, ``loadable_variables``, ``drop_variables``, ``storage_options``,
        ``reader_options`` (keyed by reader name, ``{"kerchunk": {...}, "hdf5": {...}}``,
        when the files need different readers, e.g. existing references plus new
        netCDF files), ``mask_and_scale``, ``decode_times``, ``concat_characters``,
        ``decode_coords``, ``use_cftime`` and ``decode_timedelta``. Unknown names raise
        TypeError.

    Returns
    -------
    xarray.Dataset
        The combined virtual dataset; ``encoding["skipped_files"]`` lists files skipped
        under ``errors="warn"``/``"skip"``.

    Raises
    ------
    vzcore.errors.CombineError
        Files that cannot be joined virtually (the message names both files, the variable
        and what differs).
    vzcore.errors.VZError
        A file cannot be scanned (``errors="raise"``), or the options do not fit together.

    Examples
    --------
    >>> vds = vzcore.open_virtual_mfdataset("data/*.nc", parallel="threads")  # doctest: +SKIP
    >>> vds = vzcore.open_virtual_mfdataset(  # doctest: +SKIP
    ...     ["old_refs.json", "new_01.nc"], combine="nested", concat_dim="time")
    """
    if errors not in ("raise", "warn", "skip"):
        raise VZError(f"errors must be 'raise', 'warn' or 'skip', got {errors!r}")
    if combine not in ("by_coords", "nested"):
        raise VZError(f"combine must be 'by_coords' or 'nested', got {combine!r}")
    if combine == "nested" and concat_dim is None:
        raise VZError("combine='nested' needs concat_dim (a dimension name or a list)")
    opts = _gather_options(open_kwargs)
    expanded = _expand_paths(paths, opts.storage_options)
    flat_paths = _flatten(expanded)
    if not flat_paths:
        raise VZError("open_virtual_mfdataset needs at least one file")
    _check_flat_reader_options(flat_paths, opts)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise VZError(f"retries must be a whole number >= 0, got {retries!r}")
    nested_nd = combine == "nested" and any(isinstance(p, list) for p in expanded)
    combine_options: dict[str, Any] = {
        "data_vars": data_vars,
        "coords": coords,
        "compat": compat,
        "join": join,
        "combine_attrs": combine_attrs,
    }
    batched: _Batches = {
        "combine": combine,
        "concat_dim": concat_dim,
        "errors": errors,
        "retries": retries,
        "progress": progress,
        "combine_options": combine_options,
    }
    client = resolve_client(parallel)
    if client is not None and preprocess is None and not nested_nd:
        return open_on_cluster(client, flat_paths, open_kwargs, **batched)
    preload = _worker_modules(flat_paths[0], opts) if parallel == "processes" else ()
    if preprocess is None and not nested_nd and len(flat_paths) > 1:
        pool = own_process_pool(parallel, preload)
        if pool is not None:  # batches scanned and combined in the workers
            return _open_on_pool(pool, flat_paths, opts, **batched)
    scanned = map_files(
        _scan_one, [(p, opts, retries) for p in flat_paths], parallel, progress, preload
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
        warn_skipped([(f.path, f.error) for f in failed], stacklevel=2)
    kept = [(p, r) for p, r in zip(flat_paths, scanned, strict=True) if not isinstance(r, _Failed)]
    if not kept:
        raise VZError("none of the files could be scanned") from failed[0].error
    datasets = [preprocess(ds) if preprocess is not None else ds for _, ds in kept]
    if combine == "by_coords":
        _check_indexed([p for p, _ in kept], datasets)
    result = combine_virtual(
        datasets,
        [p for p, _ in kept],
        combine=combine,
        nested=datasets if nested_nd is False else _unflatten(expanded, iter(datasets)),
        concat_dim=concat_dim,
        **combine_options,
    )
    if failed:
        result.encoding["skipped_files"] = [f.path for f in failed]
    if len(flat_paths) >= _TRIM_AFTER:
        from vzcore._memory import release_free_memory

        del scanned, kept, datasets
        release_free_memory()  # the per-file datasets' memory, freed by now
    return result


_TRIM_AFTER = 256
"""Files from which the serial path gives freed memory back after combining."""
