"""File access for readers: the one opener, its block cache, its scan session, its error policy.

:func:`open_url` is how core and readers open a file:

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

Readers open their input with :func:`open_source`: a :class:`SourceFile` with the size,
positional reads and a file object, which refuses an empty file. One error policy
(:func:`source_error`) holds for every opener here: a missing file, a forbidden one (file
permissions, HTTP 401/403) and a directory become :class:`~vzcore.errors.SourceAccessError`
subclasses naming the URL (each also the builtin ``FileNotFoundError``, ``PermissionError``
or ``IsADirectoryError``); other failures (a reset connection, a timeout) pass unchanged,
so a retry can still tell they are transient. What the bytes mean is the reader's business.
"""

from __future__ import annotations

import contextlib
import contextvars
import gc
import io
import logging
import os
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, Self

from vzcore._urls import (
    http_origin,
    local_path,
    options_key,
    sync_filesystem,
    take_listed,
)
from vzcore.errors import (
    CorruptFileError,
    RangeRequestsIgnoredError,
    SourceAccessError,
    SourceIsADirectoryError,
    SourceNotFoundError,
    SourcePermissionError,
)

if TYPE_CHECKING:
    from types import TracebackType

    from vzcore.manifests.sources import SourceInfo

logger = logging.getLogger("vzcore.io")

DEFAULT_BLOCK_SIZE = 2 * 2**20
"""Bytes fetched per request from remote files (``VZCORE_BLOCK_SIZE`` overrides)."""

DEFAULT_CACHE_TYPE = "blockcache"
"""fsspec cache for remote files (``VZCORE_CACHE_TYPE`` overrides): an LRU of blocks."""


def _cache_settings(block_size: int | None, cache_type: str | None) -> tuple[int, str]:
    if block_size is None:
        env = os.environ.get("VZCORE_BLOCK_SIZE")
        block_size = int(env) if env else DEFAULT_BLOCK_SIZE
    if cache_type is None:
        cache_type = os.environ.get("VZCORE_CACHE_TYPE") or DEFAULT_CACHE_TYPE
    if block_size <= 0:
        raise ValueError(f"block_size must be a positive number of bytes, got {block_size!r}")
    return block_size, cache_type


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = True
_collecting = False
"""True while a cyclic collection runs, on any thread (kept by :func:`_watch_collections`)."""


def _watch_collections(phase: str, info: dict[str, int]) -> None:
    """``gc.callbacks`` entry: note when a collection starts and ends (one at a time)."""
    global _collecting
    _collecting = phase == "start"


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Keep Python's cyclic garbage collector off while a remote read waits for fsspec.

    h5py (and any library that reads through a Python file object while holding its own
    lock) blocks in a remote read until fsspec's event-loop thread has fetched the bytes. A
    cyclic collection that starts on that thread and frees an h5py object needs h5py's lock:
    both threads wait for ever. Pausing collection for the length of the read (process-wide,
    nested reads counted) lets the loop finish; the collection runs later, on whichever
    thread allocates next. A collection that had already started on that thread when the
    read began is not stopped by this: :func:`collection_paused` covers that case.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


COLLECTION_WAIT = 10.0
"""Seconds :func:`collection_paused` waits at most for a running collection to end."""


