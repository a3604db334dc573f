"""The shared test servers answer like object stores, and fsspec really reads ranges from them."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from vzcore.testing.servers import HTTPServer, S3Server, http_server

PAYLOAD = np.random.default_rng(0).integers(0, 256, 1_000_000, dtype=np.uint8).tobytes()


def fetch(url: str, method: str = "GET", range_: str | None = None):
    req = urllib.request.Request(url, method=method)
    if range_ is not None:
        req.add_header("Range", range_)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


@pytest.fixture
def served(vz_http: HTTPServer) -> HTTPServer:
    (vz_http.root / "data").mkdir()
    (vz_http.root / "data" / "blob.bin").write_bytes(PAYLOAD)
    return vz_http


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=10-19", 10, 20),
        ("bytes=999990-", 999_990, 1_000_000),
        ("bytes=-5", 999_995, 1_000_000),
        ("bytes=999999-2000000", 999_999, 1_000_000),  # clamped to the end, as S3 does
    ],
)
def test_http_range_gives_206_and_content_range(served, header, start, stop) -> None:
    status, headers, body = fetch(served.url + "/data/blob.bin", range_=header)
    assert status == 206
    assert headers["Content-Range"] == f"bytes {start}-{stop - 1}/1000000"
    assert body == PAYLOAD[start:stop]
    assert int(headers["Content-Length"]) == stop - start


@pytest.mark.parametrize("header", ["bytes=1000000-", "bytes=5-2", "bytes=0-1,5-6", "chars=1-2"])
def test_http_bad_range_gives_416(served, header) -> None:
    status, headers, body = fetch(served.url + "/data/blob.bin", range_=header)
    assert status == 416
    assert headers["Content-Range"] == "bytes */1000000"
    assert body == b""


def test_http_head_and_whole_get(served) -> None:
    status, head, body = fetch(served.url + "/data/blob.bin", method="HEAD")
    assert (status, body) == (200, b"")
    assert int(head["Content-Length"]) == len(PAYLOAD)
    assert head["ETag"].startswith('"')
    assert head["Last-Modified"].endswith("GMT")
    assert head["Accept-Ranges"] == "bytes"
    status, headers, body = fetch(served.url + "/data/blob.bin")
    assert (status, body) == (200, PAYLOAD)
    assert headers["ETag"] == head["ETag"]
    assert [(r.method, r.status, r.nbytes) for r in served.requests] == [
        ("HEAD", 200, 0),
        ("GET", 200, len(PAYLOAD)),
    ]


def test_http_serves_nothing_outside_its_root(served, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("no")
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/data", "/missing.bin"):
        assert fetch(served.url + path)[0] == 404, path


def test_http_server_stops_itself(tmp_path: Path) -> None:
    with http_server(tmp_path) as server:
        url = server.url
        assert url.startswith("http://127.0.0.1:")
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/x", timeout=2)


def test_http_server_bounds_its_request_log(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"abc")
    with http_server(tmp_path, max_requests=3) as server:
        for _ in range(5):
            fetch(server.url + "/a")
        assert len(server.requests) == 3


def test_fsspec_http_reads_only_the_ranges_it_needs(served) -> None:
    fsspec = pytest.importorskip("fsspec")
    pytest.importorskip("aiohttp")
    fs = fsspec.filesystem("http", skip_instance_cache=True)
    with fs.open(served.url + "/data/blob.bin", "rb", block_size=4096, cache_type="none") as f:
        f.seek(500_000)
        assert f.read(100) == PAYLOAD[500_000:500_100]
        f.seek(10)
        assert f.read(10) == PAYLOAD[10:20]
    reads = served.reads("/data/blob.bin")
    assert [(r.range, r.status) for r in reads] == [
        ("bytes=500000-500099", 206),
        ("bytes=10-19", 206),
    ]
    assert served.bytes_sent() == 110  # not the whole file, as with http.server


def test_s3_server_counts_range_reads(vz_s3: S3Server) -> None:
    fs = vz_s3.filesystem()
    fs.pipe(f"{vz_s3.bucket}/data/blob.bin", PAYLOAD)
    vz_s3.reset()
    assert fs.cat_file(f"{vz_s3.bucket}/data/blob.bin", start=1000, end=1010) == PAYLOAD[1000:1010]
    reads = vz_s3.reads("/data/blob.bin")
    assert [(r.range, r.status, r.nbytes) for r in reads] == [("bytes=1000-1009", 206, 10)]
    assert vz_s3.endpoint_url.startswith("http://127.0.0.1:")


def test_s3_fixture_gives_each_test_its_own_bucket(vz_s3: S3Server) -> None:
    assert vz_s3.filesystem().ls(vz_s3.bucket) == []
