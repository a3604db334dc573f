"""Atomic replacement of a local output file or directory (writers' file access).

Public through :mod:`vzcore.io`.

The output is written to a temporary file in the target's own directory (so the final
rename never crosses file systems), flushed and fsync'ed, then moved into place with
:func:`os.replace` (or :func:`os.link` for an exclusive create). On any exception, a
KeyboardInterrupt included, the temporary file is removed and the previous target, if any,
is untouched. A reader of the target sees either the old file or the complete new one.

:func:`atomic_directory` does the same for an output directory (the Parquet layout): a
temporary directory beside the target is filled, fsync'ed and renamed into place. On Linux
an existing target is swapped with it in one step (``renameat2(RENAME_EXCHANGE)``), so the
target path always holds either the complete old or the complete new directory; elsewhere
the old directory is first renamed aside, leaving a moment in which the target is absent
(never half-written).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import unquote, urlsplit

from vzcore.errors import WriteError

__all__ = [
    "WriteMode",
    "atomic_binary_file",
    "atomic_directory",
    "atomic_text_file",
    "local_target",
]

WriteMode = Literal["w", "w-"]
"""``"w-"``: refuse an existing target; ``"w"``: replace it."""
Mode = WriteMode


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
                "vzcore's file writers yet. Write to a local path and upload the output (its "
                "references keep pointing at the original URLs)."
            )
        s = unquote(parts.path)
    return Path(s).expanduser().absolute()


def _check_mode(mode: Mode) -> None:
    if mode not in ("w", "w-"):
        raise ValueError(f"mode must be 'w' (overwrite) or 'w-' (fail if it exists), got {mode!r}")


def _check_parent(path: Path) -> None:
    if not path.parent.is_dir():
        raise WriteError(
            f"Cannot write {str(path)!r}: its directory {str(path.parent)!r} does not exist; "
            "create it first."
        )


def _check_target(path: Path, mode: Mode) -> None:
    _check_mode(mode)
    if path.is_dir():
        raise WriteError(f"Cannot write {str(path)!r}: it is a directory; pass a file path.")
    if mode == "w-" and path.exists():
        raise WriteError(
            f"Cannot write {str(path)!r}: it already exists and mode='w-'; pass mode='w' to "
            "overwrite it."
        )
    _check_parent(path)


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
    _fsync_parent(path)


def _fsync(path: str | os.PathLike[str]) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_parent(path: Path) -> None:
    with contextlib.suppress(OSError):  # durability of the rename; not possible everywhere
        _fsync(path.parent)


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
    with _atomic_file(target, mode, binary=False) as f:
        yield f


@contextlib.contextmanager
def atomic_binary_file(target: str | os.PathLike[str], mode: Mode = "w-") -> Iterator[IO[bytes]]:
    """Open a temporary binary file that replaces ``target`` when the block succeeds.

    As :func:`atomic_text_file`, for writers whose output is already bytes (a JSON text
    built as ASCII bytes is written without decoding and encoding it again).

    Yields
    ------
    IO[bytes]
        A binary file to write into.
    """
    with _atomic_file(target, mode, binary=True) as f:
        yield f


@contextlib.contextmanager
def _atomic_file(target: str | os.PathLike[str], mode: Mode, *, binary: bool) -> Iterator[Any]:
    path = local_target(target)
    _check_target(path, mode)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        # O_EXCL: never clobber; 0o666 so the umask gives the file normal permissions.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as err:
        raise WriteError(f"Cannot write {str(path)!r}: {err}") from err
    try:
        opened = (
            os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        )
        with opened as f:
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


# -- directories ----------------------------------------------------------------------------

_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """Rename with Linux ``renameat2`` flags; False when the system cannot (then fall back).

    Raises OSError for real failures (e.g. EEXIST with ``RENAME_NOREPLACE``).
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        func = libc.renameat2
    except (OSError, AttributeError):  # no libc symbol (old glibc, musl): fall back
        return False
    at_fdcwd = -100
    rc = func(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst), flags)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # kernel or file system lacks it
        return False
    raise OSError(err, os.strerror(err), str(dst))


