"""The tiff reader on files written by tifffile: values through the manifests equal imread."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("vz_tiff")
tifffile = pytest.importorskip("tifffile")
imagecodecs = pytest.importorskip("imagecodecs")

from vzcore._urls import to_url
from vzcore.errors import (
    CorruptFileError,
    GroupNotFoundError,
    OptionError,
    UnknownOptionError,
    UnsupportedFeatureError,
)
from vzcore.group import ManifestGroup
from vzcore.manifests import ManifestArray
from vzcore.manifests.loading import load_values
from vzcore.testing import ReaderTests

from vz_tiff._reader import TiffReader


def read(path: Path | str, **options: Any) -> ManifestGroup:
    return TiffReader().read(to_url(path), **options)


def node_at(group: ManifestGroup, path: str) -> ManifestGroup:
    for part in filter(None, path.split("/")):
        group = group.groups[part]
    return group


def assert_matches(
    path: Path, group: str = "", *, series: int = 0, level: int = 0, **options: Any
) -> ManifestArray:
    """Values of ``band_data`` in ``group`` equal tifffile's, dtype (and byte order) included."""
    node = node_at(read(path, **options), group)
    array = node.variables["band_data"].data
    assert isinstance(array, ManifestArray)
    got = load_values(array)
    with tifffile.TiffFile(path) as tif:
        expected = tif.series[series].levels[level].asarray()
        byteorder = tif.byteorder
    if byteorder == "<" or got.dtype.itemsize == 1:
        assert got.dtype == expected.dtype
    else:
        assert got.dtype.byteorder in (">", "=", "|")
        assert got.dtype.newbyteorder("=") == expected.dtype
    np.testing.assert_array_equal(got, expected)
    return array


def _encoder_available(name: str) -> bool:
    codec = {"jpeg": "JPEG8", "jpeg2000": "JPEG2K", "jpegxl": "JPEGXL", "jpegxr": "JPEGXR"}.get(
        name, name.upper()
    )
    attr = getattr(imagecodecs, codec, None)
    return bool(attr is None or getattr(attr, "available", True))


BYTES_COMPRESSIONS = ["zlib", "deflate", "lzw", "packbits", "zstd", "lzma"]
IMAGE_COMPRESSIONS = ["jpeg", "webp", "png", "jpeg2000", "jpegxl", "jpegxr", "lerc"]


# -- compressions and layouts ----------------------------------------------------------------


@pytest.mark.parametrize("compression", [None, *BYTES_COMPRESSIONS])
@pytest.mark.parametrize(
    "layout",
    [{"tile": (16, 16)}, {"rowsperstrip": 8}, {"rowsperstrip": 37}, {"rowsperstrip": 5}],
    ids=["tiles", "short-last-strip", "one-strip", "strips-of-5"],
)
def test_lossless_compressions_and_layouts(
    write: Any, image_u16: np.ndarray, compression: str | None, layout: dict[str, Any]
) -> None:
    if compression and not _encoder_available(compression):
        pytest.skip(f"imagecodecs lacks {compression}")
    path = write("a.tif", image_u16, compression=compression, metadata=None, **layout)
    array = assert_matches(path)
    assert array.metadata.dimension_names == ("y", "x")


@pytest.mark.parametrize("compression", IMAGE_COMPRESSIONS)
def test_image_compressions_rgb_tiles(write: Any, rgb_u8: np.ndarray, compression: str) -> None:
    if not _encoder_available(compression):
        pytest.skip(f"imagecodecs lacks {compression}")
    path = write("rgb.tif", rgb_u8, photometric="rgb", compression=compression, tile=(16, 16))
    array = assert_matches(path)
    assert array.metadata.dimension_names == ("y", "x", "band")
    assert array.metadata.dtype.byteorder in ("|", "=", "<")


@pytest.mark.parametrize("compression", ["jpeg", "png", "webp"])
def test_image_compressions_strips_dividing_the_height(
    write: Any, rgb_u8: np.ndarray, compression: str
) -> None:
    if not _encoder_available(compression):
        pytest.skip(f"imagecodecs lacks {compression}")
    path = write("rgb.tif", rgb_u8[:32], photometric="rgb", compression=compression, rowsperstrip=8)
    assert_matches(path)


