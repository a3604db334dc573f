"""vzcore.manifests.zarr_v3: zarr.json documents that zarr-python 3 decodes natively.

Each case encodes real chunks with numcodecs (the pipeline in encoding order, as readers
record it), writes the documents produced by ``array_metadata_v3`` into a zarr
``MemoryStore`` and reads the array back with zarr-python 3, comparing every value and the
dtype. No codec registration beyond what ``import zarr`` does.
"""

from __future__ import annotations

import base64
import json
import math
import struct
import warnings
from typing import Any

import numpy as np
import pytest

from vzcore.errors import WriteError
from vzcore.manifests import ArrayMetadata
from vzcore.manifests.zarr_v3 import (
    array_metadata_v3,
    chunk_key,
    encode_fill_value_attribute,
    encode_fill_value_v3,
    group_metadata_v3,
    v3_codecs,
    v3_data_type,
)

zarr = pytest.importorskip("zarr")
numcodecs = pytest.importorskip("numcodecs")


def _encode(chunk: np.ndarray, codecs: tuple[dict[str, Any], ...]) -> bytes:
    buf: Any = chunk
    for config in codecs:
        buf = numcodecs.get_codec(dict(config)).encode(buf)
    if isinstance(buf, np.ndarray):
        return buf.tobytes()
    return bytes(memoryview(buf).cast("B"))


def _chunks(data: np.ndarray, chunk_shape: tuple[int, ...]):
    """Yield (grid coords, full-size chunk) in C order; edge chunks padded with zeros."""
    grid = [math.ceil(s / c) for s, c in zip(data.shape, chunk_shape, strict=True)]
    for coords in np.ndindex(*grid):
        sl = tuple(slice(i * c, (i + 1) * c) for i, c in zip(coords, chunk_shape, strict=True))
        part = data[sl]
        if part.shape != chunk_shape:
            full = np.zeros(chunk_shape, dtype=data.dtype)
            if data.dtype.kind == "O":
                full = np.full(chunk_shape, part.flat[0] if part.size else "", dtype=object)
            full[tuple(slice(0, n) for n in part.shape)] = part
            part = full
        yield coords, np.ascontiguousarray(part)


def _open(doc: dict[str, Any], chunks: dict[str, bytes]):
    from zarr.core.buffer import cpu

    store_dict = {"zarr.json": cpu.Buffer.from_bytes(json.dumps({"zarr_format": 3,
                                                                 "node_type": "group"}).encode())}
    store_dict["a/zarr.json"] = cpu.Buffer.from_bytes(json.dumps(doc).encode())
    for key, raw in chunks.items():
        store_dict[f"a/{key}"] = cpu.Buffer.from_bytes(raw)
    store = zarr.storage.MemoryStore(store_dict=store_dict)
    return zarr.open_array(store, path="a", mode="r", zarr_format=3)


