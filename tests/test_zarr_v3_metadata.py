"""vzcore.manifests.zarr_v3: zarr.json documents that zarr-python 3 decodes natively, and back.

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

from vzcore.errors import CorruptFileError, UnsupportedFeatureError, WriteError
from vzcore.manifests import ArrayMetadata
from vzcore.manifests.loading import decode_chunk
from vzcore.manifests.zarr_v3 import (
    array_metadata_from_v3,
    array_metadata_v3,
    chunk_key,
    chunk_key_encoding_from_v3,
    codecs_from_v3,
    decode_fill_value_attribute,
    decode_fill_value_v3,
    encode_fill_value_attribute,
    encode_fill_value_v3,
    group_attributes_from_v3,
    group_metadata_v3,
    numpy_dtype_from_v3,
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

    store_dict = {
        "zarr.json": cpu.Buffer.from_bytes(
            json.dumps({"zarr_format": 3, "node_type": "group"}).encode()
        )
    }
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
            (
                {
                    "id": "fixedscaleoffset",
                    "offset": 0,
                    "scale": 100,
                    "dtype": "<f8",
                    "astype": "<i4",
                },
            ),
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
        np.array(
            [(1, 2.5), (-3, 4.0), (5, -6.0), (0, 0.0), (9, 9.0)], dtype=[("a", ">i4"), ("b", ">f8")]
        ),
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
    assert (
        encode_fill_value_attribute(-999, "<f4")
        == base64.b64encode(struct.pack("<d", -999.0)).decode()
    )
    for value, dtype in [("x", "O"), (b"x", "S1"), (1.5, "i4"), ("a", "f4"), (0, "M8[s]")]:
        with pytest.raises(ValueError):
            encode_fill_value_attribute(value, dtype)


def test_array_document_fields():
    meta = ArrayMetadata(
        (10, 4), ">i2", (5, 4), fill_value=-1, codecs=({"id": "zlib", "level": 4},)
    )
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
        (
            ArrayMetadata((4,), "u1", (2,), codecs=({"id": "imagecodecs_jpeg8"},)),
            "imagecodecs_jpeg8",
        ),
        (
            ArrayMetadata((4,), "u1", (2,), codecs=({"id": "categorize", "labels": ["a"]},)),
            "categorize",
        ),
        (
            ArrayMetadata(
                (4,), "<i4", (2,), codecs=({"id": "zlib"}, {"id": "delta", "dtype": "<i4"})
            ),
            "delta",
        ),
        (ArrayMetadata((4,), "O", (2,)), "vlen-utf8"),
        (
            ArrayMetadata((4,), "O", (2,), codecs=({"id": "vlen-array", "dtype": "i4"},)),
            "vlen-array",
        ),
        (ArrayMetadata((4,), [("a", "<i4"), ("b", ">f8")], (2,)), "byte order"),
        (ArrayMetadata((4,), np.dtype([("a", "<i4", (3,))]), (2,)), "sub-array"),
        (
            ArrayMetadata(
                (4,),
                np.dtype({"names": ["a", "b"], "formats": ["<i4", "<i4"], "offsets": [0, 2]}),
                (2,),
            ),
            "overlap",
        ),
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


# -- the inverse: zarr.json back into ArrayMetadata ------------------------------------------

STRUCT = np.dtype([("a", ">i4"), ("b", ">f8")])

INVERSE_CASES = [
    ArrayMetadata((10, 4), ">i2", (5, 4), -1, ({"id": "zlib", "level": 4},)),
    ArrayMetadata(
        (7, 9),
        "<f4",
        (3, 4),
        float("nan"),
        ({"id": "shuffle", "elementsize": 4}, {"id": "zlib", "level": 4}, {"id": "fletcher32"}),
    ),
    ArrayMetadata(
        (7, 9), "<i4", (3, 4), None, ({"id": "delta", "dtype": "<i4"}, {"id": "zstd", "level": 3})
    ),
    ArrayMetadata((7,), "<f8", (3,), 1e20, ({"id": "zstd", "level": 1, "checksum": True},)),
    ArrayMetadata(
        (7,),
        "<i4",
        (3,),
        5,
        ({"id": "blosc", "cname": "zstd", "clevel": 5, "shuffle": 2, "blocksize": 0},),
    ),
    ArrayMetadata((7,), "<i4", (3,), None, ({"id": "gzip", "level": 1}, {"id": "crc32c"})),
    ArrayMetadata((7,), "<u8", (3,), 2**64 - 1, ({"id": "bz2", "level": 9},)),
    ArrayMetadata((5,), "?", (2,), True),
    ArrayMetadata((5,), ">c8", (2,), complex(1, float("nan"))),
    ArrayMetadata((5,), "<M8[s]", (2,), np.datetime64("NaT", "s")),
    ArrayMetadata((5,), ">m8[10ms]", (2,), np.timedelta64(-3, "10ms")),
    ArrayMetadata((5,), "S3", (2,), b"ab"),
    ArrayMetadata((5,), "V4", (2,), b"\x01\x00\x00\x02"),
    ArrayMetadata((5,), ">U2", (2,), "é"),
    ArrayMetadata((5,), STRUCT, (2,), np.array((-1, 2.5), STRUCT).tobytes()),
    ArrayMetadata((5,), "O", (2,), "n/a", ({"id": "vlen-utf8"}, {"id": "zlib", "level": 1})),
    ArrayMetadata((5,), "O", (2,), b"\xff", ({"id": "vlen-bytes"},)),
    ArrayMetadata((), "<f8", (), None, ({"id": "lz4", "acceleration": 1},)),
    ArrayMetadata((0, 3), "<f4", (1, 3), -0.0),
]


@pytest.mark.parametrize("meta", INVERSE_CASES, ids=lambda m: f"{m.dtype.str}-{len(m.codecs)}")
@pytest.mark.parametrize("encoding", ["default", "v2"])
def test_inverse_gives_back_the_metadata_and_the_document(meta, encoding):
    dims = [f"d{i}" for i in range(len(meta.shape))]
    attrs = {"units": "K", "flags": [1, 2]}
    if meta.dtype.kind in "fciub" and meta.dtype.fields is None:
        attrs["_FillValue"] = np.ones((), meta.dtype)[()]
    meta = meta.replace(dimension_names=tuple(dims))
    doc = array_metadata_v3(meta, attrs, dims, chunk_key_encoding=encoding)
    doc = json.loads(json.dumps(doc, allow_nan=False))  # as a reader finds it
    back, back_attrs, back_dims = array_metadata_from_v3(doc)
    assert back.dtype == meta.dtype
    assert (back.shape, back.chunk_shape, back.codecs, back_dims) == (
        meta.shape,
        meta.chunk_shape,
        meta.codecs,
        tuple(dims),
    )
    assert back.dimension_names == tuple(dims)
    if meta.dtype.kind in "mM":  # NaT != NaT: compare the stored counts
        assert back.replace(fill_value=None).differences(meta.replace(fill_value=None)) == []
        assert np.array(back.fill_value).view("i8") == np.array(meta.fill_value).view("i8")
    else:
        assert back.differences(meta) == []
    assert type(back.fill_value) is not float  # numbers are numpy scalars, as from zarr v2
    if "_FillValue" in attrs:
        assert back_attrs["_FillValue"] == attrs["_FillValue"]
        assert type(back_attrs["_FillValue"]) is type(attrs["_FillValue"])
    assert {k: v for k, v in back_attrs.items() if k != "_FillValue"} == {
        "units": "K",
        "flags": [1, 2],
    }
    assert chunk_key_encoding_from_v3(doc)[0] == encoding
    again = array_metadata_v3(back, back_attrs, back_dims, chunk_key_encoding=encoding)
    assert json.dumps(again) == json.dumps(doc)


def test_zero_fill_values_read_as_none():
    for dtype, fill in [("<i4", 0), ("<f8", 0.0), ("S2", b""), ("O", "")]:
        codecs = ({"id": "vlen-utf8"},) if dtype == "O" else ()
        doc = array_metadata_v3(ArrayMetadata((2,), dtype, (2,), fill, codecs), {}, ["x"])
        assert array_metadata_from_v3(doc)[0].fill_value is None, dtype
    doc = array_metadata_v3(ArrayMetadata((2,), "<f8", (2,), -0.0), {}, ["x"])
    assert np.signbit(array_metadata_from_v3(doc)[0].fill_value)


def _zarr_written(data, **kwargs):
    """Let zarr-python 3 write ``data``; return its zarr.json and chunk bytes."""
    store = zarr.storage.MemoryStore()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr warns about numcodecs codecs' stability
        dtype = str if data.dtype.kind == "O" else data.dtype
        arr = zarr.create_array(
            store,
            name="a",
            shape=data.shape,
            dtype=dtype,
            chunks=(3,) * data.ndim,
            dimension_names=["x"] * data.ndim,
            **kwargs,
        )
        arr[...] = data
    raw = {k: v.to_bytes() for k, v in store._store_dict.items()}
    return json.loads(raw["a/zarr.json"]), raw


@pytest.mark.parametrize(
    ("data", "kwargs"),
    [
        (np.arange(8, dtype=">i4") * 1000, {"compressors": None}),
        (np.arange(8, dtype="<f8") / 3, {"compressors": [zarr.codecs.ZstdCodec(level=2)]}),
        (np.arange(8, dtype="<i2"), {"compressors": [zarr.codecs.GzipCodec(level=3)]}),
        (
            np.arange(8, dtype="<u4"),
            {"compressors": [zarr.codecs.BloscCodec(cname="lz4", clevel=4, shuffle="bitshuffle")]},
        ),
        (np.arange(8, dtype="<i8"), {"compressors": [zarr.codecs.Crc32cCodec()]}),
        (np.arange(8, dtype="<f4"), {"filters": [zarr.codecs.TransposeCodec(order=[0])]}),
        (np.array(["a", "bé", "", "x"] * 2, dtype=object), {"fill_value": "-"}),
        (np.array([1, -2, 3, 0, 5, 6, 7, 8], dtype=">f4"), {"fill_value": -2.5}),
        (np.array([b"ab", b"c"] * 4, dtype="S2"), {}),
        (np.array(["2000-01-01", "NaT"] * 4, dtype="M8[s]"), {}),
    ],
    ids=lambda x: str(x.dtype) if isinstance(x, np.ndarray) else None,
)
def test_documents_written_by_zarr_python_decode_with_numcodecs(data, kwargs):
    """The inverse also fits zarr-python's own documents: chunks decode to the same values."""
    doc, raw = _zarr_written(data, **kwargs)
    meta, _, dims = array_metadata_from_v3(doc)
    assert dims == ("x",)
    # zarr-python stores little-endian whatever the input's byte order
    assert meta.dtype == data.dtype.newbyteorder("<") or data.dtype.kind == "O"
    if "fill_value" in kwargs:
        assert meta.fill_value == kwargs["fill_value"]
    got = np.concatenate([decode_chunk(raw[f"a/c/{i}"], meta) for i in range(3)])[: len(data)]
    if data.dtype.kind == "O":
        assert got.tolist() == data.tolist()
    else:
        assert got.dtype == meta.dtype
        assert got.tobytes() == data.astype(meta.dtype).tobytes()


