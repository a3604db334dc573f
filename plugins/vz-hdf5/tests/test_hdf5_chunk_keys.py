"""Chunk B-tree keys that HDF5's lookup cannot follow are refused, never referenced.

HDF5 lists a dataset's chunks by walking its v1 B-tree node by node, but reads a chunk by
descending from the root to the child whose keys enclose the chunk's coordinates. A
damaged key (out of order, or a nonzero element coordinate) makes the descent miss
chunks that the walk still lists: h5py then returns the fill value for them, while
references taken from the walk (vz-hdf5's native reader and ``chunk_iter`` alike) would
point at the stored bytes: a silent difference. Found by byte-mutating real files through
the corpus checker (a damaged key of ARM's ``example_interpolatedsonde.cdf``).
"""

from __future__ import annotations

import struct
from pathlib import Path

import h5py
import numpy as np
import pytest
import vzcore
from vzcore.errors import CorruptFileError

HEAD = 24  # "TREE", type, level, entries used, two sibling addresses (8 bytes each)
KEY = 32  # chunk size, filter mask, offsets of the two axes and of the element (8 bytes each)
ENTRY = KEY + 8  # key + child address


def _file(path: Path, chunks: int) -> bytes:
    with h5py.File(path, "w") as f:  # (libver "earliest": a v1 B-tree chunk index)
        data = np.arange(chunks * 4, dtype="<i4").reshape(chunks, 4)
        f.create_dataset("x", data=data, chunks=(1, 4))
        f.create_dataset("y", data=np.arange(3.0))
    return path.read_bytes()


def _nodes(data: bytes) -> list[int]:
    """Addresses of the chunk B-tree nodes (type 1), in file order."""
    found, at = [], data.find(b"TREE")
    while at >= 0:
        if data[at + 4] == 1:
            found.append(at)
        at = data.find(b"TREE", at + 1)
    return found


def _offset_of_key(node: int, key: int, axis: int) -> int:
    return node + HEAD + key * ENTRY + 8 + 8 * axis


def _damaged(path: Path, data: bytes, changes: dict[int, int]) -> Path:
    buf = bytearray(data)
    for at, value in changes.items():
        struct.pack_into("<Q", buf, at, value)
    out = path.with_name("damaged.h5")
    out.write_bytes(bytes(buf))
    return out


def _expect_refused(damaged: Path, original: np.ndarray) -> None:
    with h5py.File(damaged) as f:  # the hazard: HDF5 reads fill values where chunks are
        assert not np.array_equal(f["x"][()], original)
        assert f["x"].id.get_num_chunks() == original.shape[0]  # while it still lists them
    with pytest.raises(CorruptFileError, match=r"'/x': .*chunk B-tree node .* so HDF5 reads"):
        vzcore.open_virtual_dataset(str(damaged), loadable_variables=[])
    ds = vzcore.open_virtual_dataset(str(damaged), loadable_variables=[], drop_variables=["x"])
    assert list(ds.data_vars) == ["y"]


def test_a_nonzero_element_key_is_refused(tmp_path: Path) -> None:
    data = _file(tmp_path / "a.h5", 10)
    (node,) = _nodes(data)
    original = np.arange(40, dtype="<i4").reshape(10, 4)
    _expect_refused(
        _damaged(tmp_path / "a.h5", data, {_offset_of_key(node, 0, 2): 4 << 56}), original
    )


def test_leaf_keys_out_of_order_are_refused(tmp_path: Path) -> None:
    data = _file(tmp_path / "a.h5", 10)
    (node,) = _nodes(data)
    original = np.arange(40, dtype="<i4").reshape(10, 4)
    # key 3 says row 9: keys 3..9 no longer increase, the descent misses rows
    _expect_refused(_damaged(tmp_path / "a.h5", data, {_offset_of_key(node, 3, 0): 9}), original)


def test_an_internal_key_out_of_its_children_range_is_refused(tmp_path: Path) -> None:
    data = _file(tmp_path / "a.h5", 200)  # a root of 4 children over leaves of up to 57 rows
    root = next(n for n in _nodes(data) if data[n + 5] == 1)
    original = np.arange(800, dtype="<i4").reshape(200, 4)
    # the root's key 1 (the second child's lower bound) 10 rows earlier: the descent for
    # the first child's last 10 rows goes to the second child, which lacks them
    key1 = struct.unpack_from("<Q", data, _offset_of_key(root, 1, 0))[0]
    changes = {_offset_of_key(root, 1, 0): key1 - 10}
    _expect_refused(_damaged(tmp_path / "a.h5", data, changes), original)


def test_intact_multi_level_trees_read_as_before(tmp_path: Path) -> None:
    path = tmp_path / "a.h5"
    _file(path, 200)
    ds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    assert ds["x"].data.manifest.path_index.size == 200


@pytest.mark.parametrize("damage", ["element", "order"])
def test_damaged_leaves_of_a_multi_level_tree_are_refused(tmp_path: Path, damage: str) -> None:
    # (a tree of several leaves is checked level by level with numpy; one leaf with lists)
    data = _file(tmp_path / "a.h5", 200)
    leaf = [n for n in _nodes(data) if data[n + 5] == 0][1]
    original = np.arange(800, dtype="<i4").reshape(200, 4)
    if damage == "element":
        changes = {_offset_of_key(leaf, 5, 2): 4 << 40}
    else:  # key 5 of the second leaf says the first row of the leaf: out of order
        changes = {
            _offset_of_key(leaf, 5, 0): struct.unpack_from("<Q", data, _offset_of_key(leaf, 0, 0))[
                0
            ]
        }
    _expect_refused(_damaged(tmp_path / "a.h5", data, changes), original)


@pytest.mark.parametrize("chunks", [10, 200])  # placed row by row / with numpy
def test_a_chunk_address_whose_end_passes_2_to_the_64_is_refused(
    tmp_path: Path, chunks: int
) -> None:
    # address + size wraps around 2**64 to a small number: not inside the file
    data = _file(tmp_path / "a.h5", chunks)
    leaf = next(n for n in _nodes(data) if data[n + 5] == 0)
    damaged = _damaged(tmp_path / "a.h5", data, {leaf + HEAD + KEY: 2**64 - 8})
    with pytest.raises(CorruptFileError, match="past the end of the file"):
        vzcore.open_virtual_dataset(str(damaged), loadable_variables=[])


@pytest.mark.parametrize("chunks", [10, 200])  # placed row by row / with numpy
def test_a_chunk_address_past_4_gib_in_a_small_file_is_refused(tmp_path: Path, chunks: int) -> None:
    # (a small file's positions are placed as uint32: this one does not fit, and is
    # refused as past the end of the file, its end named exactly)
    data = _file(tmp_path / "a.h5", chunks)
    leaf = next(n for n in _nodes(data) if data[n + 5] == 0)
    size = struct.unpack_from("<I", data, leaf + HEAD)[0]  # the first chunk's stored size
    damaged = _damaged(tmp_path / "a.h5", data, {leaf + HEAD + KEY: 2**32 + 8})
    end = 2**32 + 8 + size
    with pytest.raises(CorruptFileError, match=f"up to offset {end}, past the end of the file"):
        vzcore.open_virtual_dataset(str(damaged), loadable_variables=[])
