"""Datasets left unopened because HDF5 opened a header of the same bytes before.

:mod:`vz_hdf5._opened`: when the walk of a dataset's header is replayed (every byte it read
is the same, a v2 header's checksum included) and HDF5 opened that walk's header as a
dataset before, the reader does not open it again. These tests read files of one
"product" one after another and compare every result (and every error) with a read whose
kept walks and opened headers were emptied first, which opens every dataset as before.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from vzcore.errors import VZError

from vz_hdf5 import _header_attrs, _opened

from .conftest import assert_same_as_h5py, child_outcomes, make_compact, read


@pytest.fixture(autouse=True)
def _empty_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_opened, "_OPENED", {})
    monkeypatch.setattr(_header_attrs, "_REPLAYS", {})


def _product_file(path: Path, i: int, libver: str = "latest") -> None:
    """One file of a product: the same layout every time, other values and one attribute."""
    with h5py.File(path, "w", libver=libver, track_order=True) as f:
        f.attrs["history"] = np.bytes_(f"file {i:03d}".encode())
        contiguous = f.create_dataset("contiguous", data=np.arange(6.0) + i, track_order=True)
        contiguous.attrs["units"] = np.bytes_(b"K")
        contiguous.attrs["valid_range"] = np.array([0, 9], "i2")
        f.create_dataset("chunked", data=np.arange(40.0).reshape(4, 10) * i, chunks=(1, 10))
        make_compact(f, "compact", np.arange(3, dtype="<i4") + i)
        f.create_dataset("scalar", data=np.float32(i))
        f.create_dataset("empty", shape=(5,), dtype="i2", fillvalue=7)  # (never written)
        f.create_dataset("text", data=np.array([b"ab", b"cd"]))  # (strings: h5py's metadata)
        g = f.create_group("g", track_order=True)
        g.create_dataset("inner", data=np.arange(4, dtype=">u2") * i)
        f["hard_twice"] = f["contiguous"]  # (a second hard link: two links to one header)
        # (last: its compressed size, which differs from file to file, moves nothing else)
        f.create_dataset(
            "zipped", data=np.arange(40.0).reshape(4, 10) * i, chunks=(1, 10), compression="gzip"
        )


def _summary(group: Any) -> list[Any]:
    """Everything the reader gives, as comparable values."""
    from vzcore.manifests import ManifestArray

    out: list[Any] = []
    for gpath, g in group.walk():
        out.append((gpath, sorted(g.attrs.items(), key=str)))
        for name, var in g.variables.items():
            item: list[Any] = [gpath, name, var.dims, sorted(var.attrs.items(), key=str)]
            data = var.data
            if isinstance(data, ManifestArray):
                m = data.manifest
                item += [
                    repr(data.metadata),
                    m.paths,
                    m.path_index.tolist(),
                    m.offsets.tolist(),
                    m.lengths.tolist(),
                    sorted((k, bytes(v)) for k, v in (m.inline or {}).items()),
                ]
            else:
                item.append(np.asarray(data).tobytes())
            out.append(item)
    return out


def _fresh(path: Path) -> Any:
    """What reading ``path`` gives with nothing kept from earlier files (or its error)."""
    saved = dict(_opened._OPENED), dict(_header_attrs._REPLAYS)
    _opened._OPENED.clear()
    _header_attrs._REPLAYS.clear()
    try:
        return _outcome(path)
    finally:
        _opened._OPENED.update(saved[0])
        _header_attrs._REPLAYS.update(saved[1])


def _outcome(path: Path) -> Any:
    try:
        return _summary(read(path))
    except VZError as err:
        return type(err).__name__, str(err)


def _opens(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Record the names of the objects ``H5Oopen`` opens from now on."""
    opened: list[bytes] = []
    real = h5py.h5o.open

    def counting(loc: Any, name: bytes, *args: Any, **kwargs: Any) -> Any:
        opened.append(name)
        return real(loc, name, *args, **kwargs)

    monkeypatch.setattr(h5py.h5o, "open", counting)
    return opened


@pytest.mark.parametrize("libver", ["earliest", "latest"])
def test_the_next_file_of_a_product_opens_no_plain_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, libver: str
) -> None:
    paths = [tmp_path / f"p{i}.h5" for i in range(3)]
    for i, path in enumerate(paths):
        _product_file(path, i + 1, libver)
    first = _outcome(paths[0])
    assert first == _fresh(paths[0])
    opened = _opens(monkeypatch)
    for path in paths[1:]:
        opened.clear()
        got = _outcome(path)
        names = set(opened)
        assert got == _fresh(path)
        assert_same_as_h5py(path, read(path))
        # the plain ones stay unopened; the compact one is opened to read its values, the
        # strings for their metadata (h5py's), chunked layouts of message version 5
        # (libver="latest" with HDF5 2) as the header decode leaves them to h5py
        plain = {b"contiguous", b"scalar", b"empty", b"inner", b"hard_twice"}
        v5 = {b"chunked", b"zipped"}
        assert not names & (plain if libver == "latest" else plain | v5), names
        assert {b"compact", b"text"} | (v5 if libver == "latest" else set()) <= names, names
    assert _summary(read(paths[1])) != _summary(read(paths[2]))  # (other values)


