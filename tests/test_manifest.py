import numpy as np
import pytest

from vzcore.errors import CombineError
from vzcore.manifests import ChunkManifest


def make(paths, offsets=None, lengths=None, inline=None):
    paths = np.asarray(paths, dtype=object)
    offsets = np.arange(paths.size).reshape(paths.shape) * 100 if offsets is None else offsets
    lengths = np.full(paths.shape, 10) if lengths is None else lengths
    return ChunkManifest.from_arrays(paths, offsets, lengths, inline)


def test_from_arrays_builds_a_path_table_and_marks_missing():
    m = make([["a", ""], ["b", "a"]])
    assert m.paths == ("a", "b")
    assert m.path_index.dtype == np.uint8
    assert m.missing().tolist() == [[False, True], [False, False]]
    assert m[(0, 0)] == ("a", 0, 10)
    assert m[(0, 1)] is None
    assert m[(1, 0)] == ("b", 200, 10)


def test_index_arrays_are_read_only():
    m = make(["a", "b"])
    with pytest.raises(ValueError, match="read-only"):
        m.offsets[0] = 5


def test_inline_chunks_round_trip():
    m = make([["a", "x"]], inline={(0, 1): b"\x01\x02"})
    assert m[(0, 1)] == b"\x01\x02"
    assert m.is_inline().tolist() == [[False, True]]
    assert dict(m.iter_refs()) == {(0, 0): ("a", 0, 10), (0, 1): b"\x01\x02"}


def test_inline_table_must_match_the_index():
    with pytest.raises(ValueError, match="inline"):
        ChunkManifest(["a"], np.array([0, 254], np.uint8), [0, 0], [1, 1], inline={})


def test_bytes_per_chunk_do_not_depend_on_path_length():
    n = 100_000
    long = "s3://bucket/" + "x" * 500 + "/file.nc"
    m = ChunkManifest([long], np.zeros(n, np.uint8), np.arange(n), np.full(n, 7))
    assert m.nbytes / n <= 17.01


def test_concatenate_merges_path_tables_and_keeps_sentinels():
    a = make([["p", ""]])
    b = make([["q", "p"]], inline=None)
    c = make([["", "x"]], inline={(0, 1): b"zz"})
    out = ChunkManifest.concatenate([a, b, c], axis=0)
    assert out.grid_shape == (3, 2)
    assert sorted(out.paths) == ["p", "q"]
    assert out[(0, 0)][0] == "p"
    assert out[(0, 1)] is None
    assert out[(1, 0)][0] == "q"
    assert out[(1, 1)][0] == "p"
    assert out[(2, 0)] is None
    assert out[(2, 1)] == b"zz"


def test_concatenate_grows_the_index_dtype_past_254_paths():
    parts = [make([f"f{i}"]) for i in range(300)]
    out = ChunkManifest.concatenate(parts, axis=0)
    assert out.path_index.dtype == np.uint16
    assert out[(299,)] == ("f299", 0, 10)


def test_concatenate_along_a_later_axis_recodes_every_part_in_place():
    a = make([["p", ""], ["q", "p"]])
    b = make([["x"], [""]], inline=None)
    c = make([["q", "r"], ["", ""]], inline={(1, 1): b"zz"})
    out = ChunkManifest.concatenate([a, b, c], axis=1)
    assert out.grid_shape == (2, 5)
    expected = {
        (0, 0): "p", (0, 1): None, (0, 2): "x", (0, 3): "q", (0, 4): "r",
        (1, 0): "q", (1, 1): "p", (1, 2): None, (1, 3): None, (1, 4): b"zz",
    }  # fmt: skip
    for index, want in expected.items():
        got = out[index]
        assert (got if got is None or isinstance(got, bytes) else got[0]) == want, index
    for field in ("offsets", "lengths"):
        want = np.concatenate([getattr(m, field) for m in (a, b, c)], axis=1)
        np.testing.assert_array_equal(getattr(out, field), want)


def _refs_grid(m):
    """Every chunk's reference (or None) in an object array shaped like the grid."""
    out = np.empty(m.grid_shape, dtype=object)
    for index in np.ndindex(*m.grid_shape):
        out[index] = m[index]
    return out


