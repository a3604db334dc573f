"""Parquet references with Zarr v3 metadata (``zarr_format=3``), read back with zarr 3.

Real netCDF4/HDF5 files are scanned (vz-hdf5), written as Parquet references with
``zarr.json`` metadata and reopened with ``xr.open_zarr(<fsspec reference mapper>,
zarr_format=3)`` (with and without ``remote_protocol``) and ``kerchunk.utils.refs_as_store``;
every value and dtype is compared with xarray's netCDF4 engine or h5py.
"""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import xarray as xr
from vzcore.errors import WriteError
from vzcore.group import ManifestGroup, Variable
from vzcore.manifests import ManifestArray
from vzcore.testing import zarr_v3_cases as v3
from vzcore.testing.samples import COMBINE

from vz_parquet import ParquetWriter

from .conftest import FASTPARQUET_DEPRECATED, ChunkFile, assert_same, reference_mapper

h5py = pytest.importorskip("h5py")
zarr = pytest.importorskip("zarr")

pytestmark = pytest.mark.filterwarnings(FASTPARQUET_DEPRECATED)

V2_KEYS = {"name": "v2", "configuration": {"separator": "."}}
EMPTY_INDEX = {"shape": [0], "chunks": [1]}


def zmetadata(out: Path) -> dict:
    return json.loads((out / ".zmetadata").read_text())


def open_v3(out: Path, *, remote_protocol: str | None = "file", **kwargs):
    return xr.open_zarr(
        reference_mapper(out, remote_protocol=remote_protocol), zarr_format=3, **kwargs
    )


def every_reference(out: Path, remote_protocol: str | None = None) -> list:
    """All references as fsspec's LazyReferenceMapper yields them: every field, in any order.

    Without ``remote_protocol`` fsspec walks these (in a set's order) to guess the protocol
    and fails on the first field that has no ``.zarray``.
    """
    return list(reference_mapper(out, remote_protocol=remote_protocol).fs.references.values())


# -- the skeleton's sample archive ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_v3(tmp_path_factory, sample_files):
    import vzcore

    vds = vzcore.open_virtual_mfdataset(
        [str(p) for p in sample_files], combine="by_coords", **COMBINE
    )
    out = tmp_path_factory.mktemp("v3") / "combined.parq"
    assert vds.virtualize.to_kerchunk(out, format="parquet", zarr_format=3, record_size=5) is None
    with xr.open_mfdataset(
        [str(p) for p in sample_files], engine="netcdf4", combine="by_coords", **COMBINE
    ) as ds:
        expected = ds.load()
    return out, expected, sample_files


@pytest.mark.parametrize(
    "client",
    [
        "mapper+remote_protocol",
        "mapper",
        "consolidated=True",
        "zarr_format=None",
        "open_dataset",
        "refs_as_store",
        "refs_as_store+remote_protocol",
    ],
)
def test_sample_archive_equals_netcdf4(sample_v3, client):
    from kerchunk.utils import refs_as_store

    out, expected, _ = sample_v3
    if client == "mapper+remote_protocol":
        ds = open_v3(out)
    elif client == "mapper":
        ds = open_v3(out, remote_protocol=None)
    elif client == "consolidated=True":
        ds = open_v3(out, remote_protocol=None, consolidated=True)
    elif client == "zarr_format=None":  # zarr finds zarr.json first
        ds = xr.open_zarr(reference_mapper(out))
    elif client == "open_dataset":
        ds = xr.open_dataset(reference_mapper(out), engine="zarr", zarr_format=3)
    elif client == "refs_as_store":
        ds = xr.open_zarr(refs_as_store(str(out)), zarr_format=3)
    else:
        ds = xr.open_zarr(refs_as_store(str(out), remote_protocol="file"), zarr_format=3)
    assert_same(ds, expected, client)
    assert ds["counts"].dtype == np.dtype("i4")  # no int -> float (format 3 is not masked)
    assert int((expected["counts"] == 0).sum()) > 0
    assert int(expected["temp"].isnull().sum()) > 0


