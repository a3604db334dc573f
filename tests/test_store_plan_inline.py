"""Loaded variables' inline chunks in the store plan: compressed where it pays, else raw."""

from __future__ import annotations

import numcodecs
import numpy as np
import pytest

from vzcore.group import ManifestGroup, Variable
from vzcore.manifests import ManifestArray
from vzcore.manifests.loading import load_values
from vzcore.store_plan import INLINE_CODECS, INLINE_COMPRESS_MIN_BYTES, in_memory_chunk, plan

TIME = np.arange(4000, dtype="<f8")
"""A daily time axis as the 1,000-file benchmark has it: 32,000 raw bytes."""


def _inline(values: np.ndarray, **kw: bool) -> tuple[tuple[dict[str, object], ...], bytes]:
    meta, manifest, _ = in_memory_chunk("v", values, **kw)
    return meta.codecs, manifest.inline[0]


@pytest.mark.parametrize(
    "values",
    [
        TIME,
        np.arange(4000, dtype=">f8") * 0.25 + 1e5,
        np.linspace(0, 360, 1441).astype("<f4"),
        (np.arange(1000, dtype="<i8") * 3_600_000_000_000).astype("<M8[ns]"),
        np.arange(600, dtype="<i4").reshape(20, 30),
        np.zeros(1000, dtype=bool),
    ],
    ids=["days-f8", "big-endian-f8", "lon-f4", "datetime64", "2d-i4", "bool"],
)
def test_compressible_loaded_chunks_are_compressed_and_decode_exactly(values: np.ndarray) -> None:
    meta, manifest, _ = in_memory_chunk("v", values)
    (codec,) = meta.codecs
    assert codec in INLINE_CODECS
    raw = manifest.inline[0]
    assert len(raw) <= values.nbytes * 3 // 4
    assert int(manifest.lengths.ravel()[0]) == len(raw)
    decoded = np.frombuffer(numcodecs.get_codec(dict(codec)).decode(raw), dtype=values.dtype)
    assert decoded.tobytes() == np.ascontiguousarray(values).tobytes()
    # vzcore's own reading path (coordinates loaded from references) decodes it too.
    got = load_values(ManifestArray(meta, manifest))
    assert got.dtype == values.dtype
    assert got.tobytes() == values.tobytes()


def test_the_smaller_of_byte_and_bit_shuffle_is_kept() -> None:
    sizes = [len(numcodecs.get_codec(dict(c)).encode(TIME)) for c in INLINE_CODECS]
    codecs, raw = _inline(TIME)
    assert codecs == (INLINE_CODECS[int(np.argmin(sizes))],)
    assert len(raw) == min(sizes) < 600  # zstd alone: 3,849 bytes


@pytest.mark.parametrize(
    "values",
    [
        np.arange(INLINE_COMPRESS_MIN_BYTES // 8 - 1, dtype="<f8"),  # under the threshold
        np.random.default_rng(1).random(4000),  # random bits: saves less than a quarter
        np.array(["long text " * 40] * 10, dtype=object),  # vlen-utf8 only
        np.array([b"x" * 300] * 3, dtype=object),  # vlen-bytes only
        np.array(["repeated words"] * 100, dtype="<U14"),  # fixed-width text stays raw
        np.array(2.5),
    ],
    ids=["tiny", "incompressible", "str-objects", "bytes-objects", "unicode", "scalar"],
)
def test_small_incompressible_or_non_numeric_chunks_stay_as_they_were(values: np.ndarray) -> None:
    codecs, raw = _inline(values)
    if values.dtype.kind == "O":
        assert len(codecs) == 1
        assert codecs[0]["id"] in ("vlen-utf8", "vlen-bytes")
        assert raw == bytes(numcodecs.get_codec(dict(codecs[0])).encode(values))
    else:
        assert codecs == ()
        assert raw == np.ascontiguousarray(values).tobytes()


def test_compress_inline_false_keeps_the_earlier_raw_layout() -> None:
    group = ManifestGroup(
        variables={"time": Variable(("time",), TIME.copy(), {"units": "days since 2000-01-01"})}
    )
    for fmt in (2, 3):
        new = plan(group, fmt).arrays[0]
        old = plan(group, fmt, compress_inline=False).arrays[0]
        assert new.metadata.codecs != ()
        assert old.metadata.codecs == ()
        assert old.manifest.inline[0] == TIME.tobytes()
        assert len(new.manifest.inline[0]) < len(old.manifest.inline[0]) // 50
        np.testing.assert_array_equal(new.values, old.values)


def test_documents_name_the_codec_for_zarr_v2_and_v3() -> None:
    group = ManifestGroup(variables={"time": Variable(("time",), TIME.copy(), {})})
    (codec,) = plan(group, 2).arrays[0].metadata.codecs
    zarray = plan(group, 2).metadata["time/.zarray"]
    assert zarray["compressor"] == codec
    assert zarray["filters"] is None
    v3 = plan(group, 3).metadata["time/zarr.json"]
    names = [c["name"] for c in v3["codecs"]]
    assert names == ["bytes", "blosc"]
    blosc = v3["codecs"][1]["configuration"]
    assert blosc["cname"] == "zstd"
    assert blosc["typesize"] == 8
    assert blosc["shuffle"] == {1: "shuffle", 2: "bitshuffle"}[int(codec["shuffle"])]
