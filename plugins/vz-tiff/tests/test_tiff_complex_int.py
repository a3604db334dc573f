"""Complex integer samples (SampleFormat 5) read as tifffile reads them, through zarr v2 and v3."""

from __future__ import annotations

from pathlib import Path

import fsspec
import numpy as np
import pytest
import tifffile
import vzcore
import zarr


def _complex_int_tiff(path: Path, pairs: np.ndarray) -> None:
    """Write (real, imag) integer pairs as one complex-integer sample per pixel.

    tifffile writes complex integers only from existing files, so the pairs are written as
    signed integers of twice the width and the SampleFormat tag is changed from 2 to 5.
    """
    wide = np.dtype(f"<i{2 * pairs.dtype.itemsize}")
    tifffile.imwrite(path, pairs.view(wide)[..., 0], tile=(16, 16), compression="zlib")
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[0].tags["SampleFormat"].valueoffset
    data = bytearray(path.read_bytes())
    assert data[offset : offset + 2] == b"\x02\x00"
    data[offset : offset + 2] = b"\x05\x00"
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("itype", ["<i2", "<i4"])
def test_complex_integers_equal_tifffile(tmp_path: Path, itype: str, zarr_format: int) -> None:
    pairs = np.random.default_rng(3).integers(-1000, 1000, size=(20, 30, 2)).astype(itype)
    path = tmp_path / "cint.tif"
    _complex_int_tiff(path, pairs)
    expected = tifffile.imread(path)
    assert expected.dtype == (np.complex64 if itype == "<i2" else np.complex128)
    np.testing.assert_array_equal(expected.real, pairs[..., 0])  # the file is what we meant

    ds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    out = tmp_path / "refs.json"
    ds.virtualize.to_kerchunk(str(out), format="json", zarr_format=zarr_format)
    group = zarr.open_group(
        fsspec.filesystem("reference", fo=str(out)).get_mapper(""),
        mode="r",
        zarr_format=zarr_format,
    )
    (name,) = [k for k in group.array_keys() if group[k].ndim >= 2]
    got = np.squeeze(group[name][...])
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