def test_sample_archive_layout(sample_v3):
    out, _, sample_files = sample_v3
    meta = zmetadata(out)
    assert set(meta) == {"metadata", "record_size", "vzcore"}  # not zarr v2 consolidated
    assert meta["record_size"] == 5
    assert meta["vzcore"] == {"sources_table": ".vzcore-sources.parq"}
    sources = pq.read_table(out / ".vzcore-sources.parq").to_pydict()
    assert sources["url"] == sorted(f"file://{p.resolve()}" for p in sample_files)
    assert set(sources["size"]) == {p.stat().st_size for p in sample_files}
    docs = meta["metadata"]
    assert docs["zarr.json/.zarray"] == EMPTY_INDEX
    assert docs["zarr.json"]["node_type"] == "group"
    assert not [k for k in docs if k.endswith((".zgroup", ".zattrs"))]
    for var in ("temp", "counts", "wind", "elevation", "time", "lat", "lon"):
        doc = docs[f"{var}/zarr.json"]
        assert doc["chunk_key_encoding"] == V2_KEYS
        chunks = doc["chunk_grid"]["configuration"]["chunk_shape"]
        assert docs[f"{var}/.zarray"] == {"shape": doc["shape"], "chunks": chunks}
        assert docs["zarr.json"]["consolidated_metadata"]["metadata"][var] == doc
        nchunks = math.prod(math.ceil(s / c) for s, c in zip(doc["shape"], chunks, strict=True))
        files = sorted((out / var).glob("refs.*.parq"))
        assert len(files) == math.ceil(nchunks / 5), var
        assert sum(pq.read_metadata(p).num_rows for p in files) == nchunks
    assert len(list((out / "temp").glob("refs.*.parq"))) > 3
    # fsspec serves the v2-style keys, and every field has the chunk grid it asks for.
    fs = reference_mapper(out).fs
    assert fs.cat_file("temp/1.1.1")  # a chunk of the second record
    refs = every_reference(out)
    assert sum(isinstance(r, list) and r[0] is not None for r in refs) > 0


def test_index_documents_are_what_fsspec_needs(tmp_path, sample_files):
    # Without the group's empty index, fsspec's protocol guess fails whenever it meets the
    # root's "zarr.json" field before an array with references (in some processes only).
    import vzcore

    vds = vzcore.open_virtual_dataset(str(sample_files[0]))
    out = tmp_path / "one.parq"
    vds.virtualize.to_kerchunk(out, format="parquet", zarr_format=3)
    every_reference(out)
    meta = zmetadata(out)
    del meta["metadata"]["zarr.json/.zarray"]
    (out / ".zmetadata").write_text(json.dumps(meta))
    with pytest.raises(KeyError, match=r"zarr\.json/\.zarray"):
        every_reference(out)


def test_consolidated_false_warns_about_zmetadata(sample_v3):
    # zarr lists the root and meets fsspec's ".zmetadata" key (no way around it): the reads
    # are right, but use consolidated=True or the default.
    out, expected, _ = sample_v3
    with pytest.warns(UserWarning, match="Object at .zmetadata is not recognized"):
        ds = open_v3(out, consolidated=False)
    assert_same(ds, expected)


def test_zarr_format_2_readers_fail_loudly(sample_v3):
    from zarr.errors import GroupNotFoundError

    out, _, _ = sample_v3
    with pytest.raises(GroupNotFoundError):
        xr.open_zarr(reference_mapper(out), zarr_format=2)
    with pytest.raises(GroupNotFoundError):  # kerchunk's engine opens zarr format 2 only
        xr.open_dataset(str(out), engine="kerchunk")


# -- HDF5 codecs, through vz-hdf5 -----------------------------------------------------------------


def _h5_virtual(path: Path):
    pytest.importorskip("vz_hdf5")
    import vzcore

    return vzcore.open_virtual_dataset(str(path), loadable_variables=[])


def test_hdf5_codecs_round_trip(tmp_path):
    path = tmp_path / "codecs.h5"
    cases = v3.write_hdf5_codecs(path)
    out = tmp_path / "codecs.parq"
    _h5_virtual(path).virtualize.to_kerchunk(out, format="parquet", zarr_format=3)
    docs = zmetadata(out)["metadata"]
    for remote_protocol in ("file", None):
        ds = open_v3(out, remote_protocol=remote_protocol)
        with h5py.File(path, "r") as f:
            for name, (_, _, v3_name) in cases.items():
                assert v3_name in [c["name"] for c in docs[f"{name}/zarr.json"]["codecs"]], name
                v3.assert_same_as_read(ds[name].values, f[name][()])
    assert docs["big_endian/zarr.json"]["codecs"][0] == {
        "name": "bytes",
        "configuration": {"endian": "big"},
    }


def test_codec_without_v3_form_fails_before_touching_the_target(tmp_path, chunk_file: ChunkFile):
    arr = chunk_file.array(np.arange(4, dtype="u1"), (2,))
    bad = ManifestArray(arr.metadata.replace(codecs=({"id": "imagecodecs_jpeg8"},)), arr.manifest)
    group = ManifestGroup(variables={"b": Variable(("x",), bad, {})})
    out = tmp_path / "out.parq"
    ParquetWriter().write(ManifestGroup(variables={"a": Variable(("x",), arr, {})}), out)
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(WriteError, match="imagecodecs_jpeg8"):
        ParquetWriter().write(group, out, mode="w", zarr_format=3)
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunks.bin", "out.parq"]


# -- missing chunks and HDF5 fill values ----------------------------------------------------------


