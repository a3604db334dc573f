import numpy as np
import pytest

from vzcore.errors import CombineError, VirtualArrayValuesError
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray


def marr(shape, chunks, path="file:///a.nc", dtype="<f4", codecs=(), fill=None):
    meta = ArrayMetadata(
        shape=shape, dtype=np.dtype(dtype), chunk_shape=chunks, codecs=codecs, fill_value=fill
    )
    grid = meta.grid_shape
    n = int(np.prod(grid))
    man = ChunkManifest.from_arrays(
        np.full(grid, path, dtype=object), np.arange(n).reshape(grid) * 1000, np.full(grid, 10)
    )
    return ManifestArray(meta, man)


def test_grid_must_match_metadata():
    meta = ArrayMetadata(shape=(10,), dtype=np.dtype("f4"), chunk_shape=(5,))
    with pytest.raises(ValueError, match="grid"):
        ManifestArray(meta, ChunkManifest.empty((3,)))


def test_concatenate_joins_manifests():
    a, b = marr((4, 6), (2, 3), "file:///a"), marr((3, 6), (2, 3), "file:///b")
    c = np.concatenate([a, b], axis=0)
    assert isinstance(c, ManifestArray)
    assert c.shape == (7, 6)
    assert c.manifest.grid_shape == (4, 2)
    assert c.manifest[(3, 1)][0] == "file:///b"


def test_concatenate_refuses_chunks_that_do_not_tile():
    zlib = ({"id": "zlib", "level": 1},)
    a, b = (
        marr((5, 6), (2, 3), "file:///a", codecs=zlib),
        marr((4, 6), (2, 3), "file:///b", codecs=zlib),
    )
    with pytest.raises(
        CombineError,
        match="not a multiple of the chunk size 2 and another "
        "array follows it; its partial last chunk is stored encoded",
    ):
        np.concatenate([a, b], axis=0)


def test_concatenate_uncompressed_partial_chunk_makes_a_rectilinear_grid():
    def full(shape, path):  # uncompressed (2, 3) float32 chunks: 24 bytes each
        arr = marr(shape, (2, 3), path)
        m = arr.manifest
        return ManifestArray(
            arr.metadata, ChunkManifest(m.paths, m.path_index, m.offsets, np.full(m.grid_shape, 24))
        )

    a, b = full((5, 6), "file:///a"), full((4, 6), "file:///b")
    c = np.concatenate([a, b], axis=0)
    assert c.shape == (9, 6)
    assert c.metadata.chunk_edges == ((2, 2, 1, 2, 2), None)
    assert c.metadata.grid_shape == c.manifest.grid_shape == (5, 2)
    # The cut chunk keeps the bytes of its first row only (3 float32).
    assert c.manifest.lengths[:, 0].tolist() == [24, 24, 12, 24, 24]
    # A stored chunk of another length is no uncompressed chunk of that shape: refused.
    with pytest.raises(CombineError, match="a stored chunk is not 24 bytes long"):
        np.concatenate([marr((5, 6), (2, 3), "file:///a"), b], axis=0)


def test_rectilinear_slicing_expand_and_equality():
    from vzcore.manifests.grid import edges_from_json, edges_to_json

    meta = ArrayMetadata(
        shape=(9, 6), dtype=np.dtype("<f4"), chunk_shape=(2, 3), chunk_edges=((2, 2, 1, 2, 2), None)
    )
    grid = meta.grid_shape
    man = ChunkManifest.from_arrays(
        np.full(grid, "file:///a", dtype=object),
        np.arange(10).reshape(grid) * 100,
        np.full(grid, 24),
    )
    arr = ManifestArray(meta, man)
    assert arr[5:].metadata.chunk_edges is None  # 2, 2 from 5: regular again
    assert arr[5:].shape == (4, 6)
    assert arr[4:].metadata.chunk_edges == ((1, 2, 2), None)
    assert arr[2:7].metadata.chunk_edges == ((2, 1, 2), None)
    with pytest.raises(IndexError, match="bounds not on the chunk edges"):
        arr[3:]
    same = ManifestArray(meta, man)
    assert bool((arr == same).all())
    assert (arr == same).shape == (9, 6)
    assert np.expand_dims(arr, 0).metadata.chunk_edges == (None, (2, 2, 1, 2, 2), None)
    assert edges_to_json((5, 5, 5, 2, 5, 5)) == [[5, 3], 2, [5, 2]]
    assert edges_from_json([[5, 3], 2, [5, 2], 5], 27, "x") == (5, 5, 5, 2, 5, 5)
    with pytest.raises(ValueError, match="only the last chunk"):
        ArrayMetadata(
            shape=(9,), dtype=np.dtype("f4"), chunk_shape=(2,), chunk_edges=((2, 2, 2, 2, 2, 2),)
        )


