"""Issue 12, item 12: when no reader takes a file, the message says what is true of it.

A directory, an empty file and an HTML page saved as ``.nc`` each get their own message;
the "install vz-..." hint appears exactly when the file's format is known and its reader
is not installed, whichever other readers are installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import vzcore
from vzcore import plugins
from vzcore.errors import NoReaderFoundError
from vzcore.io import to_url

HDF5_HEAD = b"\x89HDF\r\n\x1a\n" + bytes(56)


@pytest.fixture
def disabled(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Call ``disabled("hdf5,tiff")`` to block plugins for one test."""

    def block(names: str) -> None:
        monkeypatch.setenv("VZCORE_DISABLE_PLUGINS", names)
        vzcore.refresh_plugins()

    yield block
    monkeypatch.delenv("VZCORE_DISABLE_PLUGINS", raising=False)
    vzcore.refresh_plugins()


def _message(path: Path | str) -> str:
    with pytest.raises(NoReaderFoundError) as info:
        vzcore.open_virtual_dataset(path)
    return str(info.value)


def test_directory_says_it_is_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "data.nc"
    path.mkdir()
    msg = _message(path)
    assert "it is a directory, not a file" in msg
    assert "install" not in msg


def test_empty_file_says_it_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.nc"
    path.write_bytes(b"")
    msg = _message(path)
    assert "the file is empty (0 bytes)" in msg
    assert "install" not in msg


def test_html_page_shows_its_first_bytes(tmp_path: Path) -> None:
    path = tmp_path / "page.nc"
    path.write_bytes(b"<!DOCTYPE html>\n<html><body>Not Found</body></html>\n")
    msg = _message(path)
    assert "not a recognised format (it starts with b'<!DOCTYPE html>\\n')" in msg
    assert "pass reader=<name>" in msg
    assert "install vz-" not in msg


def test_empty_file_with_its_reader_missing_is_still_empty(tmp_path: Path, disabled) -> None:
    disabled("hdf5")
    path = tmp_path / "empty.nc"
    path.write_bytes(b"")
    msg = _message(path)
    assert "the file is empty" in msg
    assert "install" not in msg


@pytest.mark.parametrize("blocked", ["hdf5", "hdf5,tiff", "hdf5,netcdf3,kerchunk", "*"])
def test_install_hint_depends_only_on_the_missing_reader(
    tmp_path: Path, disabled, blocked: str
) -> None:
    disabled(blocked)
    path = tmp_path / "x.nc"
    path.write_bytes(HDF5_HEAD)
    assert _message(path) == (
        f"No reader for {to_url(path)!r}: install vz-hdf5 (pip install vz-hdf5)"
    )


def test_no_install_hint_for_an_installed_reader() -> None:
    # the bytes are HDF5, the reader is installed: never "install vz-hdf5"
    from vzcore._known_plugins import suggest_reader

    assert suggest_reader("file:///x.nc", HDF5_HEAD, ["hdf5"]) is None
    assert suggest_reader("file:///x.nc", b"", []) is None  # a name alone proves nothing
    assert suggest_reader("file:///x.json", b"{", []) == "vz-kerchunk"
    assert suggest_reader("file:///x.json", b"{", ["kerchunk"]) is None


def test_remote_directory_flag(tmp_path: Path) -> None:
    with pytest.raises(NoReaderFoundError, match="it is a directory"):
        plugins.find_reader("s3://bucket/prefix", b"", directory=True)
    with pytest.raises(NoReaderFoundError, match="the file is empty"):
        plugins.find_reader("s3://bucket/empty.nc", b"")


def test_error_pickles() -> None:
    import pickle

    err = NoReaderFoundError("file:///x", ["hdf5"], None, "the file is empty (0 bytes)")
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err)
    assert again.reason == err.reason
