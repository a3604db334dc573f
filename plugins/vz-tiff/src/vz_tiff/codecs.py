"""numcodecs codecs of vz-tiff, found by readers of virtual references through entry points.

``vz_tiff_jpeg`` decodes the JPEG strips and tiles of TIFF files, self-contained ones and
those of files that keep their quantization and Huffman tables once, in the JPEGTables tag
(GDAL's usual JPEG TIFF), so that each strip or tile is an abbreviated JPEG stream. Its
configuration carries the tables base64-encoded (``"tables"``, when there are any) with
the colour spaces and bits per sample, and decoding is imagecodecs' ``jpeg_decode(...,
tables=...)``, as tifffile does.

``vz_tiff_samples`` turns a decoded strip or tile into the samples tifffile returns, padded
to the full chunk: packed integers of 1 to 63 bits (each row starting on a byte) become
``bool`` (1 bit), ``uint8``, ``uint16``, ... through imagecodecs' ``packints_decode``, and a
short last strip (fewer rows than RowsPerStrip) is padded with zeros to the chunk zarr
expects (zarr crops the edge chunk to the image again).

``vz_tiff_bitorder`` reverses the bits of every byte (TIFF FillOrder 2) through imagecodecs'
``bitorder_decode``; like tifffile, it applies to the stored bytes, before decompression.

``vz_tiff_complexint`` turns the interleaved integer pairs of TIFF complex integer samples
(SampleFormat 5) into the complex floats tifffile returns (two ``int16`` -> ``complex64``,
two ``int32`` -> ``complex128``): every integer of those sizes is exact in the float.

``vz_tiff_ccitt`` decodes CCITT modified Huffman (Compression 2), T.4 (3, with the T4Options
bits) and T.6 (4) bilevel strips and tiles through imagecodecs, as tifffile does, into one
``bool`` per pixel, for a full chunk of ``height`` rows of ``width`` pixels.

All are registered under the ``numcodecs.codecs`` entry-point group (zarr format 2) and,
through :mod:`vz_tiff.zarr3`, under ``zarr.codecs`` (zarr format 3 and Icechunk), so readers
need no ``register_codecs()`` call of their own, only vz-tiff installed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from imagecodecs.numcodecs import Jpeg
from numcodecs.abc import Codec

__all__ = ["TiffBitorder", "TiffCcitt", "TiffComplexInt", "TiffJpeg", "TiffSamples"]


class TiffJpeg(Jpeg):
    """JPEG with the TIFF file's shared tables (``tables``: base64 in the configuration)."""

    codec_id = "vz_tiff_jpeg"


def _contiguous_bytes(buf: Any) -> memoryview:
    """Return the bytes of a buffer or array, without copying contiguous data."""
    if isinstance(buf, np.ndarray):
        buf = np.ascontiguousarray(buf)
    return memoryview(buf).cast("B")


class TiffSamples(Codec):  # type: ignore[misc]  # numcodecs' Codec is untyped
    """Samples of one TIFF strip or tile as tifffile returns them, padded to the chunk.

    Parameters
    ----------
    dtype
        The decoded dtype (``"|b1"`` for 1-bit samples, ``"|u1"``, ``"<u2"``, ...).
    size
        Number of samples in the full chunk; shorter data are padded with zeros.
    bitspersample
        Bits per stored sample; whole bytes (8, 16, ...) are taken as they are.
    runlen
        Samples per row (width times interleaved samples): packed rows start on a byte.
    """

    codec_id = "vz_tiff_samples"

    def __init__(self, dtype: str, size: int, bitspersample: int = 8, runlen: int = 0) -> None:
        self.dtype = np.dtype(dtype).str
        self.size = int(size)
        self.bitspersample = int(bitspersample)
        self.runlen = int(runlen)  # numcodecs' get_config returns these four attributes

    def _packed(self) -> bool:
        dtype = np.dtype(self.dtype)
        return self.bitspersample != dtype.itemsize * 8 or dtype.kind == "b"

    def decode(self, buf: Any, out: Any = None) -> Any:
        """Unpack (packed integers) and pad ``buf`` to ``size`` samples of ``dtype``."""
        import imagecodecs

        data = _contiguous_bytes(buf)
        dtype = np.dtype(self.dtype)
        if self._packed():
            values = imagecodecs.packints_decode(
                bytes(data), dtype, self.bitspersample, runlen=self.runlen
            )
        else:
            whole = len(data) // dtype.itemsize * dtype.itemsize
            values = np.frombuffer(data[:whole], dtype=dtype)
        values = values.reshape(-1)
        if values.size == self.size:
            result = values
        else:
            result = np.zeros(self.size, dtype=dtype)
            n = min(values.size, self.size)
            result[:n] = values[:n]
        if out is not None:
            view = np.asarray(out).reshape(-1).view(dtype)
            view[:] = result
            return out
        return result

    def encode(self, buf: Any) -> bytes:
        """Pack ``buf`` (a full chunk of ``dtype``) as the file stores it."""
        import imagecodecs

        values = np.ascontiguousarray(buf).reshape(-1).view(self.dtype)
        if not self._packed():
            return values.tobytes()
        return bytes(
            imagecodecs.packints_encode(
                values.astype(np.uint8) if values.dtype.kind == "b" else values,
                self.bitspersample,
                runlen=self.runlen,
            )
        )


