"""URL and glob helpers: absolute URLs for manifests, local paths, fsspec filesystems.

Every path written into a manifest is an absolute URL (``file:///abs/path``, ``s3://...``,
``https://...``): :func:`to_url` makes one, :func:`local_path` gives back the local path of
a local one. :func:`expand_glob` expands a (local or remote) glob; what a remote listing
reports about each file is kept for the opener (:mod:`vzcore._file_access`), so opening a
listed file costs no request of its own.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = [
    "expand_glob",
    "http_origin",
    "local_path",
    "options_key",
    "sync_filesystem",
    "sync_storage_options",
    "take_listed",
    "to_url",
]

_PROTOCOL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def to_url(path: str | os.PathLike[str]) -> str:
    """Return ``path`` as an absolute URL (local paths become ``file:///abs/path``)."""
    s = os.fspath(path)
    if _PROTOCOL.match(s):
        if s.startswith("file://"):
            return "file://" + _resolved(s[len("file://") :])
        return s
    # Not Path.as_uri(): fsspec does not undo its percent-encoding of spaces and the like.
    return "file://" + _resolved(s, home=True)


def _resolved(s: str, *, home: bool = False) -> str:
    """Return ``str(Path(s).resolve())`` (after ``expanduser()`` when ``home``).

    From Python 3.13 ``Path.resolve`` is ``os.path.realpath`` of the path, which gives the
    same string without building two ``Path`` objects. Paths starting with ``~`` (where
    ``expanduser`` may raise) and Python 3.12 (whose ``resolve`` also raises on symlink
    loops) go through ``Path``.
    """
    if _REALPATH_IS_RESOLVE and not s.startswith("~"):
        return os.path.realpath(s)
    p = Path(s).expanduser() if home else Path(s)
    return str(p.resolve())


_REALPATH_IS_RESOLVE = sys.version_info >= (3, 13)
"""Whether ``Path.resolve()`` is ``os.path.realpath`` (CPython 3.13's ``pathlib``)."""


def local_path(url: str | os.PathLike[str]) -> str | None:
    """Return the local filesystem path of a plain path or ``file://`` URL, else None.

    A percent-encoded ``file://`` URL whose literal path does not exist but whose decoded
    path does gives the decoded path.
    """
    s = os.fspath(url)
    if s.startswith("file://"):
        path = s[len("file://") :]
        # (without "%" the decoded path is the same: no filesystem checks)
        if "%" in path and not os.path.exists(path) and os.path.exists(unquote(path)):
            path = unquote(path)
        return path
    if _PROTOCOL.match(s):
        return None
    return s


def http_origin(url: str) -> str | None:
    """Return ``scheme://netloc`` of an HTTP(S) URL, else None."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def options_key(url: str, storage_options: dict[str, Any] | None) -> tuple[str, str]:
    """Return a hashable key for a URL opened with these storage options."""
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


def take_listed(url: str, storage_options: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return (and forget) what a remote glob reported about ``url``, if it listed it."""
    return _listed.pop(options_key(url, storage_options), None)


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
            _listed[options_key(url, storage_options)] = dict(info)
    return sorted(urls)
