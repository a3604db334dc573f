"""Reading the values of a virtual array through its manifest.

This is what zarr does when it reads a virtual store, done directly: fetch each chunk's
byte range, run the codec pipeline backwards with numcodecs, and place the decoded chunk
in the output. vzcore uses it to load small variables (coordinates) without any format
library, so it works for every reader.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from vzcore.errors import (
    CorruptFileError,
    ShortReadError,
    UnsafeCodecError,
    UnsupportedFeatureError,
)

if TYPE_CHECKING:
    from vzcore.manifests.array import ManifestArray
    from vzcore.manifests.metadata import ArrayMetadata

__all__ = ["decode_chunk", "load_values", "read_chunk"]

_VLEN = frozenset({"vlen-utf8", "vlen-bytes", "vlen-array"})
"""numcodecs ids whose encoded chunk is ``<u4 count`` then ``<u4 length`` + bytes per item."""


def _refused_as_unsafe(err: Exception) -> bool:
    """Return True when ``err`` is numcodecs refusing to unpickle (numcodecs >= 0.17)."""
    try:
        from numcodecs.errors import UnsafeDecodeError
    except ImportError:  # older numcodecs unpickle without asking (readers refuse pickle)
        return False
    return isinstance(err, UnsafeDecodeError)


def _get_codec(numcodecs: Any, config: dict[str, Any]) -> Any:
    """Return the numcodecs codec for ``config``, registering imagecodecs' codecs on demand."""
    try:
        return numcodecs.get_codec(dict(config))
    except (KeyError, ValueError):
        if not str(config.get("id", "")).startswith("imagecodecs_"):
            raise
        try:
            from imagecodecs.numcodecs import register_codecs
        except ImportError:
            raise ValueError(f"codec {config.get('id')!r} needs imagecodecs installed") from None
        register_codecs()
        return numcodecs.get_codec(dict(config))


def read_chunk(f: Any, url: str, offset: int, length: int) -> bytes:
    """Read one chunk's bytes from the open file ``f``, checking the length.

    Raises
    ------
    ShortReadError
        When fewer (or more) than ``length`` bytes come back: fsspec returns short reads
        past the end of a file without an error.
    """
    f.seek(offset)
    raw: bytes = f.read(length)
    if len(raw) != length:
        raise ShortReadError(url, offset, length, len(raw))
    return raw


def _check_vlen_header(buf: Any, n_items: int, codec: str, where: str = "") -> None:
    """Check a variable-length chunk's item count before a ``vlen-*`` codec decodes it.

    numcodecs trusts the count in the chunk's first four bytes and allocates an object
    array that long before it reads any item, so random bytes (a corrupt chunk, or hostile
    references pointing anywhere) would cost gigabytes and seconds. Each item takes at
    least four bytes (its length), and a chunk holds exactly its ``n_items`` elements.

    Raises
    ------
    vzcore.errors.CorruptFileError
        When the header is missing, announces more items than the chunk's bytes can hold,
        or another count than the chunk's number of elements.
    """
    try:
        raw = memoryview(buf).cast("B")
    except TypeError as err:
        raise CorruptFileError(
            where, f"codec {codec!r} needs bytes to decode, got {type(buf).__name__}"
        ) from err
    if len(raw) < 4:
        raise CorruptFileError(
            where, f"a {codec} chunk of {len(raw)} bytes lacks its 4-byte item count"
        )
    count = int.from_bytes(raw[:4], "little")
    if 4 + 4 * count > len(raw):
        raise CorruptFileError(
            where,
            f"a {codec} chunk's header announces {count} items, which need at least "
            f"{4 + 4 * count} bytes, but the chunk has {len(raw)} bytes",
        )
    if count != n_items:
        raise CorruptFileError(
            where,
            f"a {codec} chunk's header announces {count} items where the chunk holds "
            f"{n_items} elements",
        )