def _roundtrip(data: np.ndarray, chunk_shape: tuple[int, ...], codecs=(), fill=None, skip=()):
    meta = ArrayMetadata(data.shape, data.dtype, chunk_shape, fill_value=fill, codecs=codecs)
    doc = array_metadata_v3(meta, {}, [f"d{i}" for i in range(data.ndim)])
    json.dumps(doc, allow_nan=False)  # strict JSON
    chunks = {
        chunk_key(coords): _encode(chunk, meta.codecs)
        for coords, chunk in _chunks(data, chunk_shape)
        if coords not in skip
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return _open(doc, chunks)[...]


def _assert_same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    if want.dtype.kind == "O":
        assert got.tolist() == want.tolist()
        return
    assert got.dtype == want.dtype.newbyteorder("=") or got.dtype == want.dtype
    assert got.tobytes() == want.astype(got.dtype).tobytes()


FLOATS = np.linspace(-5, 5, 7 * 9, dtype="<f4").reshape(7, 9)
INTS = np.arange(7 * 9, dtype="<i4").reshape(7, 9) * 37 - 1000


@pytest.mark.parametrize(
    ("data", "codecs", "names"),
    [
        (FLOATS, (), ["bytes"]),
        (FLOATS, ({"id": "zlib", "level": 4},), ["bytes", "numcodecs.zlib"]),
        (
            INTS,
            ({"id": "shuffle", "elementsize": 4}, {"id": "zlib", "level": 1}),
            ["bytes", "numcodecs.shuffle", "numcodecs.zlib"],
        ),
        (INTS, ({"id": "gzip", "level": 5},), ["bytes", "gzip"]),
        (FLOATS, ({"id": "zstd", "level": 3},), ["bytes", "zstd"]),
        (FLOATS, ({"id": "zstd", "level": 1, "checksum": True},), ["bytes", "zstd"]),
        (FLOATS, ({"id": "bz2", "level": 9},), ["bytes", "numcodecs.bz2"]),
        (FLOATS, ({"id": "lz4", "acceleration": 1},), ["bytes", "numcodecs.lz4"]),
        (FLOATS, ({"id": "lzma", "preset": 1},), ["bytes", "numcodecs.lzma"]),
        (FLOATS, ({"id": "fletcher32"},), ["bytes", "numcodecs.fletcher32"]),
        (
            INTS,
            ({"id": "shuffle", "elementsize": 4}, {"id": "zlib", "level": 4}, {"id": "fletcher32"}),
            ["bytes", "numcodecs.shuffle", "numcodecs.zlib", "numcodecs.fletcher32"],
        ),
        (INTS, ({"id": "crc32c"},), ["bytes", "crc32c"]),
        (INTS, ({"id": "crc32"},), ["bytes", "numcodecs.crc32"]),
        (INTS, ({"id": "adler32"},), ["bytes", "numcodecs.adler32"]),
        (
            INTS,
            ({"id": "delta", "dtype": "<i4"}, {"id": "zlib", "level": 1}),
            ["numcodecs.delta", "bytes", "numcodecs.zlib"],
        ),
        (
            FLOATS.astype("<f8"),
            ({"id": "fixedscaleoffset", "offset": 0, "scale": 100, "dtype": "<f8", "astype": "<i4"},),
            ["numcodecs.fixedscaleoffset", "bytes"],
        ),
        (FLOATS.astype(">f4"), (), ["bytes"]),
        (
            INTS.astype(">i2"),
            ({"id": "shuffle", "elementsize": 2}, {"id": "zlib", "level": 4}),
            ["bytes", "numcodecs.shuffle", "numcodecs.zlib"],
        ),
        (INTS.astype(">i8"), ({"id": "fletcher32"},), ["bytes", "numcodecs.fletcher32"]),
    ],
    ids=lambda x: "-".join(c["id"] for c in x) if isinstance(x, tuple) else None,
)
def test_codec_pipelines_decode_in_zarr3(data, codecs, names):
    meta = ArrayMetadata(data.shape, data.dtype, (3, 4), codecs=codecs)
    assert [c["name"] for c in v3_codecs(meta)] == names
    got = _roundtrip(data, (3, 4), codecs)
    if "fixedscaleoffset" in names[0]:
        np.testing.assert_array_equal(got, np.round(data * 100) / 100)
        assert got.dtype == data.dtype
        return
    _assert_same(got, data)


@pytest.mark.parametrize("cname", ["blosclz", "lz4", "lz4hc", "zlib", "zstd"])
@pytest.mark.parametrize("shuffle", [0, 1, 2, -1])
def test_blosc_decodes_in_zarr3(cname, shuffle):
    codecs = ({"id": "blosc", "cname": cname, "clevel": 5, "shuffle": shuffle, "blocksize": 0},)
    meta = ArrayMetadata(INTS.shape, INTS.dtype, (3, 4), codecs=codecs)
    (blosc,) = v3_codecs(meta)[1:]
    assert blosc["name"] == "blosc"
    assert blosc["configuration"]["typesize"] == 4
    _assert_same(_roundtrip(INTS, (3, 4), codecs), INTS)


@pytest.mark.parametrize(
    "data",
    [
        np.array([True, False, True, True, False]),
        np.arange(5, dtype="u1"),
        np.arange(5, dtype=">u8") * 2**40,
        np.arange(5, dtype="<f2") / 3,
        (np.arange(5) + 1j * np.arange(5)).astype(">c8"),
        np.arange(5, dtype="<c16") * (1 - 2j),
        np.array([0, 1, -5, 10**9, 2], dtype="M8[s]"),
        np.array([0, 1, 5, 10**9, "NaT"], dtype=">m8[ns]"),
        np.array([b"ab", b"", b"xyz", b"a\0", b"q"], dtype="S3"),
        np.frombuffer(b"\x00\x01\x02\x03" * 5, dtype="V4"),
        np.array(["a", "bé", "", "xyz", "q"], dtype=">U3"),
        np.array([(1, 2.5), (-3, 4.0), (5, -6.0), (0, 0.0), (9, 9.0)], dtype=[("a", ">i4"), ("b", ">f8")]),
    ],
    ids=lambda a: a.dtype.str,
)
def test_dtypes_decode_in_zarr3(data):
    _assert_same(_roundtrip(data, (2,), ({"id": "zlib", "level": 1},)), data)


def test_vlen_strings_and_bytes():
    s = np.array(["a", "bé", "", "longer text", "x"], dtype=object)
    meta = ArrayMetadata(s.shape, s.dtype, (2,), codecs=({"id": "vlen-utf8"},))
    assert v3_codecs(meta) == [{"name": "vlen-utf8", "configuration": {}}]
    assert array_metadata_v3(meta, {}, ["x"])["data_type"] == "string"
    assert array_metadata_v3(meta, {}, ["x"])["fill_value"] == ""
    assert _roundtrip(s, (2,), ({"id": "vlen-utf8"},)).tolist() == s.tolist()
    assert _roundtrip(s, (2,), ({"id": "vlen-utf8"}, {"id": "zlib", "level": 1})).tolist() == (
        s.tolist()
    )
    b = np.array([b"a", b"\xff\x00", b"", b"xyz", b"q"], dtype=object)
    meta = ArrayMetadata(b.shape, b.dtype, (2,), codecs=({"id": "vlen-bytes"},))
    assert array_metadata_v3(meta, {}, ["x"])["data_type"] == "variable_length_bytes"
    assert _roundtrip(b, (2,), ({"id": "vlen-bytes"},)).tolist() == b.tolist()


def test_scalar_array():
    data = np.array(3.25, dtype=">f8")
    codecs = ({"id": "zlib", "level": 1},)
    meta = ArrayMetadata((), data.dtype, (), codecs=codecs)
    doc = array_metadata_v3(meta, {"units": "m"}, [])
    assert doc["shape"] == []
    assert doc["chunk_grid"]["configuration"]["chunk_shape"] == []
    assert chunk_key(()) == "c"
    got = _open(doc, {"c": _encode(data, codecs)})
    assert got.shape == ()
    assert got[()] == 3.25
    assert got.dtype == np.dtype("f8")
    assert _open(doc, {})[()] == 0.0  # missing: the dtype's zero


@pytest.mark.parametrize(
    ("data", "fill"),
    [
        (FLOATS.astype(">f4"), -999.0),
        (FLOATS, float("nan")),
        (FLOATS, float("-inf")),
        (INTS.astype("<i2"), -32767),
        (INTS.astype("<u4"), 4294967295),
        (np.array([b"ab"] * 63, dtype="S2").reshape(7, 9), b"zz"),
        (np.array(["ab"] * 63, dtype=object).reshape(7, 9), "missing"),
        ((FLOATS + 1j).astype("<c8"), complex(float("nan"), 2)),
        (INTS.astype("M8[D]"), np.datetime64("NaT", "D")),
        (np.zeros((7, 9), dtype=[("a", "<i2"), ("b", "<f4")]), (-1, float("nan"))),
    ],
    ids=lambda x: str(x.dtype) if isinstance(x, np.ndarray) else None,
)
def test_missing_chunks_read_as_fill_value(data, fill):
    codecs = ({"id": "vlen-utf8"},) if data.dtype.kind == "O" else ({"id": "zlib", "level": 1},)
    got = _roundtrip(data, (3, 4), codecs, fill=fill, skip={(0, 0), (2, 2)})
    want = data.copy()
    want[0:3, 0:4] = fill
    want[6:7, 8:9] = fill
    if data.dtype.kind == "O":
        assert got.tolist() == want.tolist()
    else:
        assert got.dtype == data.dtype.newbyteorder("=")
        assert got.tobytes() == want.astype(got.dtype).tobytes()


def test_fill_value_encoding_follows_the_spec():
    assert encode_fill_value_v3(float("inf"), "<f8") == "Infinity"
    assert encode_fill_value_v3([1.0], ">f4") == 1.0
    assert encode_fill_value_v3(np.array([-9999], "i2"), "<i4") == -9999
    assert encode_fill_value_v3(True, "?") is True
    assert encode_fill_value_v3(complex(1, float("nan")), "c16") == [1.0, "NaN"]
    assert encode_fill_value_v3(np.datetime64("NaT", "s"), "M8[s]") == -(2**63)
    assert encode_fill_value_v3(b"a", "S2") == base64.b64encode(b"a\0").decode()
    assert encode_fill_value_v3((1, 2.0), [("a", "<i2"), ("b", ">f8")]) == {"a": 1, "b": 2.0}
    for bad, dtype in [(1.5, "i4"), (70000, "<i2"), (b"abc", "S2"), ([1, 2], "f4"), (2, "?")]:
        with pytest.raises(ValueError):
            encode_fill_value_v3(bad, dtype)


def test_fill_value_attribute_is_what_xarray_decodes():
    xr_zarr = pytest.importorskip("xarray.backends.zarr")
    coder = xr_zarr.FillValueCoder
    for value, dtype in [
        (-999.0, np.dtype("<f4")),
        (float("nan"), np.dtype(">f8")),
        (np.float32(1e20), np.dtype("<f4")),
        (-1, np.dtype(">i2")),
        (np.array([255], "u1"), np.dtype("u1")),
        (1, np.dtype("?")),
        (complex(1, -2), np.dtype("c8")),
    ]:
        encoded = encode_fill_value_attribute(value, dtype)
        json.dumps(encoded, allow_nan=False)
        decoded = coder.decode(encoded, dtype)
        want = np.asarray(value).reshape(()).astype(dtype)
        assert np.array_equal(np.asarray(decoded, dtype=dtype), want, equal_nan=dtype.kind in "fc")
    assert encode_fill_value_attribute(-999, "<f4") == base64.b64encode(
        struct.pack("<d", -999.0)
    ).decode()
    for value, dtype in [("x", "O"), (b"x", "S1"), (1.5, "i4"), ("a", "f4"), (0, "M8[s]")]:
        with pytest.raises(ValueError):
            encode_fill_value_attribute(value, dtype)


def test_array_document_fields():
    meta = ArrayMetadata((10, 4), ">i2", (5, 4), fill_value=-1, codecs=({"id": "zlib", "level": 4},))
    attrs = {"_FillValue": np.int16(-1), "scale_factor": np.float32(0.5), "flags": np.arange(3)}
    doc = array_metadata_v3(meta, attrs, ("time", "x"))
    assert doc == {
        "zarr_format": 3,
        "node_type": "array",
        "shape": [10, 4],
        "data_type": "int16",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [5, 4]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": -1,
        "codecs": [
            {"name": "bytes", "configuration": {"endian": "big"}},
            {"name": "numcodecs.zlib", "configuration": {"level": 4}},
        ],
        "attributes": {"_FillValue": -1, "scale_factor": 0.5, "flags": [0, 1, 2]},
        "dimension_names": ["time", "x"],
    }
    v2 = array_metadata_v3(meta, {}, None, chunk_key_encoding="v2")
    assert v2["chunk_key_encoding"] == {"name": "v2", "configuration": {"separator": "."}}
    assert "dimension_names" not in v2
    assert chunk_key((1, 2), "v2") == "1.2"


def test_v2_chunk_key_encoding_decodes():
    meta = ArrayMetadata((4, 4), "<i4", (2, 2))
    doc = array_metadata_v3(meta, {}, ["y", "x"], chunk_key_encoding="v2")
    data = np.arange(16, dtype="<i4").reshape(4, 4)
    chunks = {chunk_key(c, "v2"): ch.tobytes() for c, ch in _chunks(data, (2, 2))}
    np.testing.assert_array_equal(_open(doc, chunks)[...], data)


def test_group_document_with_consolidated_metadata_opens():
    from zarr.core.buffer import cpu

    meta = ArrayMetadata((4,), "<i4", (2,))
    arr = array_metadata_v3(meta, {"units": "m"}, ["x"])
    root = group_metadata_v3({"title": "t", "n": np.int64(3)}, consolidated={"a": arr})
    assert root["attributes"] == {"title": "t", "n": 3}
    store = zarr.storage.MemoryStore(
        store_dict={
            "zarr.json": cpu.Buffer.from_bytes(json.dumps(root).encode()),
            "a/zarr.json": cpu.Buffer.from_bytes(json.dumps(arr).encode()),
            "a/c/0": cpu.Buffer.from_bytes(np.arange(2, dtype="<i4").tobytes()),
        }
    )
    g = zarr.open_group(store, mode="r", zarr_format=3, use_consolidated=True)
    assert g.metadata.consolidated_metadata is not None
    assert dict(g.attrs) == {"title": "t", "n": 3}
    assert g["a"][:].tolist() == [0, 1, 0, 0]


@pytest.mark.parametrize(
    ("meta", "match"),
    [
        (ArrayMetadata((4,), "u1", (2,), codecs=({"id": "imagecodecs_lzw"},)), "imagecodecs_lzw"),
        (ArrayMetadata((4,), "u1", (2,), codecs=({"id": "categorize", "labels": ["a"]},)),
         "categorize"),
        (ArrayMetadata((4,), "<i4", (2,), codecs=({"id": "zlib"}, {"id": "delta", "dtype": "<i4"})),
         "delta"),
        (ArrayMetadata((4,), "O", (2,)), "vlen-utf8"),
        (ArrayMetadata((4,), "O", (2,), codecs=({"id": "vlen-array", "dtype": "i4"},)),
         "vlen-array"),
        (ArrayMetadata((4,), [("a", "<i4"), ("b", ">f8")], (2,)), "byte order"),
        (ArrayMetadata((4,), np.dtype({"names": ["a"], "formats": ["<i4"], "itemsize": 8}), (2,)),
         "pad"),
        (ArrayMetadata((4,), np.dtype([("a", "<i4", (3,))]), (2,)), "array type"),
        (ArrayMetadata((4,), "S0", (2,)), "S0"),
    ],
)
def test_unsupported_raise_write_error_naming_it(meta, match):
    with pytest.raises(WriteError, match=match) as info:
        array_metadata_v3(meta, {}, ["x"], name="v")
    assert "'v'" in str(info.value)


def test_fill_value_attribute_on_strings_raises():
    meta = ArrayMetadata((4,), "O", (2,), codecs=({"id": "vlen-utf8"},))
    with pytest.raises(WriteError, match="_FillValue"):
        array_metadata_v3(meta, {"_FillValue": "x"}, ["x"], name="s")
    assert v3_data_type(">U2") == {
        "name": "fixed_length_utf32",
        "configuration": {"length_bytes": 8},
    }
