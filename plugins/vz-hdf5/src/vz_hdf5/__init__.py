"""vz-hdf5: the HDF5 / netCDF4 reader plugin for vzcore.

Installing this distribution makes ``vzcore.open_virtual_dataset("file.nc")`` (and
``xr.open_dataset(..., engine="virtualizarr")``) work on HDF5 and netCDF4 files. The
reader itself lives in :mod:`vz_hdf5._reader` and is imported only when a file is opened;
importing this package never imports h5py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vzcore.registry import package_getattr

__all__ = ["__version__"]

if TYPE_CHECKING:
    __version__: str

__getattr__ = package_getattr(__name__, "vz-hdf5")  # __version__: the installed metadata
