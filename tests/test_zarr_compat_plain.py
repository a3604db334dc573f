"""Every .zarray document the fast path calls plain is parsed by zarr-python itself."""

from __future__ import annotations

import itertools

import pytest

from vzcore.manifests.zarr_compat import _parse, plain_v2_document

pytest.importorskip("zarr")

DTYPES = ["<f4", ">f8", "|u1", "<i2", ">u8", "|b1", "<f2", "|i1"]
FILLS = [None, 0, -1, 255, 2**40, 1.5, "NaN", "-Infinity", True, "x", [1]]
CODECS = [
    None,
    {"id": "zlib", "level": 4},
    {"id": "shuffle", "elementsize": 4},
    {"id": "fletcher32"},
    {"id": "zlib", "level": "4"},
    {"id": "blosc", "cname": "lz4"},
    {"id": "blosc", "cname": "zstd", "clevel": 5, "shuffle": 2, "blocksize": 0},
    {"id": "blosc", "cname": "lz5", "clevel": 5, "shuffle": 1, "blocksize": 0},
    {"id": "blosc", "cname": "zstd", "clevel": 5, "shuffle": "2", "blocksize": 0},
    {"id": "vz_hdf5_lzf"},
]


def _docs():
    for dtype, fill, compressor, filters in itertools.product(
        DTYPES, FILLS, CODECS, [None, [{"id": "shuffle", "elementsize": 2}], []]
    ):
        yield {
            "zarr_format": 2,
            "shape": [10, 3],
            "chunks": [4, 3],
            "dtype": dtype,
            "compressor": compressor,
            "fill_value": fill,
            "order": "C",
            "filters": filters,
            "dimension_separator": ".",
        }


def test_plain_documents_parse_in_zarr():
    import json

    plain = 0
    for doc in _docs():
        if plain_v2_document(doc):
            plain += 1
            assert _parse(json.dumps(doc, sort_keys=True), 2) is None, doc
    assert plain > 100  # the fast path is taken for the common documents


@pytest.mark.parametrize(
    "change",
    [
        {"dtype": "<U4"},
        {"dtype": "<M8[s]"},
        {"dtype": [["a", "<f4"]]},
        {"order": "F"},
        {"chunks": [0, 3]},
        {"shape": [10]},
        {"fill_value": 1e400},
        {"extra": 1},
        {"compressor": {"id": "zlib", "level": True}},
        {"compressor": {"id": "blosc", "cname": "lz5", "clevel": 5}},
        {"compressor": {"id": "blosc", "cname": 3}},
        {"compressor": {"id": "blosc", "cname": ["zstd"]}},
        {"compressor": {"id": "zlib", "cname": "zstd"}},
    ],
)
def test_other_documents_go_to_zarr(change):
    doc = next(_docs()) | change
    assert not plain_v2_document(doc)
