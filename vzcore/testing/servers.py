"""Local test servers for remote-source tests: an S3 endpoint (moto) and an HTTP file server.

Both listen on 127.0.0.1 only, on a port the OS picks, record every request they answer
(so tests count requests and bytes on the server side), and stop when their ``with``
block ends::

    from vzcore.testing.servers import http_server, s3_server

    with s3_server() as s3:
        fs = s3.filesystem()                     # an s3fs.S3FileSystem for the server
        fs.put("a.nc", f"{s3.bucket}/data/a.nc")
        vzcore.open_virtual_dataset(f"s3://{s3.bucket}/data/a.nc",
                                    storage_options=s3.storage_options)
        print(len(s3.requests))

    with http_server(directory) as http:
        vzcore.open_virtual_dataset(http.url + "/a.nc")

Python's ``http.server`` ignores ``Range`` headers, and fsspec's HTTP filesystem then
quietly reads whole files; the server here answers ranges with 206 and ``Content-Range``,
unsatisfiable ranges with 416, and ``HEAD`` with ``Content-Length``, ``ETag`` and
``Last-Modified``, as object stores do.

Pytest fixtures built on these live in :mod:`vzcore.testing.fixtures`. This module needs
moto (``moto[server]``) and s3fs for :func:`s3_server`; :func:`http_server` needs only the
standard library.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["HTTPServer", "Request", "S3Server", "http_server", "s3_server"]

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class Request:
    """One request a test server answered."""

    method: str
    """HTTP method (``GET``, ``HEAD``, ``PUT``, ...)."""
    path: str
    """Request path (for S3: ``/bucket/key``), without the query string."""
    range: str | None
    """The ``Range`` header as sent, or None."""
    status: int
    """HTTP status code of the answer."""
    nbytes: int
    """Bytes of response body sent."""


@dataclass
class _Log:
    """A thread-safe list of requests, bounded so a runaway client cannot grow it forever."""

    limit: int
    items: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, request: Request) -> bool:
        with self.lock:
            if len(self.items) >= self.limit:
                return False
            self.items.append(request)
            return True

    def snapshot(self) -> list[Request]:
        with self.lock:
            return list(self.items)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


class _Counted:
    """Helpers shared by both servers: the request log and what tests ask of it."""

    _log: _Log

    @property
    def requests(self) -> list[Request]:
        """Every request answered since the start (or the last :meth:`reset`)."""
        return self._log.snapshot()

    def reset(self) -> None:
        """Forget the requests recorded so far."""
        self._log.clear()

    def reads(self, path_suffix: str = "") -> list[Request]:
        """Return the ``GET`` requests whose path ends with ``path_suffix``."""
        return [r for r in self.requests if r.method == "GET" and r.path.endswith(path_suffix)]

    def bytes_sent(self, path_suffix: str = "") -> int:
        """Total body bytes sent for ``GET`` requests whose path ends with ``path_suffix``."""
        return sum(r.nbytes for r in self.reads(path_suffix))


# -- HTTP -------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """Serve files below the server's root, honouring single byte ranges."""

    server: _RangeHTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers; every answer has a length
    timeout = 10  # seconds a silent client may hold a connection
    # Headers and body leave in two writes; with Nagle's algorithm the body waits for the
    # client's delayed ACK (40 ms per request on Linux), which real servers do not cost.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read server.requests instead of stderr

    def _record(self, status: int, nbytes: int) -> None:
        path = urlsplit(self.path).path
        if not self.server.log.add(
            Request(self.command, path, self.headers.get("Range"), status, nbytes)
        ):
            self.close_connection = True

    def _send_status(self, status: int, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self._record(status, 0)  # before the answer leaves: a client may act on it at once
        self.end_headers()

    def _resolve(self) -> Path | None:
        rel = unquote(urlsplit(self.path).path).lstrip("/")
        root = self.server.root
        target = (root / rel).resolve()
        if target != root and root not in target.parents:
            return None  # outside the served directory
        return target if target.is_file() else None

    def _headers_for(self, target: Path) -> dict[str, str]:
        st = target.stat()
        etag = hashlib.md5(f"{st.st_size}-{st.st_mtime_ns}".encode()).hexdigest()
        return {
            "Accept-Ranges": "bytes",
            "ETag": f'"{etag}"',
            "Last-Modified": formatdate(st.st_mtime, usegmt=True),
            "Content-Type": "application/octet-stream",
        }

    def _forbidden(self) -> bool:
        """Answer 403 Forbidden for the paths the server was told to refuse."""
        rel = unquote(urlsplit(self.path).path).lstrip("/")
        if rel not in self.server.forbidden:
            return False
        self._send_status(403)
        return True

    def _answerable(self) -> Path | None:
        """Return the file to answer with, or None once 403 or 404 has been sent."""
        if self._forbidden():
            return None
        target = self._resolve()
        if target is None:
            self._send_status(404)
        return target

    def do_HEAD(self) -> None:
        if (target := self._answerable()) is None:
            return
        self.send_response(200)
        for key, value in self._headers_for(target).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(target.stat().st_size))
        self._record(200, 0)  # before the answer leaves (as in _send_status)
        self.end_headers()

    def do_GET(self) -> None:
        if (target := self._answerable()) is None:
            return
        size = target.stat().st_size
        headers = self._headers_for(target)
        header = self.headers.get("Range")
        start, stop, status = 0, size, 200
        if header is not None:
            match = _RANGE.match(header.strip())
            if match is None or match.groups() == ("", ""):
                # Multiple or malformed ranges: answer 416 rather than guess.
                self._send_status(416, {"Content-Range": f"bytes */{size}"})
                return
            first, last = match.groups()
            if first == "":  # suffix range: the last N bytes
                start, stop = max(size - int(last), 0), size
            else:
                start = int(first)
                stop = size if last == "" else min(int(last) + 1, size)
            if start >= size or stop <= start:
                self._send_status(416, {"Content-Range": f"bytes */{size}"})
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        with target.open("rb") as f:
            f.seek(start)
            body = f.read(stop - start)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self._record(status, len(body))  # before the answer leaves (as in _send_status)
        self.end_headers()
        self.wfile.write(body)


