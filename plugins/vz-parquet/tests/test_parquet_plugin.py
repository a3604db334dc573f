"""vz-parquet as a vzcore plugin: registration, lazy import, conformance, installed alone."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from vzcore.testing.imports import import_statements, modules_imported_by

from .conftest import FASTPARQUET_DEPRECATED, reference_mapper

pytestmark = pytest.mark.filterwarnings(FASTPARQUET_DEPRECATED)


def test_writer_is_registered():
    from vzcore.testing.registration import assert_writer_registered

    from vz_parquet import ParquetWriter

    assert_writer_registered("parquet", ParquetWriter, "vz-parquet")
    assert repr(ParquetWriter()) == "ParquetWriter(name='parquet')"


def test_plugin_module_imports_nothing_heavy():
    # vzcore itself imports xarray (its accessor); the plugin must add no format library.
    heavy = {
        "vz_parquet._writer",
        "vzcore.store_plan",
        "pyarrow",
        "pandas",
        "fastparquet",
        "fsspec",
        "kerchunk",
        "zarr",
        "numcodecs",
    }
    statements = "import vz_parquet, vz_parquet.plugin\nvzcore.plugins.get_writer('parquet')"
    assert modules_imported_by(statements, heavy) == []


def test_writer_sources_never_import_xarray_pandas_or_readers():
    import vz_parquet

    banned = {
        "xarray",
        "pandas",
        "fastparquet",
        "kerchunk",
        "vz_kerchunk",
        "zarr",
        "fsspec",
        "h5py",
    }
    for source in Path(vz_parquet.__file__).parent.glob("*.py"):
        for names in import_statements(source):
            assert not {n.split(".")[0] for n in names} & banned, (source.name, names)


def test_only_vz_hdf5_and_vz_parquet_enabled(tmp_path, sample_files):
    # A user who installed vzcore, vz-hdf5 and vz-parquet: Parquet output works (vz-parquet
    # needs nothing from vz-kerchunk), and the formats of plugins that are not there say what
    # to install.
    script = textwrap.dedent(
        f"""
        import warnings
        warnings.filterwarnings("ignore", "The 'fastparquet' engine is deprecated")
        import fsspec, numpy as np, vzcore, xarray as xr
        from vzcore.errors import NoWriterFoundError
        names = sorted(p.name for p in vzcore.list_plugins())
        assert names == ["hdf5", "parquet"], names
        vds = vzcore.open_virtual_dataset({str(sample_files[0])!r})
        vds.virtualize.to_kerchunk({str(tmp_path / "out.parq")!r}, format="parquet")
        fs = fsspec.filesystem("reference", fo={str(tmp_path / "out.parq")!r})
        ds = xr.open_dataset(fs.get_mapper(""), engine="zarr")
        with xr.open_dataset({str(sample_files[0])!r}, engine="netcdf4") as nc:
            xr.testing.assert_identical(ds.load(), nc.load())
        for call in (lambda: vds.virtualize.to_icechunk(None),
                     lambda: vds.virtualize.to_kerchunk({str(tmp_path / "o.json")!r})):
            try:
                call()
            except NoWriterFoundError as err:
                print(err)
        """
    )
    env = {**os.environ, "VZCORE_PLUGINS": "hdf5,parquet"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "pip install vz-icechunk" in out.stdout
    assert "pip install vz-kerchunk" in out.stdout


def test_bytes_per_chunk_with_widely_varying_chunk_sizes(tmp_path):
    # 100,000 chunks over ten files, lengths 1 kB - 40 kB: what compressed netCDF4 looks like.
    # Only the references are checked here (the files do not exist); test_hundred_thousand_chunks
    # reads real ones.
    from vzcore.group import ManifestGroup, Variable
    from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray

    from vz_parquet import ParquetWriter

    rng = np.random.default_rng(3)
    grid = (10, 100, 100)
    lengths = rng.integers(1_000, 40_000, grid).astype(np.uint64)
    offsets = np.empty(grid, np.uint64)
    for f in range(grid[0]):  # contiguous within each file, after a header
        flat = lengths[f].ravel()
        offsets[f] = (4096 + np.cumsum(flat) - flat).reshape(grid[1:])
    urls = [f"s3://bucket/archive/2020/day_{f:03d}.nc" for f in range(grid[0])]
    index = np.broadcast_to(np.arange(grid[0], dtype=np.uint8)[:, None, None], grid).copy()
    meta = ArrayMetadata(
        (10, 1000, 1000), np.dtype("<f4"), (1, 10, 10), codecs=({"id": "zlib", "level": 4},)
    )
    arr = ManifestArray(meta, ChunkManifest(urls, index, offsets, lengths))
    group = ManifestGroup(variables={"v": Variable(("t", "y", "x"), arr, {})})
    out = tmp_path / "wide.parq"
    ParquetWriter().write(group, out)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert total / 100_000 <= 5.0, total / 100_000
    refs = reference_mapper(out, remote_protocol="s3").fs.references
    listed = list(refs._generate_all_records("v"))
    assert [r[0] for r in listed] == [urls[i] for i in index.ravel().tolist()]
    np.testing.assert_array_equal([r[1] for r in listed], offsets.ravel())
    np.testing.assert_array_equal([r[2] for r in listed], lengths.ravel())


# The shared WriterTests suite runs in test_parquet_writer_suite.py.
