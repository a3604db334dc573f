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


def _directory(path: Path) -> None:
    path.mkdir()


def _content(data: bytes):
    return lambda path: path.write_bytes(data)


HTML = b"<!DOCTYPE html>\n<html><body>Not Found</body></html>\n"


@pytest.mark.parametrize(
    ("name", "make", "blocked", "said", "unsaid"),
    [
        pytest.param(
            "data.nc",
            _directory,
            None,
            ["it is a directory, not a file"],
            "install",
            id="directory-says-it-is-a-directory",
        ),
        pytest.param(
            "empty.nc",
            _content(b""),
            None,
            ["the file is empty (0 bytes)"],
            "install",
            id="empty-file-says-it-is-empty",
        ),
        pytest.param(
            "page.nc",
            _content(HTML),
            None,
            [
                "not a recognised format (it starts with b'<!DOCTYPE html>\\n')",
                "pass reader=<name>",
            ],
            "install vz-",
            id="html-page-shows-its-first-bytes",
        ),
        pytest.param(
            "empty.nc",
            _content(b""),
            "hdf5",
            ["the file is empty"],
            "install",
            id="empty-file-with-its-reader-missing-is-still-empty",
        ),
    ],
)
def test_message_says_what_is_true_of_the_file(
    tmp_path: Path, disabled, name: str, make, blocked: str | None, said: list[str], unsaid: str
) -> None:
    if blocked is not None:
        disabled(blocked)
    path = tmp_path / name
    make(path)
    msg = _message(path)
    for text in said:
        assert text in msg
    assert unsaid not in msg


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