def _random_parts(seed, axis=None):
    """Random grids, path tables of up to 300 paths, missing and inline chunks, any axis."""
    rng = np.random.default_rng(seed)
    ndim = int(rng.integers(1, 4))
    axis = int(rng.integers(0, ndim)) if axis is None else axis
    shape = [int(x) for x in rng.integers(1, 4, ndim)]
    pool = [f"s3://b/f{k}.nc" for k in range(int(rng.choice([3, 300])))]
    manifests = []
    for _ in range(int(rng.integers(1, 5))):
        part = list(shape)
        part[axis] = int(rng.integers(1, 4) if len(pool) < 10 else rng.integers(40, 90))
        paths = rng.choice([*pool, "", ""], size=part).astype(object)
        inline = {i: rng.bytes(3) for i in np.ndindex(*part) if rng.random() < 0.15}
        offsets = rng.integers(0, 2**40 if rng.random() < 0.3 else 2**20, size=part)
        manifests.append(
            ChunkManifest.from_arrays(paths, offsets, rng.integers(1, 99, part), inline)
        )
    return manifests, axis


@pytest.mark.parametrize("seed", range(40))
def test_concatenate_equals_the_references_concatenated(seed):
    manifests, axis = _random_parts(seed)
    out = ChunkManifest.concatenate(manifests, axis=axis)
    want = np.concatenate([_refs_grid(m) for m in manifests], axis=axis)
    assert out.grid_shape == want.shape
    for index in np.ndindex(*want.shape):
        assert out[index] == want[index], index
    assert set(out.paths) == {p for m in manifests for p in m.paths}
    if len(out.paths) > 254:  # (some seeds: more paths than a uint8 index holds)
        assert out.path_index.dtype == np.uint16


def _assert_identical(got, want):
    """The same manifest down to the dtypes, path order and source info."""
    assert got.paths == want.paths
    assert dict(got.inline) == dict(want.inline)
    assert dict(got.sources) == dict(want.sources)
    for field in ("path_index", "offsets", "lengths"):
        a, b = getattr(got, field), getattr(want, field)
        assert (a.dtype, a.shape) == (b.dtype, b.shape), field
        np.testing.assert_array_equal(a, b, err_msg=field)
        assert not a.flags.writeable


@pytest.mark.parametrize("seed", range(40))
def test_a_manifest_joined_later_equals_the_one_joined_now(seed):
    """Inside joining_later, a concatenation along the first axis is written when first read.

    Until then it answers shape, size and dtypes, and gives any flat range of its arrays as
    pieces of the parts' arrays; read, pickled or compared, it is the eager result.
    """
    import pickle

    from vzcore.manifests.joined import JoinedManifest, joining_later

    manifests, _axis = _random_parts(seed, axis=0)
    now = ChunkManifest.concatenate(manifests, axis=0)
    with joining_later():
        later = ChunkManifest.concatenate(manifests, axis=0)
    if len(manifests) == 1:
        assert type(later) is ChunkManifest
        return
    assert isinstance(later, JoinedManifest)
    assert not later.is_joined
    assert later.grid_shape == now.grid_shape
    assert later.ndim == now.ndim
    assert (later.nchunks, later.missing_code, later.inline_code) == (
        now.nchunks, now.missing_code, now.inline_code,
    )  # fmt: skip
    assert later.dtypes() == tuple(
        getattr(now, f).dtype for f in ("path_index", "offsets", "lengths")
    )
    assert later.nbytes == now.nbytes
    rng = np.random.default_rng(seed)
    for field in ("path_index", "offsets", "lengths"):
        whole = getattr(now, field).ravel()
        for _ in range(5):
            start, stop = sorted(int(x) for x in rng.integers(0, whole.size + 1, 2))
            out = np.full(whole.size, 77, whole.dtype)
            for at, values, table in later.segments(field, start, stop):
                out[at : at + values.size] = values if table is None else table[values]
            np.testing.assert_array_equal(out[start:stop], whole[start:stop])
            assert (out[:start] == 77).all()
            assert (out[stop:] == 77).all()
    assert not later.is_joined  # nothing above wrote the arrays
    travelled = pickle.loads(pickle.dumps(later, protocol=5))
    assert type(travelled) is ChunkManifest
    _assert_identical(travelled, now)
    assert later == now
    assert later.is_joined
    _assert_identical(later, now)


