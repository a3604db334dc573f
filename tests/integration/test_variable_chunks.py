"""Variable-length chunks: files of 10, 7 and 10 steps in chunks of 5, joined along time.

The joined array has a rectilinear chunk grid (edges 5, 5, 5, 2, 5, 5). Zarr format 3
outputs (kerchunk JSON and Parquet references, Icechunk) hold it and are read back here by
zarr-python 3.4 (with its experimental flag) and xarray, value for value against netCDF4's
reading of the originals; zarr format 2 outputs refuse it with a CombineError that names
the formats that can, and partial chunks that cannot be cut (compressed) still raise.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import vzcore
from vzcore.errors import CombineError, WriteError

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
pytest.importorskip("netCDF4")
fsspec = pytest.importorskip("fsspec")
zarr = pytest.importorskip("zarr")

TIMES = pd.date_range("2000-01-01", periods=40, freq="D")
NESTED = {
    "combine": "nested",
    "concat_dim": "time",
    "data_vars": "minimal",
    "coords": "minimal",
    "compat": "override",
}


def _files(tmp_path, lengths=(10, 7, 10), chunk=5, **encoding):
    """netCDF4 files of ``lengths`` daily steps: v(time, x) f4 and n(time) i2, chunks of 5."""
    tmp_path.mkdir(exist_ok=True)
    paths = []
    start = 0
    for i, n in enumerate(lengths):
        t = np.arange(start, start + n)
        ds = xr.Dataset(
            {
                "v": (("time", "x"), (t[:, None] * 10 + np.arange(4)).astype("f4"), {"units": "K"}),
                "n": (("time",), t.astype("i2"), {"scale_factor": 0.5}),
            },
            coords={"time": TIMES[start : start + n], "x": [1.0, 2.0, 3.0, 4.0]},
        )
        start += n
        path = tmp_path / f"part{i}.nc"
        c = n if chunk is None else chunk
        ds.to_netcdf(
            path,
            engine="netcdf4",
            encoding={
                "v": {"chunksizes": (c, 4), **encoding},
                "n": {"chunksizes": (c,), **encoding},
                "time": {"units": "days since 2000-01-01", "dtype": "i4"},
            },
        )
        paths.append(path)
    return paths


def _originals(paths):
    with xr.open_mfdataset(paths, engine="netcdf4", **NESTED) as ds:
        return ds.load()


@pytest.fixture
def rectilinear():
    with zarr.config.set({"array.rectilinear_chunks": True}):
        yield


def _store(fo, **kwargs):
    from zarr.storage import FsspecStore

    fs = fsspec.filesystem("reference", fo=fo, asynchronous=True, **kwargs)
    return FsspecStore(fs, read_only=True, path="")


def _assert_equal(got, expected):
    for name in ("v", "n", "time"):
        np.testing.assert_array_equal(got[name].values, expected[name].values, err_msg=name)
        assert got[name].dtype == expected[name].dtype, name
    raw = got["n"].encoding.get("dtype")
    assert raw == np.dtype("i2"), raw  # still packed int16 on disk


def test_uneven_files_join_with_a_rectilinear_grid(tmp_path):
    paths = _files(tmp_path)
    vds = vzcore.open_virtual_mfdataset(paths, **NESTED)
    meta = vds["v"].data.metadata
    assert meta.chunk_edges == ((5, 5, 5, 2, 5, 5), None)
    # The 7-step file's last chunk (uncompressed) keeps only its first 2 rows' bytes.
    assert vds["v"].data.manifest.lengths[:, 0].tolist() == [80, 80, 80, 32, 80, 80]
    # Files whose lengths are whole chunks, or a short file last, stay regular as before.
    for order in ([0, 2], [0, 2, 1]):
        regular = vzcore.open_virtual_mfdataset([paths[i] for i in order], **NESTED)
        assert regular["v"].data.metadata.chunk_edges is None


def test_kerchunk_json_v3_reads_back_equal(tmp_path, rectilinear):
    paths = _files(tmp_path)
    vds = vzcore.open_virtual_mfdataset(paths, **NESTED)
    target = tmp_path / "refs.json"
    vds.virtualize.to_kerchunk(str(target), format="json", zarr_format=3)
    doc = json.loads(json.loads(target.read_text())["refs"]["v/zarr.json"])
    assert doc["chunk_grid"] == {
        "name": "rectilinear",
        "configuration": {"kind": "inline", "chunk_shapes": [[[5, 3], 2, [5, 2]], [4]]},
    }
    store = _store(str(target))
    arr = zarr.open_array(store, path="v", mode="r")
    assert arr.read_chunk_sizes == ((5, 5, 5, 2, 5, 5), (4,))
    expected = _originals(paths)
    np.testing.assert_array_equal(arr[...], expected["v"].values)
    for chunks in (None, {}):  # numpy, and dask with one dask chunk per zarr chunk
        got = xr.open_dataset(store, engine="zarr", zarr_format=3, chunks=chunks)
        if chunks == {}:
            assert got["v"].chunks == ((5, 5, 5, 2, 5, 5), (4,))
        _assert_equal(got, expected)


@pytest.mark.filterwarnings("ignore:The 'fastparquet' engine is deprecated")
def test_parquet_v3_reads_back_equal(tmp_path, rectilinear):
    pytest.importorskip("vz_parquet")
    pytest.importorskip("fastparquet")  # fsspec's LazyReferenceMapper reads Parquet with it
    paths = _files(tmp_path)
    vds = vzcore.open_virtual_mfdataset(paths, **NESTED)
    target = tmp_path / "refs.parq"
    vds.virtualize.to_kerchunk(str(target), format="parquet", zarr_format=3)
    got = xr.open_dataset(
        _store(str(target), remote_protocol="file"), engine="zarr", zarr_format=3, chunks={}
    )
    _assert_equal(got, _originals(paths))


def test_icechunk_reads_back_equal(tmp_path, rectilinear):
    icechunk = pytest.importorskip("icechunk")
    vz_icechunk = pytest.importorskip("vz_icechunk")
    icechunk.set_logs_filter("error")
    paths = _files(tmp_path)
    vds = vzcore.open_virtual_mfdataset(paths, **NESTED)
    config = icechunk.RepositoryConfig.default()
    for c in vz_icechunk.containers_for(vds):
        config.set_virtual_chunk_container(c)
    repo = icechunk.Repository.create(
        icechunk.local_filesystem_storage(str(tmp_path / "repo")),
        config=config,
        authorize_virtual_chunk_access=vz_icechunk.authorize_for(vds),
    )
    session = repo.writable_session("main")
    vds.virtualize.to_icechunk(session)
    session.commit("uneven files")
    store = repo.readonly_session("main").store
    assert zarr.open_array(store, path="v", mode="r").read_chunk_sizes[0] == (5, 5, 5, 2, 5, 5)
    got = xr.open_zarr(store, consolidated=False)
    assert got["v"].chunks == ((5, 5, 5, 2, 5, 5), (4,))
    _assert_equal(got, _originals(paths))
    # Appending to a rectilinear array is not supported: a clear WriteError, not zarr's flag
    # error from inside the writer.
    more = _files(tmp_path / "more", lengths=(10,))
    batch = vzcore.open_virtual_mfdataset(more, **NESTED)
    with (
        zarr.config.set({"array.rectilinear_chunks": False}),
        pytest.raises(
            WriteError, match=r"Cannot append variable 'v': its encoding differs .*chunk_grid"
        ),
    ):
        batch.virtualize.to_icechunk(repo.writable_session("main"), append_dim="time")


def test_zarr_without_its_flag_says_how_to_enable_it(tmp_path):
    paths = _files(tmp_path)
    vds = vzcore.open_virtual_mfdataset(paths, **NESTED)
    refs = vds.virtualize.to_kerchunk(format="dict", zarr_format=3)
    with (
        zarr.config.set({"array.rectilinear_chunks": False}),
        pytest.raises(ValueError, match=r"array\.rectilinear_chunks"),
    ):
        zarr.open_array(_store(refs), path="v", mode="r")


@pytest.mark.parametrize("fmt", ["dict", "json", "parquet"])
def test_zarr_v2_outputs_refuse_with_the_formats_that_can(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("vz_parquet")
    paths = _files(tmp_path)
    vds = vzcore.open_virtual_mfdataset(paths, **NESTED)
    target = None if fmt == "dict" else str(tmp_path / f"refs.{fmt}")
    with pytest.raises(
        CombineError,
        match=(
            r"Cannot write variable 'v' as zarr format 2 references .*chunk edges axis 0: "
            r"\[5, 5, 5, 2, 5, 5\].*zarr_format=3.*to_icechunk.*"
            r"zarr\.config\.set\(\{'array\.rectilinear_chunks': True\}\)"
        ),
    ):
        vds.virtualize.to_kerchunk(target, format=fmt)
    assert target is None or not (tmp_path / f"refs.{fmt}").exists()


def test_compressed_partial_chunk_still_raises_at_combine(tmp_path):
    paths = _files(tmp_path, zlib=True, complevel=1)
    with pytest.raises(
        CombineError,
        match=(
            r"'v': .*part1\.nc' has 7 elements along 'time', not a whole number of chunks of 5, "
            r"and .*part2\.nc' follows it; its partial last chunk is stored encoded "
            r"\(shuffle, zlib\) at full size, and zarr decodes every chunk at its own edge length"
        ),
    ):
        vzcore.open_virtual_mfdataset(paths, **NESTED)


def test_whole_file_chunks_of_differing_size_join_exactly(tmp_path, rectilinear):
    # One chunk per file (chunks 10, 7, 10), compressed: every chunk is whole, so exact.
    paths = _files(tmp_path, chunk=None, zlib=True, complevel=1)
    vds = vzcore.open_virtual_mfdataset(paths, **NESTED)
    assert vds["v"].data.metadata.chunk_edges == ((10, 7, 10), None)
    refs = vds.virtualize.to_kerchunk(format="dict", zarr_format=3)
    got = xr.open_dataset(_store(refs), engine="zarr", zarr_format=3, chunks=None)
    _assert_equal(got, _originals(paths))


@pytest.mark.filterwarnings("ignore:In a future version of xarray:FutureWarning")
def test_xarray_open_mfdataset_and_vzcore_readers_round_trip(tmp_path, rectilinear):
    paths = _files(tmp_path)
    ds = xr.open_mfdataset(paths, engine="virtualizarr", **NESTED)
    refs = ds.virtualize.to_kerchunk(format="dict", zarr_format=3)
    target = tmp_path / "refs.json"
    target.write_text(json.dumps(refs))
    # vzcore reads the rectilinear references back (convert, append, verify work on them).
    again = vzcore.open_virtual_dataset(
        str(target), reader="kerchunk", loadable_variables=["time", "x"]
    )
    assert again["v"].data.metadata.chunk_edges == ((5, 5, 5, 2, 5, 5), None)
    report = vzcore.verify(str(target), deep=True)
    assert report.ok, report
    got = xr.open_dataset(_store(refs), engine="zarr", zarr_format=3, chunks=None)
    _assert_equal(got, _originals(paths))