@contextmanager
def collection_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector off for the block, once no collection is running.

    For a reader that hands a remote file to a library which reads it while holding a
    lock of its own (h5py): enter this *before* the library takes its lock, around all of
    its use of the file. Each read already pauses collection (:func:`_cyclic_gc_paused`),
    but a collection that started on another thread before the read, on fsspec's
    event-loop thread for one, runs on, and when it frees one of the library's objects it
    waits for the lock the reading thread holds while that thread waits for the loop: a
    deadlock. Here collection is turned off first and then any collection already running
    is left to finish (it can take the library's lock: nothing holds it yet), for at most
    :data:`COLLECTION_WAIT` seconds. Collection stays off until the block ends (nested and
    concurrent pauses are counted); garbage made meanwhile is collected afterwards.
    """
    if _watch_collections not in gc.callbacks:
        gc.callbacks.append(_watch_collections)  # (first use: from then on)
    with _cyclic_gc_paused():
        deadline = time.monotonic() + COLLECTION_WAIT
        while _collecting and time.monotonic() < deadline:
            time.sleep(0.001)  # (releases the GIL: the collection goes on)
        yield


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
        self._check_ranges = http_origin(url) is not None
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
        with _cyclic_gc_paused():
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
    origin = http_origin(url)
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
    origin = http_origin(url)
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


class _SourceView(_SharedFile):
    """A :class:`_SharedFile` whose reads follow the one error policy (:func:`source_error`)."""

    def read(self, size: int | None = -1) -> bytes:
        with source_errors(self.url):
            return super().read(size)


_session: contextvars.ContextVar[dict[tuple[str, str], CountingFile] | None] = (
    contextvars.ContextVar("vzcore_scan_session", default=None)
)


class _LocalFiles:
    """What a :func:`scan_session` keeps of the local files it opened (one of each kind).

    ``whole``: the bytes of the last small file a reader read whole (:func:`session_bytes`);
    ``parked``: the last file opened to pick its reader, for the reader to open
    (:func:`park_source`); ``stats``: size and mtime of each file as opened (``fstat`` of
    the descriptor that was read), for :func:`scanned_source`.
    """

    __slots__ = ("parked", "stats", "whole")

    def __init__(self) -> None:
        self.whole: dict[str, bytes] = {}
        self.parked: dict[str, SourceFile] = {}
        self.stats: dict[str, tuple[int, float]] = {}

    def close(self) -> None:
        for f in self.parked.values():
            f.close()
        self.parked.clear()


_local_files: contextvars.ContextVar[_LocalFiles | None] = contextvars.ContextVar(
    "vzcore_scan_local_files", default=None
)

WHOLE_FILE_CAP = 2**20
"""A local file of at most this many bytes that a reader reads whole inside a
:func:`scan_session` is kept (the last such file only) for :func:`session_bytes`."""

_STATS_KEPT = 64
"""Local files whose ``fstat`` a session keeps for :func:`scanned_source` (the last ones)."""


class _Block(contextlib.ContextDecorator):
    """A context manager (and decorator) as a class: cheaper to enter than a generator's.

    Subclasses set up in ``__enter__`` and end the block in :meth:`_leave`, which gets the
    exception raised in the block (or None) and may raise another; the exception is never
    swallowed.
    """

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        self._leave(exc)
        return False

    def _leave(self, exc: BaseException | None) -> None:
        """End the block; ``exc`` is what was raised in it, or None."""


class scan_session(_Block):  # noqa: N801  # a function's name, as it was
    """Share remote file handles opened with :func:`open_url` until the block ends.

    The last local file of at most :data:`WHOLE_FILE_CAP` bytes that a reader read whole
    (``SourceFile.read_at(0, size)``) is kept too: loading a coordinate of that file in the
    same session slices those bytes (:func:`session_bytes`) instead of opening and reading
    the file again. A local file opened to pick its reader is handed to the reader
    (:func:`park_source`), and :func:`scanned_source` answers from the ``fstat`` of the
    descriptor each local file was read through. Nested sessions reuse the outer one. Each thread has its own session.
    Use it as ``with scan_session():`` or as a decorator, ``@scan_session()`` (each call
    of the decorated function its own session, or the caller's). (A class rather than a
    generator-based ``contextmanager``, as :class:`source_errors`: every file opened is
    one or two sessions entered, and a generator costs several times more.)
    """

    def __init__(self) -> None:
        self._files: dict[tuple[str, str], CountingFile] = {}
        self._local: _LocalFiles | None = None  # (made by the outermost __enter__)
        self._tokens: (
            tuple[
                contextvars.Token[dict[tuple[str, str], CountingFile] | None],
                contextvars.Token[_LocalFiles | None],
            ]
            | None
        ) = None

    def _recreate_cm(self) -> scan_session:
        return scan_session()  # (a decorated function's every call: its own block)

    def __enter__(self) -> None:
        if _session.get() is not None:
            return  # nested: the outer session's
        local = self._local = _LocalFiles()
        self._tokens = (_session.set(self._files), _local_files.set(local))

    def _leave(self, exc: BaseException | None) -> None:
        tokens = self._tokens
        if tokens is None:
            return
        self._tokens = None
        _local_files.reset(tokens[1])
        _session.reset(tokens[0])
        if self._local is not None:
            self._local.close()
        for f in self._files.values():
            f.close()
        self._files.clear()  # (the object may be entered again: nothing closed is handed out)


def session_bytes(url: str) -> bytes | None:
    """Return the bytes of the local file ``url`` as read whole in this scan session, or None."""
    local = _local_files.get()
    return None if local is None else local.whole.get(url)


def park_source(source: SourceFile) -> bool:
    """Keep the open local ``source`` for :func:`open_source` of its URL in this scan session.

    The core opens a file to read its first bytes and pick its reader; the reader then
    opens it again. Inside a :func:`scan_session` the reader gets this same open file
    instead (the same descriptor, its ``fstat`` size), once; the session closes it if no
    reader takes it. One file is kept (a file parked earlier is closed). Returns False,
    keeping nothing, outside a session or for a remote file (remote files are shared by the
    session anyway): then close ``source`` yourself.
    """
    local = _local_files.get()
    if local is None or source._fd is None:
        return False
    local.close()
    local.parked[source.url] = source
    return True


def _open_remote(
    url: str, storage_options: dict[str, Any] | None, block_size: int, cache_type: str
) -> CountingFile:
    fs, path = sync_filesystem(url, storage_options)
    # One info() call (a HEAD on object stores) gives the size for the cache and the ETag
    # and mtime for stat_source; the file object then needs no request of its own. A glob
    # that just listed the file already knows all that.
    info = take_listed(url, storage_options) or fs.info(path)
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


def _http_status(err: BaseException) -> int | None:
    """Return the HTTP status behind ``err`` (itself or what it was raised from), if any."""
    seen: BaseException | None = err
    for _ in range(4):  # fsspec raises FileNotFoundError from the HTTP client's error
        if seen is None:
            return None
        status = getattr(seen, "status", None)
        if isinstance(status, int) and type(seen).__module__.startswith("aiohttp"):
            return status
        seen = seen.__cause__ or seen.__context__
    return None


def source_error(url: str, err: BaseException) -> BaseException:
    """Return what to raise for ``err``, met opening or reading the source file ``url``.

    The one policy of every opener: a missing file (HTTP 404/410) becomes
    :class:`~vzcore.errors.SourceNotFoundError`, a forbidden one (file permissions, HTTP
    401/403) :class:`~vzcore.errors.SourcePermissionError`, a directory
    :class:`~vzcore.errors.SourceIsADirectoryError`, each naming ``url``. Anything else is
    returned unchanged (a reset connection or a timeout stays transient for the retries),
    and a connection failure that fsspec's HTTP filesystem reports as a missing file
    becomes that failure again.
    """
    if isinstance(err, SourceAccessError):
        return err
    status = _http_status(err)
    if status in (401, 403):
        return SourcePermissionError(url, f"permission denied (HTTP {status})")
    if isinstance(err, IsADirectoryError):
        return SourceIsADirectoryError(url)
    if isinstance(err, PermissionError):
        return SourcePermissionError(url)
    if status in (404, 410):
        return SourceNotFoundError(url, f"no such file (HTTP {status})")
    if isinstance(err, FileNotFoundError | NotADirectoryError):
        cause = err.__cause__
        if status is not None:  # another answer (500, ...): fsspec's own report stands
            return err
        if isinstance(cause, OSError) and type(cause).__module__.startswith("aiohttp"):
            return cause  # fsspec says "not found" when it could not connect at all
        return SourceNotFoundError(url)
    return err


class source_errors(_Block):  # noqa: N801  # a function's name, as it was
    """Raise what :func:`source_error` says for errors inside the block.

    For the rare access a reader makes outside :func:`open_source` (e.g. asking a
    filesystem whether ``url`` is a directory). (A class rather than a generator-based
    ``contextmanager``: every read of a source file enters one, and a generator costs
    several times more to enter and leave.)
    """

    def __init__(self, url: str) -> None:
        self.url = url

    def _leave(self, exc: BaseException | None) -> None:
        if not isinstance(exc, Exception):  # (none, or KeyboardInterrupt and the like)
            return
        mapped = source_error(self.url, exc)
        if mapped is not exc:  # (else raised unchanged)
            raise mapped from exc


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

    Raises
    ------
    vzcore.errors.SourceAccessError
        The file is missing, forbidden or a directory (see :func:`source_error`).
    """
    s = os.fspath(url)
    with source_errors(s):
        local = local_path(s)
        if local is not None:
            return open(local, "rb")
        bs, ct = _cache_settings(block_size, cache_type)
        files = _session.get()
        if files is None:
            return _open_remote(s, storage_options, bs, ct)
        key = options_key(s, storage_options)
        f = files.get(key)
        if f is None:
            f = files[key] = _open_remote(s, storage_options, bs, ct)
        return _SharedFile(f)


def read_head(url: str, n: int, storage_options: dict[str, Any] | None = None) -> bytes:
    """Return up to ``n`` leading bytes of ``url`` (fewer for a short file)."""
    with open_url(url, storage_options) as f, source_errors(url):
        data: bytes = f.read(n)
    return data


def stat_source(url: str, storage_options: dict[str, Any] | None = None) -> SourceInfo:
    """Return the size, modification time and (where the store gives one) ETag of ``url``.

    Local files are stat'ed directly; others through fsspec's ``info()``. Inside a
    :func:`scan_session` a remote file already open answers from what opening it reported,
    without another request.

    Raises
    ------
    vzcore.errors.SourceNotFoundError
        The file does not exist (a ``FileNotFoundError``).
    vzcore.errors.SourceAccessError
        It may not be read (see :func:`source_error`).
    """
    from vzcore.manifests.sources import SourceInfo

    with source_errors(url):
        local = local_path(url)
        if local is not None:
            st = os.stat(local)
            return SourceInfo(size=st.st_size, mtime=st.st_mtime)
        files = _session.get()
        if files is not None:
            shared = files.get(options_key(url, storage_options))
            if shared is not None and shared.details:
                return SourceInfo.from_fsspec_info(shared.details)
        fs, path = sync_filesystem(url, storage_options)
        return SourceInfo.from_fsspec_info(fs.info(path))


def scanned_source(url: str, storage_options: dict[str, Any] | None = None) -> SourceInfo:
    """Return :func:`stat_source` of ``url`` as the running scan read it.

    A local file opened in this :func:`scan_session` (by :func:`open_source`) answers from
    the ``fstat`` of the descriptor it was read through, taken when it was opened: the file
    that was read, as it was then (a change after that is what :func:`vzcore.verify`
    reports), without another ``stat``. Anything else is :func:`stat_source`.

    Raises
    ------
    vzcore.errors.SourceAccessError
        As :func:`stat_source`.
    """
    opened = _local_files.get()
    known = None if opened is None else opened.stats.get(url)
    if known is None:
        return stat_source(url, storage_options)
    from vzcore.manifests.sources import SourceInfo

    return SourceInfo(size=known[0], mtime=known[1])


EMPTY_FILE = "the file is empty (0 bytes); it was not written completely or its download failed"
"""What is true of a source file of 0 bytes, for messages."""


class SourceFile:
    """One source file opened for a reader: its size, positional reads and a file object.

    Made by :func:`open_source`; close it (or use it as a context manager) when done.
    Every read goes through the one error policy (:func:`source_error`); a short read at
    the end of the file is returned short, for the reader to judge.

    Attributes
    ----------
    url
        The file's URL, as given.
    local_path
        Its local path, or None for a remote file: libraries with their own file driver
        (h5py, tifffile) open local files by path.
    size
        Its size in bytes (None when a remote server does not say).
    """

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        self.url = url
        self.local_path = local_path(url)
        self._fd: int | None = None
        self._remote: Any = None
        self._file: Any = None
        self.size: int | None = None
        with source_errors(url):
            if self.local_path is not None:
                self._fd = os.open(self.local_path, os.O_RDONLY)
                st = os.fstat(self._fd)
                if stat.S_ISDIR(st.st_mode):
                    self.close()
                    raise SourceIsADirectoryError(url)
                self.size = st.st_size
                opened = _local_files.get()
                if opened is not None:  # (for scanned_source in this session)
                    if len(opened.stats) >= _STATS_KEPT:
                        opened.stats.clear()
                    opened.stats[url] = (st.st_size, st.st_mtime)
            else:
                # vzcore's remote opener: a block cache sized for object storage, shared
                # inside a scan session, so many small reads become a few range requests.
                self._remote = open_url(url, storage_options)
                size = getattr(self._remote, "size", None)
                if size is None:  # a filesystem that did not say: the end of the file
                    with contextlib.suppress(OSError, ValueError):
                        size = self._remote.seek(0, os.SEEK_END)
                self.size = int(size) if size is not None else None

    @property
    def file(self) -> Any:
        """A seekable binary file object over the source (for libraries that read files).

        Its position is its own (positional reads do not move it); it is closed with the
        :class:`SourceFile`. A remote file that goes missing or forbidden while a library
        reads it raises what :func:`source_error` says.
        """
        if self._file is None:
            if self.local_path is not None:
                with source_errors(self.url):
                    self._file = open(self.local_path, "rb")  # noqa: SIM115 (closed by close())
            else:  # a view of the same cached remote file, with its own position
                base = self._remote._f if isinstance(self._remote, _SharedFile) else self._remote
                self._file = _SourceView(base)
        return self._file

    def read_at(self, offset: int, length: int) -> bytes:
        """Return ``length`` bytes from ``offset`` (fewer at the end of the file)."""
        if length <= 0:
            return b""
        with source_errors(self.url):
            if self._fd is not None:
                parts: list[bytes] = []
                got = 0
                while got < length:  # one call reads at most 2 GiB (Linux)
                    data = os.pread(self._fd, length - got, offset + got)
                    if not data:
                        break
                    parts.append(data)
                    got += len(data)
                out = parts[0] if len(parts) == 1 else b"".join(parts)
                if offset == 0 and got == self.size and got <= WHOLE_FILE_CAP:
                    local = _local_files.get()
                    if local is not None:  # the whole file, read in a scan session
                        local.whole.clear()  # (one file kept: memory bounded by the cap)
                        local.whole[self.url] = out
                return out
            self._remote.seek(offset)
            remote: bytes = self._remote.read(length)
            return remote

    def read_probe(self, offset: int, length: int) -> bytes:
        """Return ``length`` bytes from ``offset`` in one small read (fewer at the end).

        For a remote file, one ranged request of just those bytes, past the block cache:
        for probes far into a file (a signature after a large user block), where a block
        of the cache would fetch megabytes. Locally the same as :meth:`read_at`.
        """
        base = self._remote._f if isinstance(self._remote, _SharedFile) else self._remote
        fetch = getattr(getattr(base, "_f", None), "_fetch_range", None)
        if fetch is None or self.size is None or length <= 0:
            return self.read_at(offset, length)
        with source_errors(self.url), _cyclic_gc_paused():
            data: bytes = fetch(offset, min(offset + length, self.size))
        base.requests += 1
        base.bytes_fetched += len(data)
        return data

    def read_all(self) -> bytes:
        """Return the whole file."""
        if self.size is not None:
            return self.read_at(0, self.size)
        with source_errors(self.url):
            self._remote.seek(0)
            data: bytes = self._remote.read()
            return data

    def close(self) -> None:
        """Release the file (a shared remote handle stays open for its scan session)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        for f in (self._file, self._remote):
            if f is not None:
                f.close()
        self._file = self._remote = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:  # (closes whatever ended the block)
        self.close()

    def __repr__(self) -> str:
        return f"SourceFile({self.url!r}, size={self.size!r})"


def open_source(
    url: str, storage_options: dict[str, Any] | None = None, *, allow_empty: bool = False
) -> SourceFile:
    """Open the source file ``url`` for a reader (use it as a context manager).

    Parameters
    ----------
    url
        Absolute URL (or local path) of the file.
    storage_options
        fsspec options for remote URLs.
    allow_empty
        Accept a file of 0 bytes (no reader of vzcore does: every format has a header).

    Returns
    -------
    SourceFile
        With ``size``, ``read_at``, ``read_all``, ``file`` and ``local_path``.

    Raises
    ------
    vzcore.errors.SourceAccessError
        The file is missing, forbidden or a directory (see :func:`source_error`).
    vzcore.errors.CorruptFileError
        It is empty (0 bytes), unless ``allow_empty``.
    """
    local = _local_files.get()
    parked = None if local is None else local.parked.pop(url, None)
    source = parked if parked is not None else SourceFile(url, storage_options)
    if source.size == 0 and not allow_empty:
        source.close()
        raise CorruptFileError(url, EMPTY_FILE)
    return source
