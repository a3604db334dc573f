"""Object header walks kept across files (``_header_attrs._REPLAYS``) change no result.

A walk of an object header and its dense attribute storage is kept with every byte it
read; the object at the same address of the next file reuses it when those bytes are the
same. These tests compare the kept path with the general one (the cache emptied before
every call): on files of one "product" (same layout, other attribute values, dense
storage whose heap objects differ), on copies of a file with any one byte of a kept read
changed, and through the whole reader on damaged copies.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from vz_hdf5 import _header_attrs
from vz_hdf5._gheap import HeapGuard
from vz_hdf5._header_attrs import attrs_and_messages

from .conftest import heap_guard


def _product_file(path: Path, i: int, libver: str = "earliest") -> None:
    """A file as one program writes them: the same layout, some other values.

    The root's ``history`` (compact storage) differs from file to file, and so does one
    attribute in the dense storage of ``dense`` (30 attributes; a fractal heap object of
    the same size) and the values of the datasets.
    """
    with h5py.File(path, "w", libver=libver, track_order=True) as f:
        f.attrs["title"] = np.bytes_(b"replay test")
        f.attrs["history"] = np.bytes_(f"file {i:03d}".encode())
        dense = f.create_dataset("dense", data=np.arange(4.0) + i, track_order=True)
        for k in range(30):
            dense.attrs[f"a{k:02d}"] = np.float32(i if k == 7 else k)
        dense.attrs["vlen"] = f"variable {i % 10}"  # (global heap)
        dense.attrs["units"] = np.bytes_(b"K")
        plain = f.create_dataset("plain", data=np.arange(3, dtype="i2") * i)
        plain.attrs["units"] = np.bytes_(b"m")
        plain.attrs["valid_range"] = np.array([0, 9], "i2")
        chunked = f.create_dataset(
            "chunked", data=np.arange(40.0).reshape(4, 10) * i, chunks=(1, 10), compression="gzip"
        )
        chunked.attrs["long_name"] = np.bytes_(b"a chunked variable")


def _addresses(path: Path) -> list[int]:
    with h5py.File(path, "r") as f:
        objs = [f, *(f[k] for k in f)]
        return [int(h5py.h5g.get_objinfo(o.id).objno[0]) for o in objs]


def _one_product_file(tmp_path: Path, kind: int) -> tuple[list[int], bytes, HeapGuard]:
    """A product file's object addresses, bytes and guard (0: through a descriptor, closed
    again; 1: over the whole file's bytes)."""
    path = tmp_path / "p.h5"
    _product_file(path, 0)
    fd = os.open(path, os.O_RDONLY)
    try:
        guard = _guards(path, fd)[kind]
    finally:
        os.close(fd)
    return _addresses(path), path.read_bytes(), guard


def _guards(path: Path, fd: int) -> list[HeapGuard]:
    """The file's guard reading through ``fd``, and one over the whole file's bytes."""
    with h5py.File(path, "r") as f:
        by_fd = heap_guard(f, fd)
    data = path.read_bytes()
    whole = HeapGuard(
        lambda off, n: data[off : off + n],
        base=by_fd.base,
        sizeof_addr=by_fd.o,
        sizeof_len=by_fd.lsize,
        file_size=len(data),
        whole=data,
    )
    assert whole.whole is data
    return [by_fd, whole]


def _same(a: Any, b: Any) -> bool:
    """Equal results, type for type (arrays: dtype, shape and bytes)."""
    if a is None or b is None:
        return a is b
    names_a, values_a, messages_a, undecoded_a, dataset_a, sources_a = a
    names_b, values_b, messages_b, undecoded_b, dataset_b, sources_b = b
    if set(sources_a) - set(values_a) or set(sources_b) - set(values_b):
        return False
    if (names_a, messages_a, undecoded_a, dataset_a) != (
        names_b,
        messages_b,
        undecoded_b,
        dataset_b,
    ):
        return False
    if list(values_a) != list(values_b):
        return False
    for k, x in values_a.items():
        y = values_b[k]
        if type(x) is not type(y) or np.asarray(x).dtype.str != np.asarray(y).dtype.str:
            return False
        if np.asarray(x).shape != np.asarray(y).shape or x.tobytes() != y.tobytes():
            return False
    return True


def _fresh_decode(guard: HeapGuard, addr: int) -> Any:
    """The general path: no walk kept (those kept are put back after)."""
    saved = dict(_header_attrs._REPLAYS)
    _header_attrs._REPLAYS.clear()
    try:
        return attrs_and_messages(guard, addr)
    finally:
        _header_attrs._REPLAYS.clear()
        _header_attrs._REPLAYS.update(saved)


