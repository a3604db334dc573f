"""The xarray engine ``virtualizarr``: ``xr.open_dataset(url, engine="virtualizarr")``.

Declared once, by core, in the ``xarray.backends`` entry-point group. The engine is opt-in:
:meth:`VirtualiZarrBackendEntrypoint.guess_can_open` always returns False, so a plain
``xr.open_dataset("x.nc")`` never hands out virtual arrays by surprise. Format-specific
options go in ``reader_options``. The parameters are those of
:class:`vzcore._open_options.OpenOptions`, the one definition shared with
:func:`vzcore.open_virtual_dataset`: :func:`~vzcore._open_options.takes_open_options` gives
``open_dataset`` and ``open_datatree`` their explicit keyword signature at run time, and
``open_dataset_parameters`` lists the same names, so xarray passes every option through.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, Unpack

import xarray as xr
from xarray.backends import BackendEntrypoint

from vzcore import accessor as _accessor  # noqa: F401  # registers ``.virtualize``
from vzcore._open_options import OpenKwargs, OpenOptions, takes_open_options
from vzcore.api import open_dataset_with, open_datatree_with

__all__ = ["VirtualiZarrBackendEntrypoint"]


def _path(filename_or_obj: Any) -> str | os.PathLike[str]:
    if isinstance(filename_or_obj, str | os.PathLike):
        return filename_or_obj
    raise TypeError(
        f"engine='virtualizarr' opens files by path or URL, got {type(filename_or_obj).__name__}; "
        "pass the file's path or URL (with storage_options for remote stores)"
    )


class VirtualiZarrBackendEntrypoint(BackendEntrypoint):
    """Open archival files as virtual datasets of chunk references."""

    description: ClassVar[str] = (
        "Virtual datasets (chunk references) from netCDF/HDF5/TIFF files, via vzcore plugins"
    )
    url: ClassVar[str] = "https://github.com/vzcore/vzcore"
    open_dataset_parameters: ClassVar[tuple[str, ...]] = (
        "filename_or_obj",
        *OpenOptions.names(),
    )

    def __repr__(self) -> str:
        return f"<VirtualiZarrBackendEntrypoint>\n  {self.description}\n  Learn more at {self.url}"

    @takes_open_options
    def open_dataset(self, filename_or_obj: Any, **options: Unpack[OpenKwargs]) -> xr.Dataset:
        """Open one file as a virtual dataset (see :func:`vzcore.open_virtual_dataset`).

        Every parameter means what it means there. A dimension coordinate left out of
        ``loadable_variables`` is virtual and has no index: pass
        ``create_default_indexes=False`` to :func:`xarray.open_dataset` then, or xarray
        tries to build one from values it does not have.
        """
        opts = OpenOptions.given_to(f"{type(self).__name__}.open_dataset", options)
        return open_dataset_with(_path(filename_or_obj), opts)

    @takes_open_options
    def open_datatree(self, filename_or_obj: Any, **options: Unpack[OpenKwargs]) -> xr.DataTree:
        """Open a file's group hierarchy (see :func:`vzcore.open_virtual_datatree`)."""
        opts = OpenOptions.given_to(f"{type(self).__name__}.open_datatree", options)
        return open_datatree_with(_path(filename_or_obj), opts)

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """Return False: the engine is opt-in (``engine="virtualizarr"``)."""
        return False
