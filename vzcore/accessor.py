"""The ``.virtualize`` accessor on xarray Datasets and DataTrees.

It converts the virtual dataset into a :class:`~vzcore.group.ManifestGroup` and hands it
to a writer plugin chosen by format name; it never imports a format library itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Literal

import xarray as xr

from vzcore import plugins
from vzcore._from_xarray import dataset_to_group, datatree_to_group, virtual_data
from vzcore.errors import VZError

__all__ = ["VirtualizeDataTreeAccessor", "VirtualizeDatasetAccessor"]

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


class _Virtualize:
    _obj: Any

    def to_group(self) -> Any:
        raise NotImplementedError

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
        return spec.load_class()().write(self.to_group(), target, **options)

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


@xr.register_dataset_accessor("virtualize")
class VirtualizeDatasetAccessor(_Virtualize):
    """``ds.virtualize``: write a virtual Dataset as references."""

    def __init__(self, ds: xr.Dataset) -> None:
        self._obj = ds

    def to_group(self) -> Any:
        """Return the dataset as a ManifestGroup (what writers receive)."""
        return dataset_to_group(self._obj)

    @property
    def nbytes(self) -> int:
        """Memory held by the manifests and loaded variables."""
        return int(self.to_group().nbytes)

    def rename_paths(
        self, func_or_prefix_map: Callable[[str], str] | Mapping[str, str]
    ) -> xr.Dataset:
        """Return a copy whose references point elsewhere (e.g. local -> ``s3://``).

        Parameters
        ----------
        func_or_prefix_map
            A function of the old path, or a mapping of old prefix to new prefix.
        """
        mapper = _path_mapper(func_or_prefix_map)
        ds = self._obj.copy()
        for name, var in self._obj.variables.items():
            data = virtual_data(str(name), var.variable if hasattr(var, "variable") else var)
            if data is not None and hasattr(data, "rename_paths"):
                new = xr.Variable(var.dims, data.rename_paths(mapper), var.attrs, var.encoding)
                if name in ds.indexes:  # pragma: no cover - index variables are in memory
                    continue
                ds[name] = new
        return ds


@xr.register_datatree_accessor("virtualize")
class VirtualizeDataTreeAccessor(_Virtualize):
    """``dt.virtualize``: write a virtual DataTree (every group) as one reference set."""

    def __init__(self, tree: xr.DataTree) -> None:
        self._obj = tree

    def to_group(self) -> Any:
        """Return the tree as a ManifestGroup tree (what writers receive)."""
        return datatree_to_group(self._obj)

    @property
    def nbytes(self) -> int:
        """Memory held by the manifests and loaded variables of every group."""
        return int(self.to_group().nbytes)