def test_jpeg_short_last_strip_is_padded(write: Any, rgb_u8: np.ndarray) -> None:
    path = write("rgb.tif", rgb_u8, photometric="rgb", compression="jpeg", rowsperstrip=8)
    array = assert_matches(path)
    assert [c["id"] for c in array.metadata.codecs] == ["vz_tiff_samples", "vz_tiff_jpeg"]
    with pytest.raises(UnsupportedFeatureError, match="short last strip"):
        read(path, short_strips="error")


def test_image_codec_uint16_and_float(write: Any, image_u16: np.ndarray) -> None:
    if not (_encoder_available("png") and _encoder_available("lerc")):
        pytest.skip("imagecodecs lacks PNG or LERC")
    assert_matches(write("png16.tif", image_u16, compression="png", tile=(16, 16)))
    floats = np.linspace(-1, 1, 37 * 50, dtype=np.float32).reshape(37, 50)
    assert_matches(write("lerc.tif", floats, compression="lerc", tile=(16, 16)))


@pytest.mark.parametrize("compression", ["zlib", "lzw", "zstd"])
@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint32"])
@pytest.mark.parametrize(
    "layout", [{"tile": (16, 16)}, {"rowsperstrip": 8}], ids=["tiles", "strips"]
)
def test_horizontal_predictor(
    write: Any, compression: str, dtype: str, layout: dict[str, Any]
) -> None:
    data = (np.arange(37 * 50) * 7 % 1000 - 300).astype(dtype).reshape(37, 50)
    path = write("p.tif", data, compression=compression, predictor=True, **layout)
    array = assert_matches(path)
    assert array.metadata.codecs[0]["id"] == "imagecodecs_delta"


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize(
    "layout", [{"tile": (16, 16)}, {"rowsperstrip": 8}], ids=["tiles", "strips"]
)
def test_floating_point_predictor(write: Any, dtype: str, layout: dict[str, Any]) -> None:
    data = np.sin(np.arange(37 * 50) / 10).astype(dtype).reshape(37, 50)
    data[3, 4] = np.nan
    path = write("f.tif", data, compression="zlib", predictor=3, **layout)
    array = assert_matches(path)
    assert array.metadata.codecs[0]["id"] == "imagecodecs_floatpred"


@pytest.mark.parametrize("predictor", [True, 3])
def test_predictor_on_interleaved_rgb(write: Any, predictor: Any) -> None:
    rng = np.random.default_rng(0)
    dtype = np.float32 if predictor == 3 else np.uint16
    data = rng.integers(0, 5000, (37, 50, 3)).astype(dtype)
    path = write(
        "p.tif", data, photometric="rgb", compression="lzw", predictor=predictor, rowsperstrip=8
    )
    array = assert_matches(path)
    assert array.metadata.codecs[0]["axis"] == -2


# -- samples, planar configuration, pages, series --------------------------------------------


@pytest.mark.parametrize(
    ("compression", "predictor"), [(None, None), ("zlib", None), ("zlib", True)]
)
@pytest.mark.parametrize(
    "layout", [{"tile": (16, 16)}, {"rowsperstrip": 8}], ids=["tiles", "strips"]
)
def test_planar_separate_bands(
    write: Any, compression: str | None, predictor: Any, layout: dict[str, Any]
) -> None:
    data = (np.arange(4 * 37 * 50, dtype=np.uint16) % 3001).reshape(4, 37, 50)
    path = write(
        "sep.tif",
        data,
        photometric="minisblack",
        planarconfig="separate",
        compression=compression,
        predictor=predictor,
        **layout,
    )
    array = assert_matches(path)
    assert array.metadata.dimension_names == ("band", "y", "x")
    group = read(path)
    np.testing.assert_array_equal(group.variables["band"].data, [1, 2, 3, 4])


@pytest.mark.parametrize(
    "layout", [{"tile": (16, 16)}, {"rowsperstrip": 8}], ids=["tiles", "strips"]
)
def test_contig_rgba(write: Any, layout: dict[str, Any]) -> None:
    data = (np.arange(37 * 50 * 4) % 255).astype(np.uint8).reshape(37, 50, 4)
    path = write(
        "rgba.tif",
        data,
        photometric="rgb",
        extrasamples=["unassalpha"],
        compression="zlib",
        **layout,
    )
    array = assert_matches(path)
    assert array.metadata.dimension_names == ("y", "x", "band")


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_multipage_stack(write: Any, compression: str | None) -> None:
    data = (np.arange(5 * 37 * 50, dtype=np.int32) - 4000).reshape(5, 37, 50)
    path = write(
        "stack.tif", data, photometric="minisblack", compression=compression, rowsperstrip=8
    )
    array = assert_matches(path)
    assert array.shape == (5, 37, 50)
    assert array.chunk_shape[0] == 1