def decode_chunk(
    data: bytes,
    metadata: ArrayMetadata,
    where: str = "",
    *,
    index: tuple[int, ...] = (),
    name: str = "",
) -> np.ndarray:
    """Decode one stored chunk into an array of ``metadata.chunk_shape``.

    For a rectilinear grid (``metadata.chunk_edges``) the chunk's shape depends on where it
    is: pass its grid ``index``. ``where`` (the file) and ``name`` (the variable) are for
    messages.
    """
    if metadata.chunk_edges is not None:
        from vzcore.manifests.grid import stored_chunk_shape

        shape = stored_chunk_shape(metadata, index)
        metadata = metadata.replace(shape=shape, chunk_shape=shape, chunk_edges=None)

    buf: Any = data
    if metadata.codecs:  # (imported when a chunk has codecs to undo)
        import numcodecs
    for config in reversed(metadata.codecs):
        try:
            codec = _get_codec(numcodecs, config)
        except (KeyError, ValueError) as err:
            raise UnsupportedFeatureError(
                where, None, f"codec {config.get('id')!r}", "no numcodecs codec is registered"
            ) from err
        if config.get("id") in _VLEN:
            _check_vlen_header(buf, int(np.prod(metadata.chunk_shape)), str(config["id"]), where)
        try:
            buf = codec.decode(buf)
        except Exception as err:  # numcodecs/zlib/blosc/imagecodecs raise their own types
            if _refused_as_unsafe(err):
                raise UnsafeCodecError(
                    where,
                    None,
                    str(config.get("id")),
                    "numcodecs refuses to unpickle unless the environment variable "
                    "NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE=1 is set before it is imported: set "
                    "it only for data you trust",
                ) from err
            raise CorruptFileError(
                where,
                f"codec {config.get('id')!r} cannot decode a chunk ({type(err).__name__}: {err})",
            ) from err
    if isinstance(buf, np.ndarray) and buf.dtype == object:
        arr = buf
    else:
        try:
            raw = memoryview(buf).cast("B") if not isinstance(buf, bytes) else buf
        except TypeError:  # e.g. numcodecs' pickle gives back whatever was pickled
            key = ".".join(map(str, index)) or "0"
            of = f" of variable {name!r}" if name else ""
            raise CorruptFileError(
                where,
                f"chunk {key}{of} decoded to a {type(buf).__module__}.{type(buf).__qualname__} "
                f"(codecs {[c.get('id') for c in metadata.codecs]}), not an array or bytes of "
                f"{metadata.dtype} elements",
            ) from None
        if len(raw) % metadata.dtype.itemsize:
            raise CorruptFileError(
                where,
                f"a chunk decoded to {len(raw)} bytes, not a whole number of "
                f"{metadata.dtype.itemsize}-byte {metadata.dtype} elements",
            )
        arr = np.frombuffer(raw, dtype=metadata.dtype)
    n = math.prod(metadata.chunk_shape)
    if arr.size != n:
        raise CorruptFileError(
            where, f"a chunk decoded to {arr.size} elements where {n} were expected"
        )
    return arr.reshape(metadata.chunk_shape)


def _empty(metadata: ArrayMetadata, shape: tuple[int, ...]) -> np.ndarray:
    fill = metadata.fill_value
    if metadata.dtype == object:
        out = np.empty(shape, dtype=object)
        out[...] = "" if fill is None else fill
        return out
    if fill is None:
        return np.zeros(shape, dtype=metadata.dtype)
    if isinstance(fill, bytes) and metadata.dtype.fields is not None:
        # compound fill values are one element's raw bytes (as vz-hdf5 records them)
        fill = np.frombuffer(fill, dtype=metadata.dtype)[0]
    out = np.empty(shape, dtype=metadata.dtype)
    out[...] = fill
    return out


