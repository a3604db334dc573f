"""The scanning progress bar: shown on terminals and notebooks, quiet elsewhere unless forced."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
import types

import pytest

from vzcore import _executors
from vzcore._executors import map_files
from vzcore.errors import VZError


def _square(x: int) -> int:
    return x * x


@pytest.fixture
def no_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes ``import tqdm.auto`` fail
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)


def test_forced_progress_uses_tqdm(capfd):
    pytest.importorskip("tqdm")
    assert map_files(_square, [1, 2, 3], progress=True) == [1, 4, 9]
    err = capfd.readouterr().err
    assert "scanning: 100%" in err
    assert "3/3 [" in err  # files scanned, then [elapsed<ETA, rate]
    assert "file/s]" in err


def test_forced_progress_without_tqdm_writes_a_text_line(capfd, no_tqdm):
    assert map_files(_square, [1, 2, 3], "threads", progress=True) == [1, 4, 9]
    err = capfd.readouterr().err
    # Not a terminal: no carriage returns, one final line (updates at most every 10 s).
    assert "\r" not in err
    lines = err.splitlines()
    assert lines[-1].startswith("scanning 3/3 files, ")
    assert " files/s, elapsed 0 s, ETA 0 s" in lines[-1]


@pytest.mark.parametrize("progress", ["auto", None, False])
def test_quiet_when_not_interactive(capfd, progress):
    assert map_files(_square, [1, 2, 3], progress=progress) == [1, 4, 9]
    assert capfd.readouterr().err == ""


def test_invalid_progress_value():
    with pytest.raises(VZError, match="progress must be True, False or 'auto', got 'yes'"):
        map_files(_square, [1, 2], progress="yes")  # type: ignore[arg-type]  # wrong on purpose


def test_notebook_kernel_counts_as_interactive(monkeypatch):
    fake = types.ModuleType("IPython")
    shell = types.SimpleNamespace(kernel=object())
    fake.get_ipython = lambda: shell  # type: ignore[attr-defined]  # a stand-in module
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert _executors._in_notebook()
    assert _executors._interactive()
    shell_without_kernel = types.SimpleNamespace()  # terminal IPython: not a notebook
    fake.get_ipython = lambda: shell_without_kernel  # type: ignore[attr-defined]  # as above
    assert not _executors._in_notebook()


def _run_on_a_terminal(code: str) -> str:
    """Run ``code`` with stderr on a pseudo-terminal; return what the terminal received."""
    pty = pytest.importorskip("pty")
    fcntl = pytest.importorskip("fcntl")
    termios = pytest.importorskip("termios")
    master, slave = pty.openpty()
    # A new pseudo-terminal is 0 columns wide; give it a real size, as a terminal has.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], stderr=slave, stdout=subprocess.DEVNULL
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO once the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_auto_shows_a_bar_on_a_real_terminal():
    pytest.importorskip("tqdm")
    out = _run_on_a_terminal(
        """
        from vzcore._executors import map_files
        assert map_files(abs, [-1, -2, -3]) == [1, 2, 3]
        """
    )
    assert "scanning: 100%" in out
    assert "3/3" in out


def test_auto_text_line_on_a_terminal_without_tqdm():
    out = _run_on_a_terminal(
        """
        import sys
        sys.modules["tqdm"] = sys.modules["tqdm.auto"] = None
        from vzcore._executors import map_files
        assert map_files(abs, [-1, -2, -3]) == [1, 2, 3]
        """
    )
    assert "\rscanning 3/3 files, " in out
    assert "ETA 0 s" in out
