"""GeoTIFF and GDAL metadata: geotransform, x/y coordinates, CRS and band attributes.

This follows what GDAL (and so rasterio and rioxarray) make of the same tags:

* The geotransform comes from ModelPixelScale + ModelTiepoint, or from
  ModelTransformation. For ``PixelIsPoint`` rasters the tiepoint is a pixel centre and
  GDAL shifts the origin by half a pixel so that the transform, like for ``PixelIsArea``,
  maps pixel corners.
* x/y coordinates are pixel centres: ``x[i] = c + (i + 0.5) * a``,
  ``y[j] = f + (j + 0.5) * e``, in float64 (rioxarray's ``_generate_spatial_coords``).
  A rotated or sheared transform has no 1-D coordinates; only its ``GeoTransform`` is kept.
* Overviews use the full-resolution transform scaled by the ratio of the raster sizes.
* The CRS is the EPSG code of ProjectedCSTypeGeoKey (or GeographicTypeGeoKey). With pyproj
  installed, ``spatial_ref`` gets rioxarray's attributes (``crs.to_cf()`` with ``crs_wkt``,
  plus ``spatial_ref`` holding the WKT); without it, ``spatial_ref = "EPSG:<code>"`` (which
  rioxarray and GDAL accept as a CRS) and ``epsg = <code>``.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["GeoInfo", "band_attrs", "coordinate_attrs", "parse_geo", "spatial_ref_attrs"]

_USER_DEFINED = 32767
_LINEAR_UNITS = {9001: "metre", 9002: "foot", 9003: "US survey foot"}


@dataclass(frozen=True)
class GeoInfo:
    """What the GeoTIFF tags of one page say about its georeferencing."""

    transform: tuple[float, float, float, float, float, float] | None
    """GDAL geotransform ``(c, a, b, f, d, e)`` of pixel corners, or None without one."""
    pixel_is_point: bool
    """True for ``RasterPixelIsPoint`` (GTRasterTypeGeoKey = 2)."""
    epsg: int | None
    """EPSG code of the CRS, when the file names one."""
    geographic: bool
    """True when the model is geographic (longitude/latitude)."""
    linear_units: str | None
    """Name of the projected linear unit, when known."""
    keys: dict[int, Any]
    """All GeoKeys, by key id (for attributes)."""

    def scaled(self, height0: int, width0: int, height: int, width: int) -> GeoInfo:
        """Return the info of an overview of ``height x width`` pixels (GDAL's rule)."""
        if self.transform is None:
            return self
        c, a, b, f, d, e = self.transform
        fx, fy = width0 / width, height0 / height
        return GeoInfo(
            (c, a * fx, b * fy, f, d * fx, e * fy),
            self.pixel_is_point,
            self.epsg,
            self.geographic,
            self.linear_units,
            self.keys,
        )

    @property
    def rotated(self) -> bool:
        """True when the transform has rotation or shear terms."""
        return self.transform is not None and (self.transform[2] != 0 or self.transform[4] != 0)

    def coordinates(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Return pixel-centre ``(y, x)`` coordinates, or None for rotated/absent transforms."""
        if self.transform is None or self.rotated:
            return None
        c, a, _, f, _, e = self.transform
        x = c + (np.arange(width, dtype=np.float64) + 0.5) * a
        y = f + (np.arange(height, dtype=np.float64) + 0.5) * e
        return y, x


def _geokeys(tags: Any) -> dict[int, Any]:
    directory = tags.valueof(34735)
    if directory is None:
        return {}
    values = [int(v) for v in directory]
    doubles = tags.valueof(34736)
    ascii_params = tags.valueof(34737)
    out: dict[int, Any] = {}
    n = values[3] if len(values) >= 4 else 0
    for i in range(n):
        base = 4 + 4 * i
        if base + 4 > len(values):
            break
        key, location, count, offset = values[base : base + 4]
        value: Any
        if location == 0:
            value = offset
        elif location == 34736 and doubles is not None:
            dv = [float(x) for x in np.atleast_1d(doubles)[offset : offset + count]]
            value = dv[0] if count == 1 else dv
        elif location == 34737 and ascii_params is not None:
            text = ascii_params if isinstance(ascii_params, str) else str(ascii_params)
            value = text[offset : offset + count].rstrip("|\x00")
        else:
            continue
        out[key] = value
    return out


def parse_geo(tags: Any) -> GeoInfo | None:
    """Return the georeferencing of a page from its TIFF tags, or None for a plain TIFF."""
    keys = _geokeys(tags)
    scale = tags.valueof(33550)
    tiepoint = tags.valueof(33922)
    matrix = tags.valueof(34264)
    if not keys and scale is None and tiepoint is None and matrix is None:
        return None
    pixel_is_point = keys.get(1025) == 2
    transform: tuple[float, float, float, float, float, float] | None = None
    if matrix is not None and len(matrix) >= 8:
        m = [float(v) for v in matrix]
        transform = (m[3], m[0], m[1], m[7], m[4], m[5])
    elif scale is not None and tiepoint is not None and len(tiepoint) == 6 and len(scale) >= 2:
        i, j, _, x, y, _ = (float(v) for v in tiepoint)
        sx, sy = float(scale[0]), float(scale[1])
        transform = (x - i * sx, sx, 0.0, y + j * sy, 0.0, -sy)
    if transform is not None and pixel_is_point:
        c, a, b, f, d, e = transform
        transform = (c - 0.5 * a - 0.5 * b, a, b, f - 0.5 * d - 0.5 * e, d, e)
    model = keys.get(1024)
    geographic = model == 2
    epsg: int | None = None
    projected = keys.get(3072)
    geographic_cs = keys.get(2048)
    if isinstance(projected, int) and 0 < projected < _USER_DEFINED and not geographic:
        epsg = projected
    elif isinstance(geographic_cs, int) and 0 < geographic_cs < _USER_DEFINED:
        epsg = geographic_cs
    units = keys.get(3076)
    linear_units = _LINEAR_UNITS.get(units) if isinstance(units, int) else None
    return GeoInfo(transform, pixel_is_point, epsg, geographic, linear_units, keys)


def _gdal_number(value: float) -> str:
    return repr(float(value))


def spatial_ref_attrs(info: GeoInfo) -> dict[str, Any]:
    """Return the attributes of the ``spatial_ref`` grid-mapping variable (rioxarray's)."""
    attrs: dict[str, Any] = {}
    if info.epsg is not None:
        attrs.update(_crs_attrs(info.epsg))
    citation = info.keys.get(3073) or info.keys.get(1026) or info.keys.get(2049)
    if info.epsg is None and isinstance(citation, str) and citation:
        attrs["crs_citation"] = citation
    if info.transform is not None:
        attrs["GeoTransform"] = " ".join(_gdal_number(v) for v in info.transform)
    return attrs


def _crs_attrs(epsg: int) -> dict[str, Any]:
    fallback: dict[str, Any] = {"spatial_ref": f"EPSG:{epsg}", "epsg": epsg}
    try:
        import pyproj
    except ImportError:
        return fallback
    try:
        crs = pyproj.CRS.from_epsg(epsg)
    except pyproj.exceptions.CRSError:
        return fallback  # an EPSG code PROJ does not know: fall back to the code itself
    attrs: dict[str, Any] = {k: _plain(v) for k, v in crs.to_cf().items()}
    attrs["spatial_ref"] = crs.to_wkt()
    return attrs


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def coordinate_attrs(info: GeoInfo) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return CF attributes of the ``(y, x)`` coordinates (as rioxarray writes them)."""
    if info.geographic:
        return (
            {
                "axis": "Y",
                "long_name": "latitude",
                "standard_name": "latitude",
                "units": "degrees_north",
            },
            {
                "axis": "X",
                "long_name": "longitude",
                "standard_name": "longitude",
                "units": "degrees_east",
            },
        )
    y: dict[str, Any] = {
        "axis": "Y",
        "long_name": "y coordinate of projection",
        "standard_name": "projection_y_coordinate",
    }
    x: dict[str, Any] = {
        "axis": "X",
        "long_name": "x coordinate of projection",
        "standard_name": "projection_x_coordinate",
    }
    if info.linear_units is not None:
        y["units"] = x["units"] = info.linear_units
    return y, x


def band_attrs(gdal_metadata: str | None, nbands: int) -> dict[str, Any]:
    """Return data-variable attributes from the GDAL_METADATA XML tag (rioxarray's rules).

    Dataset-level items become attributes as they are; per-band ``scale``/``offset`` become
    ``scale_factor``/``add_offset`` when every band has the same value (otherwise the lists
    ``scales``/``offsets``), ``unittype`` becomes ``units`` and ``description`` becomes
    ``long_name`` (a list when there are several bands).
    """
    if not gdal_metadata:
        return {}
    try:
        root = ET.fromstring(gdal_metadata)
    except ET.ParseError:
        return {}
    attrs: dict[str, Any] = {}
    per_band: dict[str, dict[int, str]] = {}
    for item in root.iter("Item"):
        name = item.get("name")
        text = item.text or ""
        sample = item.get("sample")
        role = item.get("role")
        if sample is None:
            if name:
                attrs[name] = text
            continue
        key = role or name
        if key:
            per_band.setdefault(key, {})[int(sample)] = text

    def uniform(key: str) -> list[str] | None:
        values = per_band.get(key)
        if not values:
            return None
        return [values.get(i, "") for i in range(max(nbands, 1))]

    for role, cf_name, plural, default in (
        ("scale", "scale_factor", "scales", 1.0),
        ("offset", "add_offset", "offsets", 0.0),
    ):
        values = uniform(role)
        if values is None:
            continue
        try:
            numbers = [float(v) if v != "" else default for v in values]
        except ValueError:
            continue
        if all(n == numbers[0] for n in numbers):
            if numbers[0] != default or math.isnan(numbers[0]):
                attrs[cf_name] = numbers[0]
        else:
            attrs[plural] = numbers
    units = uniform("unittype")
    if units is not None and all(u == units[0] for u in units) and units[0]:
        attrs["units"] = units[0]
    descriptions = uniform("description")
    if descriptions is not None and any(descriptions):
        attrs["long_name"] = descriptions[0] if len(descriptions) == 1 else descriptions
    return attrs
