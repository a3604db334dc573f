"""Per-file identity (size, mtime, ETag) recorded at scan time and carried by manifests."""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime

import numpy as np
import pytest

from vzcore.group import ManifestGroup, Variable
from vzcore.io import stat_source, to_url
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray, SourceInfo

A, B = "file:///data/a.nc", "file:///data/b.nc"
INFO_A = SourceInfo(size=100, mtime=1.5e9, etag='"abc"')
INFO_B = SourceInfo(size=200, mtime=1.6e9)


def manifest(path: str, n: int = 2, sources: dict[str, SourceInfo] | None = None):
    return ChunkManifest(
        [path], np.zeros(n, np.uint8), np.arange(n) * 10, np.full(n, 10), sources=sources
    )


def test_json_round_trip_keeps_only_known_fields() -> None:
    assert INFO_A.to_json() == {"size": 100, "mtime": 1.5e9, "etag": '"abc"'}
    assert SourceInfo(size=3).to_json() == {"size": 3}
    assert SourceInfo.from_json(INFO_A.to_json()) == INFO_A
    assert SourceInfo.from_json({}) == SourceInfo()


@pytest.mark.parametrize(
    "bad",
    [
        {"size": -1},
        {"size": 1.5},
        {"size": True},
        {"mtime": "x"},
        {"mtime": float("nan")},
        {"etag": 3},
    ],
)
def test_from_json_rejects_malformed(bad: dict) -> None:
    with pytest.raises(ValueError, match="source"):
        SourceInfo.from_json(bad)


def test_from_json_rejects_non_objects() -> None:
    with pytest.raises(TypeError, match="JSON object"):
        SourceInfo.from_json([1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ({"size": 5, "mtime": 1700000000.25}, SourceInfo(5, 1700000000.25)),
        (  # s3fs
            {"size": 5, "ETag": '"e1"', "LastModified": datetime(2024, 1, 2, tzinfo=UTC)},
            SourceInfo(5, datetime(2024, 1, 2, tzinfo=UTC).timestamp(), '"e1"'),
        ),
        (  # fsspec HTTP: headers as text
            {"size": 5, "ETag": 'W/"x"', "Last-Modified": "Tue, 02 Jan 2024 00:00:00 GMT"},
            SourceInfo(5, datetime(2024, 1, 2, tzinfo=UTC).timestamp(), 'W/"x"'),
        ),
        (  # gcsfs-like ISO text
            {"size": 5, "etag": "CJ", "updated": "2024-01-02T00:00:00+00:00"},
            SourceInfo(5, datetime(2024, 1, 2, tzinfo=UTC).timestamp(), "CJ"),
        ),
        ({"size": None, "mtime": "not a date"}, SourceInfo()),
    ],
)
def test_from_fsspec_info_normalises_each_file_system(info: dict, expected: SourceInfo) -> None:
    assert SourceInfo.from_fsspec_info(info) == expected


def test_stat_source_of_a_local_file(tmp_path) -> None:
    p = tmp_path / "f.bin"
    p.write_bytes(b"x" * 42)
    os.utime(p, (1_600_000_000, 1_600_000_000.5))
    assert stat_source(to_url(p)) == SourceInfo(size=42, mtime=1_600_000_000.5)
    with pytest.raises(FileNotFoundError):
        stat_source(to_url(tmp_path / "missing"))


def test_stat_source_through_fsspec(tmp_path) -> None:
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    fs.pipe("/vz-sources/x.bin", b"abc")
    assert stat_source("memory:///vz-sources/x.bin").size == 3


def test_manifest_keeps_sources_for_its_own_paths_only() -> None:
    m = manifest(A, sources={A: INFO_A, B: INFO_B})
    assert dict(m.sources) == {A: INFO_A}
    assert dict(m.with_sources({A: INFO_B}).sources) == {A: INFO_B}
    assert m == manifest(A)  # equality is about the bytes referenced, not the metadata


def test_sources_survive_every_transformation() -> None:
    a, b = manifest(A, sources={A: INFO_A}), manifest(B, sources={B: INFO_B})
    both = ChunkManifest.concatenate([a, b], axis=0)
    assert dict(both.sources) == {A: INFO_A, B: INFO_B}
    # slicing keeps the whole path table, and so the sources of every path in it
    assert dict(both.slice_grid((slice(2, 4),)).sources) == {A: INFO_A, B: INFO_B}
    assert dict(a.expand_dims(0).sources) == {A: INFO_A}
    assert dict(a.expand_dims(0).broadcast_to((3, 2)).sources) == {A: INFO_A}
    renamed = both.rename_paths(lambda p: p.replace("file:///data", "s3://bucket"))
    assert dict(renamed.sources) == {"s3://bucket/a.nc": INFO_A, "s3://bucket/b.nc": INFO_B}
    merged = both.rename_paths(lambda p: "s3://bucket/one.nc")
    assert dict(merged.sources) == {"s3://bucket/one.nc": INFO_A}


def test_group_collects_and_attaches_sources() -> None:
    meta = ArrayMetadata(shape=(4,), dtype=np.dtype("f4"), chunk_shape=(2,))
    group = ManifestGroup(
        variables={"x": Variable(("t",), ManifestArray(meta, manifest(A)))},
        groups={
            "sub": ManifestGroup(
                variables={"y": Variable(("t",), ManifestArray(meta, manifest(B)))}
            )
        },
    )
    assert group.referenced_paths() == [A, B]
    assert group.sources() == {}
    group.attach_sources({A: INFO_A, B: INFO_B})
    assert group.sources() == {A: INFO_A, B: INFO_B}
    assert group.rename_paths(lambda p: p + ".moved").sources() == {
        A + ".moved": INFO_A,
        B + ".moved": INFO_B,
    }


