"""File access for plugins: the one place vzcore opens files and URLs, and writes files.

Readers open their input with :func:`open_url`: local paths and ``file://`` URLs are plain
file objects; other fsspec URLs (``s3://``, ``https://``, ...) get a block cache sized for
object storage and a request counter logged at DEBUG on the ``vzcore.io`` logger. Inside a
:func:`scan_session` (every ``vzcore.open_virtual_*`` call runs in one) a remote file is
opened once and shared by sniffing, parsing, :func:`stat_source` and coordinate loading.

Writers create their outputs with :func:`atomic_text_file` (one file) and
:func:`atomic_directory` (a directory): written beside the target, fsync'ed, then renamed
into place, so a reader sees the old output or the complete new one.
"""

from __future__ import annotations

from vzcore._atomic import WriteMode, atomic_directory, atomic_text_file, local_target
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
    "WriteMode",
    "atomic_directory",
    "atomic_text_file",
    "expand_glob",
    "local_path",
    "local_target",
    "open_url",
    "read_head",
    "scan_session",
    "stat_source",
    "to_url",
]
