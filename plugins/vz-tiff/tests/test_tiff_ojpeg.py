"""Old-style JPEG TIFFs (Compression 6) read exactly, or refused naming page and reason.

Neither tifffile nor Pillow writes old-style JPEG, so the files are written here byte by
byte (a classic little-endian TIFF, :func:`_tiff`) in the layouts found in real files:

* one strip that is a whole JFIF stream, JPEGInterchangeFormat pointing at it and no
  JPEGInterchangeFormatLength (Kofax scanners; Pillow's ``old-style-jpeg-compression.tif``),
  also without SamplesPerPixel or with PhotometricInterpretation RGB (tifffile's OJPEG
  fix-ups: YCbCr, 3 samples, 8 bits);
* several strips or tiles, each a whole JPEG stream, a short last strip too;
* no strip tags at all, only JPEGInterchangeFormat and its length (EXIF-style thumbnails;
  Pillow's ``child_ifd_jpeg.tiff``), even without ImageWidth and ImageLength, or without
  the length (tifffile reads its estimate, cut at the end of the file);
* a series of two such pages.

Each is opened fully virtual, written as kerchunk JSON (zarr format 2 and 3) and Icechunk,
and read back by zarr (and xarray) equal to ``tifffile.imread``, bit for bit. The layouts
that do not map onto chunks (scan data whose JPEG header lies elsewhere, a frame of
another size than its strip) raise
UnsupportedFeatureError naming the file, variable, page and reason.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("vz_tiff")
tifffile = pytest.importorskip("tifffile")
imagecodecs = pytest.importorskip("imagecodecs")
fsspec = pytest.importorskip("fsspec")
xr = pytest.importorskip("xarray")

import vzcore
from vzcore.errors import UnsupportedFeatureError

SHORT, LONG = 3, 4
Tags = dict[int, tuple[int, list[int]]]


def _tiff(path: Path, blobs: list[bytes], ifds: Callable[[list[int]], list[Tags]]) -> None:
    """Write a classic little-endian TIFF: ``blobs`` from byte 8 on, then the IFDs.

    ``ifds(offsets)`` returns each IFD's tags (``{code: (type, values)}``) given the
    blobs' offsets; values longer than 4 bytes go after their IFD.
    """
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    offsets = []
    for blob in blobs:
        offsets.append(len(out))
        out += blob
    link = 4  # where the offset of the next IFD goes
    for tags in ifds(offsets):
        if len(out) % 2:
            out += b"\x00"
        struct.pack_into("<I", out, link, len(out))
        start = len(out)
        extra = start + 2 + 12 * len(tags) + 4
        entries, overflow = b"", b""
        for code in sorted(tags):
            kind, values = tags[code]
            data = struct.pack(f"<{len(values)}{'H' if kind == SHORT else 'I'}", *values)
            if len(data) <= 4:
                field = data.ljust(4, b"\x00")
            else:
                field = struct.pack("<I", extra + len(overflow))
                overflow += data + b"\x00" * (len(data) % 2)
            entries += struct.pack("<HHI", code, kind, len(values)) + field
        out += struct.pack("<H", len(tags)) + entries + b"\x00\x00\x00\x00" + overflow
        link = start + 2 + 12 * len(tags)
    path.write_bytes(bytes(out))


def _image(rows: int, cols: int, samples: int = 3, seed: int = 0) -> np.ndarray:
    y, x = np.mgrid[0:rows, 0:cols]
    base = (np.sin(x / 6.0 + seed) * 70 + np.cos(y / 4.0) * 40 + 128).clip(0, 255)
    if samples == 1:
        return base.astype("u1")
    return np.stack([base, base[::-1], 255 - base], axis=-1).astype("u1")


def _jpeg(image: np.ndarray) -> bytes:
    return bytes(imagecodecs.jpeg8_encode(np.ascontiguousarray(image), level=85))


def _page_tags(image: np.ndarray, **extra: tuple[int, list[int]]) -> Tags:
    """ImageWidth, ImageLength, BitsPerSample, Compression 6, Photometric, SamplesPerPixel."""
    rows, cols = image.shape[:2]
    samples = image.shape[2] if image.ndim == 3 else 1
    tags: Tags = {
        256: (LONG, [cols]),
        257: (LONG, [rows]),
        258: (SHORT, [8] * samples),
        259: (SHORT, [6]),
        262: (SHORT, [6 if samples == 3 else 1]),
        277: (SHORT, [samples]),
    }
    tags.update({int(k[1:]): v for k, v in extra.items()})
    return tags


def _strips(path: Path, image: np.ndarray, rows: int, drop: tuple[int, ...] = (), **extra: Any):
    """One whole JPEG stream per strip of ``rows`` rows; JPEGInterchangeFormat at strip 0."""
    blobs = [_jpeg(image[r : r + rows]) for r in range(0, image.shape[0], rows)]

    def ifds(offsets: list[int]) -> list[Tags]:
        tags = _page_tags(image, **extra)
        tags.update(
            {
                273: (LONG, offsets),
                278: (LONG, [rows]),
                279: (LONG, [len(b) for b in blobs]),
                513: (LONG, [offsets[0]]),
            }
        )
        return [{k: v for k, v in tags.items() if k not in drop}]

    _tiff(path, blobs, ifds)


def _check(path: Path, zarr_outputs: Any, tmp_path: Path, *, variable: str = "band_data") -> None:
    """Every output read back by zarr, and the JSON by xarray, equals tifffile's values."""
    expected = tifffile.imread(path)
    vds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    for where, group in zarr_outputs(vds).items():
        got = group[variable][...]
        assert got.dtype == expected.dtype, where
        np.testing.assert_array_equal(got, expected, err_msg=where)
    fs = fsspec.filesystem("reference", fo=str(tmp_path / "refs-v2.json"))
    ds = xr.open_dataset(fs.get_mapper(""), engine="zarr", consolidated=False, zarr_format=2)
    np.testing.assert_array_equal(ds[variable].values, expected)
    codecs = [c["id"] for c in vds[variable].data.metadata.codecs]
    assert "vz_tiff_jpeg" in codecs