def test_missing_chunks_read_as_hdf5_fill_values(tmp_path):
    path = tmp_path / "misc.h5"
    words = np.array(["alpha", "bé", "", "gamma", "δ"], dtype=object)
    with h5py.File(path, "w") as f:
        f.create_dataset("vlen", data=words, dtype=h5py.string_dtype(), chunks=(2,))
        f.create_dataset("scalar", data=np.float64(3.25))
        v3.add_hdf5_missing_chunks(f)
    out = tmp_path / "misc.parq"
    _h5_virtual(path).virtualize.to_kerchunk(
        out, format="parquet", zarr_format=3, missing_chunks="error"
    )
    docs = zmetadata(out)["metadata"]
    assert docs["sparse/zarr.json"]["fill_value"] == -5
    assert docs["sparse_nan/zarr.json"]["fill_value"] == "NaN"
    assert docs["scalar/.zarray"] == {"shape": [], "chunks": []}
    # Missing chunks are null rows (no fill chunks: zarr reads fill_value for them).
    rows = pq.read_table(out / "sparse" / "refs.0.parq").to_pydict()
    assert rows["path"][0] is None
    assert rows["path"][3] is None
    assert rows["path"][1] is not None
    assert "raw" not in rows
    assert pq.read_table(out / "never_written" / "refs.0.parq").to_pydict() == {"raw": [None]}
    for remote_protocol in ("file", None):
        ds = open_v3(out, remote_protocol=remote_protocol)
        with h5py.File(path, "r") as f:
            assert ds["vlen"].values.tolist() == f["vlen"].asstr()[()].tolist()
            for name in ("scalar", "sparse", "sparse_nan", "never_written"):
                v3.assert_same_as_read(ds[name].values, f[name][()])
        assert int((ds["sparse"] == -5).sum()) == 32  # two chunks never written
        assert int((ds["sparse"] == 0).sum()) == 17  # the written zeros, plus one value
        assert int(ds["sparse_nan"].isnull().sum()) == 5
        assert ds["never_written"].values.tolist() == [9] * 5


def test_netcdf4_fill_values_equal_netcdf4_engine(tmp_path):
    path = v3.write_netcdf4_fill_values(tmp_path / "fills.nc")
    out = tmp_path / "fills.parq"
    _h5_virtual(path).virtualize.to_kerchunk(out, format="parquet", zarr_format=3)
    expected = xr.open_dataset(path, engine="netcdf4").load()
    for remote_protocol in ("file", None):
        ds = open_v3(out, remote_protocol=remote_protocol)
        assert_same(ds, expected, str(remote_protocol))
        assert int((ds["i"] == 0).sum()) == 24
        raw = open_v3(out, remote_protocol=remote_protocol, decode_cf=False)
        with xr.open_dataset(path, engine="netcdf4", decode_cf=False) as want:
            for name in ("t", "i", "p", "s"):
                v3.assert_same_as_read(raw[name].values, want[name].values)


# -- in-memory variables, scalars, empty arrays ---------------------------------------------------


def test_in_memory_variables_scalars_and_empty_arrays(tmp_path, chunk_file: ChunkFile):
    a = np.arange(20, dtype="<i4").reshape(4, 5)
    group = ManifestGroup(
        variables={
            "a": Variable(("time", "x"), chunk_file.array(a, (1, 5), missing=[(2, 0)]), {}),
            **v3.time_and_station(),
            "crs": Variable((), np.array(7, dtype=">i4"), {"grid_mapping_name": "latitude"}),
            "virtual_scalar": Variable((), chunk_file.array(np.array(2.5, "<f8"), ()), {}),
            "empty": Variable(("none",), np.zeros((0,), dtype="<f4"), {}),
        },
        attrs={"title": "mixed"},
    )
    out = tmp_path / "mixed.parq"
    ParquetWriter().write(group, out, zarr_format=3, record_size=3)
    docs = zmetadata(out)["metadata"]
    assert docs["empty/.zarray"] == {"shape": [0], "chunks": [1]}
    assert not (out / "empty").exists()  # no chunks, no record files
    assert pq.read_table(out / "crs" / "refs.0.parq").column_names == ["raw"]
    fs = reference_mapper(out).fs
    assert fs.cat_file("virtual_scalar/0") == np.float64(2.5).tobytes()
    with pytest.raises(FileNotFoundError):
        fs.cat_file("a/2.0")
    for remote_protocol in ("file", None):
        ds = open_v3(out, remote_protocol=remote_protocol)
        want = a.copy()
        want[2] = 0
        v3.assert_same_as_read(ds["a"].values, want)
        np.testing.assert_array_equal(
            ds["time"].values,
            np.array(["2000-01-01", "2000-01-02", "2000-01-03", "2000-02-01"], "datetime64[ns]"),
        )
        assert ds["station"].values.tolist() == ["Oslo", "Zürich", "", "a", "b"]
        assert int(ds["crs"]) == 7
        assert ds["crs"].dtype == np.dtype("i4")
        assert float(ds["virtual_scalar"]) == 2.5
        assert ds["empty"].shape == (0,)
        assert ds.attrs == {"title": "mixed"}


