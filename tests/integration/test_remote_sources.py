"""Remote sources: files on a local S3 server (moto) and a Range-honouring HTTP server.

Files are scanned where they live (``s3://``, ``http://``), the references written with
those URLs, and the references read back through fsspec's ReferenceFileSystem from the
same servers; every value and dtype equals the local original. Requests are counted on
the server side.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
pytest.importorskip("netCDF4")
pytest.importorskip("s3fs")
pytest.importorskip("aiohttp")
fsspec = pytest.importorskip("fsspec")

import vzcore
from vzcore.testing.samples import MINIMAL
from vzcore.testing.servers import HTTPServer, S3Server

from .conftest import write_sample_files


def upload(s3: S3Server, paths: list[Path], prefix: str = "data") -> list[str]:
    fs = s3.filesystem()
    urls = []
    for p in paths:
        fs.put_file(str(p), f"{s3.bucket}/{prefix}/{p.name}")
        urls.append(f"s3://{s3.bucket}/{prefix}/{p.name}")
    s3.reset()
    return urls


def serve(http: HTTPServer, paths: list[Path]) -> list[str]:
    for p in paths:
        (http.root / p.name).write_bytes(p.read_bytes())
    return [f"{http.url}/{p.name}" for p in paths]


def reopen(refs: Any, protocol: str, options: dict[str, Any] | None) -> xr.Dataset:
    """Read references the standard way, ReferenceFileSystem over the remote store + xarray/zarr.

    zarr 3 reads through asynchronous filesystems, and an asynchronous s3fs/HTTP filesystem
    does not close its aiohttp session by itself: the test makes its own and closes it.
    """
    from fsspec.implementations.reference import ReferenceFileSystem
    from zarr.core.sync import sync
    from zarr.storage import FsspecStore

    remote = fsspec.filesystem(
        protocol, **{**(options or {}), "asynchronous": True, "skip_instance_cache": True}
    )
    fs = ReferenceFileSystem(
        fo=refs,
        fs={protocol: remote},
        remote_protocol=protocol,
        asynchronous=True,
        skip_instance_cache=True,
    )
    ds = xr.open_dataset(
        FsspecStore(fs, read_only=True, path=""),
        engine="zarr",
        consolidated=False,
        zarr_format=2,
        chunks=None,
    )
    try:
        return ds.load()
    finally:
        ds.close()
        if getattr(remote, "_s3", None) is not None:
            sync(remote._s3.__aexit__(None, None, None))
        if getattr(remote, "_session", None) is not None:
            sync(remote._session.close())


def assert_same(got: xr.Dataset, expected: xr.Dataset) -> None:
    got, expected = got.load(), expected.load()
    xr.testing.assert_identical(got, expected)
    for name in expected.variables:
        assert got[name].dtype == expected[name].dtype, name


def manifest_urls(vds: xr.Dataset) -> set[str]:
    return set(vds.virtualize.to_group().referenced_paths())


@pytest.fixture
def nc4_files(tmp_path: Path) -> list[Path]:
    (tmp_path / "local").mkdir()
    return write_sample_files(tmp_path / "local", n_files=4)


@pytest.fixture
def expected(nc4_files: list[Path]) -> xr.Dataset:
    # xr.combine_by_coords, as open_virtual_mfdataset does (xr.open_mfdataset would also copy
    # the first file's global attributes onto the result).
    ds = xr.combine_by_coords(
        [xr.open_dataset(p, engine="netcdf4") for p in nc4_files],
        combine_attrs="override",
        **MINIMAL,
    )
    # The files differ in this global attribute: open_virtual_mfdataset's default
    # combine_attrs="drop_conflicts" drops it.
    del ds.attrs["source_file"]
    return ds


# -- netCDF4 over S3 -----------------------------------------------------------------------


def test_s3_glob_combined_written_and_read_back(
    vz_s3: S3Server, nc4_files: list[Path], expected: xr.Dataset, tmp_path: Path
) -> None:
    urls = upload(vz_s3, nc4_files)
    vds = vzcore.open_virtual_mfdataset(
        f"s3://{vz_s3.bucket}/data/sample_*.nc",
        combine="by_coords",
        storage_options=vz_s3.storage_options,
        **MINIMAL,
    )
    assert manifest_urls(vds) == set(urls)  # the files' s3:// URLs, in glob (sorted) order
    # The listing gave every file's size and ETag: one GET per file, nothing else.
    for url in urls:
        assert [r.method for r in vz_s3.requests if r.path == url.removeprefix("s3:/")] == ["GET"]
    out = tmp_path / "combined.json"
    vds.virtualize.to_kerchunk(str(out), format="json")
    vz_s3.reset()
    got = reopen(str(out), "s3", vz_s3.storage_options)
    assert_same(got, expected)
    assert vz_s3.reads("/data/sample_000.nc")  # values really came from the S3 server


def test_s3_scan_of_a_small_netcdf4_makes_few_requests(
    vz_s3: S3Server, nc4_files: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    (url,) = upload(vz_s3, nc4_files[:1])
    key = url.removeprefix("s3:/")
    with caplog.at_level(logging.DEBUG, logger="vzcore.io"):
        vds = vzcore.open_virtual_dataset(url, storage_options=vz_s3.storage_options)
    to_key = [r for r in vz_s3.requests if r.path == key]
    # sniffing, the HDF5 parse, the chunk index, stat and loading the coordinates share
    # one handle and its 2 MiB blocks: a HEAD and one ranged GET.
    assert len(to_key) <= 5, to_key
    assert [r.method for r in to_key] == ["HEAD", "GET"]
    assert vz_s3.bytes_sent(key) == nc4_files[0].stat().st_size
    assert vds["temp"].data.manifest.nchunks > 0
    (record,) = [r for r in caplog.records if r.name == "vzcore.io" and url in r.getMessage()]
    n, nbytes = map(
        int, re.search(r"(\d+) request\(s\), (\d+) bytes", record.getMessage()).groups()
    )
    assert (n, nbytes) == (1, nc4_files[0].stat().st_size)  # the log agrees with the server


def test_block_size_is_configurable(
    vz_s3: S3Server, nc4_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    (url,) = upload(vz_s3, nc4_files[:1])
    monkeypatch.setenv("VZCORE_BLOCK_SIZE", "4096")
    vzcore.open_virtual_dataset(url, storage_options=vz_s3.storage_options)
    gets = vz_s3.reads(url.removeprefix("s3:/"))
    size = nc4_files[0].stat().st_size
    assert len(gets) > 1
    for r in gets:  # block-sized ranges (the one at the end of the file shorter), in any order
        start = int(r.range.removeprefix("bytes=").split("-")[0])
        assert start % 4096 == 0, r.range
        assert r.nbytes == min(4096, size - start), r.range
    assert vz_s3.bytes_sent(url.removeprefix("s3:/")) < size + 4096 * len(gets)


def test_rename_paths_after_upload(
    vz_s3: S3Server, nc4_files: list[Path], expected: xr.Dataset, tmp_path: Path
) -> None:
    local = vzcore.open_virtual_mfdataset(nc4_files, combine="by_coords", **MINIMAL)
    upload(vz_s3, nc4_files, prefix="archive/v1")
    moved = local.virtualize.rename_paths(
        {f"file://{nc4_files[0].parent}/": f"s3://{vz_s3.bucket}/archive/v1/"}
    )
    assert all(u.startswith(f"s3://{vz_s3.bucket}/archive/v1/") for u in manifest_urls(moved))
    refs = moved.virtualize.to_kerchunk(format="dict")
    assert_same(reopen(refs, "s3", vz_s3.storage_options), expected)


def test_s3_glob_without_matches_says_so(vz_s3: S3Server) -> None:
    with pytest.raises(vzcore.VZError, match="no files match"):
        vzcore.open_virtual_mfdataset(
            f"s3://{vz_s3.bucket}/nothing/*.nc", storage_options=vz_s3.storage_options
        )


def test_s3_parallel_threads_scan(vz_s3: S3Server, nc4_files: list[Path], expected) -> None:
    upload(vz_s3, nc4_files)
    vds = vzcore.open_virtual_mfdataset(
        f"s3://{vz_s3.bucket}/data/*.nc",
        combine="by_coords",
        parallel="threads",
        storage_options=vz_s3.storage_options,
        **MINIMAL,
    )
    refs = vds.virtualize.to_kerchunk(format="dict")
    assert_same(reopen(refs, "s3", vz_s3.storage_options), expected)


# -- netCDF4 over HTTP ---------------------------------------------------------------------


def test_http_files_combined_written_and_read_back(
    vz_http: HTTPServer, nc4_files: list[Path], expected: xr.Dataset, tmp_path: Path
) -> None:
    urls = serve(vz_http, nc4_files)
    vds = vzcore.open_virtual_mfdataset(urls, combine="by_coords", **MINIMAL)
    assert manifest_urls(vds) == set(urls)
    # every GET was a ranged one: no file was ever fetched whole by accident
    assert all(r.status == 206 for r in vz_http.reads())
    # one GET of byte 1, once per server, checks that it answers Range requests
    probes = [r for r in vz_http.reads() if r.range == "bytes=1-1"]
    assert len(probes) == 1
    per_file = [
        r.method for r in vz_http.requests if r.path == f"/{nc4_files[0].name}" and r not in probes
    ]
    assert per_file == ["HEAD", "GET"]
    out = tmp_path / "combined.json"
    vds.virtualize.to_kerchunk(str(out), format="json")
    vz_http.reset()
    assert_same(reopen(str(out), "http", None), expected)
    assert vz_http.reads()
    assert all(r.status == 206 for r in vz_http.reads())


def test_xarray_engine_with_storage_options(
    vz_s3: S3Server, nc4_files: list[Path], tmp_path: Path
) -> None:
    (url,) = upload(vz_s3, nc4_files[:1])
    vds = xr.open_dataset(url, engine="virtualizarr", storage_options=vz_s3.storage_options)
    refs = vds.virtualize.to_kerchunk(format="dict")
    assert_same(
        reopen(refs, "s3", vz_s3.storage_options), xr.open_dataset(nc4_files[0], engine="netcdf4")
    )


# -- netCDF3 and TIFF ----------------------------------------------------------------------


@pytest.fixture
def nc3_file(tmp_path: Path) -> Path:
    pytest.importorskip("vz_netcdf3")
    path = tmp_path / "local" / "classic.nc"
    path.parent.mkdir()
    rng = np.random.default_rng(3)
    ds = xr.Dataset(
        {
            "t2m": (("time", "y", "x"), rng.normal(280, 5, (5, 4, 6)).astype("f4"), {"units": "K"}),
            "flag": (("y", "x"), rng.integers(0, 9, (4, 6)).astype("i2")),
        },
        coords={"time": np.arange(5.0), "y": np.arange(4.0), "x": np.arange(6.0)},
        attrs={"title": "classic"},
    )
    ds.to_netcdf(path, format="NETCDF3_64BIT", engine="netcdf4", unlimited_dims=["time"])
    return path


@pytest.fixture
def tiff_file(tmp_path: Path) -> Path:
    pytest.importorskip("vz_tiff")
    tifffile = pytest.importorskip("tifffile")
    path = tmp_path / "local" / "tiles.tif"
    path.parent.mkdir()
    data = (np.arange(40 * 48) % 997).astype("u2").reshape(40, 48)
    tifffile.imwrite(path, data, tile=(16, 16), compression="zlib", metadata=None)
    return path


def _remote(kind: str, s3: S3Server, http: HTTPServer, path: Path) -> tuple[str, str, Any]:
    if kind == "s3":
        (url,) = upload(s3, [path])
        return url, "s3", s3.storage_options
    (url,) = serve(http, [path])
    return url, "http", None


@pytest.mark.parametrize("kind", ["s3", "http"])
def test_netcdf3_remote(kind, vz_s3, vz_http, nc3_file: Path) -> None:
    url, protocol, options = _remote(kind, vz_s3, vz_http, nc3_file)
    server = vz_s3 if kind == "s3" else vz_http
    vds = vzcore.open_virtual_dataset(url, storage_options=options)
    assert manifest_urls(vds) == {url}
    scan_requests = [r for r in server.requests if r.path.endswith("/classic.nc")]
    assert len(scan_requests) <= 5, scan_requests
    refs = vds.virtualize.to_kerchunk(format="dict")
    assert_same(reopen(refs, protocol, options), xr.open_dataset(nc3_file, engine="netcdf4"))


@pytest.mark.parametrize("kind", ["s3", "http"])
def test_tiff_remote(kind, vz_s3, vz_http, tiff_file: Path) -> None:
    import imagecodecs.numcodecs
    import tifffile

    imagecodecs.numcodecs.register_codecs(verbose=False)
    url, protocol, options = _remote(kind, vz_s3, vz_http, tiff_file)
    server = vz_s3 if kind == "s3" else vz_http
    vds = vzcore.open_virtual_dataset(url, storage_options=options)
    assert manifest_urls(vds) == {url}
    assert len([r for r in server.requests if r.path.endswith("/tiles.tif")]) <= 5
    refs = vds.virtualize.to_kerchunk(format="dict")
    got = reopen(refs, protocol, options)["band_data"].values
    original = tifffile.imread(tiff_file)
    assert got.dtype == original.dtype
    np.testing.assert_array_equal(got, original)


# -- the README's "Data on object storage" snippets, run against the local servers ------------


def readme_snippets() -> list[str]:
    text = (Path(__file__).parents[2] / "README.md").read_text()
    section = text.split("## Data on object storage", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_readme_object_storage_snippets_run(
    vz_s3: S3Server,
    vz_http: HTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scan, reopen_block, rename, logging_block = readme_snippets()
    scratch = tmp_path / "scratch" / "run42"
    scratch.mkdir(parents=True)
    files = write_sample_files(scratch, n_files=3)
    for i, p in enumerate(files):  # day1.nc ... day3.nc: the README names day1.nc
        (p.parent / f"day{i + 1}.nc").write_bytes(p.read_bytes())
        p.unlink()
    days = sorted(scratch.glob("day*.nc"))
    upload(vz_s3, days, prefix="data")
    upload(vz_s3, days, prefix="run42")
    serve(vz_http, days[:1])
    (vz_http.root / "archive").mkdir()
    (vz_http.root / days[0].name).rename(vz_http.root / "archive" / "day1.nc")

    def local(code: str) -> str:
        return (
            code.replace('"anon": True', "**_moto")
            .replace("s3://my-bucket", f"s3://{vz_s3.bucket}")
            .replace("https://example.org", vz_http.url)
            .replace("/scratch/run42", str(scratch))
        )

    monkeypatch.chdir(tmp_path)
    ns: dict[str, Any] = {"_moto": vz_s3.storage_options}
    exec(local(scan), ns)  # noqa: S102 (the README's own code)
    exec(local(reopen_block), ns)  # noqa: S102
    try:
        got = ns["ds"].load()
    finally:
        ns["ds"].close()
        remote = fsspec.filesystem("s3", **vz_s3.storage_options, asynchronous=True)
        from zarr.core.sync import sync

        if getattr(remote, "_s3", None) is not None:
            sync(remote._s3.__aexit__(None, None, None))
    expected = vzcore.open_virtual_mfdataset(days)  # same combine, local paths
    assert got.sizes == {"time": 12, "lat": 6, "lon": 8}
    ref = xr.combine_by_coords(
        [xr.open_dataset(p, engine="netcdf4") for p in days],
        data_vars=None,
        coords="minimal",
        join="exact",
        compat="no_conflicts",
        combine_attrs="drop_conflicts",
    )
    for name in ref.variables:
        np.testing.assert_array_equal(got[name].values, ref[name].values, err_msg=name)
        assert got[name].dtype == ref[name].dtype, name
    assert set(expected.variables) == set(got.variables)

    exec(local(rename), ns)  # noqa: S102
    refs = json.loads((tmp_path / "run42.json").read_text())
    templates = refs.get("templates", {})
    urls = {
        re.sub(r"\{\{(\w+)\}\}", lambda m: templates[m.group(1)], v[0])
        for v in refs["refs"].values()
        if isinstance(v, list)
    }
    assert urls == {f"s3://{vz_s3.bucket}/run42/{p.name}" for p in days}

    with caplog.at_level(logging.DEBUG, logger="vzcore.io"):
        exec(logging_block, {})  # noqa: S102
        vzcore.open_virtual_dataset(
            f"s3://{vz_s3.bucket}/data/day1.nc", storage_options=vz_s3.storage_options
        )
    assert any("1 request(s)" in r.getMessage() for r in caplog.records if r.name == "vzcore.io")


# -- Icechunk: virtual chunks read from the S3 server ----------------------------------------


def test_icechunk_reads_virtual_chunks_from_s3(
    vz_s3: S3Server, nc4_files: list[Path], expected: xr.Dataset
) -> None:
    icechunk = pytest.importorskip("icechunk")
    vz_icechunk = pytest.importorskip("vz_icechunk")
    upload(vz_s3, nc4_files)
    vds = vzcore.open_virtual_mfdataset(
        f"s3://{vz_s3.bucket}/data/*.nc",
        storage_options=vz_s3.storage_options,
        combine="by_coords",
        **MINIMAL,
    )
    containers = vz_icechunk.containers_for(vds, **vz_s3.container_options())
    assert [c.url_prefix for c in containers] == [f"s3://{vz_s3.bucket}/"]
    config = icechunk.RepositoryConfig.default()
    for c in containers:
        config.set_virtual_chunk_container(c)
    credentials = icechunk.s3_static_credentials(
        access_key_id=vz_s3.credentials["key"], secret_access_key=vz_s3.credentials["secret"]
    )
    repo = icechunk.Repository.create(
        icechunk.in_memory_storage(),
        config,
        authorize_virtual_chunk_access=vz_icechunk.authorize_for(containers, credentials),
    )
    session = repo.writable_session("main")
    vds.virtualize.to_icechunk(session)
    session.commit("virtual dataset on S3")
    vz_s3.reset()
    got = xr.open_zarr(repo.readonly_session("main").store, consolidated=False, chunks=None).load()
    assert vz_s3.reads("/data/sample_000.nc")  # the chunks came from the S3 server
    assert_same(got, expected)
