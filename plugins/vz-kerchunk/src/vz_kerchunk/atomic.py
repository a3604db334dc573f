"""Atomic replacement of a local output file.

The output is written to a temporary file in the target's own directory (so the final
rename never crosses file systems), flushed and fsync'ed, then moved into place with
:func:`os.replace` (or :func:`os.link` for an exclusive create). On any exception, a
KeyboardInterrupt included, the temporary file is removed and the previous target, if any,
is untouched. A reader of the target sees either the old file or the complete new one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal
from urllib.parse import unquote, urlsplit

from vzcore.errors import WriteError

__all__ = ["atomic_text_file", "local_target"]

Mode = Literal["w", "w-"]


def local_target(target: str | os.PathLike[str]) -> Path:
    """Return the local path of ``target`` (a path or a ``file://`` URL), made absolute.

    Raises
    ------
    vzcore.errors.WriteError
        For URLs of other protocols (remote targets are not supported yet).
    """
    s = os.fspath(target)
    if "://" in s:
        parts = urlsplit(s)
        if parts.scheme != "file":
            raise WriteError(
                f"Cannot write {s!r}: remote targets ({parts.scheme}://) are not supported by "
                "the kerchunk JSON writer yet. Write to a local path and upload the file (its "
                "references keep pointing at the original URLs)."
            )
        s = unquote(parts.path)
    return Path(s).expanduser().absolute()


def _check_target(path: Path, mode: Mode) -> None:
    if mode not in ("w", "w-"):
        raise ValueError(f"mode must be 'w' (overwrite) or 'w-' (fail if it exists), got {mode!r}")
    if path.is_dir():
        raise WriteError(f"Cannot write {str(path)!r}: it is a directory; pass a file path.")
    if mode == "w-" and path.exists():
        raise WriteError(
            f"Cannot write {str(path)!r}: it already exists and mode='w-'; pass mode='w' to "
            "overwrite it."
        )
    if not path.parent.is_dir():
        raise WriteError(
            f"Cannot write {str(path)!r}: its directory {str(path.parent)!r} does not exist; "
            "create it first."
        )


def _commit(tmp: Path, path: Path, mode: Mode) -> None:
    if mode == "w-":
        try:
            os.link(tmp, path)  # atomic exclusive create: fails if the target appeared meanwhile
        except FileExistsError as err:
            raise WriteError(
                f"Cannot write {str(path)!r}: it was created by someone else while writing, and "
                "mode='w-'; pass mode='w' to overwrite it."
            ) from err
        except OSError:
            # File system without hard links: fall back to a checked rename (tiny race window).
            if path.exists():
                raise WriteError(
                    f"Cannot write {str(path)!r}: it already exists and mode='w-'; pass "
                    "mode='w' to overwrite it."
                ) from None
            os.replace(tmp, path)
        else:
            tmp.unlink()
    else:
        os.replace(tmp, path)
    with contextlib.suppress(OSError):  # durability of the rename; not possible everywhere
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


@contextlib.contextmanager
def atomic_text_file(target: str | os.PathLike[str], mode: Mode = "w-") -> Iterator[IO[str]]:
    """Open a temporary text file that replaces ``target`` when the block succeeds.

    Parameters
    ----------
    target
        Local path or ``file://`` URL of the output.
    mode
        ``"w-"`` refuses an existing target (WriteError); ``"w"`` replaces it.

    Yields
    ------
    IO[str]
        A UTF-8 text file to write into.
    """
    path = local_target(target)
    _check_target(path, mode)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        # O_EXCL: never clobber; 0o666 so the umask gives the file normal permissions.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as err:
        raise WriteError(f"Cannot write {str(path)!r}: {err}") from err
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _commit(tmp, path, mode)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(err, OSError) and not isinstance(err, WriteError):
            raise WriteError(f"Cannot write {str(path)!r}: {err}") from err
        raise
