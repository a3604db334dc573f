"""The native v1 B-tree chunk-index reader gives exactly what HDF5's chunk_iter gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("vz_hdf5")

import h5py
from vzcore.errors import OptionError


def _same_manifests(a, b) -> int:
    """Assert two groups have identical manifests; return the number of chunked arrays."""
    from vzcore.manifests import ManifestArray

    chunked = 0
    for (pa, ga), (pb, gb) in zip(a.walk(), b.walk(), strict=True):
        assert pa == pb
        assert list(ga.variables) == list(gb.variables)
        for name, va in ga.variables.items():
            da, db = va.data, gb.variables[name].data
            if not isinstance(da, ManifestArray):
                continue
            ma, mb = da.manifest, db.manifest
            assert ma.paths == mb.paths, name
            np.testing.assert_array_equal(ma.path_index, mb.path_index, err_msg=name)
            np.testing.assert_array_equal(ma.offsets, mb.offsets, err_msg=name)
            np.testing.assert_array_equal(ma.lengths, mb.lengths, err_msg=name)
            assert dict(ma.inline) == dict(mb.inline), name
            chunked += da.metadata.extra.get("hdf5_layout") == "chunked"
    return chunked


def _methods(group) -> set[str]:
    return {
        v.data.metadata.extra["chunk_index"]
        for _, g in group.walk()
        for v in g.variables.values()
        if hasattr(v.data, "metadata")
        and v.data.metadata.extra.get("chunk_index", "none") != "none"
    }


@pytest.mark.parametrize("fixture", ["nc4_file", "h5_file", "xr_files"])
def test_native_matches_chunk_iter_on_fixtures(hx, request, fixture: str) -> None:
    files = request.getfixturevalue(fixture)
    for path in files if isinstance(files, list) else [files]:
        native = hx.read(path)
        hdf5 = hx.read(path, chunk_index="hdf5")
        assert _same_manifests(native, hdf5) > 0
        assert _methods(native) == {"v1-btree"}
        assert _methods(hdf5) == {"hdf5"}


def _write(path: Path, **file_kwargs) -> None:
    rng = np.random.default_rng(3)
    with h5py.File(path, "w", **file_kwargs) as f:
        # 40 x 50 = 2000 chunks: a B-tree several levels deep
        f.create_dataset(
            "many",
            data=rng.random((400, 500)).astype("f4"),
            chunks=(10, 10),
            compression="gzip",
            compression_opts=1,
        )
        sparse = f.create_dataset(
            "sparse", shape=(100, 100), dtype="i2", chunks=(7, 9), fillvalue=-5
        )
        sparse[::13, ::11] = 3
        grow = f.create_dataset("grow", shape=(5, 4), maxshape=(None, 4), dtype="i8", chunks=(2, 4))
        grow[:] = 1
        grow.resize((11, 4))
        grow[5:] = 2
        shrink = f.create_dataset("shrink", data=np.arange(100.0), maxshape=(None,), chunks=(8,))
        shrink.resize((30,))
        d = f.create_dataset("with_attrs", data=np.arange(64, dtype="u1"), chunks=(16,))
        for i in range(40):  # object-header continuation blocks
            d.attrs[f"attr_{i:02d}"] = np.arange(i + 1)
        g = f.create_group("g")
        g.create_dataset(
            "x",
            data=np.arange(1000, dtype=">i4").reshape(10, 100),
            chunks=(3, 30),
            shuffle=True,
            compression="gzip",
        )


@pytest.mark.parametrize(
    ("file_kwargs", "native"),
    [
        ({}, True),
        ({"libver": ("v108", "v108")}, True),  # v2 object headers, layout v3
        ({"userblock_size": 1024}, True),
        ({"libver": "latest"}, False),  # layout v4: newer indexes, chunk_iter fallback
        ({"track_order": True}, True),
    ],
)
def test_native_matches_chunk_iter(hx, tmp_path: Path, file_kwargs: dict, native: bool) -> None:
    path = tmp_path / "idx.h5"
    _write(path, **file_kwargs)
    a = hx.read(path)
    b = hx.read(path, chunk_index="hdf5")
    assert _same_manifests(a, b) == 6
    assert _methods(a) == ({"v1-btree"} if native else {"hdf5"})
    assert hx.assert_same_as_h5py(path, a) == 6


def test_four_byte_addresses(hx, tmp_path: Path) -> None:
    path = tmp_path / "small_addr.h5"
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_sizes(4, 4)
    fid = h5py.h5f.create(str(path).encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl)
    with h5py.File(fid) as f:
        f.create_dataset(
            "v", data=np.arange(300, dtype="f8").reshape(30, 10), chunks=(4, 4), compression="gzip"
        )
    a = hx.read(path)
    b = hx.read(path, chunk_index="hdf5")
    assert _same_manifests(a, b) == 1
    assert _methods(a) == {"v1-btree"}
    assert hx.assert_same_as_h5py(path, a) == 1


def test_remote_native_index(hx, tmp_path: Path, nc4_file: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    from vz_hdf5._reader import HDF5Reader

    fs = fsspec.filesystem("memory")
    fs.pipe("/vzh-idx/f.nc", nc4_file.read_bytes())
    try:
        remote = HDF5Reader().read("memory://vzh-idx/f.nc")
        assert _methods(remote) == {"v1-btree"}
        local = hx.read(nc4_file)
        for name, var in local.variables.items():
            np.testing.assert_array_equal(
                var.data.manifest.offsets, remote.variables[name].data.manifest.offsets
            )
    finally:
        fs.rm("/vzh-idx", recursive=True)


def test_bad_chunk_index_option(hx, nc4_file: Path) -> None:
    with pytest.raises(ValueError, match="invalid option chunk_index='fast': pass 'auto'") as info:
        hx.read(nc4_file, chunk_index="fast")
    assert isinstance(info.value, OptionError)


def _libhdf5():
    import ctypes
    import glob
    import os

    libs = os.path.join(os.path.dirname(os.path.dirname(h5py.__file__)), "h5py.libs")
    found = glob.glob(os.path.join(libs, "libhdf5-*.so*"))
    if not found:
        pytest.skip("h5py's own libhdf5 not found (needed for H5Pset_chunk_opts)")
    return ctypes.CDLL(found[0])


@pytest.mark.parametrize("chunk_index", ["auto", "hdf5"])
def test_unfiltered_partial_edge_chunks_are_refused(hx, tmp_path: Path, chunk_index) -> None:
    import ctypes

    from vzcore.errors import UnsupportedFeatureError

    lib = _libhdf5()
    path = tmp_path / "edges.h5"
    with h5py.File(path, "w", libver="latest") as f:
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((4,))
        dcpl.set_deflate(4)
        assert lib.H5Pset_chunk_opts(ctypes.c_int64(dcpl.id), ctypes.c_uint(0x0002)) >= 0
        space = h5py.h5s.create_simple((10,))
        h5py.h5d.create(f.id, b"p", h5py.h5t.NATIVE_INT32, space, dcpl=dcpl)
        f["p"][...] = np.arange(10)
    with pytest.raises(UnsupportedFeatureError, match="partial edge chunks stored without"):
        hx.read(path, chunk_index=chunk_index)


@pytest.mark.parametrize("chunk_index", ["auto", "hdf5"])
def test_an_unfiltered_chunk_shorter_than_a_chunk_is_refused(
    tmp_path: Path, chunk_index: str
) -> None:
    # Without filters HDF5 stores every chunk whole; a shorter one (here written directly)
    # makes HDF5 read the bytes after it as values: garbage that h5py returns silently.
    import vzcore
    from vzcore.errors import CorruptFileError

    path = tmp_path / "short.h5"
    with h5py.File(path, "w") as f:
        d = f.create_dataset("x", shape=(8,), chunks=(4,), dtype="<f8")
        d[:] = np.arange(8.0)
        d.id.write_direct_chunk((4,), np.arange(2.0).tobytes())
        f.create_dataset("fine", data=np.arange(8.0), chunks=(4,))
    with pytest.raises(
        CorruptFileError,
        match=r"'/x' has no filters, but its chunk \(1,\) stores 16 bytes where a chunk of \(4,\) float64 elements holds 32",
    ):
        vzcore.open_virtual_dataset(
            str(path), loadable_variables=[], reader_options={"chunk_index": chunk_index}
        )
    ds = vzcore.open_virtual_dataset(str(path), loadable_variables=[], drop_variables=["x"])
    assert list(ds.data_vars) == ["fine"]


@pytest.mark.parametrize("file_kwargs", [{}, {"libver": ("v108", "v108")}, {"libver": "latest"}])
def test_few_chunk_rows_placed_as_numpy_places_them(
    hx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file_kwargs: dict
) -> None:
    """Datasets of at most 64 chunks are placed row by row in Python: same manifests."""
    from vz_hdf5 import _reader

    path = tmp_path / "few.h5"
    _write(path, **file_kwargs)
    with h5py.File(path, "a") as f:  # a few chunks, some outside the shrunk extent
        few = f.create_dataset("few", data=np.arange(60.0).reshape(6, 10), maxshape=(None, 10))
        few.resize((4, 10))
        del few
        f.create_dataset("few_chunked", data=np.arange(60.0).reshape(6, 10), chunks=(4, 3))
        f.create_dataset("one_chunk", data=np.arange(5), chunks=(5,))
        f.create_dataset("unwritten", shape=(9, 9), dtype="f4", chunks=(4, 4))
        part = f.create_dataset("part", shape=(9, 9), dtype="i4", chunks=(4, 4))
        part[:4, 4:8] = 7
    calls: list[int] = []
    real = _reader._place_few

    def spy(rows, *args):
        calls.append(len(rows))
        return real(rows, *args)

    monkeypatch.setattr(_reader, "_place_few", spy)
    fast = hx.read(path)
    assert calls  # the few-rows path ran
    monkeypatch.setattr(_reader, "_FEW_CHUNKS", -1)  # numpy for every dataset
    calls.clear()
    slow = hx.read(path)
    assert not calls
    assert _same_manifests(fast, slow) >= 6
    for (_, ga), (_, gb) in zip(fast.walk(), slow.walk(), strict=True):
        for name, va in ga.variables.items():
            assert va.data.metadata == gb.variables[name].data.metadata, name
    assert hx.assert_same_as_h5py(path, fast) >= 6


def test_place_few_equals_numpy_placement() -> None:
    """Random rows, duplicates and chunks outside the grid: the numpy placement's result."""
    from vz_hdf5._reader import _place_few

    rng = np.random.default_rng(7)
    for ndim in (1, 2, 3):
        chunks = tuple(int(c) for c in rng.integers(1, 5, ndim))
        grid = tuple(int(g) for g in rng.integers(1, 5, ndim))
        n = int(np.prod(grid))
        for _ in range(30):
            k = int(rng.integers(0, 12))
            starts = rng.integers(0, 6, (k, ndim)) * np.asarray(chunks)
            rows = np.concatenate(
                [starts, rng.integers(0, 2**40, (k, 2)), np.zeros((k, 1), np.int64)], axis=1
            ).astype(np.uint64)
            pi, off, ln = np.full(n, -1, np.int8), np.zeros(n, np.uint64), np.zeros(n, np.uint64)
            end = _place_few(rows.tolist(), ndim, chunks, grid, pi, off, ln)
            # the numpy placement of _chunked_manifest
            epi, eoff, eln = np.full(n, -1, np.int8), np.zeros(n, np.uint64), np.zeros(n, np.uint64)
            idx = rows[:, :ndim] // np.asarray(chunks, np.uint64)
            inside = (idx < np.asarray(grid, np.uint64)).all(axis=1)
            rows, idx = rows[inside], idx[inside]
            expected_end = None
            if rows.shape[0]:
                flat = np.ravel_multi_index(tuple(idx.T.astype(np.intp)), grid)
                epi[flat], eoff[flat], eln[flat] = 0, rows[:, ndim], rows[:, ndim + 1]
                expected_end = int((rows[:, ndim] + rows[:, ndim + 1]).max())
            np.testing.assert_array_equal(pi, epi)
            np.testing.assert_array_equal(off, eoff)
            np.testing.assert_array_equal(ln, eln)
            assert end == expected_end


