"""The shared zarr v2 documents and store plan (vzcore.manifests.zarr_v2, vzcore.store_plan),
checked against zarr itself."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytest.importorskip("vz_kerchunk")

from vzcore.group import ManifestGroup, Variable
from vzcore.manifests.chunk_keys import chunk_key_table
from vzcore.manifests.zarr_v2 import (
    codecs_from_v2,
    decode_fill_value,
    encode_fill_value,
    v2_filters_compressor,
)
from vzcore.store_plan import plan

from vz_kerchunk._writer import choose_templates

FILLS = [
    ("<f4", float("nan"), "NaN"),
    ("<f8", float("inf"), "Infinity"),
    ("<f8", -math.inf, "-Infinity"),
    ("<f4", -9999.0, -9999.0),
    ("<f4", [1.5], 1.5),  # an attribute array of one element
    (">f8", np.float32(0.1), float(np.float32(0.1))),
    ("<i2", -999, -999),
    ("<i2", -999.0, -999),
    ("|u1", 255, 255),
    ("<u8", 2**64 - 1, 2**64 - 1),
    ("|b1", True, True),
    ("<c8", complex(1, -2), [1.0, -2.0]),
    ("<M8[ns]", np.datetime64("NaT", "ns"), -(2**63)),
    ("<M8[s]", 86400, 86400),
    (">M8[s]", np.datetime64(86400, "s"), 86400),  # big-endian: the count, not its bytes
    (">m8[ms]", 1500, 1500),
    ("|S3", b"ab", "YWI="),
    ("|S3", "ab", "YWI="),
    ("<U3", "xé", "xé"),
    ("|O", "", ""),
]


@pytest.mark.parametrize(("dtype", "value", "encoded"), FILLS)
def test_fill_value_encoding_round_trips_and_zarr_agrees(dtype, value, encoded):
    fsspec = pytest.importorskip("fsspec")
    zarr = pytest.importorskip("zarr")

    got = encode_fill_value(value, dtype)
    assert got == encoded or (got == encoded == "NaN")
    back = decode_fill_value(got, dtype)
    expected = np.array(value if not isinstance(value, list) else value[0], dtype=dtype)
    if np.dtype(dtype).kind == "O":
        assert back == value
    else:
        assert np.array(back, dtype=dtype).tobytes() == expected.tobytes()
    # zarr-python parses the same JSON to the same value.
    zarray = {
        "zarr_format": 2,
        "shape": [1],
        "chunks": [1],
        "dtype": np.dtype(dtype).str,
        "compressor": None,
        "fill_value": got,
        "order": "C",
        "filters": [{"id": "vlen-utf8"}] if dtype == "|O" else None,
    }
    refs = {"version": 1, "refs": {".zarray": json.dumps(zarray)}}
    arr = zarr.open_array(fsspec.filesystem("reference", fo=refs).get_mapper(""), mode="r")
    if np.dtype(dtype).kind == "O":
        assert arr.fill_value == value
    else:
        assert np.array(arr.fill_value, dtype=dtype).tobytes() == expected.tobytes()


@pytest.mark.parametrize(
    ("dtype", "value"),
    [
        ("<i2", 1e10),
        ("<i2", 1.5),
        ("|u1", -1),
        ("<f4", 1e300),
        ("|b1", 2),
        ("|S2", b"abc"),
        ("<f4", [1.0, 2.0]),
        ("<i4", "x"),
    ],
)
def test_fill_values_that_do_not_fit_are_refused(dtype, value):
    with pytest.raises(ValueError, match=r"."):
        encode_fill_value(value, dtype)


@pytest.mark.parametrize(
    ("codecs", "filters", "compressor"),
    [
        ((), None, None),
        (({"id": "zlib", "level": 4},), None, {"id": "zlib", "level": 4}),
        (
            ({"id": "shuffle", "elementsize": 4}, {"id": "zlib", "level": 4}),
            [{"id": "shuffle", "elementsize": 4}],
            {"id": "zlib", "level": 4},
        ),
        (({"id": "vlen-utf8"},), [{"id": "vlen-utf8"}], None),
        (
            ({"id": "vlen-utf8"}, {"id": "zstd", "level": 1}),
            [{"id": "vlen-utf8"}],
            {"id": "zstd", "level": 1},
        ),
        (({"id": "delta", "dtype": "<i4"},), [{"id": "delta", "dtype": "<i4"}], None),
    ],
)
def test_codec_split_and_inverse(codecs, filters, compressor):
    assert v2_filters_compressor(codecs) == (filters, compressor)
    assert codecs_from_v2(filters, compressor) == codecs


def test_chunk_key_table():
    assert chunk_key_table(()).tolist() == ["0"]
    assert chunk_key_table((), "s/").tolist() == ["s/0"]
    assert chunk_key_table((0, 3)).tolist() == []
    assert chunk_key_table((2, 1, 3), "g/v/").tolist() == [
        f"g/v/{i}.0.{k}" for i in range(2) for k in range(3)
    ]
    assert chunk_key_table((12,)).tolist()[-1] == "11"


def test_choose_templates():
    long = "file:///some/rather/long/path/to/a/data/file.nc"
    assert choose_templates({long: 1}) == {}
    assert choose_templates({long: 50, "s3://b/x": 1, "file:///other/long/path/file.nc": 3}) == {
        long: "u0",
        "file:///other/long/path/file.nc": "u1",
    }
    assert choose_templates({long: 50, "file:///a{{b}}": 50}) == {}


def test_store_plan_is_columnar_and_consolidated():
    group = ManifestGroup(
        variables={"x": Variable(("n",), np.arange(3), {"_FillValue": -1, "units": "m"})},
        attrs={"title": "plan"},
        groups={"g": ManifestGroup(variables={"y": Variable((), np.array(1.0), {})})},
    )
    store = plan(group)
    assert list(store.metadata) == [
        ".zgroup",
        ".zattrs",
        "x/.zarray",
        "x/.zattrs",
        "g/.zgroup",
        "g/.zattrs",
        "g/y/.zarray",
        "g/y/.zattrs",
    ]
    assert store.metadata["x/.zarray"]["fill_value"] == -1
    assert store.metadata["x/.zattrs"] == {"units": "m", "_ARRAY_DIMENSIONS": ["n"]}
    assert store.consolidated()["metadata"]["g/y/.zarray"]["shape"] == []
    assert [a.path for a in store.arrays] == ["x", "g/y"]
    assert store.arrays[0].manifest.grid_shape == (1,)
    assert store.nchunks == 2