@pytest.mark.parametrize(
    ("drop", "extra"),
    [((), {}), ((277,), {}), ((), {"t262": (SHORT, [2])})],
    ids=["kofax", "no-samplesperpixel", "photometric-rgb"],
)
def test_one_strip_jfif_stream(
    tmp_path: Path, zarr_outputs: Any, drop: tuple[int, ...], extra: dict[str, Any]
) -> None:
    path = tmp_path / "ojpeg.tif"
    _strips(path, _image(40, 56), 40, drop, **extra)
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        assert (page.compression, page.photometric, page.samplesperpixel) == (6, 6, 3)
        assert 514 not in page.tags
        assert (277 in page.tags) != bool(drop)
    _check(path, zarr_outputs, tmp_path)


@pytest.mark.parametrize("samples", [3, 1], ids=["ycbcr", "gray"])
def test_one_jpeg_stream_per_strip_with_a_short_last_strip(
    tmp_path: Path, zarr_outputs: Any, samples: int
) -> None:
    path = tmp_path / "strips.tif"
    _strips(path, _image(40, 48, samples), 16)  # strips of 16, 16 and 8 rows
    _check(path, zarr_outputs, tmp_path)


def test_one_jpeg_stream_per_tile(tmp_path: Path, zarr_outputs: Any) -> None:
    image = _image(64, 96)
    blobs = [_jpeg(image[r : r + 32, c : c + 32]) for r in (0, 32) for c in (0, 32, 64)]

    def ifds(offsets: list[int]) -> list[Tags]:
        tags = _page_tags(image)
        tags.update(
            {
                322: (LONG, [32]),
                323: (LONG, [32]),
                324: (LONG, offsets),
                325: (LONG, [len(b) for b in blobs]),
                513: (LONG, [offsets[0]]),
            }
        )
        return [tags]

    path = tmp_path / "tiles.tif"
    _tiff(path, blobs, ifds)
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].is_tiled
    _check(path, zarr_outputs, tmp_path)


def test_one_jpeg_stream_per_plane(tmp_path: Path, zarr_outputs: Any) -> None:
    """PlanarConfiguration 2: each sample plane one greyscale stream (strips of 12 rows)."""
    image = _image(24, 32)
    planes = [image[..., k] for k in range(3)]
    blobs = [_jpeg(plane[r : r + 12]) for plane in planes for r in (0, 12)]

    def ifds(offsets: list[int]) -> list[Tags]:
        return [
            _page_tags(
                image,
                t273=(LONG, offsets),
                t278=(LONG, [12]),
                t279=(LONG, [len(b) for b in blobs]),
                t284=(SHORT, [2]),
                t513=(LONG, [offsets[0]]),
                t530=(SHORT, [1, 1]),
            )
        ]

    path = tmp_path / "planar.tif"
    _tiff(path, blobs, ifds)
    assert tifffile.imread(path).shape == (3, 24, 32)
    _check(path, zarr_outputs, tmp_path)
    # Without YCbCrSubSampling (1, 1), the planes are chroma subsampled YCbCr, which
    # tifffile does not read with separate planes: neither does vz-tiff.
    subsampled = tmp_path / "planar-subsampled.tif"
    _tiff(
        subsampled, blobs, lambda offsets: [{k: v for k, v in ifds(offsets)[0].items() if k != 530}]
    )
    with pytest.raises(NotImplementedError, match="chroma subsampling"):
        tifffile.imread(subsampled)
    _unsupported(subsampled, "chroma subsampling with separate sample planes")


