"""ChunkManifest.from_codes: the one way readers state missing and inline chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vzcore.manifests import ChunkManifest

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64])
def test_codes_of_any_signed_type_give_missing_inline_and_paths(dtype) -> None:
    codes = np.array([[0, ChunkManifest.MISSING], [ChunkManifest.INLINE, 1]], dtype=dtype)
    m = ChunkManifest.from_codes(
        ["file:///a.nc", "file:///b.nc"],
        codes,
        [[10, 0], [0, 30]],
        [[1, 0], [3, 4]],
        {2: b"xyz"},
    )
    assert m.missing().tolist() == [[False, True], [False, False]]
    assert m.is_inline().tolist() == [[False, False], [True, False]]
    assert m[(0, 0)] == ("file:///a.nc", 10, 1)
    assert m[(1, 1)] == ("file:///b.nc", 30, 4)
    assert m[(1, 0)] == b"xyz"
    assert m[(0, 1)] is None
    assert m.path_index.dtype == np.uint8  # the smallest type that fits two paths


def test_codes_equal_the_same_manifest_built_from_refs() -> None:
    refs = {(0,): ("file:///a.nc", 8, 4), (2,): b"abcd"}
    expected = ChunkManifest.from_refs(refs, (3,))
    built = ChunkManifest.from_codes(
        ["file:///a.nc"], np.array([0, -1, -2]), [8, 0, 0], [4, 0, 4], {2: b"abcd"}
    )
    assert built == expected


def test_many_paths_widen_the_index_type() -> None:
    n = 70_000
    codes = np.arange(-2, n, dtype=np.int64)
    paths = [f"file:///f{i}.tif" for i in range(n)]
    m = ChunkManifest.from_codes(paths, codes, np.zeros(n + 2), np.ones(n + 2), {0: b"x"})
    assert m.path_index.dtype == np.uint32
    assert m.missing().tolist()[:3] == [False, True, False]
    assert m[(n + 1,)] == (paths[-1], 0, 1)


def test_zero_dimensional_grid() -> None:
    m = ChunkManifest.from_codes((), np.full((), ChunkManifest.INLINE, np.int8), 0, 3, {0: b"abc"})
    assert m.grid_shape == ()
    assert m[()] == b"abc"


@pytest.mark.parametrize(
    ("codes", "match"),
    [
        (np.array([-3, 0]), "got values from -3 to 0"),
        (np.array([0, 1]), r"index below 1 \(the number of paths\)"),
        (np.array([0, 255], dtype=np.uint8), "got values from 0 to 255"),
    ],
)
def test_codes_outside_the_table_are_refused(codes, match) -> None:
    with pytest.raises(ValueError, match=match):
        ChunkManifest.from_codes(["file:///a.nc"], codes, [0, 0], [1, 1])


def test_non_integer_codes_are_refused() -> None:
    with pytest.raises(TypeError, match="integer array"):
        ChunkManifest.from_codes(["file:///a.nc"], np.zeros(2), [0, 0], [1, 1])


def test_inline_table_must_match_the_inline_codes() -> None:
    with pytest.raises(ValueError, match="inline chunk table"):
        ChunkManifest.from_codes(["file:///a.nc"], np.array([0, -2]), [0, 0], [1, 1], {})


def test_plugins_compute_no_sentinel_codes_by_hand() -> None:
    hand_made = [
        str(p.relative_to(ROOT))
        for p in ROOT.glob("plugins/*/src/**/*.py")
        if "iinfo(np.uint" in p.read_text(encoding="utf-8")
    ]
    assert hand_made == []


# Manifests of at most 64 chunks are checked element by element in Python, larger ones with
# numpy: the same results and the same refusals either way.
SIZES = [1, 4, 64, 65, 300]


@pytest.mark.parametrize("n", SIZES)
def test_small_and_large_manifests_check_alike(n: int) -> None:
    codes = np.zeros(n, np.int8)
    codes[-1] = ChunkManifest.INLINE
    if n > 2:
        codes[1] = ChunkManifest.MISSING
    offsets = np.arange(n, dtype=np.uint64) * 10
    m = ChunkManifest.from_codes(["file:///a.nc"], codes, offsets, np.ones(n), {n - 1: b"x"})
    assert m.offsets.dtype == np.uint32
    assert m.missing().sum() == (1 if n > 2 else 0)
    assert m.is_inline().tolist()[-1]
    wide = offsets.copy()
    wide[0] = 2**32  # one offset past uint32: every offset stays uint64
    m = ChunkManifest.from_codes(["file:///a.nc"], codes, wide, np.ones(n), {n - 1: b"x"})
    assert m.offsets.dtype == np.uint64
    assert int(m.offsets[0]) == 2**32
    edge = offsets.copy()
    edge[0] = 2**32 - 1  # the largest uint32
    m = ChunkManifest.from_codes(["file:///a.nc"], codes, edge, np.ones(n), {n - 1: b"x"})
    assert m.offsets.dtype == np.uint32
    assert int(m.offsets[0]) == 2**32 - 1
    with pytest.raises(ValueError, match="inline chunk table"):
        ChunkManifest.from_codes(["file:///a.nc"], codes, offsets, np.ones(n), {})
    high = codes.copy()
    high[0] = 1
    with pytest.raises(ValueError, match=r"index below 1 \(the number of paths\)"):
        ChunkManifest.from_codes(["file:///a.nc"], high, offsets, np.ones(n), {n - 1: b"x"})
    low = codes.copy()
    low[0] = -3
    with pytest.raises(ValueError, match="got values from -3 to"):
        ChunkManifest.from_codes(["file:///a.nc"], low, offsets, np.ones(n), {n - 1: b"x"})


@pytest.mark.parametrize("n", SIZES)
def test_small_and_large_path_indexes_refuse_values_between_paths_and_sentinels(n: int) -> None:
    index = np.zeros(n, np.uint8)
    index[-1] = 7  # neither one of the 2 paths nor a sentinel (254, 255)
    with pytest.raises(ValueError, match="neither a path nor a sentinel"):
        ChunkManifest(["file:///a.nc", "file:///b.nc"], index, np.zeros(n), np.ones(n))
    index[-1] = 254  # the inline sentinel: needs its bytes
    with pytest.raises(ValueError, match="inline chunk table"):
        ChunkManifest(["file:///a.nc", "file:///b.nc"], index, np.zeros(n), np.ones(n))
    m = ChunkManifest(
        ["file:///a.nc", "file:///b.nc"], index, np.zeros(n), np.ones(n), {n - 1: b"y"}
    )
    assert m[(n - 1,)] == b"y"
    assert m.missing_code == 255
    assert m.inline_code == 254


def _outcome(build):
    try:
        return "ok", build()
    except Exception as err:  # noqa: BLE001  # errors must match too
        return "error", (type(err), str(err))


def _same_manifest(a: ChunkManifest, b: ChunkManifest) -> None:
    assert a == b
    assert a.paths == b.paths
    assert dict(a.inline) == dict(b.inline)
    assert dict(a.sources) == dict(b.sources)
    for name in ("path_index", "offsets", "lengths"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype
        assert x.shape == y.shape
        assert not x.flags.writeable
        assert not y.flags.writeable
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("n", [1, 3, 64, 65])
@pytest.mark.parametrize("case", ["ok", "inline_extra", "inline_missing", "shape", "unsigned"])
def test_from_codes_equals_the_constructor(n: int, case: str) -> None:
    """from_codes skips the constructor's code check for codes it checked: same result."""
    from vzcore.manifests import SourceInfo

    rng = np.random.default_rng(n)
    paths = ["file:///a.nc", "file:///b.nc", "file:///c.nc"]
    codes = rng.integers(-2, 3, size=(n, 2)).astype(np.int16)
    if case == "unsigned":
        codes = rng.integers(0, 3, size=(n, 2)).astype(np.uint8)
    offsets = rng.integers(0, 2**40, size=codes.shape)
    lengths = rng.integers(0, 2**20, size=codes.shape)
    inline = {int(k): bytes([k % 256]) * 3 for k in np.flatnonzero(codes.ravel() == -2)}
    if case == "inline_extra":
        inline[2 * n + 5] = b"x"
    if case == "inline_missing" and inline:
        inline.pop(next(iter(inline)))
    if case == "shape":
        lengths = lengths[:, :1]
    sources = {"file:///a.nc": SourceInfo(size=5), "elsewhere": SourceInfo(size=1)}

    def by_constructor():
        return ChunkManifest(paths, codes.astype(np.uint8), offsets, lengths, inline, sources)

    def by_codes():
        return ChunkManifest.from_codes(paths, codes, offsets, lengths, inline, sources)

    got, want = _outcome(by_codes), _outcome(by_constructor)
    assert got[0] == want[0]
    if got[0] == "ok":
        _same_manifest(got[1], want[1])
    else:
        assert got[1] == want[1]
