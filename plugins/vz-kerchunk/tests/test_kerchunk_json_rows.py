"""The numpy builder of JSON reference text gives exactly what per-entry formatting gives."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("vz_kerchunk")

from vzcore.manifests.chunk_keys import chunk_key_table_v3, key_pattern

from vz_kerchunk._json_rows import reference_rows


def _expected(prefix, encoding, grid, flat, tokens, codes, offsets, lengths):
    keys = chunk_key_table_v3(grid, prefix, encoding)
    return "".join(
        f',"{keys[i]}":[{tokens[c]},{o},{n}]'
        for i, c, o, n in zip(
            flat.tolist(), codes.tolist(), offsets.tolist(), lengths.tolist(), strict=True
        )
    )


@pytest.mark.parametrize("encoding", ["v2", "default"])
@pytest.mark.parametrize("grid", [(), (1,), (7,), (13, 1, 11), (2, 3, 4, 5), (1000, 3)])
def test_rows_equal_per_entry_formatting(encoding, grid):
    rng = np.random.default_rng(len(grid) * 7 + len(encoding))
    n = int(np.prod(grid, dtype=np.int64))
    flat = np.sort(rng.choice(n, size=max(1, n * 2 // 3), replace=False)).astype(np.intp)
    tokens = [json.dumps(u) for u in ("{{u0}}", "file:///d/é ü.nc", 's3://b/k\x01"q".nc')]
    codes = rng.integers(0, len(tokens), flat.size).astype(np.uint8)
    offsets = rng.integers(0, 2**63, flat.size, dtype=np.uint64)
    offsets[0] = 0
    lengths = rng.integers(0, 10, flat.size).astype(np.uint64)
    prefix = json.dumps("grüppe/v ar/")[1:-1]
    got = reference_rows(
        prefix, key_pattern(encoding), grid, flat, tokens, codes, offsets, lengths
    ).decode("ascii")
    assert got == _expected(prefix, encoding, grid, flat, tokens, codes, offsets, lengths)
    parsed = json.loads("{" + got[1:] + "}")
    assert len(parsed) == flat.size


def test_largest_offsets_and_empty_selection():
    big = np.array([2**64 - 1, 10**19, 9, 0], dtype=np.uint64)
    got = reference_rows(
        "a/", key_pattern("v2"), (4,), np.arange(4), ['"u"'], np.zeros(4, np.uint8), big, big
    ).decode("ascii")
    assert got == "".join(f',"a/{i}":["u",{v},{v}]' for i, v in enumerate(big.tolist()))
    assert (
        reference_rows(
            "a/",
            key_pattern("v2"),
            (4,),
            np.arange(0),
            ['"u"'],
            np.zeros(0, np.uint8),
            big[:0],
            big[:0],
        )
        == b""
    )


@pytest.mark.parametrize("encoding", ["v2", "default"])
@pytest.mark.parametrize(
    "grid", [(5000,), (1440, 12, 6), (70, 70, 2), (3, 4097), (11, 10, 10, 10, 3)]
)
@pytest.mark.parametrize("high", [10**6, 10**9, 10**10], ids=["6-digit", "9-digit", "10-digit"])
def test_rows_of_one_url_and_large_grids(encoding, grid, high):
    # One URL per block: the URL goes in after the NULs are deleted (a placeholder in the
    # matrix); grids whose leading axes are written as numbers, trailing ones from a table;
    # offsets around the 32-bit arithmetic limit.
    rng = np.random.default_rng(high % 97 + len(grid))
    n = int(np.prod(grid, dtype=np.int64))
    flat = np.sort(rng.choice(n, size=min(n, 4000), replace=False)).astype(np.intp)
    flat[-1] = n - 1
    tokens = [json.dumps("s3://b/other.nc"), json.dumps('file:///d/é "q".nc')]
    codes = np.ones(flat.size, np.uint8)
    offsets = rng.integers(0, high, flat.size, dtype=np.uint64)
    offsets[:2] = [high - 1, 10 ** (len(str(high)) - 2)]
    lengths = rng.integers(1, 10**5, flat.size).astype(np.uint64)
    prefix = json.dumps("g/\x01v/")[1:-1]
    got = reference_rows(
        prefix, key_pattern(encoding), grid, flat, tokens, codes, offsets, lengths
    ).decode("ascii")
    assert got == _expected(prefix, encoding, grid, flat, tokens, codes, offsets, lengths)