def _fsync_tree(root: Path) -> None:
    """Flush every file and directory under ``root`` to disk, directories after their files."""
    for dirpath, _, filenames in os.walk(root, topdown=False):
        for name in filenames:
            _fsync(os.path.join(dirpath, name))
        with contextlib.suppress(OSError):  # directory fsync is not possible everywhere
            _fsync(dirpath)


def _exists_error(path: Path, meanwhile: bool = False) -> WriteError:
    when = " (it was created by someone else while writing)" if meanwhile else ""
    return WriteError(
        f"Cannot write {str(path)!r}: it already exists{when} and mode='w-'; pass mode='w' to "
        "replace it."
    )


def _check_target_dir(path: Path, mode: Mode, replaceable: Callable[[Path], bool] | None) -> None:
    _check_mode(mode)
    if path.exists() or path.is_symlink():
        if mode == "w-":
            raise _exists_error(path)
        if path.is_symlink() or not path.is_dir():
            raise WriteError(
                f"Cannot write {str(path)!r}: it exists and is not a directory; remove it or "
                "pass another path."
            )
        if replaceable is not None and not replaceable(path):
            raise WriteError(
                f"Cannot replace {str(path)!r}: it is a directory that does not look like an "
                "output of this writer, and mode='w' would delete it; remove it yourself or "
                "pass another path."
            )
    _check_parent(path)


def _commit_dir(tmp: Path, path: Path, mode: Mode) -> None:
    if mode == "w-":
        try:
            done = _renameat2(tmp, path, _RENAME_NOREPLACE)
        except FileExistsError as err:
            raise _exists_error(path, meanwhile=True) from err
        if not done:
            # os.rename replaces an *empty* directory silently: check first (tiny race window).
            if path.exists() or path.is_symlink():
                raise _exists_error(path, meanwhile=True)
            os.rename(tmp, path)
        return
    if not (path.exists() or path.is_symlink()):
        os.rename(tmp, path)
        return
    # Replace: swap in one step where possible, so the target is never absent.
    if _renameat2(tmp, path, _RENAME_EXCHANGE):
        shutil.rmtree(tmp)  # now holds the previous output
        return
    old = path.with_name(f".{path.name}.{secrets.token_hex(6)}.old")
    os.rename(path, old)
    try:
        os.rename(tmp, path)
    except BaseException:
        os.rename(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(
    target: str | os.PathLike[str],
    mode: Mode = "w-",
    *,
    replaceable: Callable[[Path], bool] | None = None,
) -> Iterator[Path]:
    """Create a temporary directory that becomes ``target`` when the block succeeds.

    Parameters
    ----------
    target
        Local path or ``file://`` URL of the output directory.
    mode
        ``"w-"`` refuses an existing target (WriteError); ``"w"`` replaces an existing
        directory (never a file).
    replaceable
        With ``mode="w"``, called on an existing target directory: return False to refuse
        replacing it (e.g. it does not look like this writer's output), so that a wrong path
        never deletes unrelated data.

    Yields
    ------
    pathlib.Path
        An empty directory beside ``target`` to write the output into. Its files are
        fsync'ed before the rename; on any exception it is removed and ``target`` is left
        as it was.

    Raises
    ------
    vzcore.errors.WriteError
        The target exists (``mode="w-"``), is not a replaceable directory, its parent does
        not exist, or a file system operation failed.
    """
    path = local_target(target)
    _check_target_dir(path, mode, replaceable)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        os.mkdir(tmp)  # exclusive; permissions follow the umask
    except OSError as err:
        raise WriteError(f"Cannot write {str(path)!r}: {err}") from err
    try:
        yield tmp
        _fsync_tree(tmp)
        _commit_dir(tmp, path, mode)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError) and not isinstance(err, WriteError):
            raise WriteError(f"Cannot write {str(path)!r}: {err}") from err
        raise
    _fsync_parent(path)
