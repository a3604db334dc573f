"""vz-hdf5: the HDF5 / netCDF4 reader plugin for vzcore.

Installing this distribution makes ``vzcore.open_virtual_dataset("file.nc")`` (and
``xr.open_dataset(..., engine="virtualizarr")``) work on HDF5 and netCDF4 files. The
reader itself lives in :mod:`vz_hdf5._reader` and is imported only when a file is opened;
importing this package never imports h5py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["__version__"]

if TYPE_CHECKING:
    __version__: str


def __getattr__(name: str) -> str:
    if name == "__version__":  # read from the installed metadata (= vzcore's version)
        from importlib.metadata import version

        return version("vz-hdf5")
    raise AttributeError(f"module 'vz_hdf5' has no attribute {name!r}")
