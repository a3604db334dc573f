"""Pytest fixtures for remote-source tests: a moto S3 server and a Range-honouring HTTP server.

Use them from any ``conftest.py`` (core's or a plugin's) by importing them::

    from vzcore.testing.fixtures import vz_http, vz_s3, vz_s3_session  # noqa: F401

``vz_s3`` is one moto server per test session (starting it takes about half a second) with
a fresh bucket name and an empty request log per test; ``vz_http`` serves a fresh
``tmp_path / "http-root"`` directory per test. Both listen on 127.0.0.1 only. Tests
skip when moto or s3fs is not installed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from vzcore.testing.servers import HTTPServer, S3Server, http_server, s3_server

__all__ = ["vz_http", "vz_s3", "vz_s3_session"]


@pytest.fixture(scope="session")
def vz_s3_session() -> Iterator[S3Server]:
    """Start one moto S3 server for the whole session (stopped at the end)."""
    pytest.importorskip("moto.server")
    pytest.importorskip("s3fs")
    with s3_server() as server:
        yield server


@pytest.fixture
def vz_s3(vz_s3_session: S3Server) -> Iterator[S3Server]:
    """Yield the session's S3 server with a new empty bucket and an empty request log."""
    server = vz_s3_session
    fs = server.filesystem()
    bucket = f"vzcore-test-{uuid.uuid4().hex[:12]}"
    fs.call_s3("create_bucket", Bucket=bucket)
    view = S3Server(server.endpoint_url, bucket, server._log)
    server.reset()
    yield view
    fs.rm(bucket, recursive=True)  # moto keeps objects in memory


@pytest.fixture
def vz_http(tmp_path: Path) -> Iterator[HTTPServer]:
    """Serve a new empty ``tmp_path / "http-root"`` over HTTP for one test."""
    root = tmp_path / "http-root"
    root.mkdir()
    with http_server(root) as server:
        yield server
