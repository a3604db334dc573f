"""HDF5 LZF, scale-offset, LZO and Blosc2 chunks decoded by vz-hdf5's own numcodecs codecs.

Files are written by h5py (LZF, scale-offset), hdf5plugin or PyTables (Blosc2) and, for
PyTables' LZO (no writer installs here), by h5py's direct chunk writes of LZO streams in
PyTables' chunk format. Each is scanned fully virtual, written as kerchunk JSON (zarr
format 2 and 3) and into Icechunk, and read back by zarr-python, which finds the codecs
through vz-hdf5's entry points; every value equals h5py's (or the written array).
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
pytest.importorskip("imagecodecs")
pytest.importorskip("vz_kerchunk")
fsspec = pytest.importorskip("fsspec")
zarr = pytest.importorskip("zarr")

import vzcore
from vzcore.testing.outputs import reference_group, zarr_outputs

from vz_hdf5.codecs import HDF5LZF, HDF5ScaleOffset

from .conftest import outputs_against_h5py


def _check_all_outputs(path: Path, tmp_path: Path, names: list[str]) -> None:
    """Every variable in ``names`` reads back equal to h5py through every output."""
    for where, name, got, expected in outputs_against_h5py(path, tmp_path, names):
        if where == "kerchunk v2":
            assert got.dtype == expected.dtype, (where, name)
        else:  # zarr v3 keeps the byte order in the bytes codec, not the dtype
            assert got.dtype == expected.dtype.newbyteorder("="), (where, name)
        np.testing.assert_array_equal(got, expected, err_msg=f"{where}: {name}")


def _codec_ids(refs: Path, name: str) -> list[str]:
    meta = json.loads(json.loads(refs.read_text())["refs"][f"{name}/.zarray"])
    return [c["id"] for c in [*(meta.get("filters") or []), meta.get("compressor") or {}] if c]


# -- LZF ---------------------------------------------------------------------------------


def test_lzf_datasets_read_back_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    path = tmp_path / "lzf.h5"
    with h5py.File(path, "w") as f:
        # (compressible values: a chunk that LZF cannot shrink is stored unfiltered, which
        # takes the vz_hdf5_filter_mask codec: test_hdf5_filter_mask.py)
        f.create_dataset(
            "f4", data=rng.integers(0, 4, (10, 7)).astype("f4"), chunks=(4, 3), compression="lzf"
        )
        f.create_dataset(
            "be_f8", data=np.arange(50, dtype=">f8"), chunks=(16,), compression="lzf", shuffle=True
        )
        d = f.create_dataset(
            "i2", shape=(400,), dtype="i2", chunks=(100,), compression="lzf", fillvalue=-7
        )
        d[:150] = np.arange(150) // 10  # chunks 2 and 3 are never written: fill value
        f.create_dataset(
            "text",
            data=np.frombuffer(b"lorem ipsum dolor " * 200, "u1"),
            chunks=(1000,),
            compression="lzf",
        )
    _check_all_outputs(path, tmp_path, ["f4", "be_f8", "i2", "text"])
    vzcore.open_virtual_dataset(str(path), loadable_variables=[]).virtualize.to_kerchunk(
        str(tmp_path / "ids.json")
    )
    assert _codec_ids(tmp_path / "ids.json", "f4") == ["vz_hdf5_lzf"]


def test_lzf_codec_config_and_errors() -> None:
    codec = HDF5LZF(size=16)
    assert codec.get_config() == {"id": "vz_hdf5_lzf", "size": 16}
    import imagecodecs

    raw = bytes(range(16))
    stream = bytes([15]) + raw  # one literal run of 16 bytes
    assert codec.decode(stream) == raw
    out = np.zeros(4, dtype="<i4")
    codec.decode(stream, out=out)
    assert out.tobytes() == raw
    with pytest.raises(ValueError, match="decodes to 15 bytes"):
        codec.decode(bytes([14]) + raw[:15])
    with pytest.raises((ValueError, imagecodecs.LzfError)):
        HDF5LZF(size=16).decode(b"\xff\x00")
    assert codec.decode(codec.encode(raw)) == raw


def test_lzf_fuzzed_chunks_never_crash() -> None:
    import imagecodecs

    rng = np.random.default_rng(7)
    codec = HDF5LZF(size=64)
    for _ in range(300):
        data = rng.integers(0, 256, int(rng.integers(0, 80)), dtype="u1").tobytes()
        try:
            out = codec.decode(data)
        except (ValueError, imagecodecs.LzfError):
            continue
        assert len(out) == 64


# -- scale-offset ------------------------------------------------------------------------


def _scaleoffset_file(path: Path) -> list[str]:
    rng = np.random.default_rng(3)
    names = []
    with h5py.File(path, "w") as f:

        def add(name: str, data: np.ndarray, **kw: Any) -> None:
            f.create_dataset(name, data=data, **kw)
            names.append(name)

        add(
            "i4_auto", rng.integers(-1000, 1000, (9, 13)).astype("i4"), chunks=(4, 5), scaleoffset=0
        )
        add("u2_auto", rng.integers(100, 4000, 50).astype("u2"), chunks=(16,), scaleoffset=0)
        add("i1", rng.integers(-100, 100, 40).astype("i1"), chunks=(8,), scaleoffset=0)
        add("u1", rng.integers(0, 255, 40).astype("u1"), chunks=(8,), scaleoffset=0)
        add("i8", rng.integers(-(2**40), 2**40, 30).astype("i8"), chunks=(7,), scaleoffset=0)
        add("u8", rng.integers(0, 2**62, 30, dtype="u8"), chunks=(7,), scaleoffset=0)
        add("be_i4", rng.integers(-5, 5000, 40).astype(">i4"), chunks=(10,), scaleoffset=0)
        add("i4_bits", rng.integers(0, 31, 40).astype("i4"), chunks=(10,), scaleoffset=5)
        add(
            "i4_full_width",
            np.array([-(2**31), 2**31 - 1, 0, 5] * 5, dtype="i4"),
            chunks=(4,),
            scaleoffset=0,
        )
        add("i4_passthrough", np.arange(12, dtype="i4"), chunks=(5,), scaleoffset=32)
        add("constant", np.full(24, 42, dtype="i2"), chunks=(8,), scaleoffset=0)
        add(
            "i2_deflate",
            rng.integers(-300, 300, 64).astype("i2"),
            chunks=(16,),
            scaleoffset=0,
            compression="gzip",
            shuffle=True,
        )
        add("f4_d2", rng.normal(100, 30, (12, 11)).astype("f4"), chunks=(5, 4), scaleoffset=2)
        add("f8_d3", rng.normal(-5, 2, 60), chunks=(16,), scaleoffset=3)
        add("be_f8_d1", rng.normal(0, 1000, 40).astype(">f8"), chunks=(16,), scaleoffset=1)
        add("f4_d0", rng.normal(1e5, 1e4, 40).astype("f4"), chunks=(16,), scaleoffset=0)
        # fill values: declared, present in the data, and for never-written chunks
        for dtype, fill in (
            ("i4", -9999),
            ("u2", 65535),
            ("i1", -128),
            ("f4", -999.0),
            ("f8", 1e30),
        ):
            name = f"{dtype}_fill"
            d = f.create_dataset(
                name,
                shape=(40,),
                dtype=dtype,
                chunks=(8,),
                scaleoffset=2 if dtype[0] == "f" else 0,
                fillvalue=fill,
            )
            values = rng.integers(0, 100, 24).astype(dtype)
            values[[1, 5, 17]] = fill
            d[:24] = values
            names.append(name)
        d = f.create_dataset(
            "all_fill", shape=(16,), dtype="i4", chunks=(8,), scaleoffset=0, fillvalue=3
        )
        d[:8] = 3
        names.append("all_fill")
    return names


def test_scaleoffset_datasets_read_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "so.h5"
    names = _scaleoffset_file(path)
    _check_all_outputs(path, tmp_path, names)


def test_scaleoffset_config_carries_the_filter_parameters(tmp_path: Path) -> None:
    path = tmp_path / "so.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset(
            "v", data=np.arange(20, dtype=">f4"), chunks=(10,), scaleoffset=2, fillvalue=-1.5
        )
    refs = tmp_path / "so.json"
    vzcore.open_virtual_dataset(str(path), loadable_variables=[]).virtualize.to_kerchunk(str(refs))
    meta = json.loads(json.loads(refs.read_text())["refs"]["v/.zarray"])
    codecs = [*(meta.get("filters") or []), meta["compressor"]]
    assert codecs == [
        {
            "id": "vz_hdf5_scaleoffset",
            "dtype": ">f4",
            "count": 10,
            "scale_type": "dscale",
            "scale_factor": 2,
            "fill_value": np.array(-1.5, "<f4").tobytes().hex(),
        }
    ]
    codec = HDF5ScaleOffset(**{k: v for k, v in codecs[0].items() if k != "id"})
    assert codec.get_config() == codecs[0]


def test_encoders_round_trip() -> None:
    from vz_hdf5.codecs import HDF5LZO, HDF5Blosc2

    rng = np.random.default_rng(2)
    for n in (1, 3, 4, 17, 18, 238, 239, 273, 274, 529, 530, 5000):
        raw = rng.integers(0, 256, n, dtype="u1").tobytes()
        for codec in (HDF5LZF(n), HDF5LZO(n), HDF5Blosc2(n)):
            assert codec.decode(codec.encode(raw)) == raw, (codec, n)
    for dtype, stype in (
        ("<i4", "int"),
        (">u2", "int"),
        ("|i1", "int"),
        ("<f4", "dscale"),
        (">f8", "dscale"),
    ):
        values = rng.integers(-100, 100, 9).astype(dtype)
        for factor in (0, 3, np.dtype(dtype).itemsize * 8):
            if stype == "dscale" and factor > 3:
                continue
            codec = HDF5ScaleOffset(dtype, 9, stype, factor, None)
            assert codec.decode(codec.encode(values)) == values.tobytes()


def test_scaleoffset_rejects_bad_chunks_and_configs() -> None:
    codec = HDF5ScaleOffset("<i4", 10, "int", 0, None)
    with pytest.raises(ValueError, match="no header"):
        codec.decode(b"\x01\x02")
    header = (3).to_bytes(4, "little") + bytes([8]) + bytes(16)
    with pytest.raises(ValueError, match="bytes of packed values"):
        codec.decode(header + b"\x00")  # 10 values of 3 bits need 4 bytes
    with pytest.raises(ValueError, match="bits per value"):
        codec.decode((40).to_bytes(4, "little") + bytes(17))
    with pytest.raises(ValueError, match="scale_type"):
        HDF5ScaleOffset("<f4", 10, "int", 0)
    with pytest.raises(ValueError, match="not an integer or float"):
        HDF5ScaleOffset("<c8", 10, "dscale", 0)


def test_scaleoffset_fuzzed_chunks_never_crash() -> None:
    rng = np.random.default_rng(11)
    codecs = [HDF5ScaleOffset("<i2", 12, "int", 0, "ffff"), HDF5ScaleOffset(">f8", 5, "dscale", 3)]
    for _ in range(400):
        data = rng.integers(0, 256, int(rng.integers(0, 60)), dtype="u1").tobytes()
        for codec in codecs:
            try:
                out = codec.decode(data)
            except ValueError:
                continue
            assert len(out) == codec.count * codec.dtype.itemsize


def test_scaleoffset_e_scale_is_a_clear_error(tmp_path: Path) -> None:
    from vzcore.errors import UnsupportedFeatureError

    from vz_hdf5._filters import scaleoffset_config

    cd = (1, 4, 10, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    with pytest.raises(UnsupportedFeatureError, match="scale type 1"):
        scaleoffset_config(cd, "file:///x.h5", "v", "HDF5 filter 6 (scaleoffset)")


# -- PyTables LZO (written chunk by chunk: no LZO writer installs here) ------------------


def _lzo_chunk(raw: bytes) -> bytes:
    """PyTables' LZO chunk: an LZO1X stream of literals, Adler-32 and the decoded length."""
    assert len(raw) <= 238
    stream = bytes([17 + len(raw)]) + raw + b"\x11\x00\x00"
    return stream + zlib.adler32(raw).to_bytes(4, "little") + len(raw).to_bytes(4, "little")


