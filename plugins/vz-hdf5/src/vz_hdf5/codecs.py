"""numcodecs codecs for HDF5 filters that no other package decodes as zarr needs.

Each codec decodes the chunks that one HDF5 filter wrote, byte for byte as the HDF5
library (or the filter's plugin) would, so zarr/xarray readers of virtual references decode
them with vz-hdf5 installed: the codecs are registered with numcodecs by the
``numcodecs.codecs`` entry points of vz-hdf5 (zarr format 2) and, wrapped in
:mod:`vz_hdf5.zarr3`, by its ``zarr.codecs`` entry points as ``numcodecs.<id>`` (zarr
format 3 and Icechunk). Each configuration carries everything decoding needs (the HDF5
filter's client data values are not available to the reader of references):

* ``vz_hdf5_lzf`` (filter 32000, h5py's LZF): a bare LZF stream; ``size`` is the decoded
  chunk size in bytes.
* ``vz_hdf5_scaleoffset`` (filter 6, HDF5's scale-offset): ``dtype`` (the element type as
  stored, with its byte order), ``count`` (elements per chunk), ``scale_type``
  (``"int"`` or ``"dscale"``), ``scale_factor`` and ``fill_value`` (the fill value's bytes,
  little-endian, as hex, or None when the dataset defines none), decoded as
  ``H5Zscaleoffset.c`` does.
* ``vz_hdf5_lzo`` (filter 305, PyTables' LZO): an LZO1X stream followed by the Adler-32
  checksum and the length of the decoded bytes; both are checked. ``size`` as for LZF.
* ``vz_hdf5_blosc2`` (filter 32026, the HDF5 Blosc2 filter of PyTables and hdf5plugin):
  a Blosc2 chunk or a Blosc2/B2ND frame; ``size`` as for LZF.
* ``vz_hdf5_filter_mask`` (any pipeline, for chunks that HDF5 stored with some *optional*
  filters skipped, e.g. a gzip or LZF chunk that compression would not shrink): ``filters``
  is the whole codec pipeline (numcodecs configurations in encoding order), ``size`` the
  decoded chunk size in bytes, and ``skipped`` a list of ``[stored length, codec mask]``
  pairs: a chunk whose stored length is listed was stored without the codecs whose bits
  are set in its mask (bit ``i``: ``filters[i]``), every other chunk went through all of
  them. The reader lists only lengths that no other chunk of the array has.

LZF, LZO and Blosc2 decoding comes from imagecodecs (``pip install 'vz-hdf5[codecs]'``);
scale-offset is numpy. Encoding exists so that writers can store whole chunks of fill
values that decode through the same pipeline (LZO chunks are stored as one literal run,
scale-offset chunks at full precision); it is not meant for new data.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
from numcodecs.abc import Codec

__all__ = ["HDF5LZF", "HDF5LZO", "HDF5Blosc2", "HDF5FilterMask", "HDF5ScaleOffset"]


def _imagecodecs(codec_id: str) -> Any:
    try:
        import imagecodecs
    except ImportError as err:
        raise ImportError(
            f"codec {codec_id!r} decodes with imagecodecs, which is not installed: "
            "pip install 'vz-hdf5[codecs]'"
        ) from err
    return imagecodecs


def _check_size(codec_id: str, out: bytes, size: int) -> bytes:
    if len(out) != size:
        raise ValueError(
            f"{codec_id}: the chunk decodes to {len(out)} bytes, not the {size} its "
            "configuration records"
        )
    return out


def _as_bytes(buf: Any) -> bytes:
    if isinstance(buf, bytes):
        return buf
    return memoryview(np.ascontiguousarray(buf)).cast("B").tobytes()


def _out(data: bytes, out: Any) -> Any:
    if out is None:
        return data
    view = np.frombuffer(data, dtype=np.uint8)
    dest = np.asarray(out).reshape(-1).view(np.uint8)
    dest[: len(view)] = view
    return out


def _lzo_literals(data: bytes) -> bytes:
    """Return an LZO1X stream that holds ``data`` as one literal run (no compression)."""
    n = len(data)
    if n == 0:
        return b"\x11\x00\x00"
    if n <= 238:
        head = bytes([17 + n])
    else:  # instruction 0: 3 + 15 + 255 * (zero bytes) + last byte literals
        rest = n - 3 - 15
        zeros = (rest - 1) // 255
        head = b"\x00" + b"\x00" * zeros + bytes([rest - 255 * zeros])
    return head + data + b"\x11\x00\x00"  # the end-of-stream marker


class _SizedCodec(Codec):  # type: ignore[misc]  # numcodecs is untyped
    """A codec whose configuration is the decoded size of a chunk, checked both ways.

    Parameters
    ----------
    size
        Decoded chunk size in bytes.
    """

    codec_id: str

    def __init__(self, size: int) -> None:
        self.size = int(size)

    def _raw(self, buf: Any) -> bytes:
        """Return the bytes of a chunk to encode, refusing one of another size."""
        return _check_size(self.codec_id, _as_bytes(buf), self.size)


class HDF5LZF(_SizedCodec):
    """Decode h5py's LZF filter (HDF5 filter 32000)."""

    codec_id = "vz_hdf5_lzf"

    def decode(self, buf: Any, out: Any = None) -> Any:
        """Return the decoded chunk bytes."""
        ic = _imagecodecs(self.codec_id)
        data = bytes(ic.lzf_decode(_as_bytes(buf), out=self.size))
        return _out(_check_size(self.codec_id, data, self.size), out)

    def encode(self, buf: Any) -> bytes:
        """Return ``buf`` as an LZF stream."""
        raw = self._raw(buf)
        return bytes(_imagecodecs(self.codec_id).lzf_encode(raw))


