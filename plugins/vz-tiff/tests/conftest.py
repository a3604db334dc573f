"""Fixtures for vz-tiff: TIFF files written by tifffile into ``tmp_path``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from vzcore.testing import outputs

tifffile = pytest.importorskip("tifffile")

EPSG_UTM33N = 32633
ORIGIN = (500000.0, 4100000.0)
PIXEL = (30.0, 20.0)


def geokeys(*, epsg: int = EPSG_UTM33N, point: bool = False, geographic: bool = False) -> list[int]:
    """Return a GeoKeyDirectory: model type, raster type, CRS code (and linear units)."""
    keys = [(1024, 0, 1, 2 if geographic else 1), (1025, 0, 1, 2 if point else 1)]
    if geographic:
        keys.append((2048, 0, 1, epsg))
    else:
        keys += [(3072, 0, 1, epsg), (3076, 0, 1, 9001)]
    out = [1, 1, 0, len(keys)]
    for k in keys:
        out += list(k)
    return out


def geo_tags(
    *,
    epsg: int = EPSG_UTM33N,
    point: bool = False,
    geographic: bool = False,
    nodata: str | None = "-9999",
    transform: tuple[float, ...] | None = None,
    gdal_metadata: str | None = None,
) -> list[tuple[Any, ...]]:
    """Return tifffile ``extratags`` for a north-up GeoTIFF (or one with ``transform``)."""
    keys = geokeys(epsg=epsg, point=point, geographic=geographic)
    tags: list[tuple[Any, ...]] = [(34735, "H", len(keys), keys, True)]
    if transform is None:
        tags += [
            (33550, "d", 3, (PIXEL[0], PIXEL[1], 0.0), True),
            (33922, "d", 6, (0.0, 0.0, 0.0, ORIGIN[0], ORIGIN[1], 0.0), True),
        ]
    else:
        tags.append((34264, "d", 16, transform, True))
    if nodata is not None:
        tags.append((42113, "s", 0, nodata, True))
    if gdal_metadata is not None:
        tags.append((42112, "s", 0, gdal_metadata, True))
    return tags


class Geo:
    """GeoTIFF test constants and tag builders (the ``geo`` fixture)."""

    EPSG_UTM33N = EPSG_UTM33N
    ORIGIN = ORIGIN
    PIXEL = PIXEL
    tags = staticmethod(geo_tags)


@pytest.fixture
def geo() -> type[Geo]:
    """GeoTIFF constants and ``geo.tags(...)`` (tifffile extratags)."""
    return Geo


@pytest.fixture
def write(tmp_path: Path):
    """Return ``write(name, data, **imwrite_kwargs) -> path`` writing with tifffile."""

    def _write(name: str, data: np.ndarray, **kwargs: Any) -> Path:
        path = tmp_path / name
        tifffile.imwrite(path, data, **kwargs)
        return path

    return _write


@pytest.fixture
def image_u16() -> np.ndarray:
    """A 37 x 50 uint16 ramp (37 rows: not a multiple of common strip heights)."""
    return (np.arange(37 * 50, dtype=np.uint16) * 37).reshape(37, 50)


@pytest.fixture
def rgb_u8() -> np.ndarray:
    """A 37 x 50 x 3 uint8 image with structure and noise."""
    rng = np.random.default_rng(42)
    y, x = np.mgrid[0:37, 0:50]
    base = np.stack([x * 5, y * 6, (x + y) * 3], axis=-1)
    return (base + rng.integers(0, 20, base.shape)).clip(0, 255).astype(np.uint8)


@pytest.fixture
def geotiff(tmp_path: Path) -> Path:
    """A tiled, deflate-compressed int16 GeoTIFF in EPSG:32633 with nodata -9999."""
    data = (np.arange(40 * 60, dtype=np.int16) - 100).reshape(40, 60)
    data[0, :5] = -9999
    path = tmp_path / "geo.tif"
    tifffile.imwrite(
        path, data, tile=(16, 16), compression="zlib", extratags=geo_tags(), metadata=None
    )
    return path


@pytest.fixture
def cog(tmp_path: Path) -> Path:
    """A COG-like GeoTIFF: full resolution then two reduced-resolution pages (overviews)."""
    data = (np.arange(64 * 96, dtype=np.uint16)).reshape(64, 96)
    path = tmp_path / "cog.tif"
    with tifffile.TiffWriter(path) as w:
        w.write(
            data, tile=(16, 16), compression="zlib", extratags=geo_tags(nodata="0"), metadata=None
        )
        w.write(data[::2, ::2], tile=(16, 16), compression="zlib", subfiletype=1, metadata=None)
        w.write(data[::4, ::4], tile=(16, 16), compression="zlib", subfiletype=1, metadata=None)
    return path


@pytest.fixture
def zarr_outputs(tmp_path: Path):
    """Return ``outputs(vds_or_tree, formats=ALL_OUTPUTS) -> {format: zarr group}``.

    Each output (kerchunk JSON with zarr format 2 and 3 metadata, Icechunk) is written and
    opened again by zarr, through fsspec's ReferenceFileSystem or the icechunk store (zarr
    format 3 finds vz-tiff's codecs only through their entry points).
    """

    def _outputs(vobj: Any, formats: tuple[str, ...] = outputs.ALL_OUTPUTS) -> dict[str, Any]:
        return outputs.zarr_outputs(vobj, tmp_path, formats)

    return _outputs