def test_fill_value_decoding():
    assert decode_fill_value_v3("Infinity", ">f8") == np.inf
    assert decode_fill_value_v3("0x3f800000", "<f4") == np.float32(1)
    assert decode_fill_value_v3([1.0, "NaN"], "c16").real == 1
    assert decode_fill_value_v3("NaT", "M8[s]") != decode_fill_value_v3("NaT", "M8[s]")
    assert decode_fill_value_v3("YQA=", "S2") == b"a"
    assert decode_fill_value_v3([1, 2], "V2") == b"\x01\x02"
    assert decode_fill_value_v3({"a": 1, "b": 2.0}, STRUCT) == np.array((1, 2.0), STRUCT).tobytes()
    for bad, dtype in [
        (1.5, "i4"),
        (70000, "<i2"),
        ("YWJj", "S2"),
        ([1, 2], "f4"),
        (1, "?"),
        ("x", "<f4"),
        (True, "i4"),
        ({"a": 1}, STRUCT),
        (3, "O"),
    ]:
        with pytest.raises(ValueError):
            decode_fill_value_v3(bad, dtype)
    assert decode_fill_value_attribute(-1, ">i2") == np.int16(-1)
    assert decode_fill_value_attribute(True, "?") is np.True_
    assert np.isnan(decode_fill_value_attribute("AAAAAAAA+H8=", "<f4"))
    assert decode_fill_value_attribute("x", "O") == "x"  # left to xarray, as zarr does
    for bad, dtype in [("%%", "<f4"), ("AAAA", "<f8"), (1.5, "i4"), (300, "u1"), ([1], "c8")]:
        with pytest.raises(ValueError):
            decode_fill_value_attribute(bad, dtype)