class HDF5LZO(_SizedCodec):
    """Decode PyTables' LZO filter (HDF5 filter 305), checking its Adler-32 checksum."""

    codec_id = "vz_hdf5_lzo"

    def decode(self, buf: Any, out: Any = None) -> Any:
        """Return the decoded chunk bytes."""
        ic = _imagecodecs(self.codec_id)
        raw = _as_bytes(buf)
        if len(raw) < 8:
            raise ValueError(f"{self.codec_id}: a chunk of {len(raw)} bytes holds no LZO data")
        checksum = int.from_bytes(raw[-8:-4], "little")
        length = int.from_bytes(raw[-4:], "little")
        if length != self.size:
            raise ValueError(
                f"{self.codec_id}: the chunk records {length} decoded bytes, not {self.size}"
            )
        data = bytes(ic.lzo_decode(raw[:-8], out=self.size))
        _check_size(self.codec_id, data, self.size)
        if zlib.adler32(data) != checksum:
            raise ValueError(f"{self.codec_id}: the decoded chunk fails its Adler-32 checksum")
        return _out(data, out)

    def encode(self, buf: Any) -> bytes:
        """Return ``buf`` as PyTables stores LZO chunks (one literal run, uncompressed)."""
        raw = self._raw(buf)
        return (
            _lzo_literals(raw)
            + zlib.adler32(raw).to_bytes(4, "little")
            + len(raw).to_bytes(4, "little")
        )


_FRAME_MAGIC = b"b2frame\x00"


def _schunk_frame(codec_id: str, raw: bytes) -> bytes:
    """Return the bytes of every chunk of a Blosc2 super-chunk frame (python-blosc2)."""
    try:
        import blosc2
    except ImportError as err:
        raise ImportError(
            f"codec {codec_id!r}: this chunk is a Blosc2 frame that only the blosc2 package "
            "decodes, and it is not installed: pip install 'vz-hdf5[codecs]'"
        ) from err
    schunk = blosc2.schunk_from_cframe(raw, copy=True)
    return b"".join(bytes(schunk.decompress_chunk(i)) for i in range(schunk.nchunks))


