"""vz-tiff: the TIFF / BigTIFF / GeoTIFF / COG reader plugin for vzcore.

Installing this distribution makes ``vzcore.open_virtual_dataset("image.tif")`` (and
``xr.open_dataset(..., engine="virtualizarr")``) work on TIFF files. The reader lives in
:mod:`vz_tiff._reader` and is imported only when a file is opened; importing this package
never imports tifffile or imagecodecs.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
