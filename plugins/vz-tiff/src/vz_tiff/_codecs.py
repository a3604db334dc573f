"""TIFF compression and predictor tags as numcodecs codec configurations.

Every strip or tile of a TIFF page is one zarr chunk, so the chunk's codec pipeline is the
page's predictor (a filter) followed by its compression. The configurations use
numcodecs' own codecs where they decode TIFF data exactly (``zlib``, ``lzma``, ``zstd``)
and imagecodecs' numcodecs codecs otherwise (``imagecodecs_lzw``, ``imagecodecs_webp``,
``imagecodecs_delta``, ...). imagecodecs does not register those with numcodecs on import:
:func:`register_codecs` does (importing :mod:`vz_tiff._reader` calls it), and whoever reads
the written references needs ``imagecodecs.numcodecs.register_codecs()`` first. JPEG uses
vz-tiff's own ``vz_tiff_jpeg`` (:mod:`vz_tiff.codecs`), found through entry points.

Compressions fall in two kinds. *Bytes codecs* (deflate, LZW, PackBits, zstd, LZMA)
decompress to the raw bytes of the chunk in the file's byte order. *Image codecs* (JPEG,
WebP, PNG, JPEG 2000, JPEG XL, JPEG XR, LERC) decode to an array in the machine's byte
order, so their arrays are declared native-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vzcore.manifests import CodecConfig

__all__ = [
    "BYTES_CODECS",
    "CCITT",
    "IMAGE_CODECS",
    "Compression",
    "ccitt_compression",
    "compression_codec",
    "jpeg_frame",
    "predictor_codec",
    "register_codecs",
]

BYTES_CODECS: dict[int, tuple[str, CodecConfig]] = {
    5: ("LZW", {"id": "imagecodecs_lzw"}),
    8: ("Adobe Deflate", {"id": "zlib", "level": 6}),
    32946: ("Deflate", {"id": "zlib", "level": 6}),
    50013: ("PixTIFF Deflate", {"id": "zlib", "level": 6}),
    32773: ("PackBits", {"id": "imagecodecs_packbits"}),
    34925: ("LZMA", {"id": "lzma", "format": 1, "check": -1, "preset": None, "filters": None}),
    50000: ("Zstandard", {"id": "zstd", "level": 0, "checksum": False}),
    34926: ("Zstandard (deprecated code)", {"id": "zstd", "level": 0, "checksum": False}),
}
"""Lossless compressions that decode to the chunk's raw bytes: tag value -> (name, codec)."""

IMAGE_CODECS: dict[int, tuple[str, str]] = {
    6: ("old-style JPEG", "imagecodecs_jpeg"),
    7: ("JPEG", "imagecodecs_jpeg"),
    50001: ("WebP", "imagecodecs_webp"),
    34927: ("WebP (deprecated code)", "imagecodecs_webp"),
    34933: ("PNG", "imagecodecs_png"),
    33003: ("JPEG 2000 (Aperio YCbCr)", "imagecodecs_jpeg2k"),
    33004: ("JPEG 2000", "imagecodecs_jpeg2k"),
    33005: ("JPEG 2000 (Aperio RGB)", "imagecodecs_jpeg2k"),
    34712: ("JPEG 2000", "imagecodecs_jpeg2k"),
    50002: ("JPEG XL", "imagecodecs_jpegxl"),
    52546: ("JPEG XL (DNG)", "imagecodecs_jpegxl"),
    34934: ("JPEG XR", "imagecodecs_jpegxr"),
    34887: ("LERC", "imagecodecs_lerc"),
}
"""Image compressions that decode to an array: tag value -> (name, codec id)."""

CCITT: dict[int, str] = {
    2: "CCITT modified Huffman RLE",
    3: "CCITT T.4 (Group 3 fax)",
    4: "CCITT T.6 (Group 4 fax)",
}
"""Bilevel fax compressions, decoded by vz-tiff's ``vz_tiff_ccitt``: tag value -> name."""

_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # not DHT, JPG, DAC
_STANDALONE_MARKERS = frozenset((0x01, *range(0xD0, 0xD8)))  # TEM, RSTn: no length


def jpeg_frame(stream: bytes) -> tuple[int, int, int, int]:
    """Return ``(precision, height, width, components)`` of a JPEG stream's frame header.

    ``stream`` is the stream's start (SOI, then marker segments up to the frame header
    SOFn, any of the 13 kinds). Raises ValueError saying what is there instead: no SOI
    (the data is not a JPEG stream of its own, e.g. old-style JPEG scan data whose header
    lies elsewhere), a scan or the end of the image before any frame header, or too few
    bytes.
    """
    if stream[:2] != b"\xff\xd8":
        raise ValueError(f"it starts with bytes {stream[:4].hex()}, not a JPEG SOI marker (ffd8)")
    pos = 2
    while pos + 4 <= len(stream):
        if stream[pos] != 0xFF:
            raise ValueError(f"byte {pos} is {stream[pos]:#04x}, not the JPEG marker expected")
        marker = stream[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _STANDALONE_MARKERS:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):
            what = "the end of the image" if marker == 0xD9 else "a scan"
            raise ValueError(f"it has {what} before any frame header (SOF)")
        if marker in _SOF_MARKERS:
            if pos + 10 > len(stream):
                break
            precision, height, width, components = struct.unpack_from(">BHHB", stream, pos + 4)
            return precision, height, width, components
        pos += 2 + int.from_bytes(stream[pos + 2 : pos + 4], "big")
    raise ValueError(f"its first {len(stream)} bytes end before the frame header (SOF)")


