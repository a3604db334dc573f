"""The ``.virtualize`` accessor on xarray Datasets and DataTrees.

It converts the virtual dataset into a :class:`~vzcore.group.ManifestGroup` and hands it
to a writer plugin chosen by format name; it never imports a format library itself.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Literal

import xarray as xr

from vzcore import _virtualizarr_compat, plugins
from vzcore._from_xarray import dataset_to_group, datatree_to_group, virtual_data
from vzcore.errors import NotVirtualizableError, VZError

__all__ = ["VirtualizeDataTreeAccessor", "VirtualizeDatasetAccessor", "register"]

_KERCHUNK_FORMATS = {"json": "kerchunk", "dict": "kerchunk", "parquet": "parquet"}


def _path_mapper(
    func_or_prefix_map: Callable[[str], str] | Mapping[str, str],
) -> Callable[[str], str]:
    if callable(func_or_prefix_map):
        return func_or_prefix_map
    prefixes = sorted(func_or_prefix_map.items(), key=lambda kv: -len(kv[0]))

    def mapper(path: str) -> str:
        for old, new in prefixes:
            if path.startswith(old):
                return new + path[len(old) :]
        return path

    return mapper


def _virtual_arrays(ds: xr.Dataset) -> dict[Hashable, Any]:
    """Return the ManifestArray behind each virtual variable of ``ds``."""
    out = {}
    for name, var in ds.variables.items():
        data = virtual_data(str(name), var)
        if data is not None and hasattr(data, "rename_paths"):
            out[name] = data
    return out


def _check_prefixes(prefix_map: Mapping[str, str], datasets: list[xr.Dataset]) -> None:
    """Raise when a prefix matches no reference: a typo would otherwise change nothing."""
    paths: set[str] = set()
    for ds in datasets:
        for data in _virtual_arrays(ds).values():
            paths.update(data.manifest.paths)
    unmatched = [old for old in prefix_map if not any(p.startswith(old) for p in paths)]
    if unmatched:
        sample = sorted(paths)[:3]
        more = f" (and {len(paths) - 3} more)" if len(paths) > 3 else ""
        raise VZError(
            f"rename_paths: prefix {unmatched[0]!r} matches none of the references, so nothing "
            f"would be re-pointed; they point at {sample}{more}. Use a prefix of those paths "
            "(absolute URLs such as 'file:///data/' or 's3://bucket/'), or a function."
        )


def _renamed(ds: xr.Dataset, mapper: Callable[[str], str]) -> xr.Dataset:
    new = {}
    for name, data in _virtual_arrays(ds).items():
        var = ds.variables[name]
        new[name] = xr.Variable(var.dims, data.rename_paths(mapper), var.attrs, var.encoding)
    out = ds.copy()
    for name, var in new.items():
        if name not in ds.coords:
            out[name] = var
    coords = {name: var for name, var in new.items() if name in ds.coords}
    if coords:  # virtual coordinates have no index (and xarray must not build one)
        out = out.assign_coords(xr.Coordinates(coords, indexes={}))
    return out


class _Virtualize[T: (xr.Dataset, xr.DataTree)]:
    _obj: T

    def __new__(cls, obj: T) -> Any:
        """Return vzcore's accessor, or VirtualiZarr's for an object of its arrays only."""
        if isinstance(obj, xr.DataTree):
            peer = _virtualizarr_compat.peer_accessor(
                "DataTree", [node.variables.values() for node in obj.subtree]
            )
        else:
            peer = _virtualizarr_compat.peer_accessor("Dataset", [obj.variables.values()])
        if peer is not None:
            return peer(obj)
        return super().__new__(cls)

    def to_group(self) -> Any:
        raise NotImplementedError

    def _nodes(self) -> dict[str, xr.Dataset]:
        """Return the datasets that hold references, by group path."""
        raise NotImplementedError

    def _from_nodes(self, nodes: dict[str, xr.Dataset]) -> T:
        """Return an object like ``_obj`` made of ``nodes`` (as :meth:`_nodes` returns them)."""
        raise NotImplementedError

    @property
    def nbytes(self) -> int:
        """Memory held by the manifests and loaded variables (of every group of a tree)."""
        return int(self.to_group().nbytes)

    def rename_paths(self, func_or_prefix_map: Callable[[str], str] | Mapping[str, str]) -> T:
        """Return a copy whose references (in every group) point elsewhere (local -> ``s3://``).

        Parameters
        ----------
        func_or_prefix_map
            A function of the old path, or a mapping of old prefix to new prefix (longest
            prefix first); every prefix must match at least one reference.

        Returns
        -------
        xarray.Dataset or xarray.DataTree
            The same dataset or tree with re-pointed references; the original is unchanged.

        Raises
        ------
        vzcore.errors.VZError
            A prefix matches none of the references (the message shows some of them).

        Examples
        --------
        >>> moved = vds.virtualize.rename_paths(  # doctest: +SKIP
        ...     {"file:///scratch/run1/": "s3://bucket/run1/"})
        """
        nodes = self._nodes()
        if not callable(func_or_prefix_map):
            _check_prefixes(func_or_prefix_map, list(nodes.values()))
        mapper = _path_mapper(func_or_prefix_map)
        return self._from_nodes({path: _renamed(ds, mapper) for path, ds in nodes.items()})

    def write(self, target: Any, format: str, **options: Any) -> Any:
        """Write with any installed writer.

        Parameters
        ----------
        target
            Path, URL, store or session, as the writer documents.
        format
            Writer name: ``"kerchunk"`` (kerchunk JSON), ``"parquet"``, ``"icechunk"``, or a
            third-party one; ``"json"`` is the kerchunk writer too. Positional or keyword
            (``write("refs.json", format="kerchunk")``).
        **options
            Writer options (e.g. ``zarr_format=3``, ``mode="w"``).

        Returns
        -------
        Any
            What the writer returns (None for files and stores).

        Examples
        --------
        >>> vds.virtualize.write("refs.json", format="kerchunk")  # doctest: +SKIP
        >>> vds.virtualize.write(session, "icechunk")  # doctest: +SKIP
        """
        writer = "kerchunk" if format == "json" else format
        return self._dispatch(writer, target, options)

    def _dispatch(self, writer: str, target: Any, options: dict[str, Any]) -> Any:
        spec = plugins.get_writer(writer)
        cls = spec.load_class()
        spec.check_options(cls, options)  # the one check of writer options, before writing
        return cls().write(self.to_group(), target, **options)

    def to_kerchunk(
        self,
        path: str | os.PathLike[str] | None = None,
        format: Literal["json", "parquet", "dict"] = "json",
        **options: Any,
    ) -> dict[str, Any] | None:
        """Write kerchunk references; return them as a dict when ``format="dict"``.

        Parameters
        ----------
        path
            Output file (JSON) or directory (Parquet); None with ``format="dict"``.
        format
            ``"json"``, ``"parquet"`` or ``"dict"``.
        **options
            Writer options (e.g. ``mode="w"`` to overwrite, ``record_size`` for Parquet).
        """
        if format not in _KERCHUNK_FORMATS:
            raise VZError(
                f"to_kerchunk format must be one of {sorted(_KERCHUNK_FORMATS)}, got {format!r}"
            )
        if format == "dict":
            if path is not None:
                raise VZError("format='dict' returns the references; do not pass a path")
        elif path is None:
            raise VZError(f"format={format!r} needs a path to write to")
        writer = _KERCHUNK_FORMATS[format]
        if writer == "kerchunk":
            options["format"] = format
        target = None if path is None else os.fspath(path)
        result: dict[str, Any] | None = self._dispatch(writer, target, options)
        return result

    def to_icechunk(
        self,
        store_or_session: Any,
        *,
        group: str | None = None,
        append_dim: str | None = None,
        **options: Any,
    ) -> None:
        """Write virtual references into an Icechunk repository (needs vz-icechunk).

        Parameters
        ----------
        store_or_session
            An ``icechunk.IcechunkStore`` or writable ``Session``; committing is left to
            the caller.
        group
            Group path inside the repository.
        append_dim
            Dimension to append along, for adding files to an existing repository.
        **options
            Writer options.
        """
        options.update(group=group, append_dim=append_dim)
        self._dispatch("icechunk", store_or_session, options)


class VirtualizeDatasetAccessor(_Virtualize[xr.Dataset]):
    """``ds.virtualize``: write a virtual Dataset as references.

    With VirtualiZarr imported too, a dataset that holds only VirtualiZarr's ManifestArrays
    (none of vzcore's) gets VirtualiZarr's deprecated ``.virtualize`` accessor instead, as
    it would without vzcore.
    """

    def __init__(self, ds: xr.Dataset) -> None:
        self._obj = ds

    def to_group(self) -> Any:
        """Return the dataset as a ManifestGroup (what writers receive)."""
        try:
            return dataset_to_group(self._obj)
        except NotVirtualizableError as err:
            # e.g. xr.open_mfdataset padded a variable some files lack: name the files.
            from vzcore._combine import explain_unvirtualizable

            explained = explain_unvirtualizable(self._obj)
            if explained is None:
                raise
            raise explained from err

    def _nodes(self) -> dict[str, xr.Dataset]:
        return {"/": self._obj}

    def _from_nodes(self, nodes: dict[str, xr.Dataset]) -> xr.Dataset:
        return nodes["/"]


class VirtualizeDataTreeAccessor(_Virtualize[xr.DataTree]):
    """``dt.virtualize``: write a virtual DataTree (every group) as one reference set.

    With VirtualiZarr imported too, a tree that holds only VirtualiZarr's ManifestArrays
    (none of vzcore's) gets VirtualiZarr's deprecated ``.virtualize`` accessor instead.
    """

    def __init__(self, tree: xr.DataTree) -> None:
        self._obj = tree

    def to_group(self) -> Any:
        """Return the tree as a ManifestGroup tree (what writers receive)."""
        return datatree_to_group(self._obj)

    def _nodes(self) -> dict[str, xr.Dataset]:
        return {node.path: node.to_dataset(inherit=False) for node in self._obj.subtree}

    def _from_nodes(self, nodes: dict[str, xr.Dataset]) -> xr.DataTree:
        return xr.DataTree.from_dict(nodes, name=self._obj.name)


def register() -> None:
    """Register ``.virtualize`` on Dataset and DataTree unless vzcore's accessor already is.

    Called on import and again right after ``virtualizarr.accessor`` has registered its
    deprecated accessor of the same name (see :mod:`vzcore._accessor_hook`); replacing
    that one does not warn, replacing any other does, as xarray always does.
    """
    registrations = (
        (xr.Dataset, xr.register_dataset_accessor, VirtualizeDatasetAccessor),
        (xr.DataTree, xr.register_datatree_accessor, VirtualizeDataTreeAccessor),
    )
    for target, register_accessor, accessor in registrations:
        if getattr(target, _virtualizarr_compat.ACCESSOR_NAME, None) is accessor:
            continue
        with contextlib.ExitStack() as stack:
            if _virtualizarr_compat.overrides_virtualizarr(target):
                stack.enter_context(_virtualizarr_compat.quiet_override(target, __name__))
            register_accessor(_virtualizarr_compat.ACCESSOR_NAME)(accessor)  # type: ignore[no-untyped-call]  # unannotated


register()