def _header_block(data: bytes, addr: int) -> tuple[int, int]:
    """Return where the first block of the v2 object header at ``addr`` ends and its size."""
    assert data[addr : addr + 4] == b"OHDR"
    flags = data[addr + 5]
    pos = addr + 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
    width = 1 << (flags & 0x03)
    size = int.from_bytes(data[pos : pos + width], "little")
    return pos + width + size, size


def _address(path: Path, name: str) -> int:
    with h5py.File(path, "r") as f:
        return int(h5py.h5g.get_objinfo(f[name].id).objno[0])


@pytest.mark.parametrize("name", ["contiguous", "chunked", "g/inner"])
def test_a_damaged_header_checksum_is_judged_by_hdf5(tmp_path: Path, name: str) -> None:
    good, bad = tmp_path / "good.h5", tmp_path / "bad.h5"
    _product_file(good, 1)
    shutil.copy(good, bad)
    data = bytearray(bad.read_bytes())
    end, _ = _header_block(data, _address(good, name))
    data[end] ^= 0x5A  # the checksum after the first block: every message byte unchanged
    bad.write_bytes(bytes(data))
    expected = _fresh(bad)
    assert expected[0] == "CorruptFileError", expected  # (HDF5 refuses the header)
    assert _outcome(good) == _fresh(good)
    assert _outcome(bad) == expected


def _two_datasets(path: Path, first: dict[str, Any], tail: dict[str, Any]) -> None:
    """Write a version-0 superblock file (no checksum) of datasets ``first`` and ``tail``."""
    with h5py.File(path, "w", libver="earliest") as f:
        f.attrs["title"] = np.bytes_(b"end of allocation")
        f.create_dataset("first", **first)
        f.create_dataset("tail", **tail)


def _refused_as_when_fresh(good: Path, bad: Path, eoa: int) -> str:
    """Write ``good`` as ``bad`` with its end of allocation lowered to ``eoa``.

    Asserts that a fresh read refuses ``bad`` with a CorruptFileError and that a read
    right after ``good`` (its headers recorded) gives the same; returns the message.
    """
    data = bytearray(good.read_bytes())
    assert data[8] == 0  # superblock version 0: base, free space, end of allocation at 24
    struct.pack_into("<Q", data, 24 + 2 * 8, eoa)
    bad.write_bytes(bytes(data))
    expected = _fresh(bad)
    assert expected[0] == "CorruptFileError", expected
    assert _outcome(good) == _fresh(good)
    assert _outcome(bad) == expected
    return str(expected[1])


def test_contiguous_data_past_the_end_of_allocation_is_judged_by_hdf5(tmp_path: Path) -> None:
    # a version-0 superblock has no checksum: a file whose end of allocation was lowered
    # into the data of its last dataset opens, and HDF5 then refuses that dataset
    good, bad = tmp_path / "good.h5", tmp_path / "bad.h5"
    _two_datasets(good, {"data": np.arange(4.0)}, {"data": np.arange(100.0)})
    with h5py.File(good, "r") as f:
        start = f["tail"].id.get_offset()
    size = len(good.read_bytes())
    assert struct.unpack_from("<Q", good.read_bytes(), 24 + 2 * 8) == (size,) == (start + 800,)
    # (all metadata lies before the data; H5D__contig_check refuses the dataset)
    assert "invalid dataset size" in _refused_as_when_fresh(good, bad, start + 8)


def test_a_header_past_the_end_of_allocation_is_judged_by_hdf5(tmp_path: Path) -> None:
    # the same with the end of allocation lowered into the last dataset's header (within
    # its first block): HDF5 reads no metadata past it
    good, bad = tmp_path / "good.h5", tmp_path / "bad.h5"
    # (no data: nothing allocated)
    _two_datasets(good, {"shape": (4,), "dtype": "f8"}, {"shape": (100,), "dtype": "f8"})
    assert "exceeds EOA" in _refused_as_when_fresh(good, bad, _address(good, "tail") + 16)


@pytest.mark.parametrize("libver", ["earliest", "v108", "v110", "latest"])
@pytest.mark.parametrize("userblock", [0, 512, 4096])
def test_superblock_fields_read_as_hdf5_gives_them(
    tmp_path: Path, libver: str, userblock: int
) -> None:
    from vz_hdf5._superblock import end_of_allocation, superblock_sizes

    path = tmp_path / "file.h5"
    with h5py.File(path, "w", libver=libver, userblock_size=userblock) as f:
        f["x"] = np.arange(10)
    data = path.read_bytes()
    with h5py.File(path, "r") as f:
        fcpl = f.id.get_create_plist()
        expected = (fcpl.get_userblock(), *fcpl.get_sizes())
    assert superblock_sizes(data) == expected == (userblock, 8, 8)

    def read_at(offset: int, size: int) -> bytes:
        return data[offset : offset + size]

    assert end_of_allocation(read_at, userblock, 8) == len(data) - userblock
    assert end_of_allocation(read_at, 512 if userblock == 0 else 0, 8) is None
    assert superblock_sizes(data[:userblock] + b"\0" * 8 + data[userblock + 8 :]) is None