class HDF5Blosc2(_SizedCodec):
    """Decode the HDF5 Blosc2 filter (HDF5 filter 32026): Blosc2 chunks or B2ND frames."""

    codec_id = "vz_hdf5_blosc2"

    def decode(self, buf: Any, out: Any = None) -> Any:
        """Return the decoded chunk bytes."""
        ic = _imagecodecs(self.codec_id)
        raw = _as_bytes(buf)
        if raw[2:10] == _FRAME_MAGIC:  # a contiguous frame (msgpack header)
            try:  # a B2ND array (what the filter writes for more than one dimension)
                data = np.ascontiguousarray(ic.b2nd_decode(raw)).tobytes()
            except ic.B2ndError:  # a plain super-chunk frame: imagecodecs has no decoder
                data = _schunk_frame(self.codec_id, raw)
        else:
            data = bytes(ic.blosc2_decode(raw))
        return _out(_check_size(self.codec_id, data, self.size), out)

    def encode(self, buf: Any) -> bytes:
        """Return ``buf`` as a Blosc2 chunk."""
        raw = self._raw(buf)
        return bytes(_imagecodecs(self.codec_id).blosc2_encode(raw))


_HEADER = 21  # scale-offset chunk header: minbits (4), size of minval (1), minval (16)


class HDF5ScaleOffset(Codec):  # type: ignore[misc]  # numcodecs is untyped
    """Decode HDF5's scale-offset filter (HDF5 filter 6), as ``H5Zscaleoffset.c`` does.

    Parameters
    ----------
    dtype
        Element type as stored (``"<i4"``, ``">f8"``, ...).
    count
        Elements per chunk.
    scale_type
        ``"int"`` (integers, ``scale_factor`` is the number of bits, 0 for automatic) or
        ``"dscale"`` (floats, ``scale_factor`` is the decimal scale factor D).
    scale_factor
        The filter's scale factor.
    fill_value
        The dataset's fill value as little-endian bytes in hex (values equal to the
        all-ones code decode to it), or None when the dataset has none.
    """

    codec_id = "vz_hdf5_scaleoffset"

    def __init__(
        self,
        dtype: str,
        count: int,
        scale_type: str,
        scale_factor: int,
        fill_value: str | None = None,
    ) -> None:
        self.dtype = np.dtype(dtype)
        if self.dtype.kind not in "iuf" or self.dtype.itemsize not in (1, 2, 4, 8):
            raise ValueError(f"{self.codec_id}: dtype {dtype!r} is not an integer or float")
        if scale_type not in ("int", "dscale"):
            raise ValueError(f"{self.codec_id}: scale_type {scale_type!r} is not 'int' or 'dscale'")
        if (scale_type == "dscale") != (self.dtype.kind == "f"):
            raise ValueError(f"{self.codec_id}: scale_type {scale_type!r} on dtype {dtype!r}")
        if self.dtype.kind == "f" and self.dtype.itemsize not in (4, 8):
            raise ValueError(f"{self.codec_id}: dtype {dtype!r} is not float32 or float64")
        self.count = int(count)
        self.scale_type = scale_type
        self.scale_factor = int(scale_factor)
        self.fill_value = fill_value
        self._fill = None if fill_value is None else bytes.fromhex(fill_value)
        if self._fill is not None and len(self._fill) != self.dtype.itemsize:
            raise ValueError(f"{self.codec_id}: fill_value {fill_value!r} is not one {dtype}")

    def get_config(self) -> dict[str, Any]:
        """Return the JSON configuration."""
        return {
            "id": self.codec_id,
            "dtype": self.dtype.str,
            "count": self.count,
            "scale_type": self.scale_type,
            "scale_factor": self.scale_factor,
            "fill_value": self.fill_value,
        }

    def decode(self, buf: Any, out: Any = None) -> Any:
        """Return the decoded chunk bytes (in the stored byte order)."""
        raw = _as_bytes(buf)
        size = self.dtype.itemsize
        bits = size * 8
        nbytes = self.count * size
        if self.scale_type == "int" and self.scale_factor == bits:
            # HDF5 leaves the chunk as it is when the integer scale factor is the full width
            return _out(_check_size(self.codec_id, raw, nbytes), out)
        if len(raw) < _HEADER:
            raise ValueError(f"{self.codec_id}: a chunk of {len(raw)} bytes has no header")
        minbits = int.from_bytes(raw[:4], "little")
        minval = int.from_bytes(raw[5 : 5 + min(8, raw[4])], "little")
        if minbits > bits:
            raise ValueError(f"{self.codec_id}: {minbits} bits per value for a {bits}-bit type")
        native = self.dtype.newbyteorder("<")  # values are packed from little-endian memory
        body = raw[_HEADER:]
        if minbits == bits:
            if len(body) < nbytes:
                raise ValueError(f"{self.codec_id}: the chunk is {len(body)} bytes short")
            values = np.frombuffer(body, dtype=native, count=self.count)
            return _out(values.astype(self.dtype).tobytes(), out)
        codes = self._unpack(body, minbits)
        if self.dtype.kind == "f":
            values = self._floats(codes, minbits, minval)
        else:
            values = self._integers(codes, minbits, minval)
        return _out(values.astype(self.dtype).tobytes(), out)

    def encode(self, buf: Any) -> bytes:
        """Return ``buf`` (elements of ``dtype``) as a full-precision scale-offset chunk."""
        size = self.dtype.itemsize
        raw = _check_size(self.codec_id, _as_bytes(buf), self.count * size)
        if self.scale_type == "int" and self.scale_factor == size * 8:
            return raw
        values = np.frombuffer(raw, dtype=self.dtype).astype(self.dtype.newbyteorder("<"))
        header = (size * 8).to_bytes(4, "little") + bytes([8]) + bytes(16)
        return header + values.tobytes()

    def _unpack(self, body: bytes, minbits: int) -> np.ndarray:
        """Return the ``minbits``-bit codes (a big-endian bit stream) as uint64."""
        if minbits == 0:
            return np.zeros(self.count, dtype=np.uint64)
        need = -(-self.count * minbits // 8)
        if len(body) < need:
            raise ValueError(
                f"{self.codec_id}: the chunk holds {len(body)} bytes of packed values, "
                f"{need} needed"
            )
        bits = np.unpackbits(np.frombuffer(body, dtype=np.uint8, count=need))
        stream = bits[: self.count * minbits].reshape(self.count, minbits)
        width = -(-minbits // 8) * 8
        padded = np.zeros((self.count, width), dtype=np.uint8)
        padded[:, width - minbits :] = stream
        packed = np.packbits(padded, axis=1)  # (count, width // 8) big-endian bytes
        wide = np.zeros((self.count, 8), dtype=np.uint8)
        wide[:, 8 - width // 8 :] = packed
        return wide.view(">u8").reshape(self.count).astype(np.uint64)

    def _integers(self, codes: np.ndarray, minbits: int, minval: int) -> np.ndarray:
        size = self.dtype.itemsize
        mask = (1 << (size * 8)) - 1
        unsigned = np.dtype(f"<u{size}")
        # (type)(code + minval): two's complement wrap-around in the type's width
        values = ((codes + np.uint64(minval & mask)) & np.uint64(mask)).astype(unsigned)
        if self._fill is not None:
            fill = np.frombuffer(self._fill, dtype=unsigned)[0]
            values[codes == np.uint64((1 << minbits) - 1)] = fill
        return values.view(self.dtype.newbyteorder("<"))

    def _floats(self, codes: np.ndarray, minbits: int, minval: int) -> np.ndarray:
        size = self.dtype.itemsize
        native = self.dtype.newbyteorder("<")
        low = np.frombuffer(minval.to_bytes(8, "little")[:size], dtype=native)[0]
        signed = codes.astype(np.dtype(f"<i{size}"))
        if size == 4:
            # float arithmetic, as the C code: (float)code / powf(10.0f, (float)D) + min
            scale = np.power(np.float32(10.0), np.float32(self.scale_factor))
            values = signed.astype(np.float32) / scale + np.float32(low)
        else:
            scale64 = np.power(np.float64(10.0), np.float64(self.scale_factor))
            values = signed.astype(np.float64) / scale64 + np.float64(low)
        if self._fill is not None:
            fill = np.frombuffer(self._fill, dtype=native)[0]
            values[codes == np.uint64((1 << minbits) - 1)] = fill
        out: np.ndarray = values.astype(native)
        return out


def _inner_codec(config: dict[str, Any]) -> Any:
    """Return the numcodecs codec of ``config``, registering imagecodecs' codecs on demand."""
    import numcodecs

    try:
        return numcodecs.get_codec(dict(config))
    except (KeyError, ValueError):
        if not str(config.get("id", "")).startswith("imagecodecs_"):
            raise
        _imagecodecs(str(config["id"]))
        from imagecodecs.numcodecs import register_codecs

        register_codecs()
        return numcodecs.get_codec(dict(config))


class HDF5FilterMask(Codec):  # type: ignore[misc]  # numcodecs is untyped
    """Decode an HDF5 filter pipeline whose optional filters HDF5 skipped for some chunks.

    HDF5 records per chunk a *filter mask*: a set bit ``i`` means filter ``i`` of the
    pipeline was not applied (an optional filter that failed, e.g. deflate or LZF on a chunk
    they cannot shrink). References do not carry that mask, so this codec tells the chunks
    apart by their stored length, which the reader has checked to be unambiguous for every
    chunk it references.

    Parameters
    ----------
    filters
        The codec pipeline: numcodecs configurations in encoding order.
    size
        Decoded chunk size in bytes.
    skipped
        ``[stored length, mask]`` pairs: a chunk of that stored length skips the codecs whose
        bits are set in the mask (bit ``i`` is ``filters[i]``).
    """

    codec_id = "vz_hdf5_filter_mask"

    def __init__(
        self,
        filters: list[dict[str, Any]],
        size: int,
        skipped: list[list[int]],
    ) -> None:
        self.filters = [dict(c) for c in filters]
        self.size = int(size)
        self.skipped = [[int(length), int(mask)] for length, mask in skipped]
        self._masks = {pair[0]: pair[1] for pair in self.skipped}
        if len(self._masks) != len(self.skipped):
            raise ValueError(f"{self.codec_id}: a stored length is listed twice in {skipped}")
        if not self.filters or any(m >> len(self.filters) for m in self._masks.values()):
            raise ValueError(
                f"{self.codec_id}: masks {skipped} do not fit {len(self.filters)} filters"
            )
        self._codecs = [_inner_codec(c) for c in self.filters]

    def get_config(self) -> dict[str, Any]:
        """Return the JSON configuration."""
        return {
            "id": self.codec_id,
            "filters": [dict(c) for c in self.filters],
            "size": self.size,
            "skipped": [list(p) for p in self.skipped],
        }

    def decode(self, buf: Any, out: Any = None) -> Any:
        """Return the decoded chunk bytes."""
        data: Any = _as_bytes(buf)
        mask = self._masks.get(len(data), 0)
        for i in reversed(range(len(self._codecs))):
            if not mask & (1 << i):
                data = self._codecs[i].decode(data)
        return _out(_check_size(self.codec_id, _as_bytes(data), self.size), out)

    def encode(self, buf: Any) -> bytes:
        """Return ``buf`` through every filter (or, when that length is listed, as listed)."""
        raw = _check_size(self.codec_id, _as_bytes(buf), self.size)
        for mask in (0, *self._masks.values()):
            data: Any = raw
            for i, codec in enumerate(self._codecs):
                if not mask & (1 << i):
                    data = codec.encode(data)
            stored = _as_bytes(data)
            if self._masks.get(len(stored), 0) == mask:
                return stored
        raise ValueError(
            f"{self.codec_id}: no encoding of this chunk decodes unambiguously with "
            f"skipped={self.skipped}"
        )
