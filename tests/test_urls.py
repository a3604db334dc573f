import io
import logging

import pytest

from vzcore._file_access import DEFAULT_BLOCK_SIZE
from vzcore.io import (
    expand_glob,
    local_path,
    open_url,
    read_head,
    scan_session,
    stat_source,
    to_url,
)


def test_local_paths_become_absolute_file_urls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert to_url("a.nc") == f"file://{tmp_path}/a.nc"
    assert to_url(f"file://{tmp_path}/../{tmp_path.name}/b.nc") == f"file://{tmp_path}/b.nc"


def test_special_characters_are_not_percent_encoded(tmp_path):
    # fsspec does not decode %20: the URL must keep the path as it is on disk.
    assert to_url(tmp_path / "sp ace" / "f#1.nc") == f"file://{tmp_path}/sp ace/f#1.nc"


def test_remote_urls_pass_through():
    assert to_url("s3://bucket/key with space.nc") == "s3://bucket/key with space.nc"


# -- opening files: local fast path, remote block cache, request counting -------------------

BLOB = bytes(range(256)) * 4096  # 1 MiB


def test_local_files_open_without_fsspec(tmp_path):
    p = tmp_path / "a b.bin"
    p.write_bytes(BLOB)
    for url in (p, str(p), to_url(p), "file://" + str(p).replace(" ", "%20")):
        with open_url(url) as f:
            assert isinstance(f, io.BufferedReader), url
            f.seek(1000)
            assert f.read(4) == BLOB[1000:1004]
    assert local_path("s3://bucket/key") is None


def test_remote_reads_go_through_a_block_cache(vz_http, caplog):
    pytest.importorskip("aiohttp")
    (vz_http.root / "blob.bin").write_bytes(BLOB)
    url = vz_http.url + "/blob.bin"
    with caplog.at_level(logging.DEBUG, logger="vzcore.io"), open_url(url, block_size=65536) as f:
        assert f.size == len(BLOB)
        for offset in range(0, 65536, 512):  # 128 small reads in one block
            f.seek(offset)
            assert f.read(16) == BLOB[offset : offset + 16]
        f.seek(500_000)
        assert f.read(10) == BLOB[500_000:500_010]
        assert (f.requests, f.bytes_fetched) == (2, 2 * 65536)
    gets = vz_http.reads("/blob.bin")
    assert [r.range for r in gets] == ["bytes=0-65535", "bytes=458752-524287"]
    (record,) = [r for r in caplog.records if r.name == "vzcore.io"]
    assert (
        record.getMessage() == f"{url}: 2 request(s), 131072 bytes fetched (file size {len(BLOB)})"
    )


def test_block_size_and_cache_type_from_the_environment(vz_http, monkeypatch):
    pytest.importorskip("aiohttp")
    (vz_http.root / "blob.bin").write_bytes(BLOB)
    monkeypatch.setenv("VZCORE_BLOCK_SIZE", "1000")
    monkeypatch.setenv("VZCORE_CACHE_TYPE", "none")
    with open_url(vz_http.url + "/blob.bin") as f:
        f.seek(10)
        f.read(5)
        f.seek(20)
        f.read(5)
    assert [r.range for r in vz_http.reads()] == ["bytes=10-14", "bytes=20-24"]
    monkeypatch.setenv("VZCORE_BLOCK_SIZE", "0")
    with pytest.raises(ValueError, match="block_size"):
        open_url(vz_http.url + "/blob.bin")


def test_scan_session_shares_one_handle_per_file(vz_http):
    pytest.importorskip("aiohttp")
    (vz_http.root / "blob.bin").write_bytes(BLOB)
    url = vz_http.url + "/blob.bin"
    with scan_session():
        assert read_head(url, 8) == BLOB[:8]
        with open_url(url) as a, open_url(url) as b:
            a.seek(100)
            b.seek(200)
            assert (a.read(3), b.read(3)) == (BLOB[100:103], BLOB[200:203])
            assert (a.tell(), b.tell()) == (103, 203)  # each view has its own position
        info = stat_source(url)
    assert info.size == len(BLOB)
    assert info.etag is not None
    assert info.mtime is not None
    # stat reused the HEAD; the whole (small) file came in one GET, so one more GET of
    # byte 1 checked that the server answers Range requests (once per server)
    assert [(r.method, r.range) for r in vz_http.requests] == [
        ("HEAD", None),
        ("GET", f"bytes=0-{DEFAULT_BLOCK_SIZE - 1}"),
        ("GET", "bytes=1-1"),
    ]


