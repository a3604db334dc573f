"""URL helpers: absolute URLs for manifests, and the one place files are opened for reading.

Every path written into a manifest is an absolute URL (``file:///abs/path``, ``s3://...``,
``https://...``). :func:`open_url` is how core and readers open a file:

* local files (plain paths and ``file://`` URLs) are opened with Python's own ``open``:
  no fsspec layer on the fast path;
* anything else goes through fsspec with a cache sized for object storage
  (:data:`DEFAULT_CACHE_TYPE` ``"blockcache"`` of :data:`DEFAULT_BLOCK_SIZE` 2 MiB blocks,
  overridable per call or with the ``VZCORE_CACHE_TYPE`` / ``VZCORE_BLOCK_SIZE``
  environment variables), so parsing metadata scattered through a file costs a few
  requests rather than one per small read. Each remote file logs, at DEBUG on logger
  ``vzcore.io`` when it is closed, how many range requests it made and how many bytes
  they fetched.

Inside :func:`scan_session` (entered by ``open_virtual_dataset`` for each file) a remote
file is opened once and shared: sniffing the magic bytes, the reader's parse and loading
coordinates reuse the same cached blocks.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from vzcore.errors import RangeRequestsIgnoredError

if TYPE_CHECKING:
    from vzcore.manifests.sources import SourceInfo

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "DEFAULT_CACHE_TYPE",
    "expand_glob",
    "local_path",
    "open_url",
    "read_head",
    "scan_session",
    "stat_source",
    "sync_filesystem",
    "sync_storage_options",
    "to_url",
]

logger = logging.getLogger("vzcore.io")

_PROTOCOL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")

DEFAULT_BLOCK_SIZE = 2 * 2**20
"""Bytes fetched per request from remote files (``VZCORE_BLOCK_SIZE`` overrides)."""

DEFAULT_CACHE_TYPE = "blockcache"
"""fsspec cache for remote files (``VZCORE_CACHE_TYPE`` overrides): an LRU of blocks."""


def to_url(path: str | os.PathLike[str]) -> str:
    """Return ``path`` as an absolute URL (local paths become ``file:///abs/path``)."""
    s = os.fspath(path)
    if _PROTOCOL.match(s):
        if s.startswith("file://"):
            return "file://" + str(Path(s[len("file://") :]).resolve())
        return s
    # Not Path.as_uri(): fsspec does not undo its percent-encoding of spaces and the like.
    return "file://" + str(Path(s).expanduser().resolve())


def local_path(url: str | os.PathLike[str]) -> str | None:
    """Return the local filesystem path of a plain path or ``file://`` URL, else None.

    A percent-encoded ``file://`` URL whose literal path does not exist but whose decoded
    path does gives the decoded path.
    """
    s = os.fspath(url)
    if s.startswith("file://"):
        path = s[len("file://") :]
        if not os.path.exists(path) and os.path.exists(unquote(path)):
            path = unquote(path)
        return path
    if _PROTOCOL.match(s):
        return None
    return s


def _cache_settings(block_size: int | None, cache_type: str | None) -> tuple[int, str]:
    if block_size is None:
        env = os.environ.get("VZCORE_BLOCK_SIZE")
        block_size = int(env) if env else DEFAULT_BLOCK_SIZE
    if cache_type is None:
        cache_type = os.environ.get("VZCORE_CACHE_TYPE") or DEFAULT_CACHE_TYPE
    if block_size <= 0:
        raise ValueError(f"block_size must be a positive number of bytes, got {block_size!r}")
    return block_size, cache_type


class _ReadOnlyFile(io.RawIOBase):
    """A seekable, read-only raw file whose subclasses define ``read``, ``seek`` and ``tell``."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)


class CountingFile(_ReadOnlyFile):
    """A read-only remote file that counts the range requests its cache makes.

    Wraps an fsspec file object: ``read``/``readinto``/``seek``/``tell`` go straight
    through; the fetcher under the file's cache is wrapped so every request (and its bytes)
    is counted; closing logs the totals at DEBUG on ``vzcore.io``.
    """

    def __init__(self, url: str, f: Any, details: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.url = url
        self._f = f
        self.requests = 0
        """Range requests made so far (fetches of the cache, not reads by the caller)."""
        self.bytes_fetched = 0
        """Bytes those requests returned."""
        self.size: int | None = getattr(f, "size", None)
        """File size in bytes (None when the filesystem cannot tell)."""
        self.details: dict[str, Any] = dict(details or {})
        """What the filesystem reported about the file when opening it (ETag, mtime, ...)."""
        # (not f.details: on fsspec's buffered files that property costs another request)
        cache: Any = getattr(f, "cache", None)
        fetcher = getattr(cache, "fetcher", None)
        self._counts_fetches = fetcher is not None
        self._check_ranges = _origin(url) is not None
        if fetcher is not None:

            def counted(start: int, end: int) -> bytes:
                try:
                    data: bytes = fetcher(start, end)
                except ValueError as err:  # fsspec's word for a 200 answer to a ranged GET
                    if "range requests" in str(err):
                        raise RangeRequestsIgnoredError(url) from err
                    raise
                self.requests += 1
                self.bytes_fetched += len(data)
                if (
                    self._check_ranges
                    and start == 0
                    and self.size is not None
                    and (end >= self.size)
                ):
                    # The whole file in one answer: fsspec cannot tell 200 from 206 here.
                    self._check_ranges = False
                    self.requests += check_ranges(url, self._f)
                return data

            cache.fetcher = counted

    def seek(self, offset: int, whence: int = 0) -> int:
        return int(self._f.seek(offset, whence))

    def tell(self) -> int:
        return int(self._f.tell())

    def read(self, size: int | None = -1) -> bytes:
        data: bytes = self._f.read(-1 if size is None else size)
        if not self._counts_fetches:  # no cache to watch: every read is a request
            self.requests += 1
            self.bytes_fetched += len(data)
        return data

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._f.close()
        finally:
            super().close()
            logger.debug(
                "%s: %d request(s), %d bytes fetched (file size %s)",
                self.url,
                self.requests,
                self.bytes_fetched,
                self.size,
            )


_RANGES_OK: set[str] = set()
"""HTTP origins (``scheme://host:port``) seen answering a ranged request with 206."""


def _origin(url: str) -> str | None:
    """Return ``scheme://netloc`` of an HTTP(S) URL, else None."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def check_ranges(url: str, f: Any) -> int:
    """Check that the HTTP server of ``url`` answers ``Range`` requests; return requests made.

    ``f`` is the open fsspec HTTP file. One request for byte 1 of the file, once per origin
    and process (servers answer ranges for all their files or for none), and only for
    HTTP(S) files of two bytes or more. Object stores always answer ranges.

    Raises
    ------
    RangeRequestsIgnoredError
        The server sent the whole file instead of the byte asked for.
    """
    origin = _origin(url)
    size = getattr(f, "size", None)
    fetch = getattr(f, "_fetch_range", None)
    if origin is None or origin in _RANGES_OK or fetch is None or not size or size < 2:
        return 0
    try:
        data = fetch(1, 2)
    except ValueError as err:  # fsspec: "The HTTP server doesn't appear to support range ..."
        if "range requests" in str(err):
            raise RangeRequestsIgnoredError(url) from err
        raise
    if len(data) != 1:
        raise RangeRequestsIgnoredError(url)
    _RANGES_OK.add(origin)
    return 1


def check_url_ranges(url: str, storage_options: dict[str, Any] | None = None) -> None:
    """Check that the server of an HTTP(S) ``url`` answers ``Range`` requests (see check_ranges).

    Other URLs (local files, object stores) need no check.

    Raises
    ------
    RangeRequestsIgnoredError
        The server sent the whole file instead of the byte asked for.
    """
    origin = _origin(url)
    if origin is None or origin in _RANGES_OK:
        return
    bs, ct = _cache_settings(None, None)
    f = _open_remote(url, storage_options, bs, ct)
    try:
        f.requests += check_ranges(url, f._f)
    finally:
        f.close()


class _SharedFile(_ReadOnlyFile):
    """A view of a session's shared file: its own position, close does not close the file."""

    def __init__(self, f: CountingFile) -> None:
        super().__init__()
        self._f = f
        self._pos = 0
        self.url = f.url
        self.size = f.size
        self.details = f.details

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 0:
            self._pos = offset
        elif whence == 1:
            self._pos += offset
        else:
            self._pos = self._f.seek(offset, 2)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        self._f.seek(self._pos)
        data = self._f.read(size)
        self._pos += len(data)
        return data


def _key(url: str, storage_options: dict[str, Any] | None) -> tuple[str, str]:
    return url, repr(sorted((storage_options or {}).items()))


_ASYNC_OPTIONS = ("asynchronous", "loop")
"""fsspec options that tie a filesystem instance to an event loop (see sync_filesystem)."""


def sync_storage_options(storage_options: dict[str, Any] | None) -> dict[str, Any]:
    """Return a copy of ``storage_options`` without ``asynchronous`` and ``loop``.

    See :func:`sync_filesystem` for why.
    """
    return {k: v for k, v in (storage_options or {}).items() if k not in _ASYNC_OPTIONS}


def sync_filesystem(url: str, storage_options: dict[str, Any] | None = None) -> tuple[Any, str]:
    """Return a blocking fsspec filesystem for ``url`` and the path inside it.

    ``storage_options`` may hold ``asynchronous=True`` (or a ``loop``): users pass it, and
    xarray's kerchunk engine and zarr's fsspec store add ``asynchronous: True`` to the very
    dict they are given. fsspec caches filesystem instances by their options, so such a dict
    returns the asynchronous instance made for another event loop, whose blocking methods
    then fail with ``RuntimeError: Loop is not running``. vzcore reads with blocking calls,
    so those two options are left out: the instance is fsspec's ordinary one, on fsspec's
    own I/O loop. The caller's dict is not changed.
    """
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(url, **sync_storage_options(storage_options))
    return fs, path


_listed: dict[tuple[str, str], dict[str, Any]] = {}
"""What the last remote globs reported per file (size, ETag, ...); each entry is used once."""

_LISTED_MAX = 100_000


_session: contextvars.ContextVar[dict[tuple[str, str], CountingFile] | None] = (
    contextvars.ContextVar("vzcore_scan_session", default=None)
)


@contextmanager
def scan_session() -> Iterator[None]:
    """Share remote file handles opened with :func:`open_url` until the block ends.

    Nested sessions reuse the outer one. Each thread has its own session.
    """
    if _session.get() is not None:
        yield
        return
    files: dict[tuple[str, str], CountingFile] = {}
    token = _session.set(files)
    try:
        yield
    finally:
        _session.reset(token)
        for f in files.values():
            f.close()


def _open_remote(
    url: str, storage_options: dict[str, Any] | None, block_size: int, cache_type: str
) -> CountingFile:
    fs, path = sync_filesystem(url, storage_options)
    # One info() call (a HEAD on object stores) gives the size for the cache and the ETag
    # and mtime for stat_source; the file object then needs no request of its own. A glob
    # that just listed the file already knows all that.
    info = _listed.pop(_key(url, storage_options), None) or fs.info(path)
    if info.get("type") == "directory":
        raise IsADirectoryError(f"{url!r} is a directory")
    size = info.get("size")
    try:
        f = fs.open(path, "rb", block_size=block_size, cache_type=cache_type, size=size)
    except TypeError:  # a filesystem whose open() takes no size
        f = fs.open(path, "rb", block_size=block_size, cache_type=cache_type)
    # fsspec's buffered files fetch their details lazily (another HEAD): hand them over.
    with contextlib.suppress(AttributeError, KeyError, TypeError):
        f.details = info
    counted = CountingFile(url, f, info)
    if counted.size is None and isinstance(size, int):
        counted.size = size
    return counted


def open_url(
    url: str | os.PathLike[str],
    storage_options: dict[str, Any] | None = None,
    *,
    block_size: int | None = None,
    cache_type: str | None = None,
) -> Any:
    """Open ``url`` for binary reading (a seekable file-like object; close it when done).

    Parameters
    ----------
    url
        Local path, ``file://`` URL or any fsspec URL (``s3://``, ``https://``, ...).
    storage_options
        fsspec options for remote URLs (ignored for local files).
    block_size, cache_type
        fsspec cache for remote files; defaults :data:`DEFAULT_BLOCK_SIZE` and
        :data:`DEFAULT_CACHE_TYPE` (or the ``VZCORE_BLOCK_SIZE`` / ``VZCORE_CACHE_TYPE``
        environment variables).

    Returns
    -------
    file-like
        For local files, Python's buffered file; for remote ones, a file with ``size``,
        ``requests`` and ``bytes_fetched`` attributes.
    """
    local = local_path(url)
    if local is not None:
        return open(local, "rb")
    s = os.fspath(url)
    bs, ct = _cache_settings(block_size, cache_type)
    files = _session.get()
    if files is None:
        return _open_remote(s, storage_options, bs, ct)
    key = _key(s, storage_options)
    f = files.get(key)
    if f is None:
        f = files[key] = _open_remote(s, storage_options, bs, ct)
    return _SharedFile(f)


def read_head(url: str, n: int, storage_options: dict[str, Any] | None = None) -> bytes:
    """Return up to ``n`` leading bytes of ``url`` (fewer for a short file)."""
    with open_url(url, storage_options) as f:
        data: bytes = f.read(n)
    return data


def expand_glob(pattern: str, storage_options: dict[str, Any] | None = None) -> list[str]:
    """Return the files matching a glob ``pattern``, sorted (local paths or full URLs).

    Local patterns (plain or ``file://``) give local paths; remote ones
    (``s3://bucket/data/*.nc``) are expanded by the fsspec filesystem and give URLs of the
    same protocol.
    """
    local = local_path(pattern)
    if local is not None:
        import glob

        return sorted(glob.glob(os.path.expanduser(local)))
    fs, path = sync_filesystem(pattern, storage_options)
    found = fs.glob(path, detail=True)
    urls = []
    if len(_listed) > _LISTED_MAX:
        _listed.clear()
    for p, info in found.items():
        if info.get("type") == "directory":
            continue
        url = fs.unstrip_protocol(p)
        urls.append(url)
        if info.get("size") is not None:
            _listed[_key(url, storage_options)] = dict(info)
    return sorted(urls)


def stat_source(url: str, storage_options: dict[str, Any] | None = None) -> SourceInfo:
    """Return the size, modification time and (where the store gives one) ETag of ``url``.

    Local files are stat'ed directly; others through fsspec's ``info()``. Inside a
    :func:`scan_session` a remote file already open answers from what opening it reported,
    without another request.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    """
    from vzcore.manifests.sources import SourceInfo

    local = local_path(url)
    if local is not None:
        st = os.stat(local)
        return SourceInfo(size=st.st_size, mtime=st.st_mtime)
    files = _session.get()
    if files is not None:
        shared = files.get(_key(url, storage_options))
        if shared is not None and shared.details:
            return SourceInfo.from_fsspec_info(shared.details)
    fs, path = sync_filesystem(url, storage_options)
    return SourceInfo.from_fsspec_info(fs.info(path))
