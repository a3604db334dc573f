"""Kerchunk references with Zarr v3 metadata (``zarr_format=3``), read back with zarr 3.

Real HDF5 / netCDF4 files (h5py, hdf5plugin, netCDF4) are scanned by vz-hdf5, written as
``zarr.json`` references and reopened with ``xr.open_zarr(<fsspec reference mapper>,
zarr_format=3)``; every value and dtype is compared with h5py / xarray's netCDF4 engine.
Hand-written chunk files (the ``chunk_file`` fixture) cover what no HDF5 filter produces.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("vz_kerchunk")
xr = pytest.importorskip("xarray")
zarr = pytest.importorskip("zarr")
fsspec = pytest.importorskip("fsspec")
h5py = pytest.importorskip("h5py")

from vzcore.errors import WriteError
from vzcore.group import ManifestGroup, Variable
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray
from vzcore.testing.zarr_v3_cases import (
    FLOATS,
    add_hdf5_missing_chunks,
    assert_same_as_read,
    hdf5plugin_registered,
    time_and_station,
    write_hdf5_codecs,
    write_netcdf4_fill_values,
)

from vz_kerchunk import KerchunkWriter

from .conftest import ChunkFile


def write_v3(group: ManifestGroup, tmp_path: Path, name: str = "refs.json", **kw) -> str:
    out = str(tmp_path / name)
    assert KerchunkWriter().write(group, out, zarr_format=3, **kw) is None
    return out


def open_v3(refs, **kw):
    m = fsspec.filesystem("reference", fo=refs).get_mapper("")
    return xr.open_zarr(m, zarr_format=3, **kw)


def load_refs(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# -- real HDF5 files through vz-hdf5 ----------------------------------------------------------


def _h5_virtual(path: Path):
    pytest.importorskip("vz_hdf5")
    import vzcore

    return vzcore.open_virtual_dataset(str(path), loadable_variables=[])


RNG = np.random.default_rng(7)


def test_hdf5_codecs_round_trip(tmp_path):
    path = tmp_path / "codecs.h5"
    cases = write_hdf5_codecs(path)
    vds = _h5_virtual(path)
    out = str(tmp_path / "codecs.json")
    vds.virtualize.to_kerchunk(out, format="json", zarr_format=3)
    refs = load_refs(out)
    ds = open_v3(out)
    with h5py.File(path, "r") as f:
        for name, (_, _, v3_name) in cases.items():
            doc = json.loads(refs["refs"][f"{name}/zarr.json"])
            assert v3_name in [c["name"] for c in doc["codecs"]], (name, doc["codecs"])
            assert_same_as_read(ds[name].values, f[name][()])
    assert json.loads(refs["refs"]["big_endian/zarr.json"])["codecs"][0] == {
        "name": "bytes",
        "configuration": {"endian": "big"},
    }


def test_hdf5_lz4_has_no_native_v3_codec(tmp_path):
    hdf5plugin = hdf5plugin_registered()
    pytest.importorskip("imagecodecs")
    path = tmp_path / "lz4.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=FLOATS, chunks=(20, 25), **hdf5plugin.LZ4())
    vds = _h5_virtual(path)
    out = tmp_path / "lz4.json"
    out.write_text("previous")
    with pytest.raises(WriteError, match=r"'imagecodecs_lz4h5'.*zarr_format=2") as info:
        vds.virtualize.to_kerchunk(str(out), format="json", zarr_format=3, mode="w")
    assert "'x'" in str(info.value)
    assert out.read_text() == "previous"
    # the same file as zarr format 2 references still works (readers register imagecodecs)
    vds.virtualize.to_kerchunk(str(out), format="json", mode="w")


def test_hdf5_strings_scalars_and_fill_values(tmp_path):
    path = tmp_path / "misc.h5"
    words = np.array(["alpha", "bé", "", "gamma", "δ"], dtype=object)
    with h5py.File(path, "w") as f:
        f.create_dataset("vlen", data=words, dtype=h5py.string_dtype(), chunks=(2,))
        f.create_dataset("fixed", data=np.array([b"ab", b"c", b"", b"xy", b"z"], "S2"))
        f.create_dataset("scalar", data=np.float64(3.25))
        f.create_dataset("scalar_int", data=np.int16(-7))
        # Missing chunks read as the HDF5 fill value; no _FillValue attribute: no masking.
        add_hdf5_missing_chunks(f)
    vds = _h5_virtual(path)
    out = str(tmp_path / "misc.json")
    vds.virtualize.to_kerchunk(out, format="json", zarr_format=3)
    refs = load_refs(out)["refs"]
    assert "scalar/c" in refs
    assert json.loads(refs["scalar/zarr.json"])["shape"] == []
    assert json.loads(refs["vlen/zarr.json"])["data_type"] == "string"
    # no fill chunks: missing chunks are left out, zarr returns the fill_value
    assert not [k for k in refs if k.startswith("sparse/c/0/0")]
    assert not [k for k in refs if k.startswith("never_written/c")]
    assert json.loads(refs["sparse/zarr.json"])["fill_value"] == -5
    assert json.loads(refs["sparse_nan/zarr.json"])["fill_value"] == "NaN"
    ds = open_v3(out)
    with h5py.File(path, "r") as f:
        assert ds["vlen"].values.tolist() == f["vlen"].asstr()[()].tolist()
        for name in ("fixed", "scalar", "scalar_int", "sparse", "sparse_nan", "never_written"):
            assert_same_as_read(ds[name].values, f[name][()])
    assert int((ds["sparse"] == -5).sum()) == 32  # two chunks never written
    assert int((ds["sparse"] == 0).sum()) == 17  # the written zeros, plus one value
    assert int(ds["sparse_nan"].isnull().sum()) == 5


def test_netcdf4_missing_chunks_and_fill_values_equal_netcdf4_engine(tmp_path):
    path = write_netcdf4_fill_values(tmp_path / "fills.nc")
    vds = _h5_virtual(path)
    out = str(tmp_path / "fills.json")
    vds.virtualize.to_kerchunk(out, format="json", zarr_format=3)
    ds = open_v3(out).load()
    expected = xr.open_dataset(path, engine="netcdf4").load()
    xr.testing.assert_identical(ds, expected)
    for name in expected.variables:
        assert ds[name].dtype == expected[name].dtype, name
    assert ds["i"].dtype == np.dtype("i4")
    assert int((ds["i"] == 0).sum()) == 24
    assert int(ds["t"].isnull().sum()) == 8 * 6 - 12
    raw = open_v3(out, decode_cf=False)
    assert_same_as_read(
        raw["i"].values, xr.open_dataset(path, engine="netcdf4", decode_cf=False)["i"].values
    )


# -- hand-written chunks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "codecs",
    [
        ({"id": "lz4", "acceleration": 1},),
        ({"id": "lzma", "preset": 1},),
        ({"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2, "blocksize": 0},),
        ({"id": "shuffle", "elementsize": 8}, {"id": "zstd", "level": 1}, {"id": "crc32c"}),
        ({"id": "gzip", "level": 1},),
    ],
    ids=lambda c: "-".join(x["id"] for x in c),
)
def test_numcodecs_pipelines_round_trip(tmp_path, chunk_file: ChunkFile, codecs):
    a = RNG.normal(size=(7, 5))
    group = ManifestGroup(
        variables={"a": Variable(("y", "x"), chunk_file.array(a, (3, 2), codecs), {"units": "K"})}
    )
    ds = open_v3(write_v3(group, tmp_path))
    assert_same_as_read(ds["a"].values, a)
    assert ds["a"].attrs == {"units": "K"}


def test_in_memory_variables_and_templates(tmp_path, chunk_file):
    a = np.arange(20, dtype="<i4").reshape(4, 5)
    group = ManifestGroup(
        variables={
            "a": Variable(("time", "x"), chunk_file.array(a, (1, 5)), {}),
            **time_and_station(),
            "blob": Variable(("x",), np.array([b"\xff", b"", b"a", b"b", b"c"], dtype=object), {}),
            "code": Variable(("x",), np.array([b"ab", b"c", b"", b"d", b"e"], dtype="S2"), {}),
            "uname": Variable(("x",), np.array(["xé", "y", "zz", "", "q"], dtype="<U2"), {}),
            "crs": Variable((), np.array(7, dtype=">i4"), {"grid_mapping_name": "latitude"}),
            "empty": Variable(("none",), np.zeros((0,), dtype="<f4"), {}),
        },
        attrs={"title": "mixed", "version": np.int32(2)},
    )
    out = write_v3(group, tmp_path, templates=True)
    refs = load_refs(out)
    assert refs["templates"] == {"u0": chunk_file.url}
    assert refs["refs"]["a/c/3/0"][0] == "{{u0}}"
    assert refs["refs"]["crs/c"].startswith("base64:")
    assert refs["refs"]["time/c/0"].startswith("base64:")
    assert json.loads(refs["refs"]["blob/zarr.json"])["data_type"] == "variable_length_bytes"
    assert refs == KerchunkWriter().write(group, None, format="dict", zarr_format=3, templates=True)
    ds = open_v3(out)
    np.testing.assert_array_equal(
        ds["time"].values,
        np.array(["2000-01-01", "2000-01-02", "2000-01-03", "2000-02-01"], "datetime64[ns]"),
    )
    assert_same_as_read(ds["a"].values, a)
    assert ds["station"].values.tolist() == ["Oslo", "Zürich", "", "a", "b"]
    assert ds["blob"].values.tolist() == [b"\xff", b"", b"a", b"b", b"c"]
    assert_same_as_read(ds["code"].values, group.variables["code"].data)
    assert_same_as_read(ds["uname"].values, group.variables["uname"].data)
    assert int(ds["crs"]) == 7
    assert ds["crs"].dtype == np.dtype("i4")
    assert ds["empty"].shape == (0,)
    assert ds.attrs == {"title": "mixed", "version": 2}


def test_child_groups_and_consolidated_metadata(tmp_path, chunk_file):
    a = np.arange(6, dtype="<f4")
    inner = ManifestGroup(
        variables={"v": Variable(("n",), chunk_file.array(a, (4,)), {"k": 1})},
        attrs={"level": "inner"},
    )
    group = ManifestGroup(
        variables={"top": Variable(("m",), np.array([1, 2], dtype="u2"), {})},
        groups={"sub": ManifestGroup(groups={"deeper": inner}, attrs={"level": "sub"})},
        attrs={"level": "root"},
    )
    out = write_v3(group, tmp_path)
    refs = load_refs(out)["refs"]
    root = json.loads(refs["zarr.json"])
    assert set(root["consolidated_metadata"]["metadata"]) == {
        "top",
        "sub",
        "sub/deeper",
        "sub/deeper/v",
    }
    assert "consolidated_metadata" not in json.loads(refs["sub/zarr.json"])
    assert "sub/deeper/v/c/1" in refs
    tree = xr.open_datatree(
        fsspec.filesystem("reference", fo=out).get_mapper(""),
        engine="zarr",
        zarr_format=3,
        consolidated=True,
    )
    assert_same_as_read(tree["sub/deeper"]["v"].values, a)
    assert tree["sub/deeper"].attrs == {"level": "inner"}
    assert tree["sub"].attrs == {"level": "sub"}
    assert_same_as_read(tree["top"].values, np.array([1, 2], dtype="u2"))


def test_fill_value_is_the_source_fill_and_fillvalue_attribute_masks(tmp_path, chunk_file):
    # Source fill 0 but _FillValue -1: format 2 needs fill chunks; format 3 does not.
    a = np.array([[1, -1, 0], [4, 5, 6]], dtype="<i2")
    arr = chunk_file.array(a, (1, 3), missing=[(1, 0)])
    attrs = {"_FillValue": np.int16(-1)}
    group = ManifestGroup(variables={"a": Variable(("y", "x"), arr, attrs)})
    out = write_v3(group, tmp_path, missing_chunks="error")
    refs = load_refs(out)["refs"]
    doc = json.loads(refs["a/zarr.json"])
    assert doc["fill_value"] == 0
    assert doc["attributes"]["_FillValue"] == -1
    assert "a/c/1/0" not in refs
    raw = open_v3(out, mask_and_scale=False)
    assert_same_as_read(raw["a"].values, np.array([[1, -1, 0], [0, 0, 0]], dtype="<i2"))
    masked = open_v3(out)
    np.testing.assert_array_equal(masked["a"].values, [[1, np.nan, 0], [0, 0, 0]])


def test_unwritable_as_v3_fails_before_touching_the_target(tmp_path, chunk_file):
    arr = chunk_file.array(np.arange(4, dtype="u1"), (2,))
    bad = ManifestArray(arr.metadata.replace(codecs=({"id": "imagecodecs_jpeg8"},)), arr.manifest)
    group = ManifestGroup(variables={"b": Variable(("x",), bad, {})})
    target = tmp_path / "refs.json"
    target.write_text("old")
    with pytest.raises(WriteError, match="imagecodecs_jpeg8"):
        write_v3(group, tmp_path, mode="w")
    assert target.read_text() == "old"
    strings = ManifestGroup(
        variables={"s": Variable(("x",), np.array(["a"], dtype=object), {"_FillValue": "x"})}
    )
    with pytest.raises(WriteError, match="_FillValue"):
        KerchunkWriter().write(strings, None, format="dict", zarr_format=3)


def test_100k_chunk_array_opens_and_slices_match(tmp_path):
    # 1000 x 800 int32 in 4 x 2 chunks: 250 x 400 = 100,000 chunks, stored chunk after chunk.
    a = np.arange(1000 * 800, dtype="<i4").reshape(1000, 800)
    blocks = a.reshape(250, 4, 400, 2).transpose(0, 2, 1, 3)
    path = tmp_path / "big.bin"
    path.write_bytes(b"HEAD" + np.ascontiguousarray(blocks).tobytes())
    url = "file://" + str(path)
    n = 250 * 400
    manifest = ChunkManifest(
        [url],
        np.zeros((250, 400), np.uint8),
        (4 + 32 * np.arange(n, dtype=np.uint64)).reshape(250, 400),
        np.full((250, 400), 32, np.uint64),
    )
    meta = ArrayMetadata(a.shape, a.dtype, (4, 2))
    group = ManifestGroup(variables={"v": Variable(("y", "x"), ManifestArray(meta, manifest), {})})
    out = write_v3(group, tmp_path)
    refs = load_refs(out)["refs"]
    assert sum(1 for k in refs if k.startswith("v/c/")) == n
    # chunks=None: no dask, whose tokenizing pickles the mapper and re-parses 100,000 refs
    ds = open_v3(out, consolidated=True, chunks=None)
    assert_same_as_read(ds["v"][517:531, 301:333].values, a[517:531, 301:333])
    assert_same_as_read(ds["v"][-3:, -5:].values, a[-3:, -5:])


def test_v2_style_chunk_keys_for_other_containers(tmp_path, chunk_file):
    from vzcore.store_plan import plan

    from vz_kerchunk._writer import refs_dict

    a = np.arange(12, dtype=">i4").reshape(3, 4)
    group = ManifestGroup(
        variables={
            "a": Variable(("y", "x"), chunk_file.array(a, (2, 2), missing=[(1, 1)]), {}),
            "s": Variable((), np.array(2.5), {}),
        }
    )
    store = plan(group, 3, chunk_key_encoding="v2")
    assert store.arrays[0].keys().tolist() == ["a/0.0", "a/0.1", "a/1.0", "a/1.1"]
    refs = refs_dict(store)
    assert set(refs["refs"]) == {
        "zarr.json",
        "a/zarr.json",
        "s/zarr.json",
        "a/0.0",
        "a/0.1",
        "a/1.0",
        "s/0",
    }
    ds = open_v3(refs)
    want = a.copy()
    want[2:, 2:] = 0
    assert_same_as_read(ds["a"].values, want)
    assert float(ds["s"]) == 2.5