def test_generic_multipage_without_metadata(write: Any, image_u16: np.ndarray) -> None:
    data = np.stack([image_u16, image_u16 + 1, image_u16 + 2])
    path = write(
        "generic.tif",
        data,
        photometric="minisblack",
        metadata=None,
        tile=(16, 16),
        compression="zstd",
    )
    with tifffile.TiffFile(path) as tif:
        assert tif.series[0].kind == "generic"
    assert_matches(path)


def test_tifffile_json_metadata_shape_axes_and_attributes(write: Any) -> None:
    data = (np.arange(2 * 3 * 4 * 20 * 30, dtype=np.float32)).reshape(2, 3, 4, 20, 30)
    path = write(
        "hyper.tif",
        data,
        compression="zlib",
        tile=(16, 16),
        photometric="minisblack",
        metadata={"axes": "TCZYX", "experiment": "demo", "spacing": 0.5},
    )
    with tifffile.TiffFile(path) as tif:
        assert tif.is_shaped
        assert tif.pages[0].description.startswith("{")
    array = assert_matches(path)
    group = read(path)
    var = group.variables["band_data"]
    assert var.dims == ("time", "channel", "depth", "y", "x")
    assert var.attrs["experiment"] == "demo"
    assert var.attrs["spacing"] == 0.5
    assert array.chunk_shape == (1, 1, 1, 16, 16)


def test_repeated_axes_get_unique_names(write: Any) -> None:
    data = np.zeros((2, 3, 10, 12), np.uint8)
    path = write("q.tif", data, photometric="minisblack")
    dims = read(path).variables["band_data"].dims
    assert len(set(dims)) == len(dims)
    assert_matches(path)


def test_imagej_hyperstack(write: Any) -> None:
    data = (np.arange(3 * 2 * 20 * 30, dtype=np.uint16)).reshape(3, 2, 20, 30)
    path = write("ij.tif", data, imagej=True, metadata={"axes": "ZCYX"})
    array = assert_matches(path)
    assert array.metadata.dimension_names == ("depth", "channel", "y", "x")


def test_truncated_contiguous_series(write: Any) -> None:
    data = (np.arange(4 * 20 * 30, dtype=np.uint16)).reshape(4, 20, 30)
    path = write("trunc.tif", data, truncate=True, photometric="minisblack")
    with tifffile.TiffFile(path) as tif:
        assert len(tif.pages) == 1
    assert_matches(path)


def test_volumetric_tiles(write: Any) -> None:
    data = (np.arange(5 * 20 * 30, dtype=np.uint16)).reshape(5, 20, 30)
    path = write(
        "vol.tif",
        data,
        tile=(2, 16, 16),
        volumetric=True,
        compression="zlib",
        photometric="minisblack",
    )
    array = assert_matches(path)
    assert array.chunk_shape == (2, 16, 16)


@pytest.mark.parametrize("byteorder", ["<", ">"])
@pytest.mark.parametrize("predictor", [None, True, 3])
def test_bigtiff_both_byte_orders(write: Any, byteorder: str, predictor: Any) -> None:
    dtype = np.float32 if predictor == 3 else np.int16
    data = (np.arange(37 * 50) % 911 - 400).astype(dtype).reshape(37, 50)
    path = write(
        "big.tif",
        data,
        bigtiff=True,
        byteorder=byteorder,
        compression="zlib",
        predictor=predictor,
        tile=(16, 16),
    )
    with tifffile.TiffFile(path) as tif:
        assert tif.is_bigtiff
    array = assert_matches(path)
    assert array.dtype.str[0] == byteorder


def test_big_endian_uncompressed_strips(write: Any, image_u16: np.ndarray) -> None:
    path = write("be.tif", image_u16, byteorder=">", rowsperstrip=5)
    array = assert_matches(path)
    assert array.dtype == np.dtype(">u2")


