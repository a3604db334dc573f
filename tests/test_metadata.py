"""ArrayMetadata: comparing the metadata of arrays that are to be combined."""

from __future__ import annotations

import numpy as np
import pytest

from vzcore.manifests import ArrayMetadata


def meta(dtype: str, fill: object) -> ArrayMetadata:
    return ArrayMetadata(shape=(4,), dtype=np.dtype(dtype), chunk_shape=(2,), fill_value=fill)


@pytest.mark.parametrize(
    ("dtype", "a", "b", "same"),
    [
        ("f4", np.float32("nan"), float("nan"), True),
        ("M8[ns]", np.datetime64("NaT", "ns"), np.datetime64("NaT", "ns"), True),
        ("M8[ns]", np.datetime64("NaT", "ns"), np.datetime64(0, "ns"), False),
        ("m8[s]", np.timedelta64("NaT", "s"), np.timedelta64("NaT", "s"), True),
        ("i4", 0, None, False),
        ("i4", -5, -5, True),
        ("S2", b"ab", b"ab", True),
    ],
)
def test_fill_values_compare_like_missing_values(dtype, a, b, same) -> None:
    assert (meta(dtype, a).differences(meta(dtype, b)) == []) is same


def test_with_encoding_equals_replace() -> None:
    """``with_encoding`` is ``replace(encoding=...)`` without normalising every field again."""
    from dataclasses import fields

    from vzcore.manifests import ManifestArray
    from vzcore.manifests.encoding import SourceEncoding
    from vzcore.manifests.manifest import ChunkManifest

    meta = ArrayMetadata(
        shape=(4, 10),
        dtype="<i2",
        chunk_shape=(1, 10),
        fill_value=-5,
        codecs=[{"id": "shuffle", "elementsize": 2}, {"id": "zlib", "level": 4}],
        dimension_names=["t", "x"],
        extra={"hdf5_layout": "chunked"},
    )
    enc = SourceEncoding.from_attrs({"scale_factor": 0.5, "_FillValue": -5}, source="a.nc")
    fast, slow = meta.with_encoding(enc), meta.replace(encoding=enc)
    assert type(fast) is type(slow)
    for f in fields(ArrayMetadata):
        assert getattr(fast, f.name) == getattr(slow, f.name), f.name
    assert fast == slow
    assert fast.encoding is enc
    assert fast.extra is meta.extra  # (as replace shares it)
    assert all(a is not b for a, b in zip(fast.codecs, meta.codecs, strict=True))  # copied
    assert meta.encoding is None  # the original is unchanged
    assert fast.with_encoding(None).encoding is None
    manifest = ChunkManifest.from_codes(
        ["file:///a.nc"], np.zeros((4, 1), np.int8), np.arange(4).reshape(4, 1), np.ones((4, 1))
    )
    array = ManifestArray(meta, manifest)
    carried = array.with_encoding(enc)
    assert type(carried) is ManifestArray
    assert carried.manifest is manifest
    assert carried.metadata == array.metadata
    assert carried.metadata.encoding is enc
    assert array.metadata.encoding is None


@pytest.mark.parametrize(
    ("shape", "chunks", "match"),
    [
        ((4, 2), (2, 0), "chunk sizes must be positive"),
        ((4,), (-1,), "chunk sizes must be positive"),
        ((4, 2), (2,), "differ in length"),
        ((), (), None),
        ((np.int64(4), 2.0), (np.uint8(2), True), None),  # (anything int() takes)
    ],
)
def test_shapes_normalised_and_checked(shape, chunks, match) -> None:
    if match is not None:
        with pytest.raises(ValueError, match=match):
            ArrayMetadata(shape=shape, dtype=np.dtype("f4"), chunk_shape=chunks)
        return
    codec = {"id": "zlib", "level": 1}
    meta = ArrayMetadata(shape=shape, dtype="f4", chunk_shape=chunks, codecs=[codec])
    assert meta.codecs == (codec,)
    assert meta.codecs[0] is not codec  # (a copy of each codec's configuration)
    assert meta.shape == tuple(int(s) for s in shape)
    assert meta.chunk_shape == tuple(int(c) for c in chunks)
    assert all(type(s) is int for s in (*meta.shape, *meta.chunk_shape))
    assert meta.dtype == np.dtype("f4")
    with pytest.raises(TypeError):
        ArrayMetadata(shape=(None,), dtype="f4", chunk_shape=(1,))
