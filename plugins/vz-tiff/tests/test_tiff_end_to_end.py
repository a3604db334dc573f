"""Through vzcore and the kerchunk JSON writer: the references read back like the TIFF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("vz_tiff")
pytest.importorskip("vz_kerchunk")
tifffile = pytest.importorskip("tifffile")
xr = pytest.importorskip("xarray")
fsspec = pytest.importorskip("fsspec")

import vzcore


@pytest.fixture(autouse=True)
def _imagecodecs_registered() -> None:
    """What every reader of the output must do: register imagecodecs' numcodecs codecs."""
    import imagecodecs.numcodecs

    imagecodecs.numcodecs.register_codecs(verbose=False)


def to_json(vds: Any, tmp_path: Path, name: str = "refs.json") -> Path:
    out = tmp_path / name
    vds.virtualize.to_kerchunk(str(out), format="json")
    return out


def open_refs(refs: Path, **kwargs: Any) -> Any:
    fs = fsspec.filesystem("reference", fo=str(refs))
    return xr.open_dataset(
        fs.get_mapper(""), engine="zarr", consolidated=False, zarr_format=2, **kwargs
    )


def through_kerchunk(path: Path, tmp_path: Path, **kwargs: Any) -> Any:
    return open_refs(to_json(vzcore.open_virtual_dataset(str(path)), tmp_path), **kwargs)


def assert_raw_equal(got: Any, expected: np.ndarray) -> None:
    values = got.values
    assert values.dtype.newbyteorder("=") == expected.dtype.newbyteorder("=")
    np.testing.assert_array_equal(values, expected)


@pytest.mark.parametrize(
    ("kwargs", "dtype"),
    [
        ({}, "uint16"),
        ({"compression": "zlib", "tile": (16, 16)}, "uint16"),
        ({"compression": "lzw", "predictor": True, "rowsperstrip": 8}, "int32"),
        ({"compression": "zstd", "predictor": 3, "tile": (16, 16)}, "float32"),
        ({"compression": "packbits", "rowsperstrip": 5}, "uint8"),
        ({"compression": "lzma", "rowsperstrip": 8, "byteorder": ">"}, "float64"),
        ({"rowsperstrip": 8, "byteorder": ">", "bigtiff": True}, "int16"),
    ],
    ids=[
        "plain",
        "zlib-tiles",
        "lzw-predictor-short-strip",
        "zstd-floatpred",
        "packbits",
        "lzma-big-endian",
        "bigtiff-be-uncompressed-short-strip",
    ],
)
def test_lossless_through_kerchunk(
    write: Any, tmp_path: Path, kwargs: dict[str, Any], dtype: str
) -> None:
    data = (np.arange(37 * 50) % 1201 - 17).astype(dtype).reshape(37, 50)
    if dtype == "uint8":
        data = (np.arange(37 * 50) % 7).astype(dtype).reshape(37, 50)  # PackBits runs
    path = write("a.tif", data, metadata=None, **kwargs)
    ds = through_kerchunk(path, tmp_path)
    assert ds.band_data.dims == ("y", "x")
    assert_raw_equal(ds.band_data, tifffile.imread(path))


@pytest.mark.parametrize("compression", ["jpeg", "webp", "png", "jpeg2000", "jpegxl"])
def test_image_codecs_through_kerchunk(
    write: Any, tmp_path: Path, rgb_u8: np.ndarray, compression: str
) -> None:
    import imagecodecs

    codec = {"jpeg": "JPEG8", "jpeg2000": "JPEG2K"}.get(compression, compression.upper())
    if not getattr(getattr(imagecodecs, codec, None), "available", False):
        pytest.skip(f"imagecodecs lacks {compression}")
    path = write("rgb.tif", rgb_u8, photometric="rgb", compression=compression, tile=(16, 16))
    ds = through_kerchunk(path, tmp_path)
    assert ds.band_data.dims == ("y", "x", "band")
    assert_raw_equal(ds.band_data, tifffile.imread(path))
    np.testing.assert_array_equal(ds.band.values, [1, 2, 3])


def test_stack_and_separate_planes_through_kerchunk(write: Any, tmp_path: Path) -> None:
    data = (np.arange(3 * 2 * 37 * 50, dtype=np.uint16)).reshape(3, 2, 37, 50)
    path = write(
        "s.tif",
        data,
        photometric="minisblack",
        planarconfig="separate",
        compression="zlib",
        rowsperstrip=8,
    )
    ds = through_kerchunk(path, tmp_path)
    assert ds.band_data.dims == ("other", "band", "y", "x")
    assert_raw_equal(ds.band_data, tifffile.imread(path))


