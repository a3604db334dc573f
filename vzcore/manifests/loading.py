"""Reading the values of a virtual array through its manifest.

This is what zarr does when it reads a virtual store, done directly: fetch each chunk's
byte range, run the codec pipeline backwards with numcodecs, and place the decoded chunk
in the output. vzcore uses it to load small variables (coordinates) without any format
library, so it works for every reader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from vzcore.errors import CorruptFileError, ShortReadError, UnsupportedFeatureError

if TYPE_CHECKING:
    from vzcore.manifests.array import ManifestArray
    from vzcore.manifests.metadata import ArrayMetadata

__all__ = ["decode_chunk", "load_values", "read_chunk"]


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


def decode_chunk(
    data: bytes, metadata: ArrayMetadata, where: str = "", *, index: tuple[int, ...] = ()
) -> np.ndarray:
    """Decode one stored chunk into an array of ``metadata.chunk_shape``.

    For a rectilinear grid (``metadata.chunk_edges``) the chunk's shape depends on where it
    is: pass its grid ``index``.
    """
    import numcodecs

    if metadata.chunk_edges is not None:
        from vzcore.manifests.grid import stored_chunk_shape

        shape = stored_chunk_shape(metadata, index)
        metadata = metadata.replace(shape=shape, chunk_shape=shape, chunk_edges=None)

    buf: Any = data
    for config in reversed(metadata.codecs):
        try:
            codec = _get_codec(numcodecs, config)
        except (KeyError, ValueError) as err:
            raise UnsupportedFeatureError(
                where, None, f"codec {config.get('id')!r}", "no numcodecs codec is registered"
            ) from err
        try:
            buf = codec.decode(buf)
        except Exception as err:  # numcodecs/zlib/blosc/imagecodecs raise their own types
            raise CorruptFileError(
                where,
                f"codec {config.get('id')!r} cannot decode a chunk ({type(err).__name__}: {err})",
            ) from err
    if isinstance(buf, np.ndarray) and buf.dtype == object:
        arr = buf
    else:
        raw = memoryview(buf).cast("B") if not isinstance(buf, bytes) else buf
        if len(raw) % metadata.dtype.itemsize:
            raise CorruptFileError(
                where,
                f"a chunk decoded to {len(raw)} bytes, not a whole number of "
                f"{metadata.dtype.itemsize}-byte {metadata.dtype} elements",
            )
        arr = np.frombuffer(raw, dtype=metadata.dtype)
    n = int(np.prod(metadata.chunk_shape))
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


def load_values(array: ManifestArray, storage_options: dict[str, Any] | None = None) -> np.ndarray:
    """Read and decode every chunk of ``array`` into one numpy array."""
    from vzcore._file_access import open_url

    meta = array.metadata
    manifest = array.manifest
    out = _empty(meta, meta.shape)
    if meta.chunk_edges is not None:
        from vzcore.manifests.grid import axis_edges

        starts = [np.cumsum((0, *axis_edges(meta, j))) for j in range(len(meta.shape))]
    else:
        starts = [
            np.arange(g + 1) * c for g, c in zip(manifest.grid_shape, meta.chunk_shape, strict=True)
        ]
    handles: dict[str, Any] = {}
    try:
        for idx, ref in manifest.iter_refs():
            if isinstance(ref, bytes):
                raw, where = ref, "<inline chunk>"
            else:
                path, offset, length = ref
                f = handles.get(path)
                if f is None:
                    f = handles[path] = open_url(path, storage_options)
                raw = read_chunk(f, path, offset, length)
                where = path
            decoded = decode_chunk(raw, meta, where, index=idx)
            sel = tuple(
                slice(int(b[i]), min(int(b[i + 1]), s))
                for i, b, s in zip(idx, starts, meta.shape, strict=True)
            )
            out[sel] = decoded[tuple(slice(0, s.stop - s.start) for s in sel)]
    finally:
        for f in handles.values():
            f.close()
    return out