def test_concatenate_names_both_sources_when_codecs_differ():
    a = marr((4,), (2,), "file:///a.nc", codecs=({"id": "zlib", "level": 1},))
    b = marr((4,), (2,), "file:///b.nc", codecs=({"id": "zlib", "level": 9},))
    with pytest.raises(CombineError) as info:
        np.concatenate([a, b])
    msg = str(info.value)
    assert "a.nc" in msg
    assert "b.nc" in msg
    assert "codecs" in msg


def test_concatenate_with_numpy_needs_values():
    with pytest.raises(VirtualArrayValuesError):
        np.concatenate([marr((2,), (2,)), np.zeros(2, "f4")])


def test_stack_and_expand_dims():
    a, b = marr((4,), (2,), "file:///a"), marr((4,), (2,), "file:///b")
    s = np.stack([a, b], axis=0)
    assert s.shape == (2, 4)
    assert s.chunk_shape == (1, 2)
    assert s.manifest[(1, 0)][0] == "file:///b"
    e = np.expand_dims(a, 1)
    assert e.shape == (4, 1)
    assert e.chunk_shape == (2, 1)


def test_broadcast_to_repeats_references_along_new_axes():
    a = marr((4,), (2,))
    b = np.broadcast_to(a, (3, 4))
    assert b.shape == (3, 4)
    assert b.chunk_shape == (1, 2)
    assert b.manifest[(2, 1)] == a.manifest[(1,)]
    with pytest.raises(ValueError, match="broadcast"):
        np.broadcast_to(a, (3, 5))


def test_result_type_and_astype():
    a = marr((4,), (2,), dtype="<i2")
    assert np.result_type(a, a) == np.dtype("i2")
    assert a.astype("i2") is a
    with pytest.raises(VirtualArrayValuesError, match="Casting"):
        a.astype("f8")


def test_chunk_aligned_indexing():
    a = marr((10, 6), (4, 3))
    sub = a[4:10, 3:]
    assert sub.shape == (6, 3)
    assert sub.manifest[(0, 0)] == a.manifest[(1, 1)]
    assert a[None].shape == (1, 10, 6)
    assert a[..., :3].shape == (10, 3)
    with pytest.raises(IndexError, match="whole chunks"):
        a[1:5]
    with pytest.raises(IndexError, match="whole chunks"):
        a[0]


def test_integer_index_along_unit_chunks_drops_the_axis():
    a = marr((3, 4), (1, 2))
    row = a[2]
    assert row.shape == (4,)
    assert row.manifest[(1,)] == a.manifest[(2, 1)]


def test_values_are_never_read_implicitly():
    a = marr((4,), (2,))
    with pytest.raises(VirtualArrayValuesError, match=r"np\.asarray"):
        np.asarray(a)
    with pytest.raises(VirtualArrayValuesError):
        a + 1
    with pytest.raises(VirtualArrayValuesError):
        np.mean(a)
    with pytest.raises(VirtualArrayValuesError):
        bool(a)


def test_equality_by_reference():
    a, b = marr((4,), (2,), "file:///a"), marr((4,), (2,), "file:///b")
    same = a
    assert (a == same).all()
    assert not (a == b).any()
    assert (a == same).shape == (4,)


def test_result_type_keeps_a_shared_big_endian_dtype():
    a = marr((4,), (2,), dtype=">f4")
    assert np.result_type(a, a) == np.dtype(">f4")
    assert np.result_type(a, marr((4,), (2,), dtype="<f8")) == np.dtype("f8")


def test_astype_unsized_string_kind_is_a_no_op():
    s = marr((4,), (2,), dtype="S8")
    assert s.astype("S") is s
    with pytest.raises(VirtualArrayValuesError):
        s.astype("U")


def test_astype_to_the_other_byte_order_keeps_the_stored_one():
    # the chunks decode by the stored dtype, so the values are the same in either order
    big = marr((4,), (2,), dtype=">f4")
    assert big.astype("<f4") is big
    assert big.astype("=f4") is big
    with pytest.raises(VirtualArrayValuesError):
        big.astype("<f8")


def test_astype_of_a_padded_compound_to_its_packed_fields_keeps_the_layout():
    padded = np.dtype(
        {"names": ["a", "b"], "formats": ["<f4", "<i2"], "offsets": [0, 4], "itemsize": 8}
    )
    spelled = np.dtype([("a", "<f4"), ("b", "<i2"), ("f2", "V2")])  # as zarr v2 spells padding
    packed = np.dtype([("a", "<f4"), ("b", "<i2")])
    for stored in (padded, spelled):
        arr = marr((4,), (2,), dtype=stored)
        assert arr.astype(packed) is arr
    with pytest.raises(VirtualArrayValuesError):  # another field type changes the values
        marr((4,), (2,), dtype=spelled).astype(np.dtype([("a", "<f8"), ("b", "<i2")]))
    with pytest.raises(VirtualArrayValuesError):  # a named field is not padding
        marr((4,), (2,), dtype=np.dtype([("a", "<f4"), ("b", "<i2"), ("c", "V2")])).astype(packed)
