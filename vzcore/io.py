"""File access for reader plugins: the one place vzcore opens files and URLs.

Readers open their input with :func:`open_url`: local paths and ``file://`` URLs are plain
file objects; other fsspec URLs (``s3://``, ``https://``, ...) get a block cache sized for
object storage and a request counter logged at DEBUG on the ``vzcore.io`` logger. Inside a
:func:`scan_session` (every ``vzcore.open_virtual_*`` call runs in one) a remote file is
opened once and shared by sniffing, parsing, :func:`stat_source` and coordinate loading.
"""

from __future__ import annotations

from vzcore._urls import (
    expand_glob,
    local_path,
    open_url,
    read_head,
    scan_session,
    stat_source,
    to_url,
)

__all__ = [
    "expand_glob",
    "local_path",
    "open_url",
    "read_head",
    "scan_session",
    "stat_source",
    "to_url",
]