def _lzo_file(path: Path, data: np.ndarray, chunk: int, corrupt: bool = False) -> None:
    with h5py.File(path, "w") as f:
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((chunk,))
        dcpl.set_filter(305, h5py.h5z.FLAG_OPTIONAL, (1, 20, 3))  # level, version, Array
        space = h5py.h5s.create_simple(data.shape)
        dsid = h5py.h5d.create(f.id, b"v", h5py.h5t.py_create(data.dtype), space, dcpl=dcpl)
        for start in range(0, len(data), chunk):
            raw = data[start : start + chunk]
            raw = np.concatenate([raw, np.zeros(chunk - len(raw), data.dtype)]).tobytes()
            blob = _lzo_chunk(raw)
            if corrupt and start == 0:
                blob = blob[:-8] + bytes(4) + blob[-4:]
            dsid.write_direct_chunk((start,), blob)


def test_pytables_lzo_chunks_read_back_exactly(tmp_path: Path) -> None:
    data = np.arange(50, dtype="<i4") * 3 - 20
    path = tmp_path / "lzo.h5"
    _lzo_file(path, data, chunk=16)
    vds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    for where, group in zarr_outputs(vds, tmp_path).items():
        np.testing.assert_array_equal(group["v"][...], data, err_msg=where)


def test_pytables_lzo_bad_checksum_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "lzo-bad.h5"
    _lzo_file(path, np.arange(32, dtype="<i4"), chunk=16, corrupt=True)
    refs = tmp_path / "lzo-bad.json"
    vzcore.open_virtual_dataset(str(path), loadable_variables=[]).virtualize.to_kerchunk(str(refs))
    array = reference_group(refs, 2)["v"]
    np.testing.assert_array_equal(array[16:], np.arange(16, 32))
    with pytest.raises(ValueError, match="Adler-32"):
        array[:16]