def test_multiple_series_become_groups(tmp_path: Path, image_u16: np.ndarray) -> None:
    path = tmp_path / "multi.tif"
    with tifffile.TiffWriter(path) as w:
        w.write(image_u16, tile=(16, 16), compression="zlib", metadata=None)
        w.write(image_u16[:20, :20].astype(np.float32), compression="lzw", metadata=None)
    group = read(path)
    assert set(group.groups) == {"series_1"}
    assert_matches(path, "series_1", series=1)
    alone = read(path, group="series_1")
    assert alone.variables["band_data"].shape == (20, 20)


# -- short strips ----------------------------------------------------------------------------


def test_uncompressed_short_strip_is_split_exactly(write: Any, image_u16: np.ndarray) -> None:
    path = write("u.tif", image_u16, rowsperstrip=8)  # 37 = 4 * 8 + 5 rows
    array = assert_matches(path)
    assert array.chunk_shape == (1, 50)  # gcd(8, 37)
    assert not array.manifest.inline
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        assert array.manifest.offsets[8, 0] == page.dataoffsets[1]
        assert array.manifest.offsets[9, 0] == page.dataoffsets[1] + 100


def test_compressed_short_strip_is_inlined_padded(write: Any, image_u16: np.ndarray) -> None:
    path = write("z.tif", image_u16, rowsperstrip=8, compression="zlib", predictor=True)
    array = assert_matches(path)
    assert array.chunk_shape == (8, 50)
    assert list(array.manifest.inline) == [4]


def test_compressed_short_strips_on_every_page_and_plane(write: Any) -> None:
    data = (np.arange(3 * 2 * 37 * 50, dtype=np.uint16)).reshape(3, 2, 37, 50)
    path = write(
        "zz.tif",
        data,
        rowsperstrip=8,
        compression="lzw",
        planarconfig="separate",
        photometric="minisblack",
    )
    array = assert_matches(path)
    assert len(array.manifest.inline) == 6


def test_short_strips_error_option(write: Any, image_u16: np.ndarray) -> None:
    path = write("z.tif", image_u16, rowsperstrip=8, compression="zlib")
    with pytest.raises(UnsupportedFeatureError, match="short last strip"):
        read(path, short_strips="error")
    with pytest.raises(ValueError, match="short_strips"):
        read(path, short_strips="pad")


# -- missing chunks and fill values ----------------------------------------------------------


def _drop_tile(path: Path, index: int) -> None:
    with tifffile.TiffFile(path, mode="r+") as tif:
        page = tif.pages[0]
        offsets = list(page.dataoffsets)
        counts = list(page.databytecounts)
        offsets[index] = 0
        counts[index] = 0
        page.tags["TileOffsets"].overwrite(offsets)
        page.tags["TileByteCounts"].overwrite(counts)


@pytest.mark.parametrize("nodata", [None, "-9999"])
def test_missing_tiles_read_as_nodata(tmp_path: Path, nodata: str | None) -> None:
    path = tmp_path / "sparse.tif"
    data = (np.arange(40 * 60, dtype=np.int16)).reshape(40, 60)
    tags = [(42113, "s", 0, nodata, True)] if nodata else []
    tifffile.imwrite(path, data, tile=(16, 16), compression="zlib", extratags=tags, metadata=None)
    _drop_tile(path, 4)
    array = assert_matches(path)
    assert array.manifest.missing().sum() == 1
    assert array.fill_value == (None if nodata is None else -9999)


# -- pyramids --------------------------------------------------------------------------------


def test_cog_overviews_are_groups(cog: Path, geo: Any) -> None:
    origin, pixel = geo.ORIGIN, geo.PIXEL
    group = read(cog)
    assert set(group.groups) == {"overview_1", "overview_2"}
    for level in (1, 2):
        assert_matches(cog, f"overview_{level}", level=level)
    ov = group.groups["overview_1"]
    assert ov.variables["band_data"].dims == ("y1", "x1")
    np.testing.assert_allclose(ov.variables["x1"].data[:2], origin[0] + pixel[0] * np.array([1, 3]))
    np.testing.assert_allclose(ov.variables["y1"].data[:2], origin[1] - pixel[1] * np.array([1, 3]))
    assert ov.variables["spatial_ref"].attrs["GeoTransform"].split()[1] == "60.0"