# -- groups ---------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:In a future version of xarray:FutureWarning")
def test_datatree_with_nested_groups(tmp_path, sample_files):
    import vzcore
    from kerchunk.utils import refs_as_store

    paths = [str(p) for p in sample_files[:2]]
    a = vzcore.open_virtual_mfdataset(paths, combine="by_coords", **COMBINE)
    b = vzcore.open_virtual_dataset(str(sample_files[2]))
    tree = xr.DataTree.from_dict({"/": xr.Dataset(attrs={"title": "tree"}), "/a": a, "/b/c": b})
    out = tmp_path / "tree.parq"
    tree.virtualize.to_kerchunk(str(out), format="parquet", zarr_format=3, record_size=10)
    assert (out / "b" / "c" / "temp" / "refs.0.parq").is_file()
    docs = zmetadata(out)["metadata"]
    assert docs["b/zarr.json"]["node_type"] == "group"
    assert docs["b/.zarray"] == EMPTY_INDEX
    assert docs["b/c/.zarray"] == EMPTY_INDEX
    assert docs["b/c/temp/.zarray"] == {"shape": [4, 6, 8], "chunks": [2, 3, 4]}
    assert set(docs["zarr.json"]["consolidated_metadata"]["metadata"]) >= {
        "a",
        "b",
        "b/c",
        "b/c/temp",
    }
    every_reference(out)  # every field (groups too) answers fsspec's protocol guess
    with xr.open_mfdataset(paths, engine="netcdf4", combine="by_coords", **COMBINE) as ds:
        expected_a = ds.load()
    with xr.open_dataset(sample_files[2], engine="netcdf4") as nc:
        expected_c = nc.load()
    stores = [
        reference_mapper(out),
        reference_mapper(out, remote_protocol=None),
        refs_as_store(str(out)),
    ]
    for store in stores:
        dt = xr.open_datatree(store, engine="zarr", zarr_format=3)
        assert dt.attrs == {"title": "tree"}
        assert_same(dt["a"].to_dataset(), expected_a)
        assert_same(dt["b/c"].to_dataset(), expected_c)
        assert dict(dt["b"].to_dataset().variables) == {}
    assert_same(open_v3(out, remote_protocol=None, group="b/c"), expected_c)


def test_group_named_like_the_root_document_is_refused(tmp_path, chunk_file: ChunkFile):
    arr = chunk_file.array(np.arange(4, dtype="u1"), (2,))
    group = ManifestGroup(
        groups={"zarr.json": ManifestGroup(variables={"v": Variable(("x",), arr, {})})}
    )
    with pytest.raises(WriteError, match=r"'zarr\.json'.*rename"):
        ParquetWriter().write(group, tmp_path / "o.parq", zarr_format=3)
    assert not (tmp_path / "o.parq").exists()


# -- 100,000 chunks ------------------------------------------------------------------------------


@pytest.mark.slow
def test_hundred_thousand_chunks(tmp_path, hundred_thousand):
    import vzcore

    path, values = hundred_thousand
    vds = vzcore.open_virtual_dataset(str(path))
    assert vds["v"].data.manifest.nchunks == 100_000
    out = tmp_path / "big.parq"
    vds.virtualize.to_kerchunk(out, format="parquet", zarr_format=3)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert total <= 5 * 100_000, total / 100_000
    assert zmetadata(out)["metadata"]["v/.zarray"] == {"shape": [1000, 800], "chunks": [4, 2]}
    # Slices through zarr (chunks=None: no dask, whose tokenizing walks the references)...
    ds = open_v3(out, remote_protocol=None, chunks=None)
    assert ds["v"].dtype == values.dtype
    for sel in (np.s_[517:531, 301:333], np.s_[-3:, -5:], np.s_[396:440, 0:800:37]):
        np.testing.assert_array_equal(ds["v"][sel].values, values[sel])
    # ...and every chunk under the v2-style key zarr asks for (zarr reads one chunk at a
    # time: 30+ s for all 100,000), fetched through fsspec without remote_protocol.
    keys = [f"v/{i}.{j}" for i in range(250) for j in range(400)]
    got = reference_mapper(out, remote_protocol=None).fs.cat(keys)
    raw = b"".join(zlib.decompress(got[k]) for k in keys)
    assembled = (
        np.frombuffer(raw, "<i4").reshape(250, 400, 4, 2).transpose(0, 2, 1, 3).reshape(1000, 800)
    )
    np.testing.assert_array_equal(assembled, values)
