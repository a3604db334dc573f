"""JPEG without tables, packed samples, FillOrder 2 and short JPEG strips in every output.

Files are written by tifffile (FillOrder 2 by flipping the tag and the bits of the stored
bytes); the references (kerchunk JSON with zarr format 2 and 3 metadata, Icechunk) are read
back by zarr and compared with tifffile's values, dtype included, bit for bit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("vz_tiff")
tifffile = pytest.importorskip("tifffile")
imagecodecs = pytest.importorskip("imagecodecs")

import vzcore


def _check(path: Path, zarr_outputs: Any, formats: tuple[str, ...] | None = None) -> None:
    expected = tifffile.imread(path)
    vds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    outputs = zarr_outputs(vds) if formats is None else zarr_outputs(vds, formats)
    for where, group in outputs.items():
        got = group["band_data"][...]
        assert got.dtype.newbyteorder("=") == expected.dtype, where
        np.testing.assert_array_equal(got, expected, err_msg=where)


@pytest.mark.parametrize(
    "kwargs",
    [{"tile": (16, 16)}, {"rowsperstrip": 8, "photometric": "rgb"}],
    ids=["gray-tiles", "rgb-strips"],
)
def test_jpeg_without_tables_in_every_output(
    tmp_path: Path, zarr_outputs: Any, kwargs: dict[str, Any]
) -> None:
    y, x = np.mgrid[0:32, 0:48]
    gray = (np.sin(x / 5.0) * 80 + y * 2 + 100).clip(0, 255).astype("u1")
    data = np.stack([gray, gray[::-1], 255 - gray], -1) if "photometric" in kwargs else gray
    path = tmp_path / "jpeg.tif"
    tifffile.imwrite(path, data, compression="jpeg", **kwargs)
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].jpegtables is None
    _check(path, zarr_outputs)
