"""A chunk whose fetched length differs from its reference raises ShortReadError.

fsspec returns short reads past the end of a file silently; vzcore's own read path
(``load_values``) checks every chunk's length. Real files on disk, truncated after the
manifest was built, and read through fsspec's local and memory filesystems.
"""

from __future__ import annotations

import uuid
import zlib

import numpy as np
import pytest

from vzcore._urls import to_url
from vzcore.errors import CorruptFileError, ShortReadError, VZError
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray
from vzcore.manifests.loading import load_values


def raw_file_array(path, values: np.ndarray, chunk: int, compress: bool = False) -> ManifestArray:
    """Write ``values`` chunk by chunk into ``path`` and return the ManifestArray over it."""
    url = to_url(path)
    blobs = []
    for start in range(0, values.size, chunk):
        part = np.zeros(chunk, values.dtype)
        part[: min(chunk, values.size - start)] = values[start : start + chunk]
        blobs.append(zlib.compress(part.tobytes()) if compress else part.tobytes())
    header = b"HEADER--"
    offsets, pos = [], len(header)
    for b in blobs:
        offsets.append(pos)
        pos += len(b)
    path.write_bytes(header + b"".join(blobs))
    manifest = ChunkManifest.from_arrays([url] * len(blobs), offsets, [len(b) for b in blobs])
    meta = ArrayMetadata(
        shape=values.shape,
        dtype=values.dtype,
        chunk_shape=(chunk,),
        codecs=({"id": "zlib", "level": 1},) if compress else (),
    )
    return ManifestArray(meta, manifest)


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_after_scan_raises_short_read(tmp_path, compress):
    values = np.arange(100, dtype="<f8")
    path = tmp_path / "data.bin"
    array = raw_file_array(path, values, chunk=16, compress=compress)
    np.testing.assert_array_equal(load_values(array), values)  # intact: reads back equal

    m = array.manifest
    last_off, last_len = int(m.offsets[-1]), int(m.lengths[-1])
    size = path.stat().st_size
    assert last_off + last_len == size
    cut = last_off + last_len // 2
    with open(path, "r+b") as f:
        f.truncate(cut)

    with pytest.raises(ShortReadError) as info:
        load_values(array)
    err = info.value
    assert isinstance(err, CorruptFileError)
    assert isinstance(err, VZError)
    assert (err.url, err.offset, err.expected, err.actual) == (
        to_url(path),
        last_off,
        last_len,
        cut - last_off,
    )
    msg = str(err)
    assert repr(to_url(path)) in msg
    assert f"offset {last_off}" in msg
    assert f"{last_len} bytes" in msg
    assert f"{cut - last_off} were read" in msg


def test_chunk_wholly_past_the_end(tmp_path):
    values = np.arange(64, dtype="<i4")
    path = tmp_path / "data.bin"
    array = raw_file_array(path, values, chunk=8)
    m = array.manifest
    with open(path, "r+b") as f:
        f.truncate(int(m.offsets[3]))  # chunks 3.. are gone entirely
    with pytest.raises(ShortReadError) as info:
        load_values(array)
    assert info.value.offset == int(m.offsets[3])
    assert info.value.actual == 0


def test_short_read_through_memory_filesystem():
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    path = f"/short-read-{uuid.uuid4().hex}/data.bin"
    data = np.arange(40, dtype="<u2").tobytes()
    fs.pipe(path, data[:50])  # 30 of the 80 bytes are missing
    url = f"memory://{path}"
    try:
        manifest = ChunkManifest.from_arrays([url, url], [0, 40], [40, 40])
        meta = ArrayMetadata(shape=(40,), dtype=np.dtype("<u2"), chunk_shape=(20,))
        with pytest.raises(ShortReadError) as info:
            load_values(ManifestArray(meta, manifest))
        assert (info.value.offset, info.value.expected, info.value.actual) == (40, 40, 10)
    finally:
        fs.rm(path)


def test_corrupt_chunk_bytes_raise_corrupt_file_error(tmp_path):
    values = np.arange(64, dtype="<i4")
    path = tmp_path / "data.bin"
    array = raw_file_array(path, values, chunk=16, compress=True)
    off = int(array.manifest.offsets[2])
    raw = bytearray(path.read_bytes())
    raw[off : off + 4] = b"\xff\xff\xff\xff"  # the zlib header of chunk 2
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError, match="codec 'zlib' cannot decode a chunk") as info:
        load_values(array)
    assert info.value.url == to_url(path)
