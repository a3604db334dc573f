"""The Parquet writer, read back with fsspec (with and without remote_protocol), kerchunk and xarray."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import xarray as xr
from vzcore.errors import OptionError, WriteError
from vzcore.group import ManifestGroup, Variable

from vz_parquet import ParquetWriter

from .conftest import (
    COMBINE,
    FASTPARQUET_DEPRECATED,
    ChunkFile,
    assert_same,
    each_client,
    open_batch,
    open_originals,
    open_output,
    reference_mapper,
)

pytestmark = pytest.mark.filterwarnings(FASTPARQUET_DEPRECATED)

SHUFFLE_ZLIB = ({"id": "shuffle", "elementsize": 4}, {"id": "zlib", "level": 4})


def zmetadata(out: Path) -> dict:
    return json.loads((out / ".zmetadata").read_text())


def record_files(out: Path, var: str) -> list[Path]:
    files = list((out / var).glob("refs.*.parq"))
    return sorted(files, key=lambda p: int(p.name.split(".")[1]))


def tree_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# -- the skeleton's sample dataset ---------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:In a future version of xarray:FutureWarning")
def test_sample_dataset_equals_netcdf4_through_every_client(tmp_path, sample_files):
    vds = open_batch(sample_files)
    out = tmp_path / "combined.parq"
    assert vds.virtualize.to_kerchunk(out, format="parquet", record_size=5) is None
    expected = open_originals(sample_files)
    for client, ds in each_client(out):
        assert_same(ds, expected, client)
    assert expected["counts"].dtype == np.dtype("i4")  # no int -> float on the way
    assert int((expected["counts"] == 0).sum()) > 0
    # record_size=5 splits every array into ceil(nchunks / 5) files, numbered from 0.
    meta = zmetadata(out)
    assert meta["record_size"] == 5
    for var in ("temp", "counts", "wind", "elevation", "time", "lat", "lon"):
        zarray = meta["metadata"][f"{var}/.zarray"]
        nchunks = math.prod(
            math.ceil(s / c) for s, c in zip(zarray["shape"], zarray["chunks"], strict=True)
        )
        files = record_files(out, var)
        assert [p.name for p in files] == [f"refs.{i}.parq" for i in range(math.ceil(nchunks / 5))]
        assert sum(pq.read_metadata(p).num_rows for p in files) == nchunks
    assert len(record_files(out, "temp")) > 3


def test_xarray_engine_virtualizarr_to_parquet(tmp_path, sample_files):
    # The headline workflow with format="parquet" (xarray wraps the variables in dask).
    vds = xr.open_mfdataset(
        [str(p) for p in sample_files[:3]],
        engine="virtualizarr",
        combine="by_coords",
        **COMBINE,
    )
    out = tmp_path / "combined.parq"
    vds.virtualize.to_kerchunk(str(out), format="parquet")
    expected = open_originals(sample_files[:3])
    assert_same(open_output(out, "fsspec"), expected)


# -- layout -------------------------------------------------------------------------------------


def test_layout_columns_types_and_encodings(tmp_path, chunk_file):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(7, 10)).astype("<f4")
    # Chunk (0, 0) missing, (0, 1) inline: the first rows carry no path at all.
    arr = chunk_file.array(
        a, (3, 4), SHUFFLE_ZLIB, fill_value=None, missing=[(0, 0)], inline=[(0, 1)]
    )
    group = ManifestGroup(variables={"a": Variable(("y", "x"), arr, {})})
    out = tmp_path / "out.parq"
    ParquetWriter().write(group, out)
    (f,) = record_files(out, "a")
    pf = pq.ParquetFile(f)
    assert pf.schema_arrow.names == ["path", "offset", "size", "raw"]
    assert pf.metadata.metadata is None  # no pandas metadata: path is never a categorical
    cols = {
        pf.metadata.row_group(0).column(i).path_in_schema: pf.metadata.row_group(0).column(i)
        for i in range(4)
    }
    # A run of 7 rows is short for a dictionary (see the next test), but null paths
    # need one: fastparquet reads them as None only from a dictionary-encoded column.
    assert "RLE_DICTIONARY" in cols["path"].encodings
    assert str(pf.schema_arrow.field("offset").type) == "int64"
    assert all(c.compression == "ZSTD" for c in cols.values())
    t = pf.read().to_pydict()
    assert t["path"] == [None, None, *[chunk_file.url] * 7]
    assert t["raw"][0] is None
    assert t["raw"][1] is not None
    assert t["raw"][2:] == [None] * 7
    assert t["offset"][:2] == [0, 0]
    assert all(o >= 8 for o in t["offset"][2:])
    # What fsspec's LazyReferenceMapper gets from pandas + fastparquet: None, never NaN.
    import pandas as pd

    df = pd.read_parquet(f, engine="fastparquet")
    assert df["path"].to_numpy()[0] is None
    assert df["offset"].dtype == np.dtype("int64")
    assert df["size"].dtype == np.dtype("int64")
    expected = a.copy()
    expected[:3, :4] = 0  # the missing chunk reads as zeros (no _FillValue)
    for client, ds in each_client(out):
        np.testing.assert_array_equal(ds["a"].values, expected, err_msg=client)
        assert ds["a"].dtype == np.dtype("<f4")


def _synthetic(urls, index, offsets, lengths, sources=None) -> ManifestGroup:
    """A group of one zlib array over ``urls`` (no file is read: only the references)."""
    from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray

    grid = index.shape
    meta = ArrayMetadata(
        tuple(g * 10 for g in grid), np.dtype("<f4"), (10,) * len(grid), codecs=({"id": "zlib"},)
    )
    manifest = ChunkManifest(urls, index, offsets, lengths)
    if sources is not None:
        manifest = manifest.with_sources(sources)
    arr = ManifestArray(meta, manifest)
    return ManifestGroup(variables={"v": Variable(("t", "x"), arr, {})})


def _encodings(f: Path) -> dict[str, tuple[str, ...]]:
    rg = pq.ParquetFile(f).metadata.row_group(0)
    return {rg.column(i).path_in_schema: rg.column(i).encodings for i in range(rg.num_columns)}


def test_encodings_follow_the_references(tmp_path):
    import pandas as pd
    import pyarrow as pa

    rng = np.random.default_rng(5)
    # One large file: chunks one after the other, sizes varying smoothly.
    one_len = (5_000 + np.cumsum(rng.integers(-20, 21, 4_000))).astype(np.uint64)
    one_off = (4096 + np.cumsum(one_len) - one_len).astype(np.uint64)
    one = _synthetic(
        ["s3://b/big.nc"],
        np.zeros((40, 100), np.uint8),
        one_off.reshape(40, 100),
        one_len.reshape(40, 100),
    )
    # 1,000 small files of 4 chunks each, the same layout in every file, sizes at random.
    many_urls = [f"s3://b/small/obs_{i:05d}.nc" for i in range(1_000)]
    many_len = rng.integers(580, 620, 4_000).astype(np.uint64)
    many_off = np.tile(np.array([1826, 2423, 3018, 13083], np.uint64), 1_000)
    many = _synthetic(
        many_urls,
        np.repeat(np.arange(1_000, dtype=np.uint16), 4).reshape(1_000, 4),
        many_off.reshape(1_000, 4),
        many_len.reshape(1_000, 4),
    )
    expected = {
        "one": (one, "RLE_DICTIONARY", "DELTA_BINARY_PACKED", "DELTA_BINARY_PACKED"),
        "many": (many, "PLAIN", "PLAIN", "PLAIN"),
    }
    for name, (group, path_enc, offset_enc, size_enc) in expected.items():
        out = tmp_path / f"{name}.parq"
        ParquetWriter().write(group, out)
        (f,) = record_files(out, "v")
        enc = _encodings(f)
        assert path_enc in enc["path"], (name, enc)
        assert "RLE_DICTIONARY" not in enc["path"] or path_enc == "RLE_DICTIONARY"
        assert offset_enc in enc["offset"], (name, enc)
        assert size_enc in enc["size"], (name, enc)
        # What fsspec's LazyReferenceMapper reads with its default engine.
        df = pd.read_parquet(f, engine="fastparquet")
        m = group.variables["v"].data.manifest
        assert df["path"].tolist() == [m.paths[i] for i in m.path_index.ravel().tolist()]
        assert df["offset"].dtype == df["size"].dtype == np.dtype("int64")
        np.testing.assert_array_equal(df["offset"], m.offsets.ravel())
        np.testing.assert_array_equal(df["size"], m.lengths.ravel())
        # The choice is the smaller one: the other encodings make a larger file.
        table = pq.read_table(f)
        other = tmp_path / f"{name}-other.parq"
        table = table.set_column(0, "path", table.column("path").dictionary_encode())
        flip = {"PLAIN": "DELTA_BINARY_PACKED", "DELTA_BINARY_PACKED": "PLAIN"}
        pq.write_table(
            table,
            other,
            compression="zstd",
            use_dictionary=["path"] if path_enc == "PLAIN" else False,
            column_encoding={
                **({} if path_enc == "PLAIN" else {"path": "PLAIN"}),
                "offset": flip[offset_enc],
                "size": flip[size_enc],
            },
            write_statistics=["offset", "size"],
            store_schema=False,
        )
        assert f.stat().st_size < other.stat().st_size, (name, f.stat(), other.stat())
        assert pa.types.is_string(pq.read_table(f).schema.field("path").type)


def test_records_without_references_hold_only_raw(tmp_path, chunk_file):
    counts = np.arange(24, dtype="<i4").reshape(4, 6)
    arr = chunk_file.array(counts, (2, 3), missing=[(0, 0), (0, 1)], inline=[(1, 0)])
    coord = np.array(["a", "bb", "ccc", "dddd"], dtype=object)
    group = ManifestGroup(
        variables={
            "counts": Variable(("t", "x"), arr, {}),
            "label": Variable(("t",), coord, {}),
        }
    )
    out = tmp_path / "out.parq"
    ParquetWriter().write(group, out, record_size=2)
    first, second = record_files(out, "counts")
    assert pq.read_table(first).column_names == ["raw"]  # all missing: no reference columns
    assert pq.read_table(first).to_pydict() == {"raw": [None, None]}
    assert pq.read_table(second).column_names == ["path", "offset", "size", "raw"]
    assert pq.read_table(record_files(out, "label")[0]).column_names == ["raw"]
    expected = counts.copy()
    expected[:2, :] = 0
    for client, ds in each_client(out):
        np.testing.assert_array_equal(ds["counts"].values, expected, err_msg=client)
        assert ds["counts"].dtype == np.dtype("<i4")
        assert ds["label"].values.tolist() == coord.tolist()


@pytest.mark.parametrize("record_size", [1, 3, 4, 12, 100_000])
def test_record_size_splits_chunks_in_c_order(tmp_path, chunk_file, record_size):
    rng = np.random.default_rng(record_size)
    a = rng.integers(-1000, 1000, (6, 8)).astype("<i4")
    arr = chunk_file.array(a, (2, 2), SHUFFLE_ZLIB, missing=[(1, 1)], inline=[(2, 3)])
    group = ManifestGroup(variables={"a": Variable(("y", "x"), arr, {"units": "1"})})
    out = tmp_path / f"out{record_size}.parq"
    ParquetWriter().write(group, out, record_size=record_size)
    files = record_files(out, "a")
    n = 12
    assert len(files) == math.ceil(n / record_size)
    rows = [pq.read_metadata(p).num_rows for p in files]
    assert rows == [min(record_size, n - i * record_size) for i in range(len(files))]
    # Row r of record k is chunk k * record_size + r in C order.
    refs = reference_mapper(out).fs.references
    for flat in range(n):
        key = "a/{}.{}".format(*np.unravel_index(flat, (3, 4)))
        expected = arr.manifest[tuple(int(i) for i in np.unravel_index(flat, (3, 4)))]
        if expected is None:
            with pytest.raises(KeyError):
                refs[key]
        elif isinstance(expected, bytes):
            assert refs[key] == expected
        else:
            assert [refs[key][0], int(refs[key][1]), int(refs[key][2])] == list(expected)
    want = a.copy()
    want[2:4, 2:4] = 0
    for client, ds in each_client(out):
        np.testing.assert_array_equal(ds["a"].values, want, err_msg=client)


def test_fill_values_nan_and_fill_chunks(tmp_path, chunk_file):
    v = np.arange(12, dtype="<f4").reshape(3, 4)
    v[0, 0] = np.nan
    nan_arr = chunk_file.array(v, (2, 2), SHUFFLE_ZLIB, fill_value=float("nan"), missing=[(1, 1)])
    # Missing chunks that read as -1 in the source but zarr would read as 0: stored filled.
    c = np.full((4, 4), -1, dtype="<i2")
    c[:2, :2] = [[1, 2], [3, 4]]
    filled = chunk_file.array(c, (2, 2), fill_value=-1, missing=[(0, 1), (1, 0), (1, 1)])
    group = ManifestGroup(
        variables={
            "v": Variable(("y", "x"), nan_arr, {"_FillValue": float("nan"), "units": "m"}),
            "c": Variable(("p", "q"), filled, {}),
        }
    )
    out = tmp_path / "out.parq"
    ParquetWriter().write(group, out)
    meta = zmetadata(out)["metadata"]
    assert meta["v/.zarray"]["fill_value"] == "NaN"
    raw = pq.read_table(record_files(out, "c")[0]).to_pydict()["raw"]
    assert raw[0] is None
    assert raw[1] == raw[2] == raw[3] == np.full((2, 2), -1, "<i2").tobytes()
    expected_v = v.copy()
    expected_v[2:, 2:] = np.nan
    for client, ds in each_client(out):
        np.testing.assert_array_equal(ds["v"].values, expected_v, err_msg=client)
        np.testing.assert_array_equal(ds["c"].values, c, err_msg=client)
        assert ds["c"].dtype == np.dtype("<i2")


def test_scalar_and_empty_arrays(tmp_path, chunk_file):
    scalar = chunk_file.array(np.array(2.5, dtype="<f8"), ())
    empty = chunk_file.array(np.zeros((0, 3), dtype="<i4"), (1, 3))
    group = ManifestGroup(
        variables={
            "s": Variable((), scalar, {"long_name": "scalar"}),
            "e": Variable(("n", "m"), empty, {}),
            "loaded": Variable((), np.array(7, dtype="<i8"), {}),
        }
    )
    out = tmp_path / "out.parq"
    ParquetWriter().write(group, out)
    assert not (out / "e").exists()  # no chunks, no record files
    assert pq.read_metadata(record_files(out, "s")[0]).num_rows == 1
    for client, ds in each_client(out):
        assert ds["s"].values[()] == 2.5, client
        assert ds["s"].dtype == np.dtype("<f8")
        assert ds["e"].shape == (0, 3)
        assert ds["loaded"].values[()] == 7


# -- a 100,000-chunk array ---------------------------------------------------------------------


@pytest.mark.slow
def test_hundred_thousand_chunks(tmp_path, hundred_thousand):
    import vzcore

    path, values = hundred_thousand
    vds = vzcore.open_virtual_dataset(str(path))
    manifest = vds["v"].data.manifest
    assert manifest.nchunks == 100_000
    out = tmp_path / "big.parq"
    vds.virtualize.to_kerchunk(out, format="parquet")
    # Size on disk: everything (.zmetadata included) in at most 5 bytes per chunk.
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert total <= 5 * 100_000, total / 100_000
    # Every chunk, fetched through fsspec's reference file system without remote_protocol
    # (the guessed protocol), decodes to the original values.
    import zlib

    fs = reference_mapper(out, remote_protocol=None).fs
    keys = [f"v/{i}.{j}" for i in range(250) for j in range(400)]
    got = fs.cat(keys)
    raw = b"".join(zlib.decompress(got[k]) for k in keys)
    assembled = (
        np.frombuffer(raw, "<i4").reshape(250, 400, 4, 2).transpose(0, 2, 1, 3).reshape(1000, 800)
    )
    np.testing.assert_array_equal(assembled, values)
    # Every reference as fsspec reads it equals the manifest's (path, offset, length).
    refs = reference_mapper(out).fs.references
    listed = list(refs._generate_all_records("v"))
    assert len(listed) == 100_000
    assert {r[0] for r in listed} == {manifest.paths[0]}
    np.testing.assert_array_equal([r[1] for r in listed], manifest.offsets.ravel())
    np.testing.assert_array_equal([r[2] for r in listed], manifest.lengths.ravel())
    # The xarray clients read a slab crossing many chunks (reading all 100,000 chunks one by one
    # through fsspec takes minutes).
    sel = {"phony_dim_0": slice(396, 440), "phony_dim_1": slice(0, 800, 37)}
    for client, ds in each_client(out):
        assert ds["v"].dtype == np.dtype("<i4")
        np.testing.assert_array_equal(
            ds["v"].isel(sel).values, values[396:440, 0:800:37], err_msg=client
        )


# -- groups -------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:In a future version of xarray:FutureWarning")
def test_datatree_with_nested_groups(tmp_path, sample_files):
    import vzcore
    from kerchunk.utils import refs_as_store

    a = open_batch(sample_files[:2])
    b = vzcore.open_virtual_dataset(str(sample_files[2]))
    tree = xr.DataTree.from_dict({"/": xr.Dataset(attrs={"title": "tree"}), "/a": a, "/b/c": b})
    out = tmp_path / "tree.parq"
    tree.virtualize.to_kerchunk(str(out), format="parquet", record_size=10)
    assert (out / "b" / "c" / "temp" / "refs.0.parq").is_file()
    meta = zmetadata(out)["metadata"]
    assert meta["b/.zgroup"] == {"zarr_format": 2}
    assert meta["b/c/temp/.zarray"]["shape"] == [4, 6, 8]
    expected_a = open_originals(sample_files[:2])
    with xr.open_dataset(sample_files[2], engine="netcdf4") as nc:
        expected_c = nc.load()
    # fsspec's LazyReferenceMapper lists child *groups* among the arrays when guessing the
    # protocol and may fail on them, so trees are opened with remote_protocol (see README).
    for store in (reference_mapper(out), refs_as_store(str(out), remote_protocol="file")):
        dt = xr.open_datatree(store, engine="zarr")
        assert dt.attrs == {"title": "tree"}
        assert_same(dt["a"].to_dataset(), expected_a)
        assert_same(dt["b/c"].to_dataset(), expected_c)
        assert dict(dt["b"].to_dataset().variables) == {}
    assert_same(xr.open_dataset(reference_mapper(out), engine="zarr", group="b/c"), expected_c)


# -- modes and atomicity -----------------------------------------------------------------------


def _small_group(chunk_file: ChunkFile, scale: int = 1) -> ManifestGroup:
    a = (np.arange(40, dtype="<i4") * scale).reshape(5, 8)
    return ManifestGroup(
        variables={"a": Variable(("y", "x"), chunk_file.array(a, (2, 3)), {})},
        attrs={"scale": scale},
    )


def test_mode_w_dash_refuses_and_w_replaces(tmp_path, chunk_file):
    out = tmp_path / "out.parq"
    writer = ParquetWriter()
    writer.write(_small_group(chunk_file), out, record_size=2)
    assert len(record_files(out, "a")) == 5
    with pytest.raises(WriteError, match="already exists and mode='w-'"):
        writer.write(_small_group(chunk_file, 2), out)
    writer.write(_small_group(chunk_file, 3), f"file://{out}", mode="w")
    assert len(record_files(out, "a")) == 1  # no stale record files from the first write
    ds = open_output(out, "fsspec")
    np.testing.assert_array_equal(ds["a"].values, np.arange(40).reshape(5, 8) * 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunks.bin", "out.parq"]


def test_mode_w_never_deletes_what_is_not_a_reference_directory(tmp_path, chunk_file):
    data = tmp_path / "data"
    data.mkdir()
    (data / "precious.nc").write_bytes(b"x")
    with pytest.raises(WriteError, match="does not look like an output"):
        ParquetWriter().write(_small_group(chunk_file), data, mode="w")
    assert (data / "precious.nc").read_bytes() == b"x"
    (tmp_path / "file.parq").write_bytes(b"x")
    with pytest.raises(WriteError, match="not a directory"):
        ParquetWriter().write(_small_group(chunk_file), tmp_path / "file.parq", mode="w")
    with pytest.raises(WriteError, match="does not exist"):
        ParquetWriter().write(_small_group(chunk_file), tmp_path / "no" / "out.parq")
    with pytest.raises(WriteError, match="remote targets"):
        ParquetWriter().write(_small_group(chunk_file), "s3://bucket/out.parq")
    empty = tmp_path / "empty"
    empty.mkdir()
    ParquetWriter().write(_small_group(chunk_file), empty, mode="w")  # empty: fine
    assert (empty / ".zmetadata").is_file()


@pytest.mark.parametrize(
    "exc", [RuntimeError("disk on fire"), KeyboardInterrupt()], ids=["error", "interrupt"]
)
def test_interrupted_write_leaves_previous_output_intact(tmp_path, chunk_file, monkeypatch, exc):
    out = tmp_path / "out.parq"
    writer = ParquetWriter()
    writer.write(_small_group(chunk_file), out, record_size=2)
    before = tree_files(out)
    real = pq.write_table
    calls = []

    def fail_on_third(table, where, **kwargs):
        calls.append(where)
        if len(calls) == 3:
            raise exc
        real(table, where, **kwargs)

    monkeypatch.setattr(pq, "write_table", fail_on_third)
    with pytest.raises(type(exc)):
        writer.write(_small_group(chunk_file, 5), out, mode="w", record_size=2)
    assert len(calls) == 3  # two record files were written before the failure
    assert tree_files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunks.bin", "out.parq"]
    ds = open_output(out, "fsspec")
    np.testing.assert_array_equal(ds["a"].values, np.arange(40).reshape(5, 8))


def test_unwritable_tree_fails_before_touching_the_target(tmp_path, chunk_file):
    out = tmp_path / "out.parq"
    ParquetWriter().write(_small_group(chunk_file), out)
    before = tree_files(out)
    bad = _small_group(chunk_file, 2)
    bad.attrs["bad"] = object()
    with pytest.raises(WriteError, match="not JSON-serialisable"):
        ParquetWriter().write(bad, out, mode="w")
    assert tree_files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunks.bin", "out.parq"]


# -- options ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"record_size": 0}, ValueError, "record_size=0"),
        ({"record_size": -5}, ValueError, "record_size=-5"),
        ({"record_size": 2.5}, TypeError, "record_size=2.5"),
        ({"record_size": True}, TypeError, "record_size=True"),
        ({"record_size": "100"}, TypeError, "record_size='100'"),
        ({"mode": "a"}, ValueError, "mode='a'"),
        ({"missing_chunks": "drop"}, ValueError, "missing_chunks='drop'"),
        ({"zarr_format": 4}, ValueError, "zarr_format=4"),
        ({"zarr_format": True}, ValueError, "zarr_format=True"),
        ({"record_sources": "yes"}, TypeError, "record_sources='yes'"),
    ],
)
def test_bad_options_name_the_option(tmp_path, chunk_file, options, error, match):
    out = tmp_path / "out.parq"
    with pytest.raises(OptionError, match=f"writer 'parquet' got an invalid option {match}"):
        ParquetWriter().write(_small_group(chunk_file), out, **options)
    with pytest.raises(error):  # as Python's own TypeError / ValueError
        ParquetWriter().write(_small_group(chunk_file), out, **options)
    assert not out.exists()


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"record_size": 0}, "invalid option record_size=0"),
        ({"recordsize": 10}, r"unknown option 'recordsize' \(did you mean 'record_size'\?\)"),
        ({"zarr_version": 3}, "unknown option 'zarr_version'; its options are: 'mode', "),
        ({"templates": True}, "unknown option 'templates'"),
    ],
)
def test_bad_options_through_the_accessor(tmp_path, sample_files, options, match):
    import vzcore

    vds = vzcore.open_virtual_dataset(str(sample_files[0]))
    with pytest.raises(OptionError, match=f"writer 'parquet' .*{match}"):
        vds.virtualize.to_kerchunk(tmp_path / "o.parq", format="parquet", **options)
    assert list(tmp_path.glob("o.parq*")) == []


# -- source files ---------------------------------------------------------------------------------


def test_sources_are_recorded_in_a_table_beside_zmetadata(tmp_path, sample_files):
    vds = open_batch(sample_files[:3])
    out = tmp_path / "out.parq"
    vds.virtualize.to_kerchunk(out, format="parquet")
    assert zmetadata(out)["vzcore"] == {"sources_table": ".vzcore-sources.parq"}
    table = pq.read_table(out / ".vzcore-sources.parq").to_pylist()
    assert [row["url"] for row in table] == sorted("file://" + str(p) for p in sample_files[:3])
    for row in table:
        st = os.stat(row["url"].removeprefix("file://"))
        assert set(row) == {"url", "size", "mtime"}  # no ETag column for local files
        assert row["size"] == st.st_size
        assert row["mtime"] == st.st_mtime
    # Read back exactly as the scan recorded them.
    from vz_kerchunk._read_parquet import load_parquet_refs

    recorded = load_parquet_refs(str(out)).sources["sources"]
    for p in sample_files[:3]:
        st = os.stat(p)
        info = recorded["file://" + str(p)]
        assert info == {"size": st.st_size, "mtime": st.st_mtime}
    out2 = tmp_path / "out2.parq"
    vds.virtualize.to_kerchunk(out2, format="parquet", record_sources=False)
    assert "vzcore" not in zmetadata(out2)
    assert not (out2 / ".vzcore-sources.parq").exists()
    # Standard readers ignore the extra key and the extra file.
    for client, ds in each_client(out):
        assert_same(ds, open_originals(sample_files[:3]), client)


def test_sources_table_is_a_few_bytes_per_file(tmp_path):
    from vzcore.manifests.sources import SourceInfo
    from vzcore.store_plan import plan

    urls = [f"s3://bucket/archive/2020/obs_{i:05d}.nc" for i in range(1_000)]
    rng = np.random.default_rng(7)
    sources = {
        u: SourceInfo(size=19_000 + int(s), mtime=1.7e9 + i * 0.0014 + float(j), etag=None)
        for i, (u, s, j) in enumerate(
            zip(urls, rng.integers(0, 40, 1_000), rng.random(1_000) * 1e-3, strict=True)
        )
    }
    group = _synthetic(
        urls,
        np.arange(1_000, dtype=np.uint16).reshape(1_000, 1),
        np.full((1_000, 1), 4096, np.uint64),
        np.full((1_000, 1), 600, np.uint64),
        sources,
    )
    assert plan(group, 2).sources == sources
    out = tmp_path / "s.parq"
    ParquetWriter().write(group, out)
    size = (out / ".vzcore-sources.parq").stat().st_size
    as_json = len(json.dumps(plan(group, 2).sources_json(), separators=(",", ":")))
    assert size < 4_000 < as_json / 20, (size, as_json)


@pytest.mark.filterwarnings("ignore:In a future version of xarray:FutureWarning")
def test_verify_finds_changed_sources_through_the_table(tmp_path, sample_files):
    import shutil

    import vzcore

    paths = []
    for p in sample_files[:3]:
        paths.append(tmp_path / p.name)
        shutil.copy2(p, paths[-1])
    out = tmp_path / "out.parq"
    open_batch(paths).virtualize.to_kerchunk(out, format="parquet")
    report = vzcore.verify(str(out))
    assert report.ok, str(report)
    assert report.files_checked == 3
    assert report.unrecorded == []
    # Same size, newer time: only the recorded mtime tells.
    st = os.stat(paths[0])
    os.utime(paths[0], (st.st_atime, st.st_mtime + 10))
    # Appended bytes: the recorded size tells (the chunks are all still in range).
    with open(paths[1], "ab") as f:
        f.write(b"appended")
    os.utime(paths[1], (st.st_atime, os.stat(paths[1]).st_mtime))
    report = vzcore.verify(str(out))
    stale = {s.url: s.changes for s in report.stale}
    assert set(stale) == {"file://" + str(paths[0]), "file://" + str(paths[1])}, str(report)
    assert stale["file://" + str(paths[0])][0].startswith("modified ")
    assert stale["file://" + str(paths[1])][0].startswith("size ")
    # Without the table, verify can only check the byte ranges, and says so.
    (out / ".vzcore-sources.parq").unlink()
    meta = zmetadata(out)
    del meta["vzcore"]
    (out / ".zmetadata").write_text(json.dumps(meta))
    report = vzcore.verify(str(out))
    assert report.stale == [], str(report)
    assert len(report.unrecorded) == 3


def test_sources_recorded_inline_by_earlier_versions_are_read(tmp_path, sample_files):
    import vzcore
    from vzcore.store_plan import plan

    vds = open_batch(sample_files[:3])
    out = tmp_path / "out.parq"
    vds.virtualize.to_kerchunk(out, format="parquet")
    # The layout before the table: {"vzcore": {"sources": {url: {"size", "mtime"}}}}.
    (out / ".vzcore-sources.parq").unlink()
    meta = zmetadata(out)
    meta["vzcore"] = plan(vds.virtualize.to_group(), 2).sources_json()
    (out / ".zmetadata").write_text(json.dumps(meta))
    report = vzcore.verify(str(out))
    assert report.ok, str(report)
    assert report.unrecorded == []
    assert report.files_checked == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("name", "sources_table must be '.vzcore-sources.parq'"),
        ("missing", "which is missing"),
        ("garbage", "is unreadable"),
        ("no url", "no text column 'url'"),
    ],
)
def test_bad_sources_table_is_a_corrupt_file(tmp_path, sample_files, change, message):
    import pyarrow as pa
    from vz_kerchunk._read_parquet import load_parquet_refs
    from vzcore.errors import CorruptFileError

    out = tmp_path / "out.parq"
    open_batch(sample_files[:2]).virtualize.to_kerchunk(out, format="parquet")
    table = out / ".vzcore-sources.parq"
    if change == "name":
        meta = zmetadata(out)
        meta["vzcore"]["sources_table"] = "../elsewhere.parq"
        (out / ".zmetadata").write_text(json.dumps(meta))
    elif change == "missing":
        table.unlink()
    elif change == "garbage":
        table.write_bytes(b"not parquet")
    else:
        pq.write_table(pa.table({"size": [1, 2]}), table)
    with pytest.raises(CorruptFileError, match=message):
        load_parquet_refs(str(out))


def test_non_ascii_and_odd_names(tmp_path, chunk_file):
    a = np.arange(12, dtype="<i2").reshape(3, 4)
    group = ManifestGroup(
        variables={
            "température": Variable(("y", "x"), chunk_file.array(a, (2, 2)), {"unités": "°C"}),
            "a b {c}": Variable(("y", "x"), chunk_file.array(a * 2, (2, 2)), {}),
        },
        groups={
            "grüppe": ManifestGroup(
                variables={"v": Variable(("y", "x"), chunk_file.array(a * 3, (2, 2)), {})}
            )
        },
    )
    out = tmp_path / "out.parq"
    ParquetWriter().write(group, out, record_size=3)
    assert (out / "température" / "refs.1.parq").is_file()
    ds = open_output(out, "fsspec+remote_protocol")
    np.testing.assert_array_equal(ds["température"].values, a)
    assert ds["température"].attrs == {"unités": "°C"}
    np.testing.assert_array_equal(ds["a b {c}"].values, a * 2)
    sub = xr.open_dataset(reference_mapper(out), engine="zarr", group="grüppe")
    np.testing.assert_array_equal(sub["v"].values, a * 3)
