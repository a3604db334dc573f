"""The HDF5/netCDF4 reader: values through the manifest equal what h5py/netCDF4 read."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("vz_hdf5")

import h5py
import netCDF4
from vzcore.errors import (
    CorruptFileError,
    GroupNotFoundError,
    OptionError,
    UnknownOptionError,
    UnsupportedFeatureError,
)
from vzcore.manifests import ManifestArray
from vzcore.manifests.loading import load_values

HIDDEN = {
    "_Netcdf4Dimid",
    "_NCProperties",
    "_Netcdf4Coordinates",
    "DIMENSION_LIST",
    "REFERENCE_LIST",
    "CLASS",
    "NAME",
    "_nc3_strict",
}


def _all_attrs(group):
    for _, g in group.walk():
        yield g.attrs
        for v in g.variables.values():
            yield v.attrs


# -- netCDF4 -----------------------------------------------------------------------------


def test_netcdf4_values_and_dtypes(hx, nc4_file: Path) -> None:
    group = hx.read(nc4_file)
    assert hx.assert_same_as_h5py(nc4_file, group) == 12
    # Also against netCDF4-python's raw view.
    with netCDF4.Dataset(nc4_file) as ds:
        ds.set_auto_maskandscale(False)
        for name, var in group.variables.items():
            expected = ds.variables[name][...]
            got = load_values(var.data)
            if expected.dtype.kind == "O":
                assert got.tolist() == expected.tolist()
            else:
                assert got.dtype == expected.dtype
                np.testing.assert_array_equal(got, expected)


def test_netcdf4_structure(hx, nc4_file: Path) -> None:
    group = hx.read(nc4_file)
    assert list(group.variables) == [
        "time",
        "lat",
        "lon",
        "temp",
        "packed",
        "counts",
        "lat_bnds",
        "nofill",
        "sparse",
        "label",
    ]
    dims = {k: v.dims for k, v in group.variables.items()}
    assert dims["temp"] == ("time", "lat", "lon")
    assert dims["lat_bnds"] == ("lat", "nv")
    assert dims["time"] == ("time",)
    assert "nv" not in group.variables  # dimension without variable never leaks
    assert group.dims == {"time": 5, "lat": 6, "lon": 8, "nv": 2}
    assert group.attrs == {
        "title": "test file",
        "history": "created by a test",
        "version": 3,
        "weights": [1.5, 2.5],
    }
    sub = group.groups["sub"]
    assert sub.attrs == {"comment": "a subgroup"}
    assert sub.variables["xdata"].dims == ("x", "lat")
    assert sub.groups["deeper"].variables["d"].dims == ("x",)
    for attrs in _all_attrs(group):
        assert not HIDDEN & set(attrs)


def test_netcdf4_encoding(hx, nc4_file: Path) -> None:
    v = hx.read(nc4_file).variables
    temp = v["temp"].data.metadata
    assert temp.codecs == ({"id": "shuffle", "elementsize": 4}, {"id": "zlib", "level": 4})
    assert temp.chunk_shape == (2, 3, 4)
    assert temp.fill_value == -999.0
    assert v["temp"].attrs == {"_FillValue": -999.0, "units": "K"}
    packed = v["packed"]
    assert packed.attrs["scale_factor"] == float(np.float32(0.01))
    assert packed.attrs["add_offset"] == float(np.float32(273.15))
    assert packed.attrs["_FillValue"] == -32767
    assert packed.data.metadata.extra["attr_dtypes"]["scale_factor"] == "<f4"
    assert packed.data.dtype == np.dtype("<i2")
    # fletcher32 maps to numcodecs' HDF5-compatible checksum codec
    assert v["lat_bnds"].data.metadata.codecs == ({"id": "fletcher32"},)
    # contiguous: one chunk holding the whole array at the dataset's offset
    counts = v["counts"].data
    assert counts.chunk_shape == (6, 8)
    with h5py.File(nc4_file) as f:
        path, offset, length = counts.manifest[(0, 0)]
        assert offset == f["counts"].id.get_offset()
        assert length == 6 * 8 * 4
        assert path == hx.url_of(nc4_file)
    # netCDF default fill value as the HDF5 fill value; no _FillValue attr invented
    assert v["counts"].attrs == {}
    assert v["counts"].data.metadata.fill_value == -2147483647
    # sparse chunks are missing and read as the fill value
    sparse = v["sparse"].data
    assert int(sparse.manifest.missing().sum()) == 11
    assert load_values(sparse)[5, 7] == 1e20
    # vlen strings: inline chunks, object dtype, vlen-utf8 codec
    label = v["label"].data
    assert label.dtype == object
    assert label.metadata.codecs == ({"id": "vlen-utf8"},)
    assert load_values(label).tolist() == ["a", "bb", "ccc", "", "éé", "f"]


def test_group_selection(hx, nc4_file: Path) -> None:
    sub = hx.read(nc4_file, group="sub")
    assert list(sub.variables) == ["xdata"]
    assert list(sub.groups) == ["deeper"]
    assert hx.assert_same_as_h5py(nc4_file, sub, "/sub") == 2
    deeper = hx.read(nc4_file, group="/sub/deeper")
    assert deeper.variables["d"].dims == ("x",)
    with pytest.raises(GroupNotFoundError, match=r"No group 'nope'.*'sub', 'sub/deeper'"):
        hx.read(nc4_file, group="nope")


def test_xarray_written_files(hx, xr_files: list[Path]) -> None:
    for path in xr_files:
        group = hx.read(path)
        assert set(group.variables) == {"air", "mask", "time", "lat", "lon"}
        assert group.variables["air"].dims == ("time", "lat", "lon")
        assert (
            group.variables["air"].attrs["_FillValue"] != group.variables["air"].attrs["_FillValue"]
        )  # NaN, kept as stored
        assert group.variables["time"].attrs["units"].startswith("days since")
        assert group.variables["mask"].attrs == {}
        assert group.attrs == {"source": "test"}
        assert hx.assert_same_as_h5py(path, group) == 5


# -- plain HDF5 ------------------------------------------------------------------------


def test_plain_hdf5_values(hx, h5_file: Path) -> None:
    group = hx.read(h5_file)
    assert hx.assert_same_as_h5py(h5_file, group) == 19


def test_plain_hdf5_layouts(hx, h5_file: Path) -> None:
    v = hx.read(h5_file).variables
    compact = v["compact"].data
    assert compact.manifest.is_inline().all()
    assert v["compact_scalar"].data.shape == ()
    assert load_values(v["compact_scalar"].data)[()] == 2.25
    scalar = v["scalar"].data
    assert scalar.shape == ()
    assert scalar.chunk_shape == ()
    assert scalar.manifest.nchunks == 1
    assert v["empty"].data.shape == (0, 4)
    assert v["empty"].data.manifest.nchunks == 0
    assert v["empty_contig"].data.shape == (0,)
    unalloc = v["unallocated"].data
    assert unalloc.manifest.missing().all()
    assert unalloc.fill_value == -1
    assert (load_values(unalloc) == -1).all()
    part = v["partial"].data
    assert part.manifest.grid_shape == (3, 3)
    assert int((~part.manifest.missing()).sum()) == 2
    assert v["bigendian"].data.dtype == np.dtype(">i4")
    assert v["bigfloat"].data.dtype == np.dtype(">f8")
    assert v["bools"].data.dtype == np.dtype(bool)
    assert v["enum"].data.dtype == np.dtype("u1")
    assert v["enum"].data.metadata.extra["enum"] == {"RED": 0, "GREEN": 1, "BLUE": 42}
    assert v["fixed_str"].data.dtype == np.dtype("S3")
    assert v["compound"].data.dtype.names == ("a", "b", "c")


def test_phony_dims_match_h5netcdf(hx, h5_file: Path) -> None:
    h5netcdf = pytest.importorskip("h5netcdf")
    group = hx.read(h5_file)
    with h5netcdf.File(h5_file, "r", phony_dims="sort") as ref:
        for name, var in group.variables.items():
            assert var.dims == ref.variables[name].dimensions, name
        for name, var in group.groups["grp"].variables.items():
            assert var.dims == ref["grp"].variables[name].dimensions, name
    sub = hx.read(h5_file, group="grp")
    assert sub.variables["other"].dims == group.groups["grp"].variables["other"].dims


def test_attributes_json_safe(hx, tmp_path: Path) -> None:
    import json

    path = tmp_path / "attrs.h5"
    with h5py.File(path, "w") as f:
        d = f.create_dataset("x", data=np.arange(3))
        a = d.attrs
        a["i8"] = np.int8(-3)
        a["u64"] = np.uint64(2**63)
        a["f32"] = np.float32(0.5)
        a["arr"] = np.arange(3, dtype="i2")
        a["one"] = np.array([7], dtype="i4")
        a["nan"] = np.nan
        a["cplx"] = np.complex64(1 + 2j)
        a["bool"] = np.bool_(True)
        a["fixed"] = np.bytes_(b"fixed")
        a["fixed_arr"] = np.array([b"a", b"bc"], dtype="S2")
        a["vlen"] = "vlen text é"
        a["vlen_arr"] = np.array(["p", "q"], dtype=h5py.string_dtype())
        a["latin1"] = np.bytes_(b"\xe9t\xe9")
        a["empty_str"] = h5py.Empty("S1")
        a["empty_num"] = h5py.Empty("f8")
        a["ref"] = f["x"].ref
        a["compound"] = np.array((1, 2.0), dtype=[("a", "i4"), ("b", "f8")])
        a["two_d"] = np.arange(4, dtype="f8").reshape(2, 2)
        a.create("enum", data=np.int8(1), dtype=h5py.enum_dtype({"A": 0, "B": 1}, basetype="i1"))
    from vzcore.errors import VZAttributeTextWarning

    with pytest.warns(VZAttributeTextWarning, match="'latin1' of variable '/x'"):
        attrs = hx.read(path).variables["x"].attrs
    json.dumps(attrs)  # no numpy or bytes left
    assert attrs["i8"] == -3
    assert type(attrs["i8"]) is int
    assert attrs["u64"] == 2**63
    assert attrs["f32"] == 0.5
    assert type(attrs["f32"]) is float
    assert attrs["arr"] == [0, 1, 2]
    assert attrs["one"] == 7
    assert attrs["nan"] != attrs["nan"]
    assert attrs["cplx"] == [1.0, 2.0]
    assert attrs["bool"] is True
    assert attrs["fixed"] == "fixed"
    assert attrs["fixed_arr"] == ["a", "bc"]
    assert attrs["vlen"] == "vlen text é"
    assert attrs["vlen_arr"] == ["p", "q"]
    assert attrs["latin1"] == "\ufffdt\ufffd"  # as netCDF4-python and xarray show it
    assert attrs["empty_str"] == ""
    assert attrs["empty_num"] == []
    assert attrs["ref"] == "/x"
    assert attrs["compound"] == {"a": 1, "b": 2.0}
    assert attrs["two_d"] == [[0.0, 1.0], [2.0, 3.0]]
    assert attrs["enum"] == 1


def test_user_block_offsets(hx, tmp_path: Path) -> None:
    path = tmp_path / "ub.h5"
    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset("c", data=np.arange(50, dtype="f4"), chunks=(7,), compression="gzip")
        f.create_dataset("d", data=np.arange(10, dtype="i8"))
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file header")
    from vz_hdf5._reader import HDF5Reader

    head = path.read_bytes()[:2048]
    assert HDF5Reader.sniff(head, hx.url_of(path))
    group = hx.read(path)
    assert group.variables["d"].data.manifest[(0,)][1] >= 512
    assert hx.assert_same_as_h5py(path, group) == 2


# -- filters -----------------------------------------------------------------------------


def test_szip(hx, tmp_path: Path) -> None:
    pytest.importorskip("imagecodecs")
    if not h5py.h5z.filter_avail(h5py.h5z.FILTER_SZIP):
        pytest.skip("HDF5 built without szip")
    path = tmp_path / "szip.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset(
            "s",
            data=np.arange(4000, dtype="i4").reshape(40, 100),
            chunks=(10, 100),
            compression="szip",
        )
    group = hx.read(path)
    assert group.variables["s"].data.metadata.codecs[0]["id"] == "imagecodecs_szip"
    assert hx.assert_same_as_h5py(path, group) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        # (LZF and scale-offset decode with vz-hdf5's codecs: tests in test_hdf5_codecs.py)
        ({"compression": 32008, "compression_opts": (0, 3)}, r"filter 32008 \(bitshuffle\)"),
    ],
)
def test_unsupported_filters(hx, tmp_path: Path, kwargs: dict, match: str) -> None:
    pytest.importorskip("hdf5plugin")  # registers the bitshuffle filter with HDF5
    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("v", data=np.linspace(0, 1, 100), chunks=(10,), **kwargs)
    with pytest.raises(UnsupportedFeatureError, match=match) as info:
        hx.read(path)
    assert info.value.variable == "/v"
    assert info.value.url == hx.url_of(path)
    # ... unless the caller opts in to loading it
    group = hx.read(path, load_unsupported=True)
    assert isinstance(group.variables["v"].data, np.ndarray)
    group = hx.read(path, drop_variables=["v"])
    assert group.variables == {}


def test_nbit_filter(hx, tmp_path: Path) -> None:
    path = tmp_path / "nbit.h5"
    with h5py.File(path, "w") as f:
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((10,))
        dcpl.set_filter(h5py.h5z.FILTER_NBIT)
        tid = h5py.h5t.STD_I32LE.copy()
        tid.set_precision(16)
        space = h5py.h5s.create_simple((20,))
        h5py.h5d.create(f.id, b"n", tid, space, dcpl=dcpl)
    with pytest.raises(UnsupportedFeatureError, match=r"nbit|padded"):
        hx.read(path)


def test_external_storage(hx, tmp_path: Path) -> None:
    path = tmp_path / "ext.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset(
            "e", shape=(10,), dtype="i4", external=[(str(tmp_path / "raw.bin"), 0, 40)]
        )
    with pytest.raises(UnsupportedFeatureError, match="external raw data storage"):
        hx.read(path)


def test_external_link_to_missing_file(hx, tmp_path: Path) -> None:
    # (links that resolve are followed: test_hdf5_links.py)
    path = tmp_path / "link.h5"
    with h5py.File(path, "w") as f:
        f["ext"] = h5py.ExternalLink("nowhere.h5", "/chunked")
    with pytest.raises(UnsupportedFeatureError, match=r"external link.*nowhere\.h5"):
        hx.read(path)


@pytest.mark.parametrize("target", ["missing file", "missing object"])
def test_an_external_link_that_cannot_be_followed_is_called_a_link(tmp_path: Path, target) -> None:
    """What the link leads to is not known: the message says "link", not "variable"."""
    import vzcore

    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_dataset("there", data=np.arange(3))
    path = tmp_path / "link.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("kept", data=np.arange(4))
        f["ext"] = (
            h5py.ExternalLink("nowhere.h5", "/x")
            if target == "missing file"
            else h5py.ExternalLink("other.h5", "/absent")
        )
    with pytest.raises(UnsupportedFeatureError) as caught:
        vzcore.open_virtual_dataset(str(path))
    message = str(caught.value)
    assert caught.value.kind == "link"
    assert "Cannot virtualize link '/ext' in" in message
    assert "variable '/ext'" not in message
    assert "drop_variables=['ext']" in message  # the remedy works:
    vds = vzcore.open_virtual_dataset(str(path), drop_variables=["ext"])
    assert list(vds.variables) == ["kept"]


def test_unsupported_dtypes(hx, tmp_path: Path) -> None:
    path = tmp_path / "refs.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.arange(3))
        f.create_dataset("r", data=np.array([f["x"].ref]), dtype=h5py.ref_dtype)
    with pytest.raises(UnsupportedFeatureError, match="reference"):
        hx.read(path)
    path2 = tmp_path / "vlen.h5"
    with h5py.File(path2, "w") as f:
        d = f.create_dataset("v", shape=(2,), dtype=h5py.vlen_dtype("i4"))
        d[0] = [1, 2]
        d[1] = [3]
    with pytest.raises(UnsupportedFeatureError, match="variable-length sequence"):
        hx.read(path2)


# -- files and URLs ----------------------------------------------------------------------


def test_corrupt_and_truncated(hx, tmp_path: Path, nc4_file: Path) -> None:
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"not an hdf5 file at all" * 100)
    with pytest.raises(CorruptFileError, match=r"bad\.nc"):
        hx.read(bad)
    data = nc4_file.read_bytes()
    cut = tmp_path / "cut.nc"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError):
        hx.read(cut)
    with pytest.raises(FileNotFoundError):
        hx.read(tmp_path / "missing.nc")


def test_unknown_option(nc4_file: Path) -> None:
    import vzcore

    with pytest.raises(
        UnknownOptionError, match=r"reader 'hdf5' \(vz-hdf5\) got unknown option 'bogus'; its"
    ) as info:
        vzcore.open_virtual_dataset(nc4_file, reader_options={"bogus": 1})
    assert "storage_options" not in str(info.value)  # the core's own keywords are not options
    assert info.value.valid == (
        "drop_variables",
        "load_unsupported",
        "skip_unsupported",
        "chunk_index",
    )
    with pytest.raises(OptionError, match="got an invalid option chunk_index='btree': pass"):
        vzcore.open_virtual_dataset(nc4_file, reader_options={"chunk_index": "btree"})


def test_fsspec_url(hx, tmp_path: Path, nc4_file: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    fs.pipe("/vzh/classic.nc", nc4_file.read_bytes())
    from vz_hdf5._reader import HDF5Reader

    group = HDF5Reader().read("memory://vzh/classic.nc")
    temp = group.variables["temp"].data
    assert temp.manifest.paths == ("memory://vzh/classic.nc",)
    local = hx.read(nc4_file).variables["temp"].data
    assert np.array_equal(temp.manifest.offsets, local.manifest.offsets)
    with netCDF4.Dataset(nc4_file) as ds:
        ds.set_auto_maskandscale(False)
        np.testing.assert_array_equal(load_values(temp), ds["temp"][...])
    fs.rm("/vzh", recursive=True)


def test_path_with_spaces(hx, tmp_path: Path, nc4_file: Path) -> None:
    odd = tmp_path / "a dir" / "my file.nc"
    odd.parent.mkdir()
    shutil.copy(nc4_file, odd)
    group = hx.read(odd)
    assert isinstance(group.variables["temp"].data, ManifestArray)
    assert group.variables["temp"].data.manifest.paths == (hx.url_of(odd),)
    from vz_hdf5._reader import HDF5Reader

    encoded = HDF5Reader().read(odd.resolve().as_uri())  # file:///.../a%20dir/my%20file.nc
    assert encoded.variables["temp"].data.manifest.paths == (hx.url_of(odd),)
    assert load_values(encoded.variables["temp"].data).shape == (5, 6, 8)


def test_sniff() -> None:
    from vz_hdf5._reader import HDF5Reader

    sig = b"\x89HDF\r\n\x1a\n"
    assert HDF5Reader.sniff(sig + b"\0" * 100, "x")
    assert HDF5Reader.sniff(b"\0" * 1024 + sig, "x")
    assert not HDF5Reader.sniff(b"\0" * 100 + sig, "x")
    assert not HDF5Reader.sniff(b"CDF\x01", "x.nc")


def test_chunk_iter_offsets_match_get_chunk_info(hx, nc4_file: Path) -> None:
    temp = hx.read(nc4_file).variables["temp"].data
    with h5py.File(nc4_file) as f:
        dsid = f["temp"].id
        for i in range(dsid.get_num_chunks()):
            info = dsid.get_chunk_info(i)
            idx = tuple(o // c for o, c in zip(info.chunk_offset, (2, 3, 4), strict=True))
            assert temp.manifest[idx][1:] == (info.byte_offset, info.size)


# -- hdf5plugin filters ------------------------------------------------------------------


def _hdf5plugin():
    hdf5plugin = pytest.importorskip("hdf5plugin")
    pytest.importorskip("imagecodecs")
    # netCDF4's wheels point HDF5_PLUGIN_PATH at their own filter builds, which win over
    # hdf5plugin's when netCDF4 is imported first; force hdf5plugin's registration.
    hdf5plugin.register(force=True)
    return hdf5plugin


_PLUGIN_CASES = {
    "blosc_lz4": ("Blosc", {"cname": "lz4", "clevel": 5, "shuffle": 1}, "blosc"),
    "blosc_zstd_bitshuffle": ("Blosc", {"cname": "zstd", "clevel": 3, "shuffle": 2}, "blosc"),
    "zstd": ("Zstd", {"clevel": 5}, "zstd"),
    "lz4": ("LZ4", {}, "imagecodecs_lz4h5"),
    "bzip2": ("BZip2", {"blocksize": 5}, "bz2"),
    "bitshuffle": ("Bitshuffle", {"cname": "none"}, "imagecodecs_bitshuffle"),
    "bitshuffle_lz4": ("Bitshuffle", {"cname": "lz4"}, "imagecodecs_bitshuffle"),
    "blosc2_zstd": ("Blosc2", {"cname": "zstd"}, "vz_hdf5_blosc2"),
}


@pytest.mark.parametrize("case", sorted(_PLUGIN_CASES))
def test_hdf5plugin_filters(hx, tmp_path: Path, case: str) -> None:
    hdf5plugin = _hdf5plugin()
    cls, kwargs, codec_id = _PLUGIN_CASES[case]
    path = tmp_path / f"{case}.h5"
    data = (np.arange(20000, dtype="f4") % 37).reshape(200, 100)
    with h5py.File(path, "w") as f:
        f.create_dataset("v", data=data, chunks=(50, 100), **getattr(hdf5plugin, cls)(**kwargs))
        f.create_dataset(
            "edge", data=data[:, :90], chunks=(64, 64), **getattr(hdf5plugin, cls)(**kwargs)
        )
    group = hx.read(path)
    assert group.variables["v"].data.metadata.codecs[0]["id"] == codec_id
    assert hx.assert_same_as_h5py(path, group) == 2


@pytest.mark.parametrize(
    ("cls", "kwargs", "match", "chunks"),
    [
        ("Bitshuffle", {"cname": "zstd"}, r"32008 \(bitshuffle\) with zstd", (50, 100)),
        ("Bitshuffle", {"cname": "lz4"}, r"not a multiple of 8", (50, 101)),
        ("Zfp", {"rate": 16}, r"32013 \(zfp\)", (50, 100)),
    ],
)
def test_hdf5plugin_unsupported(
    hx, tmp_path: Path, cls: str, kwargs: dict, match: str, chunks: tuple[int, int]
) -> None:
    hdf5plugin = _hdf5plugin()
    path = tmp_path / "p.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset(
            "v", data=np.ones((100, 202), "f4"), chunks=chunks, **getattr(hdf5plugin, cls)(**kwargs)
        )
    with pytest.raises(UnsupportedFeatureError, match=match):
        hx.read(path)


def test_opaque_and_nested_compound(hx, tmp_path: Path) -> None:
    path = tmp_path / "types.h5"
    opaque = np.dtype("V6")
    inner = np.dtype([("x", "<u2"), ("y", ">f4")])
    # (sub-array fields such as ("vec", "<f4", (3,)) raise: zarr-python 3 cannot read them,
    # see tests/test_compound_types.py)
    outer = np.dtype([("id", "<i8"), ("pos", inner), ("tag", "S3")])
    with h5py.File(path, "w") as f:
        f.create_dataset("opaque", data=np.frombuffer(bytes(range(24)), dtype=opaque))
        rec = np.zeros(4, outer)
        rec["id"] = [1, 2, 3, 4]
        rec["pos"]["y"] = [0.5, 1.5, 2.5, 3.5]
        rec["tag"] = [b"a", b"bb", b"ccc", b""]
        f.create_dataset("nested", data=rec, chunks=(3,), compression="gzip", shuffle=True)
        f.create_dataset("i1", data=np.arange(-5, 5, dtype="i1"))
        f.create_dataset("u8be", data=np.arange(10, dtype=">u8"), chunks=(4,))
        f.create_dataset("f2", data=np.linspace(0, 1, 10).astype("<f2"), chunks=(5,))
        f.create_dataset("c16", data=np.arange(4) * (1 + 2j), chunks=(2,))
    group = hx.read(path)
    assert group.variables["opaque"].data.dtype == opaque
    assert group.variables["nested"].data.dtype == outer
    assert hx.assert_same_as_h5py(path, group) == 6


def _datasets_in(path: Path) -> set[str]:
    expected = set()

    def visit(name: str, obj: object) -> None:
        if not isinstance(obj, h5py.Dataset):
            return
        tag = obj.attrs.get("NAME", b"")
        if isinstance(tag, bytes) and tag.startswith(b"This is a netCDF dimension"):
            return
        expected.add("/" + name.replace("_nc4_non_coord_", ""))

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return expected


@pytest.mark.parametrize("fixture", ["nc4_file", "h5_file", "xr_files"])
def test_no_dataset_is_dropped(hx, request: pytest.FixtureRequest, fixture: str) -> None:
    files = request.getfixturevalue(fixture)
    for path in files if isinstance(files, list) else [files]:
        group = hx.read(path)
        seen = {
            f"/{gpath}/{name}".replace("//", "/")
            for gpath, g in group.walk()
            for name in g.variables
        }
        assert seen == _datasets_in(path)


def test_netcdf4_coordinate_corner_cases(hx, tmp_path: Path) -> None:
    h5netcdf = pytest.importorskip("h5netcdf")
    path = tmp_path / "odd.nc"
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("x", 3)
        ds.createDimension("n", 4)
        ds.createDimension("y", 2)
        two_d = ds.createVariable("x", "f4", ("x", "n"))  # 2-D coordinate variable
        two_d[:] = np.arange(12).reshape(3, 4)
        non_coord = ds.createVariable("y", "i4", ("x",))  # stored as _nc4_non_coord_y
        non_coord[:] = [1, 2, 3]
        z = ds.createVariable("z", "f8", ("y", "x", "n"))
        z[:] = 1.0
        chars = ds.createVariable("s", "S1", ("x", "n"))
        chars[:] = np.array([list("abcd")] * 3, dtype="S1")
    group = hx.read(path)
    assert list(group.variables) == ["x", "y", "z", "s"]
    with h5netcdf.File(path, "r") as ref:
        for name, var in group.variables.items():
            assert var.dims == ref.variables[name].dimensions, name
    assert group.variables["s"].data.dtype == np.dtype("S1")
    assert hx.assert_same_as_h5py(path, group) == 4


def test_array_element_type(hx, tmp_path: Path) -> None:
    path = tmp_path / "arr.h5"
    vec = np.dtype(("<f4", (3,)))
    mat = np.dtype((">i2", (2, 2)))
    with h5py.File(path, "w") as f:
        d = f.create_dataset(
            "vec", shape=(10,), dtype=vec, chunks=(4,), shuffle=True, compression="gzip"
        )
        d[...] = np.arange(30, dtype="f4").reshape(10, 3)
        m = f.create_dataset("mat", shape=(6,), dtype=mat)
        m[...] = np.arange(24, dtype=">i2").reshape(6, 2, 2)
        make = f.create_dataset("sparse", shape=(9,), dtype=vec, chunks=(3,))
        make[0] = [1, 2, 3]
    group = hx.read(path)
    v = group.variables["vec"]
    assert v.data.shape == (10, 3)
    assert v.data.chunk_shape == (4, 3)
    assert v.data.metadata.codecs[0] == {"id": "shuffle", "elementsize": 12}
    assert len(set(v.dims)) == 2
    assert group.variables["mat"].data.dtype == np.dtype(">i2")
    assert group.variables["sparse"].data.manifest.missing().sum() == 2
    assert hx.assert_same_as_h5py(path, group) == 3


@pytest.mark.parametrize("size", [1, 1000, 256 * 2**10, 256 * 2**10 + 1])
def test_small_file_reads_are_the_file_bytes(tmp_path: Path, size: int) -> None:
    """The native parsers' positional reads of a small file read whole equal the file's."""
    from vzcore.io import open_source

    from vz_hdf5._reader import _positional_reader

    path = tmp_path / "f.bin"
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    path.write_bytes(data)
    with open_source(path.as_uri()) as source:
        read_at = _positional_reader(source)
        assert (read_at == source.read_at) == (size > 256 * 2**10)  # (larger: left as is)
        for offset, length in [(0, 10), (5, 0), (max(size - 3, 0), 10), (size, 4), (size + 9, 4),
                               (0, size), (size // 2, 1024)]:  # fmt: skip
            assert read_at(offset, length) == data[offset : offset + length]
