"""vzcore warnings raised in worker processes, carried back and raised again in the caller.

A warning raised in a worker process (``parallel="processes"``, a process pool, a
dask.distributed worker process) is printed on that process's stderr or in the worker's
log: the caller's warning filters, ``pytest.warns`` and ``logging.captureWarnings`` never
see it. :func:`noting` collects every :class:`~vzcore.errors.VZWarning` raised while a
task runs in a worker process, the task returns them with its result (as
:class:`Note` objects), and :func:`raise_again` warns them in the calling process, once
each. In the calling process itself (serial, threads) warnings need no carrying:
:func:`noting` collects nothing there.

The collector is a ``warnings.showwarning`` hook and an ``"always"`` filter for vzcore's
warnings, installed in the worker process (again by each task, should a ``catch_warnings``
block have restored older ones); which task a warning belongs to is a context variable, so
tasks running in threads of one worker process keep their warnings apart. Warnings other
than vzcore's are shown as before.
"""

from __future__ import annotations

import multiprocessing
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TextIO

from vzcore.errors import VZWarning

__all__ = ["Carried", "Note", "Noting", "noting", "raise_again", "unwrap"]


@dataclass(frozen=True)
class Note:
    """One vzcore warning raised in a worker: its category and message."""

    category: type[Warning]
    message: str


@dataclass(frozen=True)
class Carried:
    """A task's result with the vzcore warnings its worker process raised."""

    value: Any
    notes: tuple[Note, ...]


_sink: ContextVar[list[Note] | None] = ContextVar("vzcore_worker_warnings", default=None)
_lock = threading.Lock()


def _show(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    sink = _sink.get()
    if sink is not None and issubclass(category, VZWarning):
        sink.append(Note(category, str(message)))
        return
    _show.original(message, category, filename, lineno, file, line)  # type: ignore[attr-defined]


_ALWAYS = ("always", None, VZWarning, None, 0)
"""The worker shows every vzcore warning (to :func:`_show`): the caller's filters decide."""


def _hook() -> None:
    """Make :func:`_show` the ``showwarning`` of this process (with ``_lock`` held)."""
    if warnings.showwarning is not _show:
        _show.original = warnings.showwarning  # type: ignore[attr-defined]
        warnings.showwarning = _show


def _install() -> None:
    with _lock:
        _hook()
        if not warnings.filters or warnings.filters[0] != _ALWAYS:
            # (else "default" would show a message once per worker process, and a filter
            # inherited by a forked worker could raise it there)
            warnings.filterwarnings("always", category=VZWarning)


def _in_worker_process() -> bool:
    return multiprocessing.parent_process() is not None


_holding = 0
"""Blocks of the calling process holding back repeated warnings (:func:`noting`)."""


def _hold(delta: int) -> None:
    """Install :func:`_show` while a block holds back repeated warnings; restore it after."""
    global _holding
    with _lock:
        _holding += delta
        if delta > 0:
            _hook()
        elif _holding == 0 and warnings.showwarning is _show:
            warnings.showwarning = _show.original  # type: ignore[attr-defined]


@contextmanager
def noting(repeated: bool = False) -> Iterator[list[Note]]:
    """Collect the vzcore warnings raised in this block, in a worker process.

    Yields the list they are appended to; outside a worker process it stays empty (the
    warnings reach the caller directly).

    ``repeated`` says that the block scans again files scanned (and warned about) before:
    a batch combined where it was scanned, scanned again file by file. In a worker
    process nothing changes (the caller warns only the first scan's notes). In the calling
    process itself (a dask.distributed cluster of threads), where the first scan warned
    directly, the block's vzcore warnings are held back: those the caller's filters would
    show are dropped (a warning turned into an error by a filter is raised, as it was by
    the first scan).
    """
    notes: list[Note] = []
    if _in_worker_process():
        _install()
    elif repeated:
        _hold(1)
    else:
        yield notes
        return
    token = _sink.set(notes if not repeated else [])
    try:
        yield notes
    finally:
        _sink.reset(token)
        if repeated and not _in_worker_process():
            _hold(-1)


def raise_again(notes: Iterable[Note], stacklevel: int = 2) -> None:
    """Warn each distinct note in this process (``stacklevel`` as in :func:`warnings.warn`)."""
    for note in dict.fromkeys(notes):
        warnings.warn(note.message, note.category, stacklevel=stacklevel + 1)


@dataclass(frozen=True)
class Noting:
    """``func`` as a task whose result carries the vzcore warnings of its worker process."""

    func: Callable[..., Any]

    def __call__(self, *args: Any) -> Any:
        """Return ``func(*args)``, as a :class:`Carried` when it raised vzcore warnings."""
        with noting() as notes:
            value = self.func(*args)
        return Carried(value, tuple(notes)) if notes else value


def unwrap(value: Any, stacklevel: int = 2) -> Any:
    """Return a task's result, warning what it carried (see :class:`Noting`)."""
    if isinstance(value, Carried):
        raise_again(value.notes, stacklevel + 1)
        return value.value
    return value
