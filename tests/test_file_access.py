"""vzcore.io's one opener: size, positional reads, the file object, and one error policy.

Every opener (``open_source``, ``open_url``, ``read_head``, ``stat_source``) and every
installed reader reports a missing file, a directory, an empty file, a forbidden file and a
remote 404/403 the same way: one error class, one message naming the URL.
"""

from __future__ import annotations

import errno
import os
import pickle
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import vzcore
from vzcore import plugins
from vzcore._tree_combine import is_transient
from vzcore.errors import (
    CorruptFileError,
    NoReaderFoundError,
    SourceAccessError,
    SourceIsADirectoryError,
    SourceNotFoundError,
    SourcePermissionError,
    VZError,
)
from vzcore.io import (
    EMPTY_FILE,
    open_source,
    open_url,
    read_head,
    scan_session,
    source_error,
    stat_source,
    to_url,
)
from vzcore.testing.servers import HTTPServer, http_server

BLOB = bytes(range(256)) * 64


def _close(f: Any) -> None:
    f.close()


OPENERS: dict[str, Callable[[str], Any]] = {
    "open_source": lambda url: _close(open_source(url)),
    "open_url": lambda url: _close(open_url(url)),
    "read_head": lambda url: read_head(url, 8),
    "stat_source": stat_source,
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HTTPServer]:
    """Serve ``tmp_path / "http-root"``, answering 403 for ``locked.bin``."""
    pytest.importorskip("aiohttp")
    root = tmp_path / "http-root"
    root.mkdir()
    (root / "locked.bin").write_bytes(BLOB)
    with http_server(root, forbidden=["locked.bin"]) as http:
        yield http


# -- what a SourceFile gives --------------------------------------------------------------


def test_local_source_gives_size_positional_reads_and_a_file(tmp_path: Path) -> None:
    path = tmp_path / "a b.bin"
    path.write_bytes(BLOB)
    with open_source(to_url(path)) as source:
        assert source.size == len(BLOB)
        assert source.local_path == str(path)
        assert source.read_at(10, 5) == BLOB[10:15]
        assert source.read_at(len(BLOB) - 2, 10) == BLOB[-2:]  # short at the end
        assert source.read_at(len(BLOB) + 5, 10) == b""
        source.file.seek(3)
        assert source.read_at(100, 1) == BLOB[100:101]
        assert source.file.read(2) == BLOB[3:5]  # positional reads do not move the file
        assert source.read_all() == BLOB


def test_remote_source_reads_through_the_shared_cached_file(server: HTTPServer) -> None:
    (server.root / "a.bin").write_bytes(BLOB)
    url = f"{server.url}/a.bin"
    with scan_session():
        with open_source(url) as source:
            assert source.size == len(BLOB)
            assert source.local_path is None
            source.file.seek(7)
            assert source.read_at(1000, 4) == BLOB[1000:1004]
            assert source.file.read(3) == BLOB[7:10]  # the file object keeps its position
            assert source.read_all() == BLOB
        assert read_head(url, 4) == BLOB[:4]  # the session's handle: no new download
    gets = [r for r in server.requests if r.method == "GET"]
    assert sum(r.nbytes for r in gets) <= 2 * len(BLOB)


def test_empty_file_is_corrupt_unless_allowed(tmp_path: Path) -> None:
    path = tmp_path / "empty.nc"
    path.write_bytes(b"")
    url = to_url(path)
    with pytest.raises(CorruptFileError) as info:
        open_source(url)
    assert str(info.value) == (
        f"Cannot read {url!r}: {EMPTY_FILE}; the file looks corrupt or truncated"
    )
    with open_source(url, allow_empty=True) as source:
        assert source.size == 0
        assert source.read_all() == b""
    assert read_head(url, 8) == b""  # sniffing says "empty" itself (NoReaderFoundError)


# -- one error policy for every opener -------------------------------------------------------


def _message(opener: str, url: str, error: type[SourceAccessError]) -> str:
    """Open ``url`` with ``opener``; return the message of the ``error`` it must raise."""
    with pytest.raises(error) as info:
        OPENERS[opener](url)
    return str(info.value)


@pytest.mark.parametrize("opener", OPENERS)
def test_missing_file(tmp_path: Path, opener: str) -> None:
    url = to_url(tmp_path / "nope.nc")
    message = _message(opener, url, SourceNotFoundError)
    assert message == f"Cannot open {url!r}: no such file; check the path or URL"
    err = SourceNotFoundError(url)
    assert isinstance(err, FileNotFoundError)
    assert isinstance(err, VZError)
    assert (err.errno, err.filename) == (errno.ENOENT, url)


@pytest.mark.parametrize("opener", ["open_source", "open_url", "read_head"])
def test_directory(tmp_path: Path, opener: str) -> None:
    url = to_url(tmp_path)
    assert _message(opener, url, SourceIsADirectoryError) == (
        f"Cannot open {url!r}: it is a directory, not a file; pass the path of a file"
    )


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """A file with mode 000 (skips when this user reads it anyway: root)."""
    path = tmp_path / "locked.nc"
    path.write_bytes(BLOB)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("this user reads files with mode 000 (root)")
        yield path
    finally:
        path.chmod(0o600)


