"""vz-netcdf3: a vzcore reader for netCDF classic files (CDF-1, CDF-2 and CDF-5).

Installing this distribution registers the ``netcdf3`` reader through the ``vzcore`` entry
point group; use it through :func:`vzcore.open_virtual_dataset`. The reader lives in
``vz_netcdf3._reader`` and is imported only when a netCDF classic file is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["__version__"]

if TYPE_CHECKING:
    __version__: str


def __getattr__(name: str) -> str:
    if name == "__version__":  # read from the installed metadata (= vzcore's version)
        from importlib.metadata import version

        return version("vz-netcdf3")
    raise AttributeError(f"module 'vz_netcdf3' has no attribute {name!r}")
