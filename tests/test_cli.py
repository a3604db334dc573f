"""The ``vz`` command line, run as a user runs it: in a subprocess, on real netCDF4 files.

Every output a command writes is opened with the standard clients (fsspec's
ReferenceFileSystem + xarray/zarr, icechunk) and compared value by value with the originals
read by xarray's netcdf4 engine; exit codes and error output are checked too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
pytest.importorskip("netCDF4")

import xarray as xr

from vzcore.testing.samples import write_sample_files

# fsspec's LazyReferenceMapper reads Parquet references through fastparquet, which pandas 3
# deprecates: a client-side warning, not ours.
FASTPARQUET = "ignore:The 'fastparquet' engine is deprecated"
VARIABLES = ("temp", "counts", "wind", "elevation", "time", "lat", "lon")


def vz(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m vzcore ARGS`` and return the finished process."""
    env = {**os.environ, "COLUMNS": "100", "RUST_LOG": "error"}
    return subprocess.run(
        [sys.executable, "-m", "vzcore", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=180,
        check=False,
    )


def vz_here(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``vz ARGS`` in this process (for quick error checks); same result shape as vz()."""
    import contextlib
    import io

    from vzcore.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(["vz", *args], code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four daily netCDF4 files, written by netCDF4-python through xarray."""
    return write_sample_files(tmp_path_factory.mktemp("archive"), n_files=4)


def originals(paths: list[Path]) -> xr.Dataset:
    parts = [xr.open_dataset(p, engine="netcdf4").load() for p in paths]
    for ds in parts:
        ds.close()
    return xr.concat(
        parts, dim="time", data_vars="minimal", coords="minimal", compat="override", join="exact"
    )


def allow(paths: list[Path]) -> list[str]:
    """``--allow`` for references written outside the data's directory."""
    return ["--allow", paths[0].parent.as_uri() + "/"]


def open_refs(refs: Path | str, zarr_format: int = 2, **remote: object) -> xr.Dataset:
    import fsspec

    fs = fsspec.filesystem("reference", fo=str(refs), **remote)
    return xr.open_dataset(
        fs.get_mapper(""), engine="zarr", consolidated=False, zarr_format=zarr_format, chunks=None
    ).load()


def assert_same_values(out: xr.Dataset, orig: xr.Dataset) -> None:
    for name in VARIABLES:
        assert out[name].dtype == orig[name].dtype, name
        np.testing.assert_array_equal(out[name].values, orig[name].values, err_msg=name)
        assert out[name].dims == orig[name].dims, name


def test_scan_writes_json_equal_to_the_originals(archive: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "combined.json"
    res = vz("scan", str(archive[0].parent / "sample_*.nc"), "-o", str(out))
    assert res.returncode == 0, res.stderr
    line = res.stdout.strip()
    assert line.startswith("4 file(s), 7 variable(s)"), line
    assert "chunk reference(s)" in line
    assert "referenced" in line
    assert str(out) in line
    assert line.endswith(" s")
    assert "Traceback" not in res.stderr
    assert_same_values(open_refs(out), originals(archive))

    again = vz("scan", str(archive[0].parent / "sample_*.nc"), "-o", str(out))
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1
    assert "already exists" in again.stderr
    replaced = vz("scan", *map(str, archive[:2]), "-o", str(out), "--mode", "w", "--json")
    assert replaced.returncode == 0, replaced.stderr
    summary = json.loads(replaced.stdout)
    assert summary["files"] == 2
    assert summary["format"] == "json"
    assert summary["output_bytes"] == out.stat().st_size
    assert_same_values(open_refs(out), originals(archive[:2]))


def test_scan_refuses_float32_packing_and_names_the_flag(tmp_path: Path) -> None:
    """A float32-packed variable: exit 2 naming it and the flag; with the flag, raw exact."""
    import netCDF4

    path = tmp_path / "packed.nc"
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("x", 4)
        v = ds.createVariable("sst", "i2", ("x",))
        v.scale_factor = np.float32(0.01)
        v.set_auto_maskandscale(False)
        v[:] = np.array([1, 2, -3, 4000], "i2")
    out = tmp_path / "packed.json"
    res = vz_here("scan", str(path), "-o", str(out))
    assert res.returncode == 2
    assert "'sst'" in res.stderr
    assert "--allow-float64-decoding" in res.stderr
    assert "--drop sst" in res.stderr
    assert not out.exists()
    res = vz_here("scan", str(path), "-o", str(out), "--allow-float64-decoding")
    assert res.returncode == 0, res.stderr
    import fsspec

    mapper = fsspec.filesystem("reference", fo=str(out)).get_mapper("")
    with xr.open_dataset(mapper, engine="zarr", consolidated=False, mask_and_scale=False) as got:
        np.testing.assert_array_equal(got["sst"].values, np.array([1, 2, -3, 4000], "i2"))
    dropped = vz_here("scan", str(path), "-o", str(tmp_path / "d.json"), "--drop", "sst")
    assert dropped.returncode == 0, dropped.stderr


def test_scan_passes_reader_options(archive: list[Path], tmp_path: Path) -> None:
    """``-R KEY=VALUE`` reaches the reader (flat, or keyed by reader name with a dotted KEY)."""
    out = tmp_path / "chosen.json"
    res = vz_here(
        "scan", *map(str, archive[:2]), "-o", str(out), "-R", 'hdf5.drop_variables=["wind"]'
    )
    assert res.returncode == 0, res.stderr
    got = open_refs(out)
    assert "wind" not in got
    orig = originals(archive[:2])
    np.testing.assert_array_equal(got["temp"].values, orig["temp"].values)
    bad = vz_here("scan", str(archive[0]), "-o", str(tmp_path / "b.json"), "-R", "chunk_idx=hdf5")
    assert bad.returncode == 2
    assert "chunk_idx" in bad.stderr
    assert "chunk_index" in bad.stderr


@pytest.mark.filterwarnings(FASTPARQUET)
def test_scan_parquet_threads_and_zarr_v3(archive: list[Path], tmp_path: Path) -> None:
    pytest.importorskip("vz_parquet")
    out = tmp_path / "refs.parq"
    res = vz("scan", *map(str, archive), "-o", str(out), "-q", "--parallel", "threads")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("4 file(s)")
    assert (out / ".zmetadata").exists()
    assert_same_values(open_refs(out), originals(archive))
    v3 = tmp_path / "v3.json"
    res = vz("scan", *map(str, archive), "-o", str(v3), "--zarr-format", "3", "-q")
    assert res.returncode == 0, res.stderr
    assert_same_values(open_refs(v3, zarr_format=3), originals(archive))


def test_scan_errors_are_one_line_with_exit_code_2(tmp_path: Path, archive: list[Path]) -> None:
    res = vz("scan", str(tmp_path / "nothing-*.nc"), "-o", str(tmp_path / "x.json"))
    assert res.returncode == 2
    assert res.stderr.startswith("vz scan: error: no file matches")
    assert res.stderr.count("\n") == 1
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "x.json").exists()

    res = vz_here("scan", str(archive[0]), "-o", str(tmp_path / "x.unknown"))
    assert res.returncode == 2
    assert "--format" in res.stderr

    res = vz_here("scan", "-o", str(tmp_path / "x.json"))  # argparse usage error
    assert res.returncode == 2
    assert "usage: vz scan" in res.stderr

    broken = tmp_path / "broken.nc"
    broken.write_bytes(archive[0].read_bytes()[:600])
    res = vz("scan", str(broken), "-o", str(tmp_path / "b.json"))
    assert res.returncode == 2, res.stderr
    assert "broken.nc" in res.stderr
    assert "Traceback" not in res.stderr
    debug = vz("scan", str(broken), "-o", str(tmp_path / "b.json"), "--debug")
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr


def test_info_on_a_source_file_and_on_references(archive: list[Path], tmp_path: Path) -> None:
    res = vz("info", str(archive[0]), "--json")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    rows = {r["name"]: r for r in info["variables"]}
    assert set(rows) == set(VARIABLES)
    assert rows["temp"]["state"] == "virtual"
    assert rows["temp"]["chunk_shape"] == [2, 3, 4]
    assert rows["temp"]["chunks"] == 8
    assert rows["temp"]["dtype"] == "float32"
    assert any(c.startswith("zlib") for c in rows["temp"]["codecs"])
    assert rows["time"]["state"] == "loaded"
    assert rows["lat"]["state"] == "loaded"
    assert info["totals"]["files"] == 1
    assert info["source_bytes"] == archive[0].stat().st_size

    out = tmp_path / "refs.json"
    assert vz("scan", *map(str, archive), "-o", str(out), "-q").returncode == 0
    refused = vz_here("info", str(out))
    assert refused.returncode == 2
    assert "--allow " in refused.stderr
    text = vz("info", str(out), *allow(archive))
    assert text.returncode == 0, text.stderr
    assert "temp(time, lat, lon) float32 (16, 6, 8) virtual" in text.stdout
    assert "sources: 4 file(s)" in text.stdout


def test_verify_exit_codes(archive: list[Path], tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(archive[0].parent, data)
    out = tmp_path / "refs.json"
    assert vz("scan", str(data / "*.nc"), "-o", str(out), "-q").returncode == 0

    ok = vz("verify", str(out), "--deep")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("verify: OK: 4 file(s)")

    with (data / "sample_002.nc").open("ab") as f:  # the file changed since the scan
        f.write(b"\0" * 16)
    (data / "sample_003.nc").unlink()
    bad = vz("verify", str(out), "--json")
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["ok"] is False
    assert [s["url"] for s in report["stale"]] == [(data / "sample_002.nc").as_uri()]
    assert [m["url"] for m in report["missing"]] == [(data / "sample_003.nc").as_uri()]
    text = vz_here("verify", str(out))
    assert text.returncode == 1
    assert "sample_003.nc" in text.stdout
    assert "FAILED" in text.stdout

    gone = vz_here("verify", str(tmp_path / "no-such.json"))
    assert gone.returncode == 2
    assert "no-such.json" in gone.stderr


@pytest.mark.filterwarnings(FASTPARQUET)
def test_convert_between_formats(archive: list[Path], tmp_path: Path) -> None:
    pytest.importorskip("vz_parquet")
    src = tmp_path / "refs.json"
    assert vz("scan", *map(str, archive), "-o", str(src), "-q").returncode == 0
    orig = originals(archive)

    parq = tmp_path / "refs.parq"
    res = vz("convert", str(src), str(parq), *allow(archive))
    assert res.returncode == 0, res.stderr
    assert_same_values(open_refs(parq), orig)

    v3 = tmp_path / "refs-v3.json"
    assert vz("convert", str(parq), str(v3), "--zarr-format", "3", *allow(archive)).returncode == 0
    assert "zarr.json" in json.loads(v3.read_text())["refs"]
    assert_same_values(open_refs(v3, zarr_format=3), orig)


def test_convert_and_append_icechunk(archive: list[Path], tmp_path: Path) -> None:
    icechunk = pytest.importorskip("icechunk")
    vz_icechunk = pytest.importorskip("vz_icechunk")
    src = tmp_path / "refs.json"
    assert vz("scan", *map(str, archive), "-o", str(src), "-q").returncode == 0
    converted = tmp_path / "converted.icechunk"
    res = vz("convert", str(src), str(converted), *allow(archive))
    assert res.returncode == 0, res.stderr
    auth = vz_icechunk.authorize_for([p.as_uri() for p in archive])
    repo = icechunk.Repository.open(
        icechunk.local_filesystem_storage(str(converted)), authorize_virtual_chunk_access=auth
    )
    ds = xr.open_zarr(repo.readonly_session("main").store, consolidated=False, chunks=None)
    assert_same_values(ds.load(), originals(archive))

    repo_dir = tmp_path / "repo"
    res = vz("scan", *map(str, archive[:3]), "-o", str(repo_dir), "--format", "icechunk")
    assert res.returncode == 0, res.stderr
    res = vz("append", str(repo_dir), str(archive[3]), "--dim", "time")
    assert res.returncode == 0, res.stderr
    res = vz("append", str(repo_dir), str(archive[3]), "--dim", "time")
    assert res.returncode == 2
    assert "after the existing" in res.stderr

    repo = icechunk.Repository.open(
        icechunk.local_filesystem_storage(str(repo_dir)), authorize_virtual_chunk_access=auth
    )
    ds = xr.open_zarr(repo.readonly_session("main").store, consolidated=False, chunks=None).load()
    assert_same_values(ds, originals(archive))


def test_append_to_json_references(archive: list[Path], tmp_path: Path) -> None:
    refs = tmp_path / "refs.json"
    assert vz("scan", *map(str, archive[:2]), "-o", str(refs), "-q").returncode == 0
    res = vz(
        "append", str(refs), *map(str, archive[2:]), "--dim", "time", "--json", *allow(archive)
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["files"] == 4
    assert_same_values(open_refs(refs), originals(archive))

    before = refs.read_bytes()
    overlap = vz("append", str(refs), str(archive[1]), "--dim", "time", *allow(archive))
    assert overlap.returncode == 2
    assert "time" in overlap.stderr
    assert refs.read_bytes() == before  # nothing written

    other = vz_here("append", str(refs), str(archive[0]), "--dim", "nope", *allow(archive))
    assert other.returncode == 2
    assert "'nope'" in other.stderr


def test_rename_repoints_references(archive: list[Path], tmp_path: Path) -> None:
    old, new = tmp_path / "scratch", tmp_path / "uploaded"
    shutil.copytree(archive[0].parent, old)
    refs = tmp_path / "refs.json"
    assert vz("scan", str(old / "*.nc"), "-o", str(refs), "-q").returncode == 0
    shutil.move(old, new)

    moved = tmp_path / "moved.json"
    res = vz(
        "rename",
        str(refs),
        *allow([old / "x"]),
        "--from",
        f"{old}/",
        "--to",
        new.as_uri() + "/",
        "-o",
        str(moved),
        "--json",
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["renamed_files"] == 4
    assert new.as_uri() in moved.read_text()
    assert old.as_uri() not in moved.read_text()
    assert_same_values(open_refs(moved), originals(sorted(new.glob("*.nc"))))
    assert vz("verify", str(moved), "--allow", new.as_uri() + "/").returncode == 0

    none = vz_here(
        "rename",
        str(refs),
        *allow([old / "x"]),
        "--from",
        "s3://elsewhere/",
        "--to",
        "s3://x/",
        "-o",
        str(tmp_path / "n.json"),
    )
    assert none.returncode == 2
    assert "no reference starts with" in none.stderr


def test_plugins_and_version() -> None:
    res = vz("plugins", "--json")
    assert res.returncode == 0, res.stderr
    names = {p["name"]: p for p in json.loads(res.stdout)}
    assert names["hdf5"]["readers"] == ["hdf5"]
    assert names["hdf5"]["distribution"] == "vz-hdf5"
    script = Path(sys.executable).with_name("vz")
    if not script.exists():
        pytest.skip("the console script is not installed next to this interpreter")
    version = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, check=False
    )
    assert version.returncode == 0
    assert version.stdout.startswith("vz (vzcore) ")


def test_scan_from_s3(archive: list[Path], tmp_path: Path, vz_s3) -> None:
    fs = vz_s3.filesystem()
    for p in archive:
        fs.put_file(str(p), f"{vz_s3.bucket}/data/{p.name}")
    so = vz_s3.storage_options
    options = [
        "-S",
        f"key={so['key']}",
        "-S",
        f"secret={so['secret']}",
        "-S",
        f"endpoint_url={so['endpoint_url']}",
        "-S",
        "client_kwargs.region_name=us-east-1",
    ]
    out = tmp_path / "s3.json"
    res = vz("scan", f"s3://{vz_s3.bucket}/data/sample_*.nc", "-o", str(out), *options)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("4 file(s)")
    ds = xr.open_dataset(
        "reference://",
        engine="zarr",
        consolidated=False,
        zarr_format=2,
        chunks=None,
        storage_options={
            "fo": str(out),
            "remote_protocol": "s3",
            "remote_options": {**so, "asynchronous": True},
        },
    ).load()
    assert_same_values(ds, originals(archive))
    ok = vz("verify", str(out), *options)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    missing = vz("scan", f"s3://{vz_s3.bucket}/nothing/*.nc", "-o", str(out), *options)
    assert missing.returncode == 2
    assert "no file matches" in missing.stderr


def test_info_lists_what_the_reader_cannot_represent(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "mixed.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("good", data=np.arange(12, dtype="i4").reshape(3, 4), chunks=(1, 4))
        ragged = f.create_dataset("ragged", (2,), dtype=h5py.vlen_dtype(np.dtype("i4")))
        ragged[0] = [1, 2, 3]
        ragged[1] = [4]
    res = vz("info", str(path), "--json")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert [r["name"] for r in info["variables"]] == ["good"]
    assert info["variables"][0]["state"] == "virtual"
    assert [u["name"] for u in info["unsupported"]] == ["ragged"]
    assert "variable-length" in info["unsupported"][0]["reason"]
    text = vz_here("info", str(path))
    assert "ragged: unsupported (variable-length" in text.stdout
