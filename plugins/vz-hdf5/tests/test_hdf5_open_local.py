"""The reader's own ``h5py.File`` and ``Dataset`` construction equals h5py's.

A local file is opened with one file access property list made once per process
(:func:`vz_hdf5._reader._read_only_fapl`) instead of the two lists ``h5py.File(path, "r")``
builds per call, and :class:`vz_hdf5._reader._ReadOnlyDataset` makes its data transfer
property list on the first read. These tests compare both with what h5py makes itself.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from vz_hdf5._reader import (
    CHUNK_CACHE_SLOTS,
    _open_child,
    _open_local,
    _read_only_fapl,
    _ReadOnlyDataset,
)


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("a", data=np.arange(24, dtype="<i4").reshape(4, 6), chunks=(2, 3))
        f.create_dataset("s", data=np.float64(1.5))
        f["a"].attrs["units"] = "m"
    return path


def _fapl_settings(plist: h5py.h5p.PropFAID) -> tuple[object, ...]:
    return (
        plist.get_libver_bounds(),
        plist.get_alignment(),
        plist.get_cache(),
        plist.get_fclose_degree(),
        plist.get_driver(),
        plist.get_sieve_buf_size(),
        plist.get_meta_block_size(),
        plist.get_file_locking(),
        plist.get_page_buffer_size(),
    )


def _with_slots(settings: tuple[object, ...], slots: int) -> tuple[object, ...]:
    """``settings`` with the chunk cache's number of hash slots replaced."""
    mdc, _, nbytes, w0 = settings[2]  # type: ignore[misc]
    return (*settings[:2], (mdc, slots, nbytes, w0), *settings[3:])


def test_shared_fapl_equals_h5pys(small: Path) -> None:
    """h5py's list, but for the chunk cache's hash slots (_read_only_fapl's docstring)."""
    from h5py._hl.files import make_fapl

    theirs = make_fapl(None)  # what h5py.File(path, "r") uses
    ours = _read_only_fapl()
    assert not ours.equal(theirs)
    assert ours.get_cache()[1] == CHUNK_CACHE_SLOTS != theirs.get_cache()[1]
    theirs.set_cache(*_with_slots(_fapl_settings(theirs), CHUNK_CACHE_SLOTS)[2])  # type: ignore[misc]
    assert ours.equal(theirs)  # (every other property, the ones not listed here too)
    assert _fapl_settings(ours) == _fapl_settings(theirs)
    assert _read_only_fapl() is ours  # made once


def test_local_open_equals_h5py_file(small: Path) -> None:
    # (alone: a file open twice at once shares the first open's chunk cache settings)
    with h5py.File(small, "r") as theirs:
        their_settings = _fapl_settings(theirs.id.get_access_plist())
    ours = _open_local(str(small))
    try:
        assert _fapl_settings(ours.id.get_access_plist()) == _with_slots(
            their_settings, CHUNK_CACHE_SLOTS
        )
    finally:
        ours.close()
    with h5py.File(small, "r") as theirs:
        ours = _open_local(str(small))
        try:
            assert isinstance(ours, h5py.File)
            assert ours.mode == theirs.mode == "r"
            assert ours.filename == theirs.filename
            assert ours.driver == theirs.driver
            assert ours.libver == theirs.libver
            assert ours.userblock_size == theirs.userblock_size
            assert ours.id.get_intent() == theirs.id.get_intent() == h5py.h5f.ACC_RDONLY
            assert list(ours) == list(theirs)
            np.testing.assert_array_equal(ours["a"][()], theirs["a"][()])
            assert ours["a"].attrs["units"] == theirs["a"].attrs["units"]
            with pytest.raises((OSError, ValueError)):
                ours.create_group("g")  # read-only, as h5py's "r"
        finally:
            ours.close()
        assert not ours.id.valid


def test_local_open_refuses_a_non_hdf5_file_as_h5py_does(tmp_path: Path) -> None:
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not an HDF5 file" * 10)
    with pytest.raises(OSError) as theirs:
        h5py.File(bad, "r")
    with pytest.raises(OSError) as ours:
        _open_local(str(bad))
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


def test_read_only_dataset_reads_as_h5py(small: Path) -> None:
    with h5py.File(small, "r") as f:
        dset = _open_child(f, b"a")
        assert isinstance(dset, _ReadOnlyDataset)
        assert "_dxpl" not in dset.__dict__  # made on the first read
        plain = f["a"]
        # (before any read: HDF5 keeps per-read state in the list)
        assert dset._dxpl.equal(plain._dxpl)
        del dset.__dict__["_dxpl"]
        np.testing.assert_array_equal(dset[()], plain[()])
        np.testing.assert_array_equal(dset[1:3, ::2], plain[1:3, ::2])
        out = np.zeros((4, 6), "<i4")
        dset.read_direct(out)
        np.testing.assert_array_equal(out, plain[()])
        assert isinstance(dset._dxpl, h5py.h5p.PropDXID)
        assert dset._dxpl is dset._dxpl  # one per dataset, as h5py's
        assert dset.shape == plain.shape
        assert dset.dtype == plain.dtype
        assert dset.chunks == plain.chunks
        assert dset.maxshape == plain.maxshape
        scalar = _open_child(f, b"s")
        assert scalar[()] == f["s"][()]
        with pytest.raises(ValueError, match="not a DatasetID"):
            _ReadOnlyDataset(f.id)


