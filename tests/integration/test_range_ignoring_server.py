"""Issue 12, item 13: a server that ignores Range requests is detected, not trusted.

Python's own ``http.server`` (``SimpleHTTPRequestHandler``) answers every GET with the
whole file and status 200. Scanning through it used to succeed, and ``verify(deep=True)``
said OK, while readers of the references then failed. Now the scan raises
``RangeRequestsIgnoredError`` and ``verify`` reports the files.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("vz_hdf5")
pytest.importorskip("aiohttp")
nc4 = pytest.importorskip("netCDF4")

import vzcore
from vzcore.errors import RangeRequestsIgnoredError, VZError
from vzcore.integrity import IntegrityError
from vzcore.testing.servers import HTTPServer


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def plain_http_server(root: Path) -> Iterator[str]:
    """Serve ``root`` with the standard library's handler (no Range support) on 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=root))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _sample(path: Path, n: int = 4000) -> None:
    with nc4.Dataset(path, "w") as ds:
        ds.createDimension("x", n)
        ds.createVariable("v", "f8", ("x",), chunksizes=(500,))[:] = np.arange(n)


def test_scan_of_a_small_file_raises(tmp_path: Path) -> None:
    _sample(tmp_path / "a.nc")
    with (
        plain_http_server(tmp_path) as base,
        pytest.raises(RangeRequestsIgnoredError, match="ignores HTTP Range requests") as info,
    ):
        vzcore.open_virtual_dataset(f"{base}/a.nc")
    assert isinstance(info.value, VZError)
    assert isinstance(info.value, OSError)
    assert info.value.url == f"{base}/a.nc"
    assert "206" in str(info.value)


def test_scan_of_a_file_larger_than_a_block_raises(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("VZCORE_BLOCK_SIZE", "4096")
    _sample(tmp_path / "big.nc", n=20000)
    with plain_http_server(tmp_path) as base, pytest.raises(RangeRequestsIgnoredError):
        vzcore.open_virtual_dataset(f"{base}/big.nc", loadable_variables=[])


def test_range_honouring_server_still_scans(tmp_path: Path, vz_http: HTTPServer) -> None:
    _sample(vz_http.root / "a.nc")
    vds = vzcore.open_virtual_dataset(f"{vz_http.url}/a.nc", loadable_variables=[])
    report = vzcore.verify(vds, deep=True)
    assert report.ok, str(report)
    assert report.chunks_decoded == 8


def test_verify_reports_a_server_that_ignores_ranges(tmp_path: Path, vz_http: HTTPServer) -> None:
    _sample(vz_http.root / "a.nc")
    vds = vzcore.open_virtual_dataset(f"{vz_http.url}/a.nc", loadable_variables=[])
    with plain_http_server(vz_http.root) as base:  # the same files behind a plain server
        moved = vds.virtualize.rename_paths({vz_http.url: base})
        report = vzcore.verify(moved, deep=True)
    assert not report.ok
    assert report.range_ignored == [f"{base}/a.nc"]
    assert report.bad_chunks == []  # its chunks are not fetched one by one
    assert "ignore HTTP Range requests" in str(report)
    with pytest.raises(IntegrityError):
        report.raise_if_failed()
