"""Chunks HDF5 stored with optional filters skipped (a non-zero filter mask).

h5py's and netCDF-C's deflate and h5py's LZF are optional filters: a chunk they cannot
shrink is stored without them and its filter mask says so. Such variables are referenced
with the ``vz_hdf5_filter_mask`` codec, read back through kerchunk JSON (zarr format 2 and
3), Icechunk and xarray, and compared with h5py / xarray's netcdf4 engine bit for bit;
chunks that stored lengths cannot tell apart are refused.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
pytest.importorskip("vz_kerchunk")
fsspec = pytest.importorskip("fsspec")
zarr = pytest.importorskip("zarr")

import vzcore
from vzcore.errors import UnsupportedFeatureError, VZSkippedPartsWarning
from vzcore.testing.outputs import reference_group

from vz_hdf5.codecs import HDF5FilterMask

from .conftest import outputs_against_h5py


def _masks(dset: Any) -> list[tuple[int, int]]:
    rows: list[tuple[int, int]] = []
    dset.id.chunk_iter(lambda info: rows.append((info.filter_mask, info.size)))
    return rows


def _mixed(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Values whose first half compresses and whose second half is random bytes."""
    data = np.zeros(shape, dtype=dtype)
    raw = rng.integers(0, 256, data.nbytes, dtype=np.uint8)
    half = data.shape[0] // 2
    data[half:] = raw.view(dtype).reshape(shape)[half:]
    if data.dtype.kind == "f":
        data[np.isnan(data)] = 1.5  # NaN payloads: any NaN equals any NaN below anyway
    return data