def test_with_sources_is_the_manifest_the_constructor_builds() -> None:
    """with_sources shares the validated arrays; the result is what the constructor gives."""
    m = ChunkManifest.from_codes(
        (A, B),
        np.array([[0, -2], [1, -1]], np.int8),
        np.arange(4).reshape(2, 2),
        np.full((2, 2), 7),
        {1: b"abc"},
        sources={A: INFO_A},
    )
    got = m.with_sources({B: INFO_B, "other": INFO_A})
    want = ChunkManifest(
        m.paths,
        m.path_index,
        m.offsets,
        m.lengths,
        m.inline,
        {A: INFO_A, B: INFO_B, "other": INFO_A},
    )
    assert got == want
    assert got.paths == want.paths
    assert dict(got.sources) == dict(want.sources) == {A: INFO_A, B: INFO_B}
    assert dict(got.inline) == dict(want.inline)
    assert got.inline is not m.inline
    for name in ("path_index", "offsets", "lengths"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype
        assert not a.flags.writeable
        np.testing.assert_array_equal(a, b)
    assert dict(m.sources) == {A: INFO_A}  # the original is unchanged


def test_array_with_sources_is_the_array_the_constructor_builds() -> None:
    """ManifestArray.with_sources (no grid check: the grid is unchanged) equals the constructor's."""
    from vzcore.manifests.encoding import SourceEncoding

    meta = ArrayMetadata(shape=(4,), dtype=np.dtype(">i2"), chunk_shape=(2,), fill_value=-1)
    array = ManifestArray(meta, manifest(A)).with_encoding(
        SourceEncoding.from_attrs({"scale_factor": 0.5}, source=A, variable="x")
    )
    got = array.with_sources({A: INFO_A, B: INFO_B})
    want = ManifestArray(array.metadata, array.manifest.with_sources({A: INFO_A, B: INFO_B}))
    assert type(got) is type(want) is ManifestArray
    assert got.metadata is array.metadata
    assert got.metadata == want.metadata
    assert got.manifest == want.manifest
    assert dict(got.manifest.sources) == dict(want.manifest.sources) == {A: INFO_A}
    assert got.encoding == want.encoding
    assert dict(array.manifest.sources) == {}  # the original is unchanged


def test_record_sources_equals_the_group_methods(tmp_path, monkeypatch) -> None:
    """api._record_sources (one walk) does what sources/referenced_paths/attach_sources do."""
    from vzcore import api

    a, b = tmp_path / "a.nc", tmp_path / "b.nc"
    a.write_bytes(b"0" * 10)
    b.write_bytes(b"1" * 20)
    ua, ub, gone = to_url(a), to_url(b), to_url(tmp_path / "gone.nc")
    meta = ArrayMetadata(shape=(4,), dtype=np.dtype("f4"), chunk_shape=(2,))
    kept = SourceInfo(size=1)

    def tree() -> ManifestGroup:
        return ManifestGroup(
            variables={
                "x": Variable(("t",), ManifestArray(meta, manifest(ua))),
                "known": Variable(
                    ("t",), ManifestArray(meta, manifest(gone, sources={gone: kept}))
                ),
                "values": Variable(("t",), np.zeros(4)),
            },
            groups={
                "sub": ManifestGroup(
                    variables={
                        "y": Variable(("t",), ManifestArray(meta, manifest(ub))),
                        "z": Variable(
                            ("t",), ManifestArray(meta, manifest(tmp_path.as_uri() + "/no"))
                        ),
                    }
                )
            },
        )

    def by_methods(t: ManifestGroup) -> None:  # _record_sources as it was written
        known = t.sources()
        found = {}
        for path in t.referenced_paths():
            if path in known:
                continue
            with contextlib.suppress(OSError, ValueError, NotImplementedError):
                found[path] = stat_source(path, None)
        if found:
            t.attach_sources(found)

    stats: list[str] = []
    real = api.scanned_source
    monkeypatch.setattr(api, "scanned_source", lambda p, so: stats.append(p) or real(p, so))
    got, want = tree(), tree()
    api._record_sources(got, None)
    by_methods(want)
    assert stats == [ua, ub, tmp_path.as_uri() + "/no"]  # in order, known ones not stat'ed
    assert got.sources() == want.sources()
    assert got.sources()[gone] is kept
    assert got.sources()[ua] == SourceInfo(size=10, mtime=os.stat(a).st_mtime)
    for (_, g1), (_, g2) in zip(got.walk(), want.walk(), strict=True):
        for name, v in g1.variables.items():
            w = g2.variables[name]
            assert type(v.data) is type(w.data)
            if isinstance(v.data, ManifestArray):
                assert dict(v.data.manifest.sources) == dict(w.data.manifest.sources)
                assert v.data.manifest == w.data.manifest


@pytest.mark.parametrize(
    "info",
    [SourceInfo(), SourceInfo(5), SourceInfo(None, 1.5), SourceInfo(7, -0.0, '"e-1"')],
)
def test_pickles_to_an_equal_record(info):
    import pickle

    for protocol in (2, 5):
        back = pickle.loads(pickle.dumps(info, protocol=protocol))
        assert back == info
        assert type(back) is SourceInfo
        assert repr(back.mtime) == repr(info.mtime)  # (-0.0 stays -0.0)
