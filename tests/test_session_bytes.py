"""Loaded coordinates come from the bytes the reader read whole in the same scan session.

A small local file is read whole by its reader (``SourceFile.read_at(0, size)``); inside
the scan session ``open_virtual_dataset`` runs in, ``load_values`` slices those bytes
instead of opening and reading the file again. The values, the errors (short reads) and
everything outside a session must be what reading the file gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

import vzcore
import vzcore._file_access as file_access
from vzcore.errors import ShortReadError
from vzcore.io import open_source, scan_session, to_url
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray
from vzcore.manifests.loading import load_values


def _write(path: Path) -> Path:
    with h5py.File(path, "w") as f:
        for name, n in (("t", 3), ("y", 4), ("x", 5)):
            f.create_dataset(name, data=np.arange(n, dtype="f8") * 2 + 1).make_scale(name)
        data = f.create_dataset("v", data=np.ones((3, 4, 5), "f4"), chunks=(1, 4, 5))
        for axis, name in enumerate("tyx"):
            data.dims[axis].attach_scale(f[name])
    return path


def _count_opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    opened: list[str] = []
    real = file_access.open_url

    def counting(url: Any, storage_options: Any = None, **kw: Any) -> Any:
        opened.append(str(url))
        return real(url, storage_options, **kw)

    monkeypatch.setattr(file_access, "open_url", counting)
    return opened


def test_coordinates_from_the_session_bytes_equal_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "a.h5")
    want = vzcore.open_virtual_dataset(path)
    opened = _count_opens(monkeypatch)
    got = vzcore.open_virtual_dataset(path)
    assert opened == []  # the three coordinates came from the reader's bytes
    for name in ("t", "y", "x"):
        assert got[name].values.tobytes() == want[name].values.tobytes()
        assert got[name].dtype == want[name].dtype
        assert got[name].values.tolist() == (np.arange(got[name].size) * 2 + 1).tolist()
    monkeypatch.setattr(file_access, "WHOLE_FILE_CAP", 10)  # too small to keep: opened
    again = vzcore.open_virtual_dataset(path)
    assert opened == [to_url(path)]
    assert again["x"].values.tolist() == got["x"].values.tolist()


def _array(url: str, offset: int, length: int) -> ManifestArray:
    meta = ArrayMetadata(shape=(4,), dtype=np.dtype("<i2"), chunk_shape=(4,))
    return ManifestArray(meta, ChunkManifest.from_refs({(0,): (url, offset, length)}, (1,)))


def test_whole_read_kept_only_in_a_session_and_only_the_last(tmp_path: Path) -> None:
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(np.arange(8, dtype="<i2").tobytes())
    b.write_bytes(np.arange(8, 16, dtype="<i2").tobytes())
    ua, ub = to_url(a), to_url(b)
    with open_source(ua) as src:
        src.read_at(0, src.size or 0)
    assert file_access.session_bytes(ua) is None  # no session: nothing kept
    with scan_session():
        with open_source(ua) as src:
            src.read_at(0, 4)  # part of the file: not kept
        assert file_access.session_bytes(ua) is None
        with open_source(ua) as src:
            data = src.read_at(0, src.size or 0)
        assert file_access.session_bytes(ua) == data
        with scan_session(), open_source(ub) as src:  # a nested session is the outer one
            src.read_at(0, src.size or 0)
        assert file_access.session_bytes(ua) is None  # one file kept: the last
        assert file_access.session_bytes(ub) == b.read_bytes()
        # values as read from the file, at any offset
        assert load_values(_array(ub, 2, 8)).tolist() == [9, 10, 11, 12]
    assert file_access.session_bytes(ub) is None  # gone with the session


def test_short_reads_fail_alike(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(np.arange(8, dtype="<i2").tobytes())
    url = to_url(path)
    for offset in (10, 16, 100):  # partly past the end, at the end, far past it
        array = _array(url, offset, 8)
        with pytest.raises(ShortReadError) as from_file:
            load_values(array)
        with scan_session():
            with open_source(url) as src:
                src.read_at(0, src.size or 0)
            assert file_access.session_bytes(url) is not None
            with pytest.raises(ShortReadError) as from_session:
                load_values(array)
        assert str(from_session.value) == str(from_file.value)