# -- Blosc2 ------------------------------------------------------------------------------


def test_hdf5plugin_blosc2_chunks_read_back_exactly(tmp_path: Path) -> None:
    hdf5plugin = pytest.importorskip("hdf5plugin")
    rng = np.random.default_rng(5)
    path = tmp_path / "blosc2.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset(
            "two_d",
            data=rng.integers(0, 1000, (10, 100)).astype("i4"),
            chunks=(5, 50),
            **hdf5plugin.Blosc2(),
        )
        f.create_dataset(
            "one_d",
            data=rng.normal(size=300),
            chunks=(64,),
            **hdf5plugin.Blosc2(cname="zstd", clevel=5, filters=hdf5plugin.Blosc2.BITSHUFFLE),
        )
        f.create_dataset(
            "three_d",
            data=rng.normal(size=(4, 6, 8)).astype("f4"),
            chunks=(2, 3, 8),
            **hdf5plugin.Blosc2(cname="lz4"),
        )
    _check_all_outputs(path, tmp_path, ["two_d", "one_d", "three_d"])


def test_pytables_blosc2_chunks_read_back_exactly(tmp_path: Path) -> None:
    tables = pytest.importorskip("tables")
    if tables.which_lib_version("blosc2") is None:
        pytest.skip("this PyTables has no Blosc2")
    rng = np.random.default_rng(9)
    values = rng.normal(size=(30, 20))
    path = tmp_path / "pytables.h5"
    with tables.open_file(str(path), "w") as f:
        filters = tables.Filters(complevel=5, complib="blosc2:zstd", shuffle=True)
        f.create_carray("/", "carr", obj=values, filters=filters, chunkshape=(8, 20))
        f.create_earray(
            "/", "earr", obj=values[:, 0].astype("i8"), filters=filters, chunkshape=(7,)
        )
    _check_all_outputs(path, tmp_path, ["carr", "earr"])


