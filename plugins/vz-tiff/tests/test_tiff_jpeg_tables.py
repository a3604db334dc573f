"""JPEG TIFFs with shared JPEGTables (GDAL's usual layout) through vz-tiff's ``vz_tiff_jpeg``.

tifffile writes self-contained JPEG tiles, so the files here are built as GDAL builds them:
every tile encoded with the same tables, the quantization and Huffman tables moved into the
JPEGTables tag and the tiles left as abbreviated streams that decode only with them. The
references (zarr format 2 and 3) read back through zarr, which finds the codec by its entry
point, equal to what tifffile decodes from the file, value for value.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

tifffile = pytest.importorskip("tifffile")
imagecodecs = pytest.importorskip("imagecodecs")
pytest.importorskip("vz_kerchunk")
fsspec = pytest.importorskip("fsspec")
zarr = pytest.importorskip("zarr")

import vzcore

_TABLE_MARKERS = (0xDB, 0xC4, 0xDD)  # DQT, DHT, DRI


def _segments(stream: bytes) -> tuple[list[bytes], bytes]:
    """Split a JPEG stream into its header segments and the rest (from SOS on)."""
    assert stream[:2] == b"\xff\xd8"
    pos, out = 2, []
    while stream[pos + 1] != 0xDA:
        length = int.from_bytes(stream[pos + 2 : pos + 4], "big")
        out.append(stream[pos : pos + 2 + length])
        pos += 2 + length
    return out, stream[pos:]


def _abbreviate(tiles: list[bytes]) -> tuple[bytes, list[bytes]]:
    """Return (JPEGTables, abbreviated tiles): tables moved out, APPn segments dropped."""
    tables = None
    short = []
    for tile in tiles:
        segs, rest = _segments(tile)
        mine = b"".join(s for s in segs if s[1] in _TABLE_MARKERS)
        assert tables in (None, mine), "tiles must share their tables"
        tables = mine
        keep = b"".join(s for s in segs if s[1] not in _TABLE_MARKERS and not 0xE0 <= s[1] <= 0xEF)
        short.append(b"\xff\xd8" + keep + rest)
    assert tables
    return b"\xff\xd8" + tables + b"\xff\xd9", short


def _write(path: Path, image: np.ndarray, tile: tuple[int, int], **kwargs: Any) -> None:
    rows, cols = image.shape[:2]
    full = [
        imagecodecs.jpeg8_encode(
            np.ascontiguousarray(image[r : r + tile[0], c : c + tile[1]]), level=85, **kwargs
        )
        for r in range(0, rows, tile[0])
        for c in range(0, cols, tile[1])
    ]
    tables, short = _abbreviate(full)
    photometric = "minisblack" if image.ndim == 2 else "ycbcr"
    extra: dict[str, Any] = {}
    if image.ndim == 3:
        extra["subsampling"] = (2, 2)
    tifffile.imwrite(
        path,
        data=iter(short),
        shape=image.shape,
        dtype=image.dtype,
        tile=tile,
        compression="jpeg",
        photometric=photometric,
        extratags=[(347, 7, len(tables), tables, True)],
        **extra,
    )
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].jpegtables == tables


def _smooth(shape: tuple[int, ...]) -> np.ndarray:
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    base = (np.sin(x / 7.0) * 60 + np.cos(y / 5.0) * 50 + 128).clip(0, 255)
    if len(shape) == 2:
        return base.astype("u1")
    return np.stack([base, base[::-1], 255 - base], axis=-1).astype("u1")


def _read(refs: Path, fmt: int) -> np.ndarray:
    fs = fsspec.filesystem("reference", fo=str(refs))
    group = zarr.open_group(fs.get_mapper(""), mode="r", zarr_format=fmt)
    (name,) = [n for n, a in group.arrays() if a.ndim >= 2]
    return group[name][...]


@pytest.mark.parametrize("shape", [(64, 96), (64, 96, 3)], ids=["gray", "rgb"])
def test_jpeg_tables_read_back_like_tifffile(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = tmp_path / "gdal-style.tif"
    _write(path, _smooth(shape), (32, 32))
    expected = tifffile.imread(path)
    vds = vzcore.open_virtual_dataset(str(path))
    for fmt in (2, 3):
        refs = tmp_path / f"refs-v{fmt}.json"
        vds.virtualize.to_kerchunk(str(refs), zarr_format=fmt)
        got = _read(refs, fmt)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got.reshape(expected.shape), expected)
    refs = json.loads((tmp_path / "refs-v2.json").read_text())["refs"]
    zarrays = [_json(v) for k, v in refs.items() if k.endswith(".zarray")]
    assert [z["compressor"]["id"] for z in zarrays if z["compressor"]] == ["vz_tiff_jpeg"]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def test_tables_travel_in_the_codec_config(tmp_path: Path) -> None:
    path = tmp_path / "t.tif"
    _write(path, _smooth((32, 32)), (16, 16))
    refs = vzcore.open_virtual_dataset(str(path)).virtualize.to_kerchunk(format="dict")
    (zarray,) = [_json(v) for k, v in refs["refs"].items() if k.endswith(".zarray")]
    with tifffile.TiffFile(path) as tif:
        tables = tif.pages[0].jpegtables
    assert base64.b64decode(zarray["compressor"]["tables"]) == tables
    # without the tables, the abbreviated tiles do not decode
    codec = __import__("numcodecs").get_codec(zarray["compressor"])
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        tif.filehandle.seek(page.dataoffsets[0])
        tile = tif.filehandle.read(page.databytecounts[0])
    np.testing.assert_array_equal(codec.decode(tile), tifffile.imread(path)[:16, :16])
    with pytest.raises(imagecodecs.JpegError):
        imagecodecs.jpeg8_decode(tile)