def test_data_types_and_codecs_decoding():
    assert numpy_dtype_from_v3("r16") == np.dtype("V2")
    assert numpy_dtype_from_v3("uint8", endian=None) == np.dtype("u1")
    assert numpy_dtype_from_v3(
        {"name": "structured", "configuration": {"fields": [["a", "int16"], ["b", "bool"]]}}
    ) == np.dtype([("a", "<i2"), ("b", "?")])
    with pytest.raises(ValueError, match="endian"):
        numpy_dtype_from_v3("int16", endian=None)
    with pytest.raises(NotImplementedError):
        numpy_dtype_from_v3("bfloat16")
    assert codecs_from_v3(["bytes", "gzip"]) == (({"id": "gzip", "level": 5},), None)
    assert codecs_from_v3([{"name": "vlen-utf8"}], data_type="string")[0] == ({"id": "vlen-utf8"},)
    for bad in (
        [],
        ["gzip", "bytes"],
        ["bytes", "bytes"],
        ["bytes", "numcodecs.delta"],
        [{"name": "blosc", "configuration": {"shuffle": "x"}}],
        "bytes",
    ):
        with pytest.raises((ValueError, TypeError)):
            codecs_from_v3(bad)
    with pytest.raises(ValueError, match="vlen-utf8"):
        codecs_from_v3(["bytes"], data_type="string")
    for bad in (
        ["sharding_indexed"],
        [{"name": "transpose", "configuration": {"order": [1, 0]}}, "bytes"],
        ["bytes", "zfp"],
    ):
        with pytest.raises(NotImplementedError):
            codecs_from_v3(bad)


