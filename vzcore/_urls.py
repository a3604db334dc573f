"""URL helpers: every path written into a manifest is an absolute URL."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

__all__ = ["open_url", "read_head", "to_url"]

_PROTOCOL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def to_url(path: str | os.PathLike[str]) -> str:
    """Return ``path`` as an absolute URL (local paths become ``file:///abs/path``)."""
    s = os.fspath(path)
    if _PROTOCOL.match(s):
        if s.startswith("file://"):
            return "file://" + str(Path(s[len("file://") :]).resolve())
        return s
    # Not Path.as_uri(): fsspec does not undo its percent-encoding of spaces and the like.
    return "file://" + str(Path(s).expanduser().resolve())


def open_url(url: str, storage_options: dict[str, Any] | None = None) -> Any:
    """Open ``url`` for binary reading through fsspec (a file-like object)."""
    import fsspec

    return fsspec.open(url, "rb", **(storage_options or {})).open()


def read_head(url: str, n: int, storage_options: dict[str, Any] | None = None) -> bytes:
    """Return up to ``n`` leading bytes of ``url`` (fewer for a short file)."""
    with open_url(url, storage_options) as f:
        data: bytes = f.read(n)
    return data
