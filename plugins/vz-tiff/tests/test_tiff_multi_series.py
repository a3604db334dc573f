"""TIFF files whose series differ in size: every series readable as one DataTree.

The root holds series 0; series 1, 2, ... are child groups ``series_<i>``. A DataTree needs
a dimension that a child shares by name with the root to have the root's size (and loaded
coordinate values), so a series' dimension that differs from the root's gets the suffix
``_series<i>`` (pillow's ``multipage-mmap.tiff`` and ``child_ifd.tiff`` crashed before).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("vz_tiff")
tifffile = pytest.importorskip("tifffile")
xr = pytest.importorskip("xarray")
pytest.importorskip("fsspec")

import vzcore


def _open_tree(refs: Any) -> Any:
    """xarray's DataTree of kerchunk references (zarr format 2), raw values."""
    return xr.open_datatree(
        "reference://",
        engine="zarr",
        consolidated=False,
        zarr_format=2,
        mask_and_scale=False,
        storage_options={"fo": refs},
    )


def _three_series(path: Path) -> list[np.ndarray]:
    stack = (np.arange(2 * 10 * 10) % 251).astype("u1").reshape(2, 10, 10)
    big = (np.arange(20 * 24, dtype="f4") * 0.5 - 7).reshape(20, 24)
    rgb = (np.arange(16 * 16 * 3) * 37 % 65521).astype("<u2").reshape(16, 16, 3)
    with tifffile.TiffWriter(path) as w:
        w.write(stack, compression="zlib", rowsperstrip=5)  # shaped: one series of 2 pages
        w.write(big, compression="zstd", tile=(16, 16))
        w.write(rgb, photometric="rgb", rowsperstrip=4)
    return [stack, big, rgb]


def test_series_of_different_sizes_open_as_one_tree(tmp_path: Path, zarr_outputs: Any) -> None:
    path = tmp_path / "three.tif"
    arrays = _three_series(path)
    vdt = vzcore.open_virtual_datatree(str(path))
    assert vdt["band_data"].dims == ("other", "y", "x")  # tifffile axis Q
    assert vdt["series_1/band_data"].dims == ("y_series1", "x_series1")
    assert vdt["series_2/band_data"].dims == ("y_series2", "x_series2", "band")
    with tifffile.TiffFile(path) as tif:
        expected = [s.asarray() for s in tif.series]
    for got, want in zip(expected, arrays, strict=True):
        np.testing.assert_array_equal(got, want)
    for where, group in zarr_outputs(vdt).items():
        for i, name in enumerate(["band_data", "series_1/band_data", "series_2/band_data"]):
            got = group[name][...]
            assert got.dtype.newbyteorder("=") == expected[i].dtype, (where, name)
            np.testing.assert_array_equal(got, expected[i], err_msg=f"{where}: {name}")
    # xarray's own DataTree reader on the references
    tree = _open_tree(str(tmp_path / "refs-v2.json"))
    np.testing.assert_array_equal(tree["series_1/band_data"].values, expected[1])
    np.testing.assert_array_equal(tree["series_2/band_data"].values, expected[2])
    assert tree["series_2"].sizes["y_series2"] == 16


def test_open_virtual_dataset_gives_series_0_and_group_gives_the_others(tmp_path: Path) -> None:
    path = tmp_path / "three.tif"
    _three_series(path)
    vds = vzcore.open_virtual_dataset(str(path))
    assert vds["band_data"].shape == (2, 10, 10)
    one = vzcore.open_virtual_dataset(str(path), group="series_1")
    assert one["band_data"].dims == ("y_series1", "x_series1")  # the same names as in the tree
    assert one["band_data"].dtype == np.float32


def test_series_of_the_same_size_share_the_dimensions(tmp_path: Path, geo: Any) -> None:
    path = tmp_path / "same.tif"
    data = np.arange(12 * 8, dtype="f4").reshape(12, 8)
    with tifffile.TiffWriter(path) as w:
        w.write(data, extratags=geo.tags(), metadata=None)
        w.write(data.astype("u1"), extratags=geo.tags(), metadata=None)  # same size, same grid
    vdt = vzcore.open_virtual_datatree(str(path))
    assert vdt["series_1/band_data"].dims == ("y", "x")
    np.testing.assert_array_equal(vdt["series_1"]["x"].values, vdt["x"].values)


def test_same_size_on_another_grid_gets_its_own_dimensions(
    tmp_path: Path, geo: Any, zarr_outputs: Any
) -> None:
    path = tmp_path / "grids.tif"
    data = np.arange(12 * 8, dtype="i2").reshape(12, 8)
    shifted = (10.0, 0, 0, 0, 0, -10.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)  # origin 0, 10 m pixels
    with tifffile.TiffWriter(path) as w:
        w.write(data, extratags=geo.tags(nodata=None), metadata=None)
        w.write(
            (data + 1).astype("i4"),
            extratags=geo.tags(nodata=None, transform=shifted),
            metadata=None,
        )
    vdt = vzcore.open_virtual_datatree(str(path))
    child = vdt["series_1"]
    assert child["band_data"].dims == ("y_series1", "x_series1")
    np.testing.assert_array_equal(child["x_series1"].values, np.arange(8) * 10.0 + 5.0)
    assert vdt["x"].values[0] == geo.ORIGIN[0] + geo.PIXEL[0] / 2
    group = zarr_outputs(vdt, ("kerchunk v2",))["kerchunk v2"]
    np.testing.assert_array_equal(group["series_1/band_data"][...], data + 1)


def test_overviews_of_a_renamed_series(tmp_path: Path) -> None:
    path = tmp_path / "pyramid.tif"
    base = np.arange(8 * 8, dtype="u2").reshape(8, 8)
    big = np.arange(32 * 32, dtype="u2").reshape(32, 32)
    with tifffile.TiffWriter(path) as w:
        w.write(base, metadata=None)
        w.write(big, tile=(16, 16), subifds=1, metadata=None)
        w.write(big[::2, ::2], tile=(16, 16), subfiletype=1, metadata=None)
    vdt = vzcore.open_virtual_datatree(str(path))
    assert vdt["series_1/band_data"].dims == ("y_series1", "x_series1")
    assert vdt["series_1/overview_1/band_data"].dims == ("y1_series1", "x1_series1")
    with tifffile.TiffFile(path) as tif:
        expected = tif.series[1].levels[1].asarray()
    refs = vdt.virtualize.to_kerchunk(format="dict")
    tree = _open_tree(refs)
    np.testing.assert_array_equal(tree["series_1/overview_1/band_data"].values, expected)