def _doc(**changes):
    doc = array_metadata_v3(ArrayMetadata((4,), "<i4", (2,)), {}, ["x"])
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


@pytest.mark.parametrize(
    ("doc", "error", "match"),
    [
        (_doc(shape=[-1]), CorruptFileError, "shape"),
        (_doc(shape=None), CorruptFileError, "lacks 'shape'"),
        (_doc(fill_value=None), CorruptFileError, "lacks 'fill_value'"),
        (_doc(fill_value="x"), CorruptFileError, "fill_value"),
        (_doc(zarr_format=2), CorruptFileError, "zarr_format"),
        (_doc(zarr_format=4), UnsupportedFeatureError, "zarr_format 4"),
        (_doc(node_type="group"), CorruptFileError, "node_type"),
        (_doc(data_type="int3"), UnsupportedFeatureError, "int3"),
        (
            _doc(data_type={"name": "numpy.datetime64", "configuration": {"unit": "x"}}),
            CorruptFileError,
            "datetime64",
        ),
        (_doc(chunk_grid={"name": "rectangular"}), UnsupportedFeatureError, "rectangular"),
        (_doc(chunk_grid={"name": "rectilinear"}), CorruptFileError, "chunk_shapes"),
        (
            _doc(chunk_grid={"name": "rectilinear", "configuration": {"kind": "file"}}),
            UnsupportedFeatureError,
            "kind 'file'",
        ),
        (
            _doc(chunk_grid={"name": "regular", "configuration": {"chunk_shape": [0]}}),
            CorruptFileError,
            "chunk_shape",
        ),
        (_doc(chunk_key_encoding={"name": "other"}), UnsupportedFeatureError, "other"),
        (
            _doc(chunk_key_encoding={"name": "default", "configuration": {"separator": "-"}}),
            CorruptFileError,
            "separator",
        ),
        (_doc(codecs=[{"name": "bytes"}]), CorruptFileError, "endian"),
        (_doc(codecs=["bytes", "sharding_indexed"]), UnsupportedFeatureError, "sharding"),
        (_doc(dimension_names=["x", "y"]), CorruptFileError, "dimension_names"),
        (_doc(dimension_names=[None]), UnsupportedFeatureError, "unnamed"),
        (_doc(attributes=[1]), CorruptFileError, "attributes"),
        (_doc(attributes={"_FillValue": "not base64"}), CorruptFileError, "_FillValue"),
        (_doc(storage_transformers=[{"name": "x"}]), UnsupportedFeatureError, "transformer"),
        (_doc(extension={"must_understand": True}), UnsupportedFeatureError, "'extension'"),
    ],
)
def test_bad_documents_raise_naming_the_key(doc, error, match):
    with pytest.raises(error, match=match) as info:
        array_metadata_from_v3(doc, url="file:///r.json", key="v/zarr.json", name="v")
    assert "file:///r.json" in str(info.value)
    if error is CorruptFileError:
        assert "'v/zarr.json'" in str(info.value)


def test_ignorable_extensions_and_group_documents():
    doc = _doc(extension={"must_understand": False, "x": 1})
    assert array_metadata_from_v3(doc)[0].shape == (4,)
    group = group_metadata_v3({"title": "t"}, consolidated={})
    assert group_attributes_from_v3(group) == {"title": "t"}
    with pytest.raises(CorruptFileError, match="node_type"):
        group_attributes_from_v3({"zarr_format": 3, "node_type": "array"})
    with pytest.raises(UnsupportedFeatureError, match="'other'"):
        group_attributes_from_v3({"zarr_format": 3, "node_type": "group", "other": 1})