@pytest.mark.parametrize("sized", [True, False], ids=["with-size-tags", "size-from-the-jpeg"])
def test_interchange_format_only(tmp_path: Path, zarr_outputs: Any, sized: bool) -> None:
    image = _image(24, 40)
    jpeg = _jpeg(image)

    def ifds(offsets: list[int]) -> list[Tags]:
        tags = _page_tags(image) if sized else {}
        tags.update({513: (LONG, [offsets[0]]), 514: (LONG, [len(jpeg)])})
        return [tags]

    path = tmp_path / "exif-thumbnail.tif"
    _tiff(path, [jpeg], ifds)
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        assert 273 not in page.tags
        assert (page.compression, page.shape) == (6, image.shape)
    _check(path, zarr_outputs, tmp_path)


def test_series_of_two_pages(tmp_path: Path, zarr_outputs: Any) -> None:
    images = [_image(32, 40, seed=k) for k in range(2)]
    blobs = [_jpeg(image) for image in images]

    def ifds(offsets: list[int]) -> list[Tags]:
        return [
            _page_tags(
                image,
                t273=(LONG, [off]),
                t278=(LONG, [32]),
                t279=(LONG, [len(blob)]),
                t513=(LONG, [off]),
            )
            for image, blob, off in zip(images, blobs, offsets, strict=True)
        ]

    path = tmp_path / "pages.tif"
    _tiff(path, blobs, ifds)
    assert tifffile.imread(path).shape == (2, 32, 40, 3)
    _check(path, zarr_outputs, tmp_path)


def _unsupported(path: Path, *words: str) -> str:
    with pytest.raises(UnsupportedFeatureError) as info:
        vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    message = str(info.value)
    for word in (path.name, "'band_data'", *words):
        assert word in message
    return message


def test_scan_data_with_the_header_elsewhere_is_refused(tmp_path: Path) -> None:
    """JPEGInterchangeFormat holds the stream's header, the strip only its scan data."""
    image = _image(16, 24)
    stream = _jpeg(image)
    sos = stream.index(b"\xff\xda")
    scan = sos + 2 + int.from_bytes(stream[sos + 2 : sos + 4], "big")
    header, data = stream[:scan], stream[scan:]

    def ifds(offsets: list[int]) -> list[Tags]:
        tags = _page_tags(image)
        tags.update(
            {
                273: (LONG, [offsets[1]]),
                278: (LONG, [16]),
                279: (LONG, [len(data)]),
                513: (LONG, [offsets[0]]),
                514: (LONG, [len(header)]),
            }
        )
        return [tags]

    path = tmp_path / "scan-only.tif"
    _tiff(path, [header, data], ifds)
    with pytest.raises(imagecodecs.JpegError):  # tifffile cannot decode it either
        tifffile.imread(path)
    message = _unsupported(path, "strip 0 of page 0", "not a JPEG stream of its own")
    assert "not a JPEG SOI marker" in message


def test_a_frame_of_another_size_is_refused(tmp_path: Path) -> None:
    """RowsPerStrip says 16 rows per strip, but the one stream holds all 32."""
    image = _image(32, 24)
    jpeg = _jpeg(image)

    def ifds(offsets: list[int]) -> list[Tags]:
        tags = _page_tags(image)
        tags.update(
            {
                273: (LONG, [offsets[0], offsets[0]]),
                278: (LONG, [16]),
                279: (LONG, [len(jpeg), len(jpeg)]),
                513: (LONG, [offsets[0]]),
            }
        )
        return [tags]

    path = tmp_path / "frame.tif"
    _tiff(path, [jpeg], ifds)
    _unsupported(path, "strip 0 of page 0", "frame of 32 rows", "needs 16, 24 and 3")


def test_interchange_format_without_a_length(tmp_path: Path, zarr_outputs: Any) -> None:
    """tifffile reads its estimate of the length (cut at the end of the file): so do we."""
    image = _image(16, 24)
    jpeg = _jpeg(image)

    def ifds(offsets: list[int]) -> list[Tags]:
        tags = _page_tags(image)
        tags[513] = (LONG, [offsets[0]])
        return [tags]

    path = tmp_path / "no-length.tif"
    _tiff(path, [jpeg], ifds)
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        assert page.dataoffsets[0] + page.databytecounts[0] > path.stat().st_size
    _check(path, zarr_outputs, tmp_path)


def test_jpeg_frame_reasons() -> None:
    from vz_tiff._codecs import jpeg_frame

    stream = _jpeg(_image(10, 12))
    assert jpeg_frame(stream) == (8, 10, 12, 3)
    assert jpeg_frame(stream[:2] + b"\xff\xff" + stream[2:]) == (8, 10, 12, 3)  # fill byte
    with pytest.raises(ValueError, match="not a JPEG SOI marker"):
        jpeg_frame(stream[2:])
    with pytest.raises(ValueError, match="end before the frame header"):
        jpeg_frame(stream[:30])
    with pytest.raises(ValueError, match="a scan before any frame header"):
        jpeg_frame(b"\xff\xd8\xff\xda\x00\x02")