@pytest.mark.parametrize("file_kwargs", [{}, {"libver": ("v108", "v108")}])
def test_one_leaf_trees_read_in_python_as_numpy_reads_them(
    hx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file_kwargs: dict
) -> None:
    """A tree of one leaf of at most 64 entries is read on Python ints: the same rows."""
    from vz_hdf5 import _btree

    path = tmp_path / "leaf.h5"
    _write(path, **file_kwargs)
    with h5py.File(path, "a") as f:
        f.create_dataset("few_chunked", data=np.arange(60.0).reshape(6, 10), chunks=(4, 3))
        f.create_dataset("one_chunk", data=np.arange(5), chunks=(5,))
        f.create_dataset("unwritten", shape=(9, 9), dtype="f4", chunks=(4, 4))
        part = f.create_dataset("part", shape=(9, 9, 2), dtype="i4", chunks=(4, 4, 1))
        part[:4, 4:8] = 7
        f.create_dataset("filtered", data=np.arange(90.0), chunks=(10,), compression="gzip")
    rows: list[list[list[int]]] = []
    real = _btree._leaf_rows

    def spy(*args):
        rows.append(real(*args))
        return rows[-1]

    monkeypatch.setattr(_btree, "_leaf_rows", spy)
    fast = hx.read(path)
    assert len(rows) >= 4  # (the unwritten dataset has no tree)
    assert all(type(v) is int for found in rows for row in found for v in row)
    monkeypatch.setattr(_btree, "FEW_ROWS", -1)  # numpy for every tree
    rows.clear()
    slow = hx.read(path)
    assert not rows
    assert _same_manifests(fast, slow) >= 5
    assert _methods(fast) == _methods(slow) == {"v1-btree"}
    for (_, ga), (_, gb) in zip(fast.walk(), slow.walk(), strict=True):
        for name, va in ga.variables.items():
            assert va.data.metadata == gb.variables[name].data.metadata, name
    assert hx.assert_same_as_h5py(path, fast) >= 5