def test_subifd_pyramid(tmp_path: Path, image_u16: np.ndarray) -> None:
    path = tmp_path / "sub.tif"
    big = np.tile(image_u16, (2, 2))
    with tifffile.TiffWriter(path) as w:
        w.write(big, tile=(16, 16), compression="zlib", subifds=1)
        w.write(big[::2, ::2], tile=(16, 16), compression="zlib", subfiletype=1)
    assert_matches(path)
    assert_matches(path, "overview_1", level=1)


def test_group_selection(cog: Path) -> None:
    only = read(cog, group="overview_2")
    assert only.variables["band_data"].shape == (16, 24)
    assert not only.groups
    assert set(read(cog, overviews=False).groups) == set()
    with pytest.raises(GroupNotFoundError, match=r"No group 'overview_3'.*'overview_2'"):
        read(cog, group="overview_3")
    with pytest.raises(GroupNotFoundError, match="No group 'series_1'"):
        read(cog, group="series_1")
    with pytest.raises(GroupNotFoundError, match=r"No group 'nonsense'.*'overview_<n>'"):
        read(cog, group="nonsense")


# -- GeoTIFF ---------------------------------------------------------------------------------


def test_geotiff_coordinates_crs_and_nodata(geotiff: Path, geo: Any) -> None:
    origin, pixel, epsg = geo.ORIGIN, geo.PIXEL, geo.EPSG_UTM33N
    group = read(geotiff)
    assert_matches(geotiff)
    var = group.variables["band_data"]
    assert var.dims == ("y", "x")
    assert var.attrs["_FillValue"] == -9999
    assert isinstance(var.attrs["_FillValue"], int)
    assert var.data.fill_value == -9999
    assert var.attrs["grid_mapping"] == "spatial_ref"
    assert var.attrs["AREA_OR_POINT"] == "Area"
    x = group.variables["x"].data
    y = group.variables["y"].data
    assert isinstance(x, np.ndarray)
    assert x.dtype == np.float64
    assert x.shape == (60,)
    np.testing.assert_array_equal(x, origin[0] + (np.arange(60) + 0.5) * pixel[0])
    np.testing.assert_array_equal(y, origin[1] - (np.arange(40) + 0.5) * pixel[1])
    assert group.variables["x"].attrs["standard_name"] == "projection_x_coordinate"
    assert group.variables["x"].attrs["units"] == "metre"
    ref = group.variables["spatial_ref"]
    assert ref.dims == ()
    assert isinstance(ref.data, np.ndarray)
    assert ref.data.dtype.kind == "i"
    assert ref.attrs["GeoTransform"] == "500000.0 30.0 0.0 4100000.0 0.0 -20.0"
    if "crs_wkt" in ref.attrs:  # pyproj installed
        assert "32633" in ref.attrs["crs_wkt"]
        assert ref.attrs["spatial_ref"] == ref.attrs["crs_wkt"]
    else:
        assert ref.attrs["spatial_ref"] == f"EPSG:{epsg}"
        assert ref.attrs["epsg"] == epsg


def test_geotiff_with_pyproj(geotiff: Path, geo: Any) -> None:
    epsg = geo.EPSG_UTM33N
    pyproj = pytest.importorskip("pyproj")
    attrs = read(geotiff).variables["spatial_ref"].attrs
    crs = pyproj.CRS.from_cf(attrs)
    assert crs.to_epsg() == epsg
    assert attrs["grid_mapping_name"] == "transverse_mercator"


def test_geotiff_pixel_is_point(write: Any, geo: Any) -> None:
    origin, pixel, geo_tags = geo.ORIGIN, geo.PIXEL, geo.tags
    data = np.zeros((10, 12), np.float32)
    path = write("pt.tif", data, extratags=geo_tags(point=True, nodata="nan"), metadata=None)
    group = read(path)
    var = group.variables["band_data"]
    assert var.attrs["AREA_OR_POINT"] == "Point"
    assert math.isnan(var.attrs["_FillValue"])
    # The tiepoint is the centre of the first pixel.
    np.testing.assert_array_equal(group.variables["x"].data, origin[0] + np.arange(12) * pixel[0])
    np.testing.assert_array_equal(group.variables["y"].data, origin[1] - np.arange(10) * pixel[1])