def test_the_records_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At most ``_ENTRIES`` records (then emptied: a record whose walk is no longer kept
    would only keep that walk alive); the results stay the general path's."""
    monkeypatch.setattr(_opened, "_ENTRIES", 2)
    paths = [tmp_path / f"p{i}.h5" for i in range(3)]
    for i, path in enumerate(paths):
        _product_file(path, i + 1)
    for path in paths:
        assert _outcome(path) == _fresh(path)
        assert 0 < len(_opened._OPENED) <= 2


_WARM_AND_FRESH = r"""
import faulthandler, json, sys
from pathlib import Path
from vzcore.errors import VZError
from vzcore.manifests.attributes import clean_tree_attributes
from vz_hdf5 import _header_attrs, _opened
from vz_hdf5._reader import HDF5Reader

def outcome(path):
    try:
        group = HDF5Reader().read(path.as_uri())
        clean_tree_attributes(group, path.as_uri())
    except VZError as err:
        return [type(err).__name__, str(err)]
    out = []
    for gpath, g in group.walk():
        out.append([gpath, repr(sorted(g.attrs.items(), key=str))])
        for name, var in g.variables.items():
            data = var.data
            m = getattr(data, "manifest", None)
            out.append([gpath, name, list(var.dims), repr(sorted(var.attrs.items(), key=str)),
                        repr(getattr(data, "metadata", None)),
                        None if m is None else [m.path_index.tolist(), m.offsets.tolist(),
                                                m.lengths.tolist(), repr(m.inline)],
                        None if m is not None else data.tobytes().hex()])
    return out

original, limit = Path(sys.argv[1]), float(sys.argv[2])
for path in sorted(Path(sys.argv[3]).iterdir()):
    faulthandler.dump_traceback_later(limit, exit=True)
    _opened._OPENED.clear(); _header_attrs._REPLAYS.clear()
    fresh = outcome(path)
    outcome(original)  # (its headers kept and opened)
    warm = outcome(path)
    opened = len(_opened._OPENED)
    faulthandler.cancel_dump_traceback_later()
    print(json.dumps({"case": path.stem, "same": warm == fresh, "ok": fresh[0] != "CorruptFileError",
                      "opened": opened}), flush=True)
"""


@pytest.mark.parametrize("sample", ["nc4_file", "h5_file"])
def test_damaged_copies_read_as_if_nothing_was_kept(
    sample: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # Each damaged copy of a file is read once with nothing kept, and once right after
    # the intact file (whose dataset headers are then kept and recorded as opened by
    # HDF5): both reads give the same result, or the same error.
    from vzcore.testing.fuzz import mutations

    original: Path = request.getfixturevalue(sample)
    data = original.read_bytes()
    cases = tmp_path / "cases"
    cases.mkdir()
    for name, buf in mutations(data, 60, seed=15):
        (cases / f"{name}.h5").write_bytes(buf)
    limit = 20.0
    args = [str(original), str(limit), str(cases)]
    outcomes = child_outcomes(_WARM_AND_FRESH, args, 60, timeout=limit * 61 + 60)
    assert [o["case"] for o in outcomes if not o["same"]] == []
    assert sum(o["ok"] for o in outcomes) > 0  # (some damage is left alone by everyone)
    assert all(o["opened"] > 0 for o in outcomes)  # (the intact file's headers recorded)


@pytest.mark.parametrize(
    ("libver", "track_order", "links", "compact"),
    [
        ("latest", True, 5, True),  # link messages in the header
        ("latest", True, 20, False),  # dense storage (more than 8 links)
        ("latest", False, 5, True),
        ("earliest", False, 5, False),  # a symbol table (old-style group)
    ],
)
def test_compact_link_storage_is_told_from_the_link_info_message(
    tmp_path: Path, libver: str, track_order: bool, links: int, compact: bool
) -> None:
    from vz_hdf5._reader import _open, _Scanner

    path = tmp_path / "links.h5"
    with h5py.File(path, "w", libver=libver, track_order=track_order) as f:
        g = f.create_group("g", track_order=track_order)
        for i in range(links):
            g.create_dataset(f"d{i:02d}", data=np.arange(3) + i)
    url = path.as_uri()
    with _open(url, None) as (h5, source):
        scanner = _Scanner(url, h5, source)
        assert scanner._compact_links(h5["g"], None) is compact
        # the datasets read the same either way (H5Lget_info asked when not compact)
    assert _outcome(path) == _fresh(path)
    assert _outcome(path) == _fresh(path)