def _over(data: bytes, like: HeapGuard, whole: bool) -> HeapGuard:
    """A guard reading ``data`` (a file's bytes), handed them whole or not."""
    return HeapGuard(
        lambda off, n: data[off : off + n],
        base=like.base,
        sizeof_addr=like.o,
        sizeof_len=like.lsize,
        file_size=len(data),
        whole=data if whole else None,
    )


@pytest.mark.parametrize("libver", ["earliest", "latest"])
def test_kept_walks_give_the_general_results_across_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, libver: str
) -> None:
    """File after file of one product: each object as the general path decodes it.

    The walks are reused (the objects sit at the same addresses) although attribute values
    differ in compact and in dense storage.
    """
    paths = []
    for i in range(4):
        paths.append(tmp_path / f"p{i}.h5")
        _product_file(paths[-1], i, libver)
    addrs = _addresses(paths[0])
    assert all(_addresses(p) == addrs for p in paths)  # one layout
    walked: list[int] = []
    original = _header_attrs._find
    monkeypatch.setattr(_header_attrs, "_find", lambda g, a: walked.append(a) or original(g, a))
    for which in range(2):  # through a file descriptor, then over the file's bytes
        _header_attrs._REPLAYS.clear()
        kept_walks: list[int] = []
        for path in paths:
            fd = os.open(path, os.O_RDONLY)
            try:
                guard = _guards(path, fd)[which]
                for addr in addrs:
                    before = len(walked)
                    kept = attrs_and_messages(guard, addr)
                    kept_walks += walked[before:]
                    assert kept is not None
                    assert _same(kept, _fresh_decode(guard, addr)), (path.name, addr)
            finally:
                os.close(fd)
        # the first file walks every object, the others only the root (its history)
        assert kept_walks == addrs + [addrs[0]] * (len(paths) - 1), (kept_walks, addrs)


def test_kept_walk_values_are_the_callers_own(tmp_path: Path) -> None:
    """A reused walk hands each caller its own containers and arrays."""
    path = tmp_path / "p.h5"
    _product_file(path, 0)
    fd = os.open(path, os.O_RDONLY)
    try:
        guard = _guards(path, fd)[1]
        _header_attrs._REPLAYS.clear()
        for addr in _addresses(path):
            first = attrs_and_messages(guard, addr)
            second = attrs_and_messages(guard, addr)
            assert first is not None
            assert second is not None
            assert _same(first, second)
            for a, b in zip(first, second, strict=True):
                assert a is not b
            for k, v in first[1].items():
                if isinstance(v, np.ndarray):
                    assert not np.shares_memory(v, second[1][k])
            first[0].append("x")
            first[4].clear()
            assert _same(attrs_and_messages(guard, addr), second)
    finally:
        os.close(fd)


@pytest.mark.parametrize("whole", [False, True], ids=["read_at", "whole"])
def test_any_changed_byte_of_a_kept_read_misses(tmp_path: Path, whole: bool) -> None:
    """A copy with one byte of any kept read changed decodes as the general path does.

    Every byte the kept walks read (headers, fractal heap, v2 B-tree) is changed in turn,
    one copy per byte: the result must be the general path's for the changed file, never
    the kept one (unless the change leaves the result the same).
    """
    addrs, data, like = _one_product_file(tmp_path, 0)
    _header_attrs._REPLAYS.clear()
    good = _over(data, like, whole)
    unchanged = {addr: attrs_and_messages(good, addr) for addr in addrs}
    kept = dict(_header_attrs._REPLAYS)
    assert len(kept) == len(addrs)
    positions = sorted(
        {off + j for reads, _ in kept.values() for off, size, _ in reads for j in range(size)}
    )
    assert len(positions) > 500
    differing = 0
    for pos in positions[:: 1 if whole else 3]:
        copy = bytearray(data)
        copy[pos] ^= 0x5A
        guard = _over(bytes(copy), like, whole)
        for addr in addrs:
            _header_attrs._REPLAYS.clear()
            _header_attrs._REPLAYS.update(kept)  # every good walk kept
            got = attrs_and_messages(guard, addr)
            assert _same(got, _fresh_decode(guard, addr)), (pos, addr)
            differing += not _same(got, unchanged[addr])
    assert differing > len(positions) // 10  # (most changes change the result)