def test_geotiff_model_transformation_and_geographic_crs(write: Any, geo: Any) -> None:
    geo_tags = geo.tags
    matrix = (0.25, 0.0, 0.0, -10.0, 0.0, -0.5, 0.0, 50.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    path = write(
        "ll.tif",
        np.ones((4, 8), np.uint8),
        metadata=None,
        extratags=geo_tags(epsg=4326, geographic=True, transform=matrix, nodata=None),
    )
    group = read(path)
    np.testing.assert_array_equal(group.variables["x"].data, -10.0 + (np.arange(8) + 0.5) * 0.25)
    np.testing.assert_array_equal(group.variables["y"].data, 50.0 - (np.arange(4) + 0.5) * 0.5)
    assert group.variables["y"].attrs["standard_name"] == "latitude"
    assert "_FillValue" not in group.variables["band_data"].attrs
    ref = group.variables["spatial_ref"].attrs
    assert ref.get("epsg", 4326) == 4326


def test_geotiff_rotated_has_no_1d_coordinates(write: Any, geo: Any) -> None:
    geo_tags = geo.tags
    matrix = (1.0, 0.5, 0.0, 100.0, 0.5, -1.0, 0.0, 200.0, 0, 0, 0, 0, 0, 0, 0, 1.0)
    path = write(
        "rot.tif", np.ones((4, 8), np.uint8), metadata=None, extratags=geo_tags(transform=matrix)
    )
    group = read(path)
    assert "x" not in group.variables
    assert "y" not in group.variables
    assert group.variables["spatial_ref"].attrs["GeoTransform"] == "100.0 1.0 0.5 200.0 0.5 -1.0"


def test_geotiff_multiband_separate_and_gdal_metadata(write: Any, geo: Any) -> None:
    geo_tags = geo.tags
    meta = (
        "<GDALMetadata>"
        '<Item name="TITLE">demo</Item>'
        '<Item name="SCALE" sample="0" role="scale">0.01</Item>'
        '<Item name="SCALE" sample="1" role="scale">0.01</Item>'
        '<Item name="OFFSET" sample="0" role="offset">5</Item>'
        '<Item name="OFFSET" sample="1" role="offset">5</Item>'
        '<Item name="DESCRIPTION" sample="0" role="description">red</Item>'
        '<Item name="DESCRIPTION" sample="1" role="description">nir</Item>'
        "</GDALMetadata>"
    )
    data = np.arange(2 * 10 * 12, dtype=np.uint16).reshape(2, 10, 12)
    path = write(
        "mb.tif",
        data,
        photometric="minisblack",
        planarconfig="separate",
        metadata=None,
        extratags=geo_tags(gdal_metadata=meta, nodata="65535"),
    )
    group = read(path)
    var = group.variables["band_data"]
    assert var.dims == ("band", "y", "x")
    assert var.attrs["scale_factor"] == 0.01
    assert var.attrs["add_offset"] == 5.0
    assert var.attrs["long_name"] == ["red", "nir"]
    assert var.attrs["TITLE"] == "demo"
    assert var.attrs["_FillValue"] == 65535
    assert set(group.variables) == {"band", "y", "x", "spatial_ref", "band_data"}
    assert_matches(path)


# -- unsupported and broken files ------------------------------------------------------------


def test_bilevel_is_unpacked_to_bool(write: Any) -> None:
    path = write("bw.tif", np.eye(10, dtype=bool))
    assert assert_matches(path).dtype == np.bool_


def test_unsupported_compression_names_it(write: Any, image_u16: np.ndarray) -> None:
    path = write("u.tif", image_u16, compression="zlib", metadata=None)
    with tifffile.TiffFile(path, mode="r+") as tif:
        tif.pages[0].tags["Compression"].overwrite(34676)  # SGILOG
    with pytest.raises(UnsupportedFeatureError, match="SGILOG"):
        read(path)


def test_unknown_option_is_refused(geotiff: Path) -> None:
    import vzcore

    with pytest.raises(
        UnknownOptionError, match=r"reader 'tiff' \(vz-tiff\) .*'bogus'.*'variable_name'"
    ):
        vzcore.open_virtual_dataset(geotiff, reader_options={"bogus": 1})
    with pytest.raises(OptionError, match=r"'short_strip' \(did you mean 'short_strips'\?\)"):
        vzcore.open_virtual_dataset(geotiff, reader_options={"short_strip": "error"})
    with pytest.raises(OptionError, match="reader 'tiff' got an invalid option short_strips='x'"):
        vzcore.open_virtual_dataset(geotiff, reader_options={"short_strips": "x"})


def test_variable_name_option(geotiff: Path) -> None:
    assert "elevation" in read(geotiff, variable_name="elevation").variables


def test_not_a_tiff_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "x.tif"
    path.write_bytes(b"II*\x00" + b"\xff" * 20)
    with pytest.raises(CorruptFileError):
        read(path)


def test_truncated_file_is_corrupt(geotiff: Path, tmp_path: Path) -> None:
    data = geotiff.read_bytes()
    with tifffile.TiffFile(geotiff) as tif:
        end = max(
            o + c
            for o, c in zip(tif.pages[0].dataoffsets, tif.pages[0].databytecounts, strict=True)
        )
        ifd = tif.pages[0].offset
    assert ifd < end  # tifffile writes the IFD first: cutting the data keeps the header
    cut = tmp_path / "cut.tif"
    cut.write_bytes(data[: end - 10])
    with pytest.raises(CorruptFileError, match="end at byte"):
        read(cut)


def test_remote_url_through_fsspec(geotiff: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    fs.pipe("/vz-tiff-test/geo.tif", geotiff.read_bytes())
    try:
        group = TiffReader().read("memory://vz-tiff-test/geo.tif")
        array = group.variables["band_data"].data
        assert array.manifest.paths == ("memory://vz-tiff-test/geo.tif",)
        np.testing.assert_array_equal(load_values(array), tifffile.imread(geotiff))
    finally:
        fs.rm("/vz-tiff-test", recursive=True)


def test_manifest_memory_is_columnar(write: Any) -> None:
    data = np.zeros((256, 256), np.uint8)
    path = write("many.tif", data, tile=(16, 16), compression="zlib")
    array = read(path).variables["band_data"].data
    assert array.manifest.nchunks == 256
    assert array.manifest.nbytes < 256 * 24 + 200


# -- conformance -----------------------------------------------------------------------------


class TestTiffReaderConformance(ReaderTests):
    reader_name = "tiff"

    @pytest.fixture
    def sample(self, geotiff: Path) -> tuple[Path, dict[str, np.ndarray]]:
        return geotiff, {"band_data": tifffile.imread(geotiff)}

    @pytest.fixture
    def corrupt_file(self, tmp_path: Path) -> Path:
        path = tmp_path / "corrupt.tif"
        path.write_bytes(b"MM\x00*" + b"\x00\x00\xff\xff" + b"\x01" * 8)
        return path


@pytest.mark.parametrize(
    ("dtype", "text", "expected"),
    [
        ("float32", "-3.4028234663852886e+38", float(np.float32(-3.4028234663852886e38))),
        ("float32", "nan", "nan"),
        ("uint8", "255", 255),
        ("uint8", "-1", None),
        ("int16", "1.5", None),
        ("int16", "none", None),
    ],
)
def test_gdal_nodata_parsing(write: Any, dtype: str, text: str, expected: Any) -> None:
    path = write(
        "n.tif", np.zeros((4, 4), dtype), metadata=None, extratags=[(42113, "s", 0, text, True)]
    )
    var = read(path).variables["band_data"]
    got = var.attrs.get("_FillValue")
    if expected == "nan":
        assert math.isnan(got)
        assert math.isnan(var.data.fill_value)
    else:
        assert got == expected
        assert var.data.fill_value == expected


def test_ome_tiff(write: Any) -> None:
    data = np.arange(2 * 3 * 20 * 30, dtype=np.uint16).reshape(2, 3, 20, 30)
    path = write(
        "o.ome.tif", data, ome=True, metadata={"axes": "TCYX"}, compression="zlib", tile=(16, 16)
    )
    array = assert_matches(path)
    assert array.metadata.dimension_names == ("time", "channel", "y", "x")


def test_jpeg_separate_planes(write: Any) -> None:
    data = (np.arange(3 * 32 * 48) % 250).astype(np.uint8).reshape(3, 32, 48)
    path = write(
        "js.tif",
        data,
        photometric="rgb",
        planarconfig="separate",
        compression="jpeg",
        tile=(16, 16),
    )
    array = assert_matches(path)
    assert array.metadata.dimension_names == ("band", "y", "x")
