"""Turning command-line paths, globs and URLs into the list of files to scan."""

from __future__ import annotations

import os
from typing import Any

from vzcore.cli.options import UsageError, is_remote

__all__ = ["expand_inputs"]


def expand_inputs(items: list[str], storage_options: dict[str, Any] | None) -> list[str]:
    """Expand globs (local or remote, sorted) and check that plain local paths exist.

    Raises
    ------
    UsageError
        When a glob matches nothing or a local path does not exist or is a directory.
    """
    from vzcore._urls import expand_glob

    out: list[str] = []
    for item in items:
        if any(ch in item for ch in "*?["):
            found = expand_glob(item, storage_options)
            if not found:
                raise UsageError(
                    f"no file matches {item!r}; check the pattern (quote it so "
                    "the shell does not expand it)"
                )
            out.extend(found)
            continue
        if not is_remote(item):
            local = item.removeprefix("file://")
            if os.path.isdir(local):
                raise UsageError(
                    f"{item!r} is a directory; pass its files, e.g. '{os.path.join(item, '*.nc')}'"
                )
            if not os.path.exists(local):
                raise UsageError(f"no such file: {item!r}")
        out.append(item)
    if not out:
        raise UsageError("no input files given")
    return list(dict.fromkeys(out))