@pytest.mark.parametrize("creation_first", [False, True])
@pytest.mark.parametrize("group_order", [False, True])
@pytest.mark.parametrize("track_order", [False, True])
def test_links_in_h5pys_order_with_their_types(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    track_order: bool,
    group_order: bool,
    creation_first: bool,
) -> None:
    """Names in h5py's order (creation order where the group tracks it: the root's is
    in the root group's creation plist, not the file's) and their link types, whichever
    iteration is tried first."""
    from vz_hdf5 import _reader
    from vz_hdf5._reader import _link_rows

    monkeypatch.setitem(_reader._LINK_ORDER, "creation_first", creation_first)

    path = tmp_path / "links.h5"
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = 1
    with h5py.File(path, "w", track_order=track_order) as f:
        for name in ("zeta", "alpha", "mid"):  # creation order differs from name order
            f[name] = np.arange(3)
        f.create_group("g", track_order=group_order)
        f["g/b"] = 1
        f["g/a"] = 2
        f["soft"] = h5py.SoftLink("/zeta")
        f["dangling"] = h5py.SoftLink("/nowhere")
        f["ext"] = h5py.ExternalLink(str(other), "/x")
        f.id.links.create_hard(b"caf\xe9", f.id, b"mid")  # a name that is not UTF-8
    with h5py.File(path, "r") as f:
        for grp in (f, f["g"]):
            found = _link_rows(grp)
            names = [n if isinstance(n, bytes) else n.encode() for n in grp]
            assert [k for k, _, _ in found] == names
            infos = [grp.id.links.get_info(k) for k in names]
            assert [t for _, t, _ in found] == [i.type for i in infos]
            hard = h5py.h5l.TYPE_HARD
            assert [a for _, _, a in found] == [i.u if i.type == hard else -1 for i in infos]
        kinds = {k: t for k, t, _ in _link_rows(f)}
        assert kinds[b"soft"] == h5py.h5l.TYPE_SOFT
        assert kinds[b"ext"] == h5py.h5l.TYPE_EXTERNAL
        assert kinds[b"caf\xe9"] == h5py.h5l.TYPE_HARD
        if track_order:
            assert [k for k, _, _ in _link_rows(f)][:3] == [b"zeta", b"alpha", b"mid"]
        assert [k for k, _, _ in _link_rows(f["g"])] == (
            [b"b", b"a"] if group_order else [b"a", b"b"]
        )


def _open_files() -> int:
    """How many HDF5 file identifiers the process holds."""
    return int(h5py.h5f.get_obj_count(h5py.h5f.OBJ_ALL, h5py.h5f.OBJ_FILE))


def test_close_closes_the_file_alone_or_as_h5py_does(small: Path, monkeypatch) -> None:
    """``_close``: the file's identifier alone when nothing else of it is open; else
    ``File.close`` (which closes what is still open, then walks h5py's identifiers)."""
    from vz_hdf5 import _reader

    calls: list[str] = []
    real = h5py.File.close
    monkeypatch.setattr(h5py.File, "close", lambda self: (calls.append("h5py"), real(self)))
    before = _open_files()
    h5 = _open_local(str(small))
    _reader._close(h5)
    assert calls == []
    assert not h5.id.valid
    assert _open_files() == before

    h5 = _open_local(str(small))
    dset = _open_child(h5, b"a")  # (still open: File.close closes it)
    _reader._close(h5)
    assert calls == ["h5py"]
    assert not h5.id.valid
    assert not dset.id.valid
    assert _open_files() == before

    with h5py.File(small, "r") as theirs:  # the same file open elsewhere: h5py's close
        calls.clear()
        h5 = _open_local(str(small))
        _reader._close(h5)
        assert calls == ["h5py"]
        assert not h5.id.valid
        assert theirs["a"][0, 0] == 0  # (theirs stays open)
    assert _open_files() == before


def test_a_read_leaves_no_file_open(small: Path) -> None:
    from vz_hdf5._reader import HDF5Reader

    before = _open_files()
    for _ in range(2):  # (the second read leaves the datasets unopened: vz_hdf5._opened)
        group = HDF5Reader().read(small.as_uri())
        assert set(group.variables) == {"a", "s"}
        assert _open_files() == before
    small.write_bytes(small.read_bytes())  # (rewritable in place: nothing holds it)