class TiffBitorder(Codec):  # type: ignore[misc]  # numcodecs' Codec is untyped
    """Reverse the bit order of every byte (TIFF FillOrder 2, least significant bit first)."""

    codec_id = "vz_tiff_bitorder"

    def decode(self, buf: Any, out: Any = None) -> Any:
        """Return the bytes of ``buf`` with each byte's bits reversed."""
        import imagecodecs

        result = imagecodecs.bitorder_decode(bytes(_contiguous_bytes(buf)))
        if out is not None:
            _contiguous_bytes(out)[:] = result
            return out
        return result

    def encode(self, buf: Any) -> bytes:
        """Reverse the bits again (the operation is its own inverse)."""
        return bytes(self.decode(buf))


def _output(result: np.ndarray, out: Any) -> Any:
    """Return ``result``, or copy it into ``out`` and return ``out``."""
    if out is None:
        return result
    view = np.asarray(out).reshape(-1).view(result.dtype)
    view[:] = result.reshape(-1)
    return out


class TiffComplexInt(Codec):  # type: ignore[misc]  # numcodecs' Codec is untyped
    """Complex integer samples (TIFF SampleFormat 5) as tifffile returns them.

    Parameters
    ----------
    itype
        The stored integer of each real and imaginary part, with the file's byte order
        (``"<i2"``, ``">i4"``). Decoding gives native-endian complex floats of twice its
        size (``complex64`` for ``int16``, ``complex128`` for ``int32``), as tifffile does.
    """

    codec_id = "vz_tiff_complexint"

    def __init__(self, itype: str) -> None:
        self.itype = np.dtype(itype).str
        itemsize = np.dtype(self.itype).itemsize
        if np.dtype(self.itype).kind != "i" or itemsize not in (2, 4):
            raise ValueError(f"vz_tiff_complexint needs int16 or int32 parts, not {itype!r}")
        self.ftype = np.dtype(f"=f{itemsize * 2}")
        self.ctype = np.dtype(f"=c{itemsize * 4}")

    def get_config(self) -> dict[str, Any]:
        """Return the JSON configuration."""
        return {"id": self.codec_id, "itype": self.itype}

    def decode(self, buf: Any, out: Any = None) -> Any:
        """Return the complex values of the stored integer pairs in ``buf``."""
        data = _contiguous_bytes(buf)
        pair = 2 * np.dtype(self.itype).itemsize
        whole = len(data) // pair * pair
        parts = np.frombuffer(data[:whole], dtype=self.itype)
        return _output(parts.astype(self.ftype).view(self.ctype), out)

    def encode(self, buf: Any) -> bytes:
        """Store complex values (of integer parts) as interleaved integers."""
        values = np.ascontiguousarray(buf).reshape(-1).view(self.ctype)
        return values.view(self.ftype).astype(self.itype).tobytes()


class TiffCcitt(Codec):  # type: ignore[misc]  # numcodecs' Codec is untyped
    """CCITT-compressed bilevel strips and tiles, decoded to one ``bool`` per pixel.

    Parameters
    ----------
    compression
        The TIFF Compression tag: 2 (CCITT modified Huffman RLE), 3 (T.4) or 4 (T.6).
    height, width
        Rows and pixels per row of the full chunk (RowsPerStrip or TileLength, and
        ImageWidth or TileWidth).
    t4options
        The T4Options tag (compression 3 only).
    """

    codec_id = "vz_tiff_ccitt"

    def __init__(self, compression: int, height: int, width: int, t4options: int = 0) -> None:
        self.compression = int(compression)
        if self.compression not in (2, 3, 4):
            raise ValueError(
                f"vz_tiff_ccitt decodes TIFF compressions 2, 3 and 4, not {compression}"
            )
        self.height = int(height)
        self.width = int(width)
        self.t4options = int(t4options)  # numcodecs' get_config returns these four

    def decode(self, buf: Any, out: Any = None) -> Any:
        """Return the ``height`` x ``width`` pixels of ``buf`` as ``bool``."""
        import imagecodecs

        data = bytes(_contiguous_bytes(buf))
        if self.compression == 2:
            pixels = imagecodecs.ccittrle_decode(data, self.height, self.width)
        elif self.compression == 3:
            pixels = imagecodecs.ccittfax3_decode(
                data, self.height, self.width, t4options=self.t4options
            )
        else:
            pixels = imagecodecs.ccittfax4_decode(data, self.height, self.width)
        size = self.height * self.width
        flat = np.asarray(pixels).reshape(-1)[:size]
        result = np.zeros(size, dtype=bool)
        result[: flat.size] = flat != 0
        return _output(result, out)

    def encode(self, buf: Any) -> bytes:
        """Not available: imagecodecs decodes CCITT but has no encoder (references only read)."""
        raise NotImplementedError(
            "vz_tiff_ccitt only decodes: imagecodecs has no CCITT encoder; write the data "
            "with another codec (e.g. zlib)"
        )