def load_values(
    array: ManifestArray,
    storage_options: dict[str, Any] | None = None,
    handles: dict[str, Any] | None = None,
    *,
    name: str = "",
) -> np.ndarray:
    """Read and decode every chunk of ``array`` into one numpy array.

    ``handles`` (file objects by path) lets several arrays of one file share one handle:
    the files opened here are added to it and left open for the caller to close. Without
    it every file opened here is closed before returning. ``name`` is for messages.
    """
    meta = array.metadata
    manifest = array.manifest
    owned = handles is None
    if handles is None:
        handles = {}
    try:
        if (
            manifest.nchunks == 1
            and meta.chunk_edges is None
            and meta.chunk_shape == meta.shape
            and 0 not in meta.shape  # (a chunk of length 0: the general path's error)
        ):
            fetch = functools.partial(
                _chunk_bytes, storage_options=storage_options, handles=handles
            )
            return _one_chunk(array, fetch, name)
        return _load_chunks(array, storage_options, handles, name)
    finally:
        if owned:
            for f in handles.values():
                f.close()


def _chunk_bytes(
    ref: bytes | tuple[str, int, int],
    storage_options: dict[str, Any] | None,
    handles: dict[str, Any],
) -> tuple[bytes, str]:
    """Return one chunk's stored bytes and where they come from (for messages)."""
    if isinstance(ref, bytes):
        return ref, "<inline chunk>"
    path, offset, length = ref
    f = handles.get(path)
    if f is None:
        from vzcore._file_access import open_url, session_bytes

        whole = session_bytes(path)
        if whole is not None and offset >= 0 and length >= 0:  # read whole in this session
            return _sliced(whole, path, offset, length), path
        f = handles[path] = open_url(path, storage_options)
    return read_chunk(f, path, offset, length), path


def _sliced(whole: bytes, url: str, offset: int, length: int) -> bytes:
    """Return ``length`` bytes from ``offset`` of a file's bytes (as :func:`read_chunk`)."""
    raw = whole[offset : offset + length]
    if len(raw) != length:
        raise ShortReadError(url, offset, length, len(raw))
    return raw


def _one_chunk(
    array: ManifestArray,
    fetch: Callable[[bytes | tuple[str, int, int]], tuple[bytes, str]],
    name: str,
) -> np.ndarray:
    """Return the values of an array stored as one chunk of its own shape.

    The same operations as :func:`_load_chunks` for it (the output filled first, so a fill
    value the dtype cannot hold fails alike, then the chunk placed over all of it), without
    the grid walk and the per-chunk placement arithmetic. ``fetch`` is :func:`_chunk_bytes`
    with the caller's storage options and handles.
    """
    meta = array.metadata
    out = _empty(meta, meta.shape)
    index = (0,) * len(meta.shape)
    ref = array.manifest[index]
    if ref is None:
        return out
    raw, where = fetch(ref)
    decoded = decode_chunk(raw, meta, where, index=index, name=name)
    whole = tuple(slice(0, s) for s in meta.shape)
    out[whole] = decoded[whole]
    return out


def _load_chunks(
    array: ManifestArray,
    storage_options: dict[str, Any] | None,
    handles: dict[str, Any],
    name: str,
) -> np.ndarray:
    """Return the values of ``array``: every stored chunk placed in a filled output."""
    meta = array.metadata
    manifest = array.manifest
    out = _empty(meta, meta.shape)
    if meta.chunk_edges is not None:
        from vzcore.manifests.grid import axis_edges

        starts: list[Any] = [np.cumsum((0, *axis_edges(meta, j))) for j in range(len(meta.shape))]
    else:  # (a range indexes like np.arange(g + 1) * c, without numpy calls per chunk)
        starts = [
            range(0, (g + 1) * c, c)
            for g, c in zip(manifest.grid_shape, meta.chunk_shape, strict=True)
        ]
    for idx, ref in manifest.iter_refs():
        raw, where = _chunk_bytes(ref, storage_options, handles)
        decoded = decode_chunk(raw, meta, where, index=idx, name=name)
        sel = tuple(
            slice(int(b[i]), min(int(b[i + 1]), s))
            for i, b, s in zip(idx, starts, meta.shape, strict=True)
        )
        out[sel] = decoded[tuple(slice(0, s.stop - s.start) for s in sel)]
    return out
