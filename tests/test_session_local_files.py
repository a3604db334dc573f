"""One open of a local file per scan: the sniffed file goes to the reader, its fstat to the sources.

``open_virtual_dataset`` opens a file to read its first bytes and pick the reader; inside
the scan session the reader's :func:`vzcore.io.open_source` gets that same open file
(``park_source``), and the size and mtime recorded with the manifests come from the
``fstat`` of the descriptor the scan read (``scanned_source``), not from another ``stat``.
``stat_source`` (which :func:`vzcore.verify` uses) still stats the file as it is now.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

import vzcore
import vzcore._file_access as file_access
from vzcore.errors import CorruptFileError
from vzcore.io import open_source, scan_session, stat_source, to_url
from vzcore.manifests import SourceInfo


def _write(path: Path) -> str:
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.arange(4.0)).make_scale("x")
        v = f.create_dataset("v", data=np.ones(4, "f4"), chunks=(2,))
        v.dims[0].attach_scale(f["x"])
    return to_url(path)


def _count_files(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    made: list[str] = []
    real = file_access.SourceFile.__init__

    def counting(self: Any, url: str, storage_options: Any = None) -> None:
        made.append(url)
        real(self, url, storage_options)

    monkeypatch.setattr(file_access.SourceFile, "__init__", counting)
    return made


def test_the_reader_gets_the_file_opened_to_pick_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _write(tmp_path / "a.h5")
    want = vzcore.open_virtual_dataset(url, loadable_variables=[])
    made = _count_files(monkeypatch)
    got = vzcore.open_virtual_dataset(url, loadable_variables=[])
    assert made == [url]  # (was: one for sniffing, one for the reader)
    assert list(got.variables) == list(want.variables)
    for name, var in got.variables.items():
        assert var.attrs == want[name].attrs
        assert var.data.metadata == want[name].data.metadata
        assert var.data.manifest == want[name].data.manifest
        assert dict(var.data.manifest.sources) == dict(want[name].data.manifest.sources)
    with file_access.SourceFile(url) as f:  # a fresh one: the same size
        assert dict(got["v"].data.manifest.sources) == {
            url: SourceInfo(size=f.size, mtime=os.stat(tmp_path / "a.h5").st_mtime)
        }


def test_a_parked_file_is_handed_out_once_and_closed_with_the_session(tmp_path: Path) -> None:
    url = _write(tmp_path / "a.h5")
    source = open_source(url)
    assert not file_access.park_source(source)  # no session: the caller closes it
    source.close()
    with scan_session():
        parked = open_source(url)
        fd = parked._fd
        assert file_access.park_source(parked)
        got = open_source(url)
        assert got is parked
        assert got.read_at(0, 8) == b"\x89HDF\r\n\x1a\n"
        got.close()
        again = open_source(url)  # (once: then a file of its own)
        assert again is not parked
        again.close()
        unclaimed = open_source(url)
        unfd = unclaimed._fd
        assert file_access.park_source(unclaimed)
        other = open_source(_write(tmp_path / "b.h5"))
        assert file_access.park_source(other)  # one kept: the earlier one is closed
        assert unclaimed._fd is None
        with pytest.raises(OSError):
            os.fstat(unfd)
    assert other._fd is None  # closed with the session
    assert fd is not None


def test_a_parked_empty_file_is_refused_as_a_fresh_one_is(tmp_path: Path) -> None:
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    url = to_url(empty)
    with scan_session():
        source = open_source(url, allow_empty=True)
        assert file_access.park_source(source)
        with pytest.raises(CorruptFileError, match="empty"):
            open_source(url)
    with pytest.raises(CorruptFileError, match="empty"):
        open_source(url)


def test_sources_are_the_file_as_read_and_stat_source_the_file_now(tmp_path: Path) -> None:
    path = tmp_path / "a.h5"
    url = _write(path)
    os.utime(path, (1_000_000_000, 1_000_000_000))
    with scan_session():
        with open_source(url):
            pass
        os.utime(path, (2_000_000_000, 2_000_000_000))  # changed after it was read
        assert file_access.scanned_source(url) == SourceInfo(
            size=path.stat().st_size, mtime=1_000_000_000
        )
        assert stat_source(url) == SourceInfo(size=path.stat().st_size, mtime=2_000_000_000)
    # outside the session (or for a file it did not open): the file now
    assert file_access.scanned_source(url) == stat_source(url)
    with scan_session():
        assert file_access.scanned_source(url).mtime == 2_000_000_000


def test_a_change_during_the_scan_is_found_by_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.h5"
    url = _write(path)
    os.utime(path, (1_000_000_000, 1_000_000_000))
    real = file_access.scanned_source

    def touched_after_reading(u: str, so: Any = None) -> SourceInfo:
        os.utime(path, (2_000_000_000, 2_000_000_000))  # (a writer, while the scan ran)
        return real(u, so)

    monkeypatch.setattr(vzcore.api, "scanned_source", touched_after_reading)
    ds = vzcore.open_virtual_dataset(url, loadable_variables=[])
    assert ds["v"].data.manifest.sources[url].mtime == 1_000_000_000
    report = vzcore.verify(ds)
    assert not report.ok