def _outcome(path: Path) -> Any:
    from vz_hdf5._reader import HDF5Reader

    from .conftest import url_of

    try:
        group = HDF5Reader().read(url_of(path))
    except Exception as err:  # noqa: BLE001  # the outcome to compare
        return type(err).__name__, str(err)
    out = {}
    for name, var in group.variables.items():
        data = var.data
        out[name] = (
            var.dims,
            repr(var.attrs),
            repr(getattr(data, "metadata", None)),
            repr(getattr(data, "manifest", None)) if hasattr(data, "manifest") else data.tobytes(),
        )
        if hasattr(data, "manifest"):
            m = data.manifest
            out[name] += (m.offsets.tobytes(), m.lengths.tobytes(), m.path_index.tobytes())
    return out, repr(group.attrs)


def test_damaged_copies_read_as_without_kept_walks(tmp_path: Path) -> None:
    """The reader on damaged copies of a file whose walks are kept: the same outcome
    (values or error) as with nothing kept."""
    good = tmp_path / "good.h5"
    _product_file(good, 1)
    kept_after_good = None
    damaged = tmp_path / "damaged.h5"
    data = good.read_bytes()
    rng = np.random.default_rng(7)
    # bytes inside the object headers and dense storage (the first 4 KiB hold most of them)
    spots = rng.choice(np.arange(48, min(len(data), 6000)), size=60, replace=False)
    changed = 0
    for pos in spots.tolist():
        _header_attrs._REPLAYS.clear()
        good_outcome = _outcome(good)
        assert not isinstance(good_outcome[0], str)
        kept_after_good = dict(_header_attrs._REPLAYS)
        copy = bytearray(data)
        copy[pos] ^= 0xFF
        damaged.write_bytes(bytes(copy))
        with_kept = _outcome(damaged)
        _header_attrs._REPLAYS.clear()
        without = _outcome(damaged)
        assert with_kept == without, pos
        changed += with_kept != good_outcome
    assert kept_after_good
    assert changed > 10  # (the damage matters: the comparison can fail)


def test_walks_kept_through_either_kind_of_read_are_checked_by_the_other(
    tmp_path: Path,
) -> None:
    """A walk kept through ``read_at`` is checked over the whole file's bytes, and back."""
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    _product_file(a, 0)
    shutil.copy(a, b)
    raw = b.read_bytes()
    pos = raw.index(b"file 000") + 7  # the same layout, one attribute value byte changed
    b.write_bytes(raw[:pos] + b"9" + raw[pos + 1 :])
    for first, second in ((0, 1), (1, 0)):
        _header_attrs._REPLAYS.clear()
        fda, fdb = os.open(a, os.O_RDONLY), os.open(b, os.O_RDONLY)
        try:
            for addr in _addresses(a):
                attrs_and_messages(_guards(a, fda)[first], addr)
                guard = _guards(b, fdb)[second]
                got = attrs_and_messages(guard, addr)
                assert _same(got, _fresh_decode(guard, addr))
        finally:
            os.close(fda)
            os.close(fdb)


def test_kept_walks_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At most ``_REPLAY_ENTRIES`` walks are kept (the oldest go first), none that read
    more than ``_REPLAY_BYTES``; the results stay the general path's."""
    addrs, data, guard = _one_product_file(tmp_path, 1)
    monkeypatch.setattr(_header_attrs, "_REPLAY_ENTRIES", 2)
    _header_attrs._REPLAYS.clear()
    for addr in addrs:
        assert _same(attrs_and_messages(guard, addr), _fresh_decode(guard, addr))
        assert len(_header_attrs._REPLAYS) <= 2
    assert [key[0] for key in _header_attrs._REPLAYS] == addrs[-2:]
    monkeypatch.setattr(_header_attrs, "_REPLAY_ENTRIES", 1024)
    _header_attrs._REPLAYS.clear()
    sizes = {}
    for addr in addrs:
        attrs_and_messages(guard, addr)
        sizes[addr] = sum(size for _, size, _ in _header_attrs._REPLAYS[addr, 0, 8, 8][0])
    biggest = max(sizes, key=lambda a: sizes[a])
    monkeypatch.setattr(_header_attrs, "_REPLAY_BYTES", sizes[biggest] - 1)
    _header_attrs._REPLAYS.clear()
    for addr in addrs:
        assert _same(attrs_and_messages(_over(data, guard, True), addr), _fresh_decode(guard, addr))
    assert (biggest, 0, 8, 8) not in _header_attrs._REPLAYS
    assert len(_header_attrs._REPLAYS) == len(addrs) - 1