@pytest.mark.parametrize("code", [32002, 257, 6])  # MAFISC, hzip: no codec; scaleoffset
def test_a_refused_filter_names_the_variable(tmp_path: Path, code: int) -> None:
    """A pipeline the header decodes but no codec reads is refused naming the variable,
    as the path through h5py's metadata refuses it (the same error)."""
    from vzcore.errors import UnsupportedFeatureError

    from vz_hdf5 import _reader

    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as f:
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((4,))
        values = (1, 4, 10, 1, 4, *([0] * 15)) if code == 6 else (1, 2)  # (scale type 1)
        dcpl.set_filter(code, h5py.h5z.FLAG_OPTIONAL, values)
        space = h5py.h5s.create_simple((8,))
        dsid = h5py.h5d.create(f.id, b"v", h5py.h5t.py_create(np.dtype("<f4")), space, dcpl=dcpl)
        for start in (0, 4):
            dsid.write_direct_chunk((start,), bytes(16), filter_mask=1)
    errors = []
    for header in (True, False):
        patch = pytest.MonkeyPatch()
        if not header:
            patch.setattr(_reader, "header_dataset", lambda *a, **k: None)
        try:
            with pytest.raises(UnsupportedFeatureError) as info:
                _reader.HDF5Reader().read(path.as_uri())
        finally:
            patch.undo()
        errors.append(str(info.value))
    assert "'/v'" in errors[0] or "'v'" in errors[0], errors[0]
    assert errors[0] == errors[1]
