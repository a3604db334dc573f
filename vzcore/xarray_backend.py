"""The xarray engine ``virtualizarr``: ``xr.open_dataset(url, engine="virtualizarr")``.

Declared once, by core, in the ``xarray.backends`` entry-point group. The engine is opt-in:
:meth:`VirtualiZarrBackendEntrypoint.guess_can_open` always returns False, so a plain
``xr.open_dataset("x.nc")`` never hands out virtual arrays by surprise. Format-specific
options go in ``reader_options``. The parameters are those of
:class:`vzcore._open_options.OpenOptions`,
the one definition shared with :func:`vzcore.open_virtual_dataset`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

import xarray as xr
from xarray.backends import BackendEntrypoint

from vzcore import accessor as _accessor  # noqa: F401  # registers ``.virtualize``
from vzcore._open_options import OpenOptions
from vzcore.api import open_dataset_with, open_datatree_with

if TYPE_CHECKING:
    from xarray.coders import CFDatetimeCoder, CFTimedeltaCoder

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

    def open_dataset(  # explicit parameters instead of **kwargs
        self,
        filename_or_obj: Any,
        *,
        reader: str | None = None,
        group: str | None = None,
        loadable_variables: Iterable[str] | None = None,
        drop_variables: str | Iterable[str] | None = None,
        storage_options: dict[str, Any] | None = None,
        reader_options: dict[str, Any] | None = None,
        mask_and_scale: bool = True,
        decode_times: bool | CFDatetimeCoder | None = None,
        concat_characters: bool = True,
        decode_coords: bool | str = True,
        use_cftime: bool | None = None,
        decode_timedelta: bool | CFTimedeltaCoder | None = None,
    ) -> xr.Dataset:
        """Open one file as a virtual dataset (see :func:`vzcore.open_virtual_dataset`).

        Every parameter means what it means there. A dimension coordinate left out of
        ``loadable_variables`` is virtual and has no index: pass
        ``create_default_indexes=False`` to :func:`xarray.open_dataset` then, or xarray
        tries to build one from values it does not have.
        """
        opts = OpenOptions(
            reader=reader,
            group=group,
            loadable_variables=loadable_variables,
            drop_variables=drop_variables,
            storage_options=storage_options,
            reader_options=reader_options,
            mask_and_scale=mask_and_scale,
            decode_times=decode_times,
            concat_characters=concat_characters,
            decode_coords=decode_coords,
            use_cftime=use_cftime,
            decode_timedelta=decode_timedelta,
        )
        return open_dataset_with(_path(filename_or_obj), opts)

    def open_datatree(  # explicit parameters instead of **kwargs
        self,
        filename_or_obj: Any,
        *,
        reader: str | None = None,
        group: str | None = None,
        loadable_variables: Iterable[str] | None = None,
        drop_variables: str | Iterable[str] | None = None,
        storage_options: dict[str, Any] | None = None,
        reader_options: dict[str, Any] | None = None,
        mask_and_scale: bool = True,
        decode_times: bool | CFDatetimeCoder | None = None,
        concat_characters: bool = True,
        decode_coords: bool | str = True,
        use_cftime: bool | None = None,
        decode_timedelta: bool | CFTimedeltaCoder | None = None,
    ) -> xr.DataTree:
        """Open a file's group hierarchy (see :func:`vzcore.open_virtual_datatree`)."""
        opts = OpenOptions(
            reader=reader,
            group=group,
            loadable_variables=loadable_variables,
            drop_variables=drop_variables,
            storage_options=storage_options,
            reader_options=reader_options,
            mask_and_scale=mask_and_scale,
            decode_times=decode_times,
            concat_characters=concat_characters,
            decode_coords=decode_coords,
            use_cftime=use_cftime,
            decode_timedelta=decode_timedelta,
        )
        return open_datatree_with(_path(filename_or_obj), opts)

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """Return False: the engine is opt-in (``engine="virtualizarr"``)."""
        return False