def test_remote_glob_gives_sorted_urls_of_files_only(vz_s3):
    fs = vz_s3.filesystem()
    for name in ("b.nc", "a.nc", "c.txt", "sub/d.nc"):
        fs.pipe(f"{vz_s3.bucket}/data/{name}", b"x")
    assert expand_glob(f"s3://{vz_s3.bucket}/data/*.nc", vz_s3.storage_options) == [
        f"s3://{vz_s3.bucket}/data/a.nc",
        f"s3://{vz_s3.bucket}/data/b.nc",
    ]
    assert expand_glob(f"s3://{vz_s3.bucket}/data/*", vz_s3.storage_options) == [
        f"s3://{vz_s3.bucket}/data/{n}" for n in ("a.nc", "b.nc", "c.txt")
    ]


def test_local_glob(tmp_path):
    for name in ("b.nc", "a.nc"):
        (tmp_path / name).write_bytes(b"")
    assert expand_glob(str(tmp_path / "*.nc")) == [str(tmp_path / "a.nc"), str(tmp_path / "b.nc")]
    assert expand_glob("file://" + str(tmp_path / "a*")) == [str(tmp_path / "a.nc")]


# -- to_url / local_path short paths give what the Path-based and checked forms give ---------


def _to_url_by_path(s: str) -> str:
    """``to_url`` as it was written with ``pathlib`` alone (the reference)."""
    from pathlib import Path

    if s.startswith("file://"):
        return "file://" + str(Path(s[len("file://") :]).resolve())
    return "file://" + str(Path(s).expanduser().resolve())


def _outcome(fn, arg):
    try:
        return "ok", fn(arg)
    except Exception as err:  # noqa: BLE001  # errors must match too
        return "error", type(err)


def test_to_url_equals_path_resolve(tmp_path, monkeypatch):
    import os

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.nc").write_bytes(b"")
    (tmp_path / "sp ace%20").mkdir()
    os.symlink(tmp_path / "d", tmp_path / "link")
    os.symlink(tmp_path / "d" / "f.nc", tmp_path / "flink.nc")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    os.symlink("../d/f.nc", tmp_path / "d" / "rel.nc")
    os.symlink(tmp_path / "loop2", tmp_path / "loop1")
    os.symlink(tmp_path / "loop1", tmp_path / "loop2")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "d"))
    names = [
        "f.nc",
        "d/f.nc",
        "./d/./f.nc",
        "d//f.nc",
        "d/",
        "d/../d/f.nc",
        "link/f.nc",
        "link/../d/f.nc",
        "flink.nc",
        "d/rel.nc",
        "dangling",
        "dangling/x.nc",
        "loop1",
        "loop1/x",
        "missing/../f.nc",
        "sp ace%20/x.nc",
        "",
        ".",
        "..",
        "~",
        "~/f.nc",
        "~vz-no-such-user-xyz/f.nc",
        "/",
        "//",
        "//tmp/x",
        str(tmp_path / "link" / "f.nc"),
    ]
    for name in names:
        for s in (name, "file://" + name, f"file://{tmp_path}/{name}"):
            assert _outcome(to_url, s) == _outcome(_to_url_by_path, s), s


def test_local_path_without_percent_needs_no_filesystem_check(tmp_path, monkeypatch):
    import os
    from urllib.parse import unquote

    def checked(s: str) -> str:  # local_path as it was: existence checks for every URL
        path = s[len("file://") :]
        if not os.path.exists(path) and os.path.exists(unquote(path)):
            path = unquote(path)
        return path

    (tmp_path / "a b.nc").write_bytes(b"")
    (tmp_path / "c%20d.nc").write_bytes(b"")
    (tmp_path / "e f.nc").write_bytes(b"")
    (tmp_path / "e%20f.nc").write_bytes(b"")
    names = ["a b.nc", "a%20b.nc", "c%20d.nc", "e%20f.nc", "missing.nc", "missing%20.nc", "x%zz"]
    for name in names:
        url = f"file://{tmp_path}/{name}"
        assert local_path(url) == checked(url), name
    assert local_path(f"file://{tmp_path}/a%20b.nc") == f"{tmp_path}/a b.nc"

    calls = []
    real = os.path.exists
    monkeypatch.setattr(os.path, "exists", lambda p: calls.append(p) or real(p))
    assert local_path(f"file://{tmp_path}/missing.nc") == f"{tmp_path}/missing.nc"
    assert calls == []


def test_scan_session_entered_again_opens_files_again(vz_http):
    # one scan_session object used for two blocks: the second block must not be handed
    # the handles the first one closed
    pytest.importorskip("aiohttp")
    (vz_http.root / "blob.bin").write_bytes(BLOB)
    url = vz_http.url + "/blob.bin"
    session = scan_session()
    with session:
        assert read_head(url, 8) == BLOB[:8]
    with session:
        assert read_head(url, 8) == BLOB[:8]
        with open_url(url) as f:
            f.seek(100)
            assert f.read(3) == BLOB[100:103]
