"""vz-netcdf3: a vzcore reader for netCDF classic files (CDF-1, CDF-2 and CDF-5).

Installing this distribution registers the ``netcdf3`` reader through the ``vzcore`` entry
point group; use it through :func:`vzcore.open_virtual_dataset`. The reader lives in
``vz_netcdf3._reader`` and is imported only when a netCDF classic file is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vzcore.registry import package_getattr

__all__ = ["__version__"]

if TYPE_CHECKING:
    __version__: str

__getattr__ = package_getattr(__name__, "vz-netcdf3")  # __version__: the installed metadata
