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


def _packed(path: Path, data: np.ndarray, bits: int, **kwargs: Any) -> None:
    """Write ``data`` as ``bits``-bit packed samples (tifffile's ``bitspersample``)."""
    if data.dtype == bool:
        tifffile.imwrite(path, data, **kwargs)
    else:
        tifffile.imwrite(path, data, bitspersample=bits, **kwargs)
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].bitspersample == bits
    np.testing.assert_array_equal(tifffile.imread(path), data)


_RNG = np.random.default_rng(7)


@pytest.mark.parametrize("bits", [1, 2, 4, 12])
@pytest.mark.parametrize(
    "kwargs",
    [
        {"rowsperstrip": 8},
        {"rowsperstrip": 8, "compression": "zlib"},
        {"tile": (16, 16)},
        {"rowsperstrip": 8, "compression": "zstd", "byteorder": ">"},
    ],
    ids=["strips-short-last", "zlib-strips-short-last", "tiles", "zstd-big-endian"],
)
def test_packed_samples_in_every_output(
    tmp_path: Path, zarr_outputs: Any, bits: int, kwargs: dict[str, Any]
) -> None:
    shape = (21, 35)  # odd width: rows end inside a byte
    if bits == 1:
        data = _RNG.integers(0, 2, shape).astype(bool)
    else:
        data = _RNG.integers(0, 2**bits, shape).astype("u1" if bits <= 8 else "u2")
    path = tmp_path / "packed.tif"
    if bits > 1 and "compression" in kwargs:
        pytest.skip("tifffile compresses only 1-bit packed samples")
    _packed(path, data, bits, **kwargs)
    _check(path, zarr_outputs)


def _reverse_fill_order(path: Path) -> None:
    """Make a file FillOrder 2: reverse the bits of every stored byte, retag 267 as 266.

    tifffile does not write FillOrder, so the files carry Thresholding (267, the next tag
    code, keeping the IFD sorted) = 2, whose code is patched to FillOrder (266) here.
    """
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        spans = list(zip(page.dataoffsets, page.databytecounts, strict=True))
        tag_offset = page.tags[267].offset
    with open(path, "r+b") as fh:
        fh.seek(tag_offset)
        fh.write((266).to_bytes(2, "little"))
        for offset, count in spans:
            fh.seek(offset)
            raw = fh.read(count)
            fh.seek(offset)
            fh.write(imagecodecs.bitorder_decode(raw))


@pytest.mark.parametrize(
    ("bits", "kwargs"),
    [
        (16, {"rowsperstrip": 8}),
        (4, {"rowsperstrip": 8}),
        (16, {"rowsperstrip": 8, "compression": "zlib"}),
        (16, {"rowsperstrip": 8, "compression": "zlib", "predictor": True}),
    ],
    ids=["16-bit", "4-bit", "16-bit-zlib-short-strip", "16-bit-zlib-predictor"],
)
def test_fill_order_2_in_every_output(
    tmp_path: Path, zarr_outputs: Any, bits: int, kwargs: dict[str, Any]
) -> None:
    shape = (21, 35)
    dtype = "u2" if bits == 16 else "u1"
    data = _RNG.integers(0, 2**bits, shape).astype(dtype)
    path = tmp_path / "lsb.tif"
    extratags = [(267, "H", 1, 2, True)]  # becomes FillOrder 2 (LSB to MSB)
    if bits == 16:
        tifffile.imwrite(path, data, extratags=extratags, **kwargs)
    else:
        tifffile.imwrite(path, data, bitspersample=bits, extratags=extratags, **kwargs)
    _reverse_fill_order(path)
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].fillorder == 2
    np.testing.assert_array_equal(tifffile.imread(path), data)
    # (imagecodecs' predictor codec has no zarr format 3 codec: zarr format 2 only)
    _check(path, zarr_outputs, ("kerchunk v2",) if "predictor" in kwargs else None)


def test_jpeg_short_last_strip_in_every_output(tmp_path: Path, zarr_outputs: Any) -> None:
    y, x = np.mgrid[0:37, 0:40]
    data = (np.cos(x / 6.0) * 70 + y * 3 + 60).clip(0, 255).astype("u1")
    path = tmp_path / "short.tif"
    tifffile.imwrite(path, data, compression="jpeg", rowsperstrip=16)  # 16 + 16 + 5 rows
    _check(path, zarr_outputs)