def test_only_flat_runs_are_joined_later():
    """Along a later axis the parts interleave in C order: joined at once."""
    from vzcore.manifests.joined import JoinedManifest, joining_later

    a, b = make([["p", ""], ["q", "p"]]), make([["x"], [""]])
    with joining_later():
        assert type(ChunkManifest.concatenate([a, b], axis=1)) is ChunkManifest
        leading = [make([[f"f{i}", "g"]]) for i in range(3)]  # (1, 2) grids: a run each
        assert isinstance(ChunkManifest.concatenate(leading, axis=1), JoinedManifest)
    assert type(ChunkManifest.concatenate(leading, axis=1)) is ChunkManifest  # outside


def test_parts_with_wide_path_indexes_are_recoded_on_the_worker():
    """A part of more than 65,534 paths: its slice comes recoded (no 2**32-entry table)."""
    from vzcore.manifests.joined import joining_later

    n = 70_000
    wide = ChunkManifest(
        [f"f{i}" for i in range(n)], np.arange(n, dtype=np.uint32), np.arange(n), np.ones(n)
    )
    small = make(["g", ""])
    with joining_later():
        later = ChunkManifest.concatenate([small, wide], axis=0)
    now = ChunkManifest.concatenate([small, wide], axis=0)
    pieces = later.segments("path_index", 1, n + 2)
    assert [(at, values.size, table is None) for at, values, table in pieces] == [
        (1, 1, False), (2, n, True),
    ]  # fmt: skip
    np.testing.assert_array_equal(pieces[1][1], now.path_index[2:])


def test_concatenate_refuses_grids_that_differ_off_the_axis():
    with pytest.raises(ValueError, match=r"chunk grids \(1, 2\) and \(1, 3\) along axis 0"):
        ChunkManifest.concatenate([make([["a", "b"]]), make([["a", "b", "c"]])], axis=0)


def test_concatenate_rejects_mismatched_ndim():
    with pytest.raises(CombineError):
        ChunkManifest.concatenate([make(["a"]), make([["a"]])], axis=0)


def test_broadcast_expand_and_slice():
    m = make(["a", "b"], inline=None)
    e = m.expand_dims(0)
    assert e.grid_shape == (1, 2)
    b = e.broadcast_to((3, 2))
    assert b.grid_shape == (3, 2)
    assert b[(2, 1)] == ("b", 100, 10)
    s = b.slice_grid((slice(1, 3), slice(1, 2)))
    assert s.grid_shape == (2, 1)
    assert s[(0, 0)] == ("b", 100, 10)


def test_rename_paths_is_per_path_and_merges_duplicates():
    m = make(["/data/a.nc", "/data/b.nc", "/other/a.nc"])
    r = m.rename_paths(lambda p: "s3://bkt/" + p.rsplit("/", 1)[1])
    assert r.paths == ("s3://bkt/a.nc", "s3://bkt/b.nc")
    assert r[(2,)] == ("s3://bkt/a.nc", 200, 10)


def test_equality_compares_references():
    assert make(["a", "b"]) == make(["a", "b"])
    assert make(["a", "b"]) != make(["a", "c"])
    assert make(["a", ""]).chunk_equal(make(["a", "b"])).tolist() == [True, False]


def test_scalar_grid():
    m = ChunkManifest.from_refs({(): ("file:///s.nc", 8, 4)}, ())
    assert m.grid_shape == ()
    assert m[()] == ("file:///s.nc", 8, 4)
    assert dict(m.iter_refs()) == {(): ("file:///s.nc", 8, 4)}


def test_scalar_manifests_compare():
    a = ChunkManifest.from_refs({(): ("file:///s.nc", 8, 4)}, ())
    b = ChunkManifest.from_refs({(): ("file:///s.nc", 8, 5)}, ())
    assert a == a.rename_paths(str)
    assert a != b
