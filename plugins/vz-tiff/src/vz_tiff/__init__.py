"""vz-tiff: the TIFF / BigTIFF / GeoTIFF / COG reader plugin for vzcore.

Installing this distribution makes ``vzcore.open_virtual_dataset("image.tif")`` (and
``xr.open_dataset(..., engine="virtualizarr")``) work on TIFF files. The reader lives in
:mod:`vz_tiff._reader` and is imported only when a file is opened; importing this package
never imports tifffile or imagecodecs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vzcore.registry import package_getattr

__all__ = ["__version__"]

if TYPE_CHECKING:
    __version__: str

__getattr__ = package_getattr(__name__, "vz-tiff")  # __version__: the installed metadata