class _RangeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    root: Path
    log: _Log
    forbidden: frozenset[str]


class HTTPServer(_Counted):
    """A running :func:`http_server`: its base URL and the requests it answered."""

    def __init__(self, server: _RangeHTTPServer) -> None:
        self._server = server
        self._log = server.log
        host, port = server.server_address[:2]
        if isinstance(host, bytes):  # typeshed allows bytes; an AF_INET server gives str
            host = host.decode()
        self.url = f"http://{host}:{port}"
        """Base URL (``http://127.0.0.1:PORT``); a file ``root/a/b.nc`` is ``url + "/a/b.nc"``."""
        self.root = server.root
        """The directory served."""


@contextmanager
def http_server(
    root: str | os.PathLike[str],
    *,
    max_requests: int = 100_000,
    forbidden: Iterable[str] = (),
) -> Iterator[HTTPServer]:
    """Serve the files below ``root`` over HTTP on 127.0.0.1 (a free port) until the block ends.

    Parameters
    ----------
    root
        Directory whose files are served (read-only; nothing outside it is reachable).
    max_requests
        After this many requests the server closes every further connection, so a client
        caught in a loop fails instead of running forever.
    forbidden
        Paths below ``root`` (``"a/b.nc"``) answered with 403 Forbidden, as an object store
        or a web server answers a client without the right credentials.

    Yields
    ------
    HTTPServer
        With ``url``, ``requests``, ``reads()``, ``bytes_sent()`` and ``reset()``.
    """
    server = _RangeHTTPServer(("127.0.0.1", 0), _Handler)
    server.root = Path(root).resolve()
    server.log = _Log(max_requests)
    server.forbidden = frozenset(p.strip("/") for p in forbidden)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="vzcore-http-server",
        daemon=True,
    )
    thread.start()
    try:
        yield HTTPServer(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# -- S3 (moto) ----------------------------------------------------------------------------


def _counting_app(app: Callable[..., Any], log: _Log) -> Callable[..., Any]:
    """Wrap a WSGI application so each answered request lands in ``log``."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        status: list[int] = [0]

        def recording_start(status_line: str, headers: Any, exc_info: Any = None) -> Any:
            status[0] = int(status_line.split(" ", 1)[0])
            return start_response(status_line, headers, exc_info)

        body = list(app(environ, recording_start))
        log.add(
            Request(
                environ.get("REQUEST_METHOD", ""),
                environ.get("PATH_INFO", ""),
                environ.get("HTTP_RANGE"),
                status[0],
                0 if environ.get("REQUEST_METHOD") == "HEAD" else sum(len(b) for b in body),
            )
        )
        return body

    return wrapped


class S3Server(_Counted):
    """A running :func:`s3_server`: endpoint, bucket, fsspec options and the request log."""

    def __init__(self, endpoint_url: str, bucket: str, log: _Log) -> None:
        self.endpoint_url = endpoint_url
        """``http://127.0.0.1:PORT``."""
        self.bucket = bucket
        """Name of the bucket created for the test."""
        self._log = log
        self.credentials = {"key": "testing", "secret": "testing"}
        """moto accepts any credentials; these are passed explicitly so no profile is read."""

    @property
    def storage_options(self) -> dict[str, Any]:
        """s3fs options for this server (``storage_options=`` in vzcore, fsspec, xarray)."""
        return {
            **self.credentials,
            "endpoint_url": self.endpoint_url,
            "client_kwargs": {"region_name": "us-east-1"},
        }

    def filesystem(self) -> Any:
        """Return an ``s3fs.S3FileSystem`` talking to this server (its own instance)."""
        import s3fs

        return s3fs.S3FileSystem(**self.storage_options, skip_instance_cache=True)

    def container_options(self) -> dict[str, Any]:
        """Keyword arguments for ``vz_icechunk.containers_for``: this server's S3 options."""
        return {
            "region": "us-east-1",
            "endpoint_url": self.endpoint_url,
            "allow_http": True,
            "force_path_style": True,
        }

    def obstore_config(self) -> dict[str, Any]:
        """Keyword arguments for ``obstore.store.S3Store`` / Icechunk's S3 options."""
        return {
            "endpoint": self.endpoint_url,
            "access_key_id": self.credentials["key"],
            "secret_access_key": self.credentials["secret"],
            "region": "us-east-1",
            "allow_http": True,
        }


@contextmanager
def s3_server(bucket: str | None = None, *, max_requests: int = 1_000_000) -> Iterator[S3Server]:
    """Run moto's S3 server on 127.0.0.1 (a free port) with one bucket until the block ends.

    Parameters
    ----------
    bucket
        Name of the bucket to create; a unique ``vzcore-test-...`` name when None.
    max_requests
        Requests beyond this many are still answered but no longer recorded.

    Yields
    ------
    S3Server
        With ``endpoint_url``, ``bucket``, ``storage_options``, ``filesystem()``,
        ``requests``, ``reads()``, ``bytes_sent()`` and ``reset()``.
    """
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        log = _Log(max_requests)
        wsgi = getattr(server, "_server", None)
        if wsgi is not None:  # moto's werkzeug server: count requests at the WSGI layer
            wsgi.app = _counting_app(wsgi.app, log)
            wsgi.RequestHandlerClass = type(
                "QuietHandler", (wsgi.RequestHandlerClass,), {"log": lambda *args: None}
            )  # werkzeug logs every request to stderr otherwise
        host, port = server.get_host_and_port()
        s3 = S3Server(
            f"http://{host}:{port}", bucket or f"vzcore-test-{uuid.uuid4().hex[:12]}", log
        )
        s3.filesystem().call_s3("create_bucket", Bucket=s3.bucket)
        s3.reset()
        yield s3
        # moto keeps objects in process memory: free them (the bucket name is unique).
        s3.filesystem().rm(s3.bucket, recursive=True)
    finally:
        server.stop()
