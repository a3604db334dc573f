"""One unsupported image must not refuse a whole TIFF: one error naming all, or skip them.

A GeoTIFF-like file holds float32 data beside mask images in a compression no codec decodes
per chunk (SGILog, set on the masks' tags):
by default the reader raises one error naming every unsupported image and the option that
skips them; with ``skip_unsupported=True`` it leaves them out with one warning, and the
rest reads back through kerchunk references exactly as tifffile reads it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("vz_tiff")
tifffile = pytest.importorskip("tifffile")
fsspec = pytest.importorskip("fsspec")
zarr = pytest.importorskip("zarr")

import vzcore
from vzcore._urls import to_url
from vzcore.errors import UnsupportedFeatureError, UnsupportedPartsError, VZSkippedPartsWarning

from vz_tiff._reader import TiffReader


def _with_masks(path: Path, nmasks: int) -> np.ndarray:
    data = np.arange(32 * 32, dtype="f4").reshape(32, 32)
    with tifffile.TiffWriter(path) as tif:
        tif.write(data, tile=(16, 16), compression="zlib")
        for _ in range(nmasks):  # GDAL-style internal masks: 1-bit images
            tif.write(np.ones((32, 32), bool), subfiletype=4)
    with tifffile.TiffFile(path, mode="r+") as tif:
        for page in tif.pages[1:]:
            page.tags["Compression"].overwrite(34676)  # SGILOG: unsupported
    return data


def test_one_unsupported_image_names_itself_and_the_option(tmp_path: Path) -> None:
    path = tmp_path / "masked.tif"
    _with_masks(path, 1)
    with pytest.raises(UnsupportedFeatureError, match="SGILOG") as info:
        TiffReader().read(to_url(path))
    assert info.value.variable == "series_1/band_data"
    assert "reader_options={'skip_unsupported': True}" in str(info.value)


def test_every_unsupported_image_is_named_at_once(tmp_path: Path) -> None:
    path = tmp_path / "masks.tif"
    _with_masks(path, 2)
    with pytest.raises(UnsupportedPartsError) as info:
        TiffReader().read(to_url(path))
    assert [p.variable for p in info.value.parts] == [
        "series_1/band_data",
        "series_2/band_data",
    ]
    assert "skip_unsupported" in str(info.value)


def test_skip_unsupported_reads_everything_else_exactly(tmp_path: Path) -> None:
    path = tmp_path / "masks.tif"
    data = _with_masks(path, 2)
    with pytest.warns(VZSkippedPartsWarning, match=r"series_1/band_data.*series_2/band_data"):
        vds = vzcore.open_virtual_dataset(
            str(path), loadable_variables=[], reader_options={"skip_unsupported": True}
        )
    out = tmp_path / "refs.json"
    vds.virtualize.to_kerchunk(str(out), format="json")
    assert not any(k.startswith("series_") for k in json.loads(out.read_text())["refs"])
    group = zarr.open_group(
        fsspec.filesystem("reference", fo=str(out)).get_mapper(""), mode="r", zarr_format=2
    )
    got = group["band_data"][...]
    assert got.dtype == data.dtype
    np.testing.assert_array_equal(got, tifffile.imread(path, series=0))


def test_asking_for_the_unsupported_image_itself(tmp_path: Path) -> None:
    path = tmp_path / "masked.tif"
    _with_masks(path, 1)
    with pytest.raises(UnsupportedFeatureError, match="SGILOG"):
        TiffReader().read(to_url(path), group="series_1")
    with pytest.warns(VZSkippedPartsWarning):
        node = TiffReader().read(to_url(path), group="series_1", skip_unsupported=True)
    assert node.variables == {}
