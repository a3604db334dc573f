"""File access for plugins: the one place vzcore opens files and URLs, and writes files.

Readers open their input with :func:`open_source`: a :class:`SourceFile` with the file's
size, positional reads (:meth:`SourceFile.read_at`), the whole file
(:meth:`SourceFile.read_all`) and a file object for libraries (:attr:`SourceFile.file`),
under one error policy (:func:`source_error`): a missing file, a forbidden one and a
directory raise :class:`~vzcore.errors.SourceAccessError` subclasses naming the URL, an
empty file :class:`~vzcore.errors.CorruptFileError`, the same for every reader. What the
bytes mean is the reader's business.

Underneath, :func:`open_url` opens any URL: local paths and ``file://`` URLs are plain
file objects; other fsspec URLs (``s3://``, ``https://``, ...) get a block cache sized for
object storage and a request counter logged at DEBUG on the ``vzcore.io`` logger. Inside a
:func:`scan_session` (every ``vzcore.open_virtual_*`` call runs in one) a remote file is
opened once and shared by sniffing, parsing, :func:`stat_source` and coordinate loading;
the last small local file a reader read whole (``SourceFile.read_at(0, size)``) is kept
for loading its coordinates without reading the file again.

Writers create their outputs with :func:`atomic_text_file` or :func:`atomic_binary_file`
(one file) and
:func:`atomic_directory` (a directory): written beside the target, fsync'ed, then renamed
into place, so a reader sees the old output or the complete new one.
"""

from __future__ import annotations

from vzcore._atomic import (
    WriteMode,
    atomic_binary_file,
    atomic_directory,
    atomic_text_file,
    local_target,
)
from vzcore._file_access import (
    EMPTY_FILE,
    SourceFile,
    collection_paused,
    open_source,
    open_url,
    read_head,
    scan_session,
    source_error,
    source_errors,
    stat_source,
)
from vzcore._urls import expand_glob, local_path, to_url

__all__ = [
    "EMPTY_FILE",
    "SourceFile",
    "WriteMode",
    "atomic_binary_file",
    "atomic_directory",
    "atomic_text_file",
    "collection_paused",
    "expand_glob",
    "local_path",
    "local_target",
    "open_source",
    "open_url",
    "read_head",
    "scan_session",
    "source_error",
    "source_errors",
    "stat_source",
    "to_url",
]