def _store_like_hdf5_1(dset: Any, data: np.ndarray) -> None:
    """Write ``data`` chunk by chunk as HDF5 1.x did: deflate skipped where it cannot shrink.

    HDF5 2.0 lets deflate grow a chunk instead, so files with such chunks come from
    older libraries (netCDF-C, h5py and AnnData files of their time); direct chunk writes
    reproduce them. Handles the pipelines [deflate] and [shuffle, deflate, fletcher32].
    """
    import numcodecs

    plist = dset.id.get_create_plist()
    ids = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    chunks = dset.chunks
    for index in np.ndindex(*(s // c for s, c in zip(data.shape, chunks, strict=True))):
        start = tuple(i * c for i, c in zip(index, chunks, strict=True))
        block = data[tuple(slice(a, a + c) for a, c in zip(start, chunks, strict=True))]
        raw = np.ascontiguousarray(block, dtype=dset.dtype).tobytes()
        mask = 0
        for bit, fid in enumerate(ids):
            if fid == 2:
                raw = numcodecs.Shuffle(dset.dtype.itemsize).encode(raw).tobytes()
            elif fid == 1:
                stream = zlib.compress(raw, 4)
                if len(stream) >= len(raw):
                    mask |= 1 << bit  # HDF5 1.x: deflate fails, the chunk skips it
                else:
                    raw = stream
            elif fid == 3:
                raw = bytes(numcodecs.Fletcher32().encode(raw))
        dset.id.write_direct_chunk(start, raw, filter_mask=mask)


@pytest.fixture
def masked_h5(tmp_path: Path) -> Path:
    rng = np.random.default_rng(7)
    path = tmp_path / "masked.h5"
    with h5py.File(path, "w") as f:
        d = f.create_dataset("gzip", shape=(40, 6), dtype="<f8", chunks=(5, 6), compression="gzip")
        _store_like_hdf5_1(d, _mixed(rng, (40, 6), "<f8"))
        # deflate is filter 1 of 3: skipped chunks are still shuffled and checksummed
        d = f.create_dataset(
            "gzip_shuffle_fletcher",
            shape=(64,),
            dtype=">i4",
            chunks=(8,),
            compression="gzip",
            shuffle=True,
            fletcher32=True,
        )
        _store_like_hdf5_1(d, _mixed(rng, (64,), ">i4"))
        # LZF (h5py's own filter) skips chunks it cannot shrink, in every HDF5 version
        d = f.create_dataset(
            "lzf", shape=(100,), dtype="<i2", chunks=(10,), compression="lzf", fillvalue=-3
        )
        d[:70] = _mixed(rng, (70,), "<i2")  # chunks 7-9 never written: fill value
        f.create_dataset("plain_gzip", data=np.arange(30.0), chunks=(10,), compression="gzip")
    with h5py.File(path, "r") as f:
        for name in ("gzip", "gzip_shuffle_fletcher", "lzf"):
            masks = {m for m, _ in _masks(f[name])}
            assert masks > {0}, (name, masks)  # the sample holds both kinds of chunk
    return path


def test_skipped_filters_read_back_exactly(tmp_path: Path, masked_h5: Path) -> None:
    names = ["gzip", "gzip_shuffle_fletcher", "lzf", "plain_gzip"]
    for where, name, got, expected in outputs_against_h5py(masked_h5, tmp_path, names):
        assert got.dtype.newbyteorder("=") == expected.dtype.newbyteorder("="), where
        assert got.tobytes() == expected.astype(got.dtype).tobytes(), (where, name)
    meta = json.loads(json.loads((tmp_path / "refs-v2.json").read_text())["refs"]["gzip/.zarray"])
    assert meta["filters"] is None
    assert meta["compressor"]["id"] == "vz_hdf5_filter_mask"
    assert meta["compressor"]["skipped"] == [[5 * 6 * 8, 1]]
    plain = json.loads(
        json.loads((tmp_path / "refs-v2.json").read_text())["refs"]["plain_gzip/.zarray"]
    )
    assert plain["compressor"] == {"id": "zlib", "level": 4}  # the common path is unchanged
    vds = vzcore.open_virtual_dataset(str(masked_h5), loadable_variables=[])
    fletcher = vds["gzip_shuffle_fletcher"].data.metadata.codecs
    assert fletcher[0]["skipped"] == [[8 * 4 + 4, 0b010]]  # shuffled + checksum, no deflate


def test_netcdf4_with_incompressible_chunks_through_xarray(tmp_path: Path) -> None:
    netCDF4 = pytest.importorskip("netCDF4")  # noqa: N806  # the module's own name
    xr = pytest.importorskip("xarray")
    rng = np.random.default_rng(3)
    path = tmp_path / "noise.nc"
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("x", 64)
        ds.createDimension("y", 4)
        x = ds.createVariable("x", "f8", ("x",), zlib=True, shuffle=False, chunksizes=(16,))
        x[:] = rng.random(64)  # a loaded coordinate whose chunks skip deflate
        v = ds.createVariable(
            "noise", "f4", ("x", "y"), zlib=True, chunksizes=(8, 4), fill_value=np.float32(-999)
        )
        v.scale_factor = 0.5
        v[:] = _mixed(rng, (64, 4), "f4")
    with h5py.File(path, "r+") as f:  # the chunks as netCDF-C over HDF5 1.x stored them
        _store_like_hdf5_1(f["x"], f["x"][()])
        _store_like_hdf5_1(f["noise"], f["noise"][()])
    with h5py.File(path, "r") as f:
        assert {m for m, _ in _masks(f["noise"])} == {0, 0b10}  # shuffle, then deflate
        assert {m for m, _ in _masks(f["x"])} == {1}
    refs = tmp_path / "noise.json"
    vzcore.open_virtual_dataset(str(path)).virtualize.to_kerchunk(str(refs))
    expected = xr.open_dataset(path, engine="netcdf4").load()
    for engine, kwargs in (("kerchunk", {}), ("zarr", {"consolidated": False, "zarr_format": 2})):
        store = (
            str(refs)
            if engine == "kerchunk"
            else fsspec.filesystem("reference", fo=str(refs)).get_mapper("")
        )
        got = xr.open_dataset(store, engine=engine, **kwargs).load()
        for name in ("x", "noise"):
            assert got[name].dtype == expected[name].dtype, (engine, name)
            np.testing.assert_array_equal(got[name].values, expected[name].values)
    raw = xr.open_dataset(str(refs), engine="kerchunk", mask_and_scale=False).load()
    with h5py.File(path, "r") as f:
        assert raw["noise"].values.tobytes() == f["noise"][()].tobytes()


def _write_chunks(path: Path, chunks: list[tuple[bytes, int]], filters: dict[str, Any]) -> None:
    with h5py.File(path, "w") as f:
        d = f.create_dataset("v", shape=(8 * len(chunks),), dtype="<i4", chunks=(8,), **filters)
        for i, (raw, mask) in enumerate(chunks):
            d.id.write_direct_chunk((8 * i,), raw, filter_mask=mask)
        f.create_dataset("good", data=np.arange(5))


def _exact_length_stream(size: int) -> tuple[bytes, bytes]:
    """Return chunk bytes of ``size`` whose zlib stream is exactly ``size`` bytes long."""
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    for k in range(size + 1):
        raw = bytes(k) + noise[k:]
        stream = zlib.compress(raw, 4)
        if len(stream) == size:
            return raw, stream
    raise AssertionError("no prefix gives a stream of the chunk's length")  # pragma: no cover


def test_filtered_chunk_of_the_skipped_length_is_refused(tmp_path: Path) -> None:
    raw, stream = _exact_length_stream(32)
    path = tmp_path / "clash.h5"
    skipped = np.arange(8, dtype="<i4").tobytes()  # stored as is: mask 1, 32 bytes
    _write_chunks(path, [(skipped, 1), (stream, 0)], {"compression": "gzip"})
    with h5py.File(path, "r") as f:  # h5py decodes both chunks by their masks
        assert f["v"][8:].tobytes() == raw
    with pytest.raises(UnsupportedFeatureError, match=r"'/v'.*chunk at \[8\].*32 bytes"):
        vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    with pytest.warns(VZSkippedPartsWarning, match="'/v'"):
        vds = vzcore.open_virtual_dataset(
            str(path), loadable_variables=[], reader_options={"skip_unsupported": True}
        )
    assert list(vds.data_vars) == ["good"]


def test_two_masks_with_one_length_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "two.h5"
    block = np.arange(8, dtype="<i4").tobytes()
    shuffled = np.frombuffer(block, "u1").reshape(8, 4).T.tobytes()
    # deflate skipped (still shuffled) and both skipped: same length, other bytes
    _write_chunks(path, [(shuffled, 0b10), (block, 0b11)], {"compression": "gzip", "shuffle": True})
    with h5py.File(path, "r") as f:
        assert (f["v"][()] == np.tile(np.arange(8), 2)).all()
    with pytest.raises(UnsupportedFeatureError, match=r"'/v'.*32 stored bytes.*deflate"):
        vzcore.open_virtual_dataset(str(path), loadable_variables=[])


def test_two_masks_with_two_lengths_read_back(tmp_path: Path) -> None:
    import numcodecs

    path = tmp_path / "two_lengths.h5"
    block = np.arange(8, dtype="<i4").tobytes()
    shuffled = np.frombuffer(block, "u1").reshape(8, 4).T.tobytes()
    fletcher = numcodecs.Fletcher32()  # HDF5's checksum layout
    _write_chunks(
        path,
        [
            (fletcher.encode(shuffled), 0b010),
            (shuffled, 0b110),
            (fletcher.encode(zlib.compress(shuffled)), 0),
        ],
        {"compression": "gzip", "shuffle": True, "fletcher32": True},
    )
    with h5py.File(path, "r") as f:
        expected = f["v"][()]
    assert (expected == np.tile(np.arange(8), 3)).all()
    refs = tmp_path / "two.json"
    vds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    assert vds["v"].data.metadata.codecs[0]["skipped"] == [[32, 0b110], [36, 0b010]]
    vds.virtualize.to_kerchunk(str(refs))
    assert reference_group(refs, 2)["v"][...].tobytes() == expected.tobytes()


def test_filter_mask_codec() -> None:
    codec = HDF5FilterMask(
        filters=[{"id": "shuffle", "elementsize": 4}, {"id": "zlib"}], size=32, skipped=[[32, 0b10]]
    )
    config = codec.get_config()
    assert config == {
        "id": "vz_hdf5_filter_mask",
        "filters": [{"id": "shuffle", "elementsize": 4}, {"id": "zlib"}],
        "size": 32,
        "skipped": [[32, 2]],
    }
    import numcodecs

    assert numcodecs.get_codec(config).get_config() == config
    block = np.arange(8, dtype="<i4").tobytes()
    assert codec.decode(codec.encode(block)) == block  # compresses: stored filtered
    noise = np.random.default_rng(1).integers(0, 256, 32, dtype=np.uint8).tobytes()
    stored = codec.encode(noise)  # zlib makes it longer than 32, so no clash either way
    assert codec.decode(stored) == noise
    out = np.zeros(8, "<i4")
    codec.decode(codec.encode(block), out=out)
    assert out.tobytes() == block
    with pytest.raises(ValueError, match="decodes to"):
        HDF5FilterMask(filters=[{"id": "zlib"}], size=16, skipped=[[9, 1]]).decode(b"x" * 9)
    with pytest.raises(ValueError, match="do not fit"):
        HDF5FilterMask(filters=[{"id": "zlib"}], size=16, skipped=[[16, 2]])
    with pytest.raises(ValueError, match="listed twice"):
        HDF5FilterMask(filters=[{"id": "zlib"}], size=16, skipped=[[16, 1], [16, 1]])
