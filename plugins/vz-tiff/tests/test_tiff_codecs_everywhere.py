"""Compressions read exactly through zarr v2 and v3 references and Icechunk (CCITT, LZW,
PackBits, predictors, ZSTD), compared with tifffile; files written by tifffile and Pillow."""

from __future__ import annotations

from pathlib import Path

import fsspec
import numpy as np
import pytest
import tifffile
import vzcore
import zarr
from vzcore.testing.outputs import icechunk_store

pytest.importorskip("icechunk")
pytest.importorskip("vz_icechunk")


def _image_array(group: zarr.Group) -> np.ndarray:
    (name,) = [k for k in group.array_keys() if group[k].ndim >= 2]
    return np.squeeze(group[name][...])


def _read_refs(path: Path, tmp_path: Path, zarr_format: int) -> np.ndarray:
    ds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    out = tmp_path / f"{path.stem}-v{zarr_format}.json"
    ds.virtualize.to_kerchunk(str(out), format="json", zarr_format=zarr_format)
    fs = fsspec.filesystem("reference", fo=str(out))
    return _image_array(zarr.open_group(fs.get_mapper(""), mode="r", zarr_format=zarr_format))


TIFFFILE_CASES = {
    "lzw": ({"compression": "lzw"}, "u2"),
    "lzw-predictor": ({"compression": "lzw", "predictor": True}, "u2"),
    "packbits": ({"compression": "packbits"}, "u2"),
    "deflate-floatpred": ({"compression": "zlib", "predictor": 3}, "f4"),
    "zstd": ({"compression": "zstd"}, "u2"),
}


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("case", sorted(TIFFFILE_CASES))
def test_image_codecs_in_v2_and_v3_references(tmp_path: Path, case: str, zarr_format: int) -> None:
    options, dtype = TIFFFILE_CASES[case]
    data = (np.random.default_rng(0).random((64, 48)) * 1000).astype(dtype)
    path = tmp_path / f"{case}.tif"
    tifffile.imwrite(path, data, tile=(16, 16), **options)
    got = _read_refs(path, tmp_path, zarr_format)
    expected = tifffile.imread(path)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("compression", ["group4", "group3", "tiff_ccitt"])
def test_ccitt_bilevel_images(tmp_path: Path, compression: str, zarr_format: int) -> None:
    pil = pytest.importorskip("PIL.Image")
    bits = np.random.default_rng(1).random((37, 53)) > 0.5  # odd sizes: a short last strip
    path = tmp_path / f"{compression}.tif"
    pil.fromarray(bits).save(path, compression=compression)
    got = _read_refs(path, tmp_path, zarr_format)
    expected = tifffile.imread(path)
    assert got.dtype == expected.dtype == np.bool_
    np.testing.assert_array_equal(got, expected)


def test_predictor_codec_through_icechunk(tmp_path: Path) -> None:
    data = (np.random.default_rng(2).random((64, 48)) * 1000).astype("u2")
    path = tmp_path / "pred.tif"
    tifffile.imwrite(path, data, tile=(16, 16), compression="lzw", predictor=True)
    ds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    group = zarr.open_group(icechunk_store(ds, tmp_path / "repo"), mode="r")
    np.testing.assert_array_equal(_image_array(group), tifffile.imread(path))