_REGISTERED = False


def register_codecs() -> None:
    """Register imagecodecs' numcodecs codecs (``imagecodecs_*``) with numcodecs, once."""
    global _REGISTERED
    if _REGISTERED:
        return
    import imagecodecs.numcodecs

    imagecodecs.numcodecs.register_codecs(verbose=False)
    _REGISTERED = True


@dataclass(frozen=True)
class Compression:
    """How one TIFF compression is decoded."""

    name: str
    """Human-readable name of the compression."""
    codec: CodecConfig | None
    """The numcodecs configuration, or None for uncompressed data."""
    image: bool
    """True when the codec decodes to a native-endian array (JPEG, WebP, ...)."""
    full_chunks: bool = False
    """True when the codec decodes every strip, a short last one too, to the full chunk."""
    bitorder: bool = False
    """True when FillOrder 2 applies to the stored bytes before decoding (CCITT)."""


def compression_codec(
    compression: int,
    *,
    photometric: int,
    planarconfig: int,
    extrasamples: tuple[int, ...],
    samplesperpixel: int,
    bitspersample: int,
    is_jfif: bool,
    jpegtables: bytes | None = None,
) -> Compression | None:
    """Return the codec of a TIFF compression tag value, or None when there is none.

    Parameters
    ----------
    compression
        The Compression tag value.
    photometric, planarconfig, extrasamples, samplesperpixel, bitspersample, is_jfif
        Page properties that JPEG and WebP decoding depend on.
    jpegtables
        The JPEGTables tag: JPEG strips and tiles are then abbreviated streams, and the
        configuration of vz-tiff's ``vz_tiff_jpeg`` codec (used for every JPEG TIFF, so
        that zarr format 3 readers find it by entry point) carries the tables.
    """
    if compression == 1:
        return Compression("uncompressed", None, image=False)
    if compression in BYTES_CODECS:
        name, bytes_config = BYTES_CODECS[compression]
        return Compression(name, dict(bytes_config), image=False)
    if compression not in IMAGE_CODECS:
        return None
    name, codec_id = IMAGE_CODECS[compression]
    config: CodecConfig = {"id": codec_id}
    if codec_id == "imagecodecs_jpeg":
        from tifffile.tifffile import jpeg_decode_colorspace

        colorspace_jpeg, colorspace_data = jpeg_decode_colorspace(
            photometric, planarconfig, extrasamples, is_jfif
        )
        # vz-tiff's own id, with or without tables: its entry points make zarr format 3
        # readers (and Icechunk) find it, which imagecodecs' unregistered id is not.
        config["id"] = "vz_tiff_jpeg"
        config["bitspersample"] = bitspersample
        if jpegtables:
            import base64

            config["tables"] = base64.b64encode(bytes(jpegtables)).decode("ascii")
        if colorspace_jpeg is not None:
            config["colorspace_jpeg"] = colorspace_jpeg
        if colorspace_data is not None:
            config["colorspace_data"] = colorspace_data
    elif codec_id == "imagecodecs_webp" and samplesperpixel == 4:
        config["hasalpha"] = True
    return Compression(name, config, image=True)


def predictor_codec(
    predictor: int,
    *,
    chunk_shape: tuple[int, ...],
    dtype_str: str,
    contig_samples: bool,
) -> tuple[str, CodecConfig] | None:
    """Return ``(name, codec)`` for a TIFF Predictor tag value, or None when unknown.

    TIFF predictors work along each row of a chunk: the horizontal predictor differences
    neighbouring pixels of each sample, the floating-point predictor also reorders the
    bytes of each row. ``chunk_shape`` and ``dtype_str`` are those of the zarr chunk, which
    the imagecodecs filters need to see the rows.
    """
    kinds: dict[int, tuple[str, str, int]] = {
        2: ("horizontal", "imagecodecs_delta", 1),
        34892: ("horizontal x2", "imagecodecs_delta", 2),
        34893: ("horizontal x4", "imagecodecs_delta", 4),
        3: ("floating point", "imagecodecs_floatpred", 1),
        34894: ("floating point x2", "imagecodecs_floatpred", 2),
        34895: ("floating point x4", "imagecodecs_floatpred", 4),
    }
    if predictor not in kinds:
        return None
    name, codec_id, dist = kinds[predictor]
    config: dict[str, Any] = {
        "id": codec_id,
        "axis": -2 if contig_samples else -1,
        "dist": dist,
        "shape": list(chunk_shape),
        "dtype": dtype_str,
    }
    return name, config


def ccitt_compression(compression: int, *, height: int, width: int, t4options: int) -> Compression:
    """Return the ``vz_tiff_ccitt`` decoding of a CCITT compression (2, 3 or 4).

    ``height`` and ``width`` are those of a full strip or tile: the codec decodes each one
    to that many rows (a short last strip too; zarr crops it) of ``bool`` pixels.
    """
    config: CodecConfig = {
        "id": "vz_tiff_ccitt",
        "compression": compression,
        "height": height,
        "width": width,
        "t4options": t4options,
    }
    return Compression(CCITT[compression], config, image=True, full_chunks=True, bitorder=True)