def test_tifffile_json_metadata_through_kerchunk(write: Any, tmp_path: Path) -> None:
    data = np.arange(2 * 3 * 20 * 30, dtype=np.float32).reshape(2, 3, 20, 30)
    path = write(
        "h.tif",
        data,
        photometric="minisblack",
        compression="zlib",
        metadata={"axes": "TZYX", "note": "hello"},
    )
    ds = through_kerchunk(path, tmp_path)
    assert ds.band_data.dims == ("time", "depth", "y", "x")
    assert ds.band_data.attrs["note"] == "hello"
    assert_raw_equal(ds.band_data, tifffile.imread(path))


def test_geotiff_through_kerchunk(geotiff: Path, tmp_path: Path, geo: Any) -> None:
    raw = tifffile.imread(geotiff)
    refs = to_json(vzcore.open_virtual_dataset(str(geotiff)), tmp_path)
    ds = open_refs(refs)
    # Decoded like rioxarray with mask_and_scale=True: nodata becomes NaN.
    expected = np.where(raw == -9999, np.nan, raw).astype(np.float32)
    np.testing.assert_array_equal(ds.band_data.values, expected)
    np.testing.assert_array_equal(
        ds.x.values, geo.ORIGIN[0] + (np.arange(raw.shape[1]) + 0.5) * geo.PIXEL[0]
    )
    np.testing.assert_array_equal(
        ds.y.values, geo.ORIGIN[1] - (np.arange(raw.shape[0]) + 0.5) * geo.PIXEL[1]
    )
    assert "spatial_ref" in ds.coords
    assert ds.spatial_ref.attrs["GeoTransform"].startswith("500000.0 30.0")
    assert "32633" in ds.spatial_ref.attrs["spatial_ref"]
    raw_ds = open_refs(refs, mask_and_scale=False)
    assert raw_ds.band_data.attrs["_FillValue"] == -9999
    assert_raw_equal(raw_ds.band_data, raw)


def test_cog_datatree_through_kerchunk(cog: Path, tmp_path: Path) -> None:
    vdt = vzcore.open_virtual_datatree(str(cog))
    out = tmp_path / "cog.json"
    vdt.virtualize.to_kerchunk(str(out), format="json")
    dt = xr.open_datatree(
        "reference://",
        engine="zarr",
        consolidated=False,
        zarr_format=2,
        mask_and_scale=False,
        storage_options={"fo": str(out)},
    )
    with tifffile.TiffFile(cog) as tif:
        levels = [level.asarray() for level in tif.series[0].levels]
    assert_raw_equal(dt.band_data, levels[0])
    for i in (1, 2):
        node = dt[f"overview_{i}"]
        assert node.band_data.dims == (f"y{i}", f"x{i}")
        assert_raw_equal(node.band_data, levels[i])
        assert node[f"x{i}"].size == levels[i].shape[1]


def test_magic_bytes_pick_the_tiff_reader(geotiff: Path, tmp_path: Path) -> None:
    odd = tmp_path / "scene.data"
    odd.write_bytes(geotiff.read_bytes())
    ds = xr.open_dataset(odd, engine="virtualizarr")
    assert ds.band_data.shape == (40, 60)
    assert "spatial_ref" in ds.coords
    vds = vzcore.open_virtual_dataset(odd)
    assert isinstance(vds.band_data.data, vzcore.ManifestArray)
    assert vds.band_data.data.manifest.paths == (odd.resolve().as_uri(),)


def test_combine_many_tiffs_along_time(write: Any, tmp_path: Path, geo: Any) -> None:
    days = ["2024-01-01", "2024-01-02", "2024-01-03"]
    paths = []
    for i, day in enumerate(days):
        data = (np.arange(20 * 30, dtype=np.int16) + 100 * i).reshape(20, 30)
        paths.append(
            write(
                f"scene_{day}.tif",
                data,
                tile=(16, 16),
                compression="zlib",
                extratags=geo.tags(),
                metadata=None,
            )
        )

    def add_time(ds: Any) -> Any:
        day = Path(ds.encoding["source"]).stem.removeprefix("scene_")
        return ds.expand_dims(time=[np.datetime64(day, "ns")])

    vds = vzcore.open_virtual_mfdataset(
        [str(p) for p in paths], combine="nested", concat_dim="time", preprocess=add_time
    )
    assert vds.band_data.dims == ("time", "y", "x")
    assert "time" not in vds.spatial_ref.dims
    ds = open_refs(to_json(vds, tmp_path), mask_and_scale=False)
    expected = np.stack([tifffile.imread(p) for p in paths])
    assert_raw_equal(ds.band_data, expected)
    np.testing.assert_array_equal(ds.time.values, np.array(days, dtype="datetime64[ns]"))