@pytest.mark.parametrize("opener", ["open_source", "open_url", "read_head"])
def test_unreadable_file(locked: Path, opener: str) -> None:
    url = to_url(locked)
    message = _message(opener, url, SourcePermissionError)
    assert message.startswith(f"Cannot open {url!r}: permission denied; ")


@pytest.mark.parametrize("opener", OPENERS)
def test_remote_404_and_403(server: HTTPServer, opener: str) -> None:
    missing, forbidden = f"{server.url}/nope.nc", f"{server.url}/locked.bin"
    assert _message(opener, missing, SourceNotFoundError) == (
        f"Cannot open {missing!r}: no such file (HTTP 404); check the path or URL"
    )
    assert _message(opener, forbidden, SourcePermissionError) == (
        f"Cannot open {forbidden!r}: permission denied (HTTP 403); check the file's "
        "permissions, or for a remote file the credentials in storage_options"
    )


def test_connection_failures_stay_transient() -> None:
    """A refused connection is not "no such file": scans retry it (fsspec says 404)."""
    pytest.importorskip("aiohttp")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    with pytest.raises(OSError) as info:
        open_url(f"http://127.0.0.1:{port}/a.nc")
    assert not isinstance(info.value, VZError)
    assert is_transient(info.value)
    reset = ConnectionResetError("reset by peer")
    assert source_error("s3://b/a.nc", reset) is reset


def test_permanent_errors_are_not_retried() -> None:
    for err in (
        SourceNotFoundError("file:///a"),
        SourcePermissionError("file:///a"),
        SourceIsADirectoryError("file:///a"),
    ):
        assert not is_transient(err)


@pytest.mark.parametrize(
    "err",
    [
        SourceNotFoundError("s3://b/a.nc", "no such file (HTTP 404)"),
        SourcePermissionError("file:///a.nc"),
        SourceIsADirectoryError("file:///d", "a reason", "a remedy"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_pickle(err: SourceAccessError) -> None:
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert str(back) == str(err)
    assert (back.url, back.reason, back.remedy, back.errno) == (
        err.url,
        err.reason,
        err.remedy,
        err.errno,
    )


# -- every reader, the same answer --------------------------------------------------------

READERS = ("hdf5", "netcdf3", "tiff", "kerchunk")
"""The first-party readers; kerchunk also reads directories (Parquet references)."""


def _installed() -> list[str]:
    names = []
    for name in READERS:
        try:
            plugins.get_reader(name)
        except NoReaderFoundError:
            continue
        names.append(name)
    if len(names) < 2:
        pytest.skip("fewer than two first-party readers installed")
    return names


def _outcome(url: str, reader: str) -> tuple[type[BaseException], str]:
    with pytest.raises(Exception) as info:
        vzcore.open_virtual_dataset(url, reader=reader)
    return type(info.value), str(info.value)


def _same_for_every_reader(url: str, readers: list[str], error: type[Exception]) -> None:
    got = {reader: _outcome(url, reader) for reader in readers}
    assert {kind for kind, _ in got.values()} == {error}, got
    assert len({message for _, message in got.values()}) == 1, got
    assert all(repr(url) in message for _, message in got.values())


def test_every_reader_reports_a_missing_file_alike(tmp_path: Path) -> None:
    _same_for_every_reader(to_url(tmp_path / "nope.nc"), _installed(), SourceNotFoundError)


def test_every_reader_reports_a_directory_alike(tmp_path: Path) -> None:
    (tmp_path / "dir.nc").mkdir()
    readers = [r for r in _installed() if r != "kerchunk"]  # a directory is its input kind
    _same_for_every_reader(to_url(tmp_path / "dir.nc"), readers, SourceIsADirectoryError)


def test_every_reader_reports_an_empty_file_alike(tmp_path: Path) -> None:
    (tmp_path / "empty.nc").write_bytes(b"")
    _same_for_every_reader(to_url(tmp_path / "empty.nc"), _installed(), CorruptFileError)


def test_every_reader_reports_a_forbidden_file_alike(locked: Path) -> None:
    _same_for_every_reader(to_url(locked), _installed(), SourcePermissionError)


def test_every_reader_reports_remote_404_and_403_alike(server: HTTPServer) -> None:
    readers = _installed()
    _same_for_every_reader(f"{server.url}/nope.nc", readers, SourceNotFoundError)
    _same_for_every_reader(f"{server.url}/locked.bin", readers, SourcePermissionError)


def test_source_errors_maps_what_source_error_maps_and_nothing_else() -> None:
    """source_errors (a class-based context manager) raises source_error's answer."""
    from vzcore._file_access import source_errors

    url = "file:///nowhere/a.nc"
    missing = FileNotFoundError(2, "No such file")
    with pytest.raises(SourceNotFoundError) as info, source_errors(url):
        raise missing
    assert info.value.__cause__ is missing
    assert url in str(info.value)
    other = ValueError("not an access error")
    with pytest.raises(ValueError) as same, source_errors(url):
        raise other
    assert same.value is other  # unchanged
    with pytest.raises(KeyboardInterrupt), source_errors(url):
        raise KeyboardInterrupt  # not an Exception: left alone
    with source_errors(url) as entered:
        assert entered is None

    @source_errors(url)  # usable as a decorator, as a contextmanager function was
    def read() -> None:
        raise PermissionError(13, "denied")

    with pytest.raises(SourcePermissionError):
        read()
