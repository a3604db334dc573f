"""vz-kerchunk as a vzcore plugin: registration, lazy import, and the workflow through vzcore."""

from __future__ import annotations

import numpy as np
import pytest
from vzcore.testing.imports import import_statements, modules_imported_by

pytest.importorskip("vz_kerchunk")
xr = pytest.importorskip("xarray")

from .conftest import assert_same, reopen, write_small_netcdf


def test_writer_is_registered():
    from vzcore.testing.registration import assert_writer_registered

    from vz_kerchunk import KerchunkWriter

    assert_writer_registered("kerchunk", KerchunkWriter, "vz-kerchunk")


def test_reader_is_registered():
    from vzcore import plugins
    from vzcore.types import Reader

    from vz_kerchunk import KerchunkReader

    spec = plugins.get_reader("kerchunk")
    assert spec.load_class() is KerchunkReader
    assert isinstance(KerchunkReader(), Reader)
    assert spec.magic == ()
    assert plugins.find_reader("file:///x/refs.json", b'{"version":1').name == "kerchunk"
    assert plugins.find_reader("file:///x/refs.parq", b"").name == "kerchunk"


def test_plugin_module_imports_nothing_heavy():
    # vzcore itself imports xarray (its accessor); the plugin must add no format library.
    heavy = {
        "vz_kerchunk._writer",
        "vzcore.store_plan",
        "numcodecs",
        "kerchunk",
        "zarr",
        "fsspec",
        "h5py",
        "vz_kerchunk._reader",
        "pyarrow",
        "jinja2",
    }
    assert modules_imported_by("import vz_kerchunk, vz_kerchunk.plugin", heavy) == []


def test_writer_sources_never_import_xarray_or_format_libraries():
    from pathlib import Path

    import vz_kerchunk

    for source in Path(vz_kerchunk.__file__).parent.glob("*.py"):
        # The reader of existing references opens them (and stats whole-file targets)
        # through fsspec, as vzcore's core does; the writers need no fsspec at all.
        reader_side = source.name.startswith(("_read", "_safety", "_columns"))
        banned = {"xarray", "kerchunk", "zarr", "h5py"} | (set() if reader_side else {"fsspec"})
        for names in import_statements(source):
            assert not {n.split(".")[0] for n in names} & banned, (source.name, names)


def _sample(path):
    write_small_netcdf(
        path,
        7,
        np.array(["2001-01-01", "2001-01-02", "2001-01-03"], "datetime64[ns]"),
        "end to end",
        {"counts": {"_FillValue": None}, "time": {"units": "days since 2001-01-01", "dtype": "i4"}},
    )


def test_end_to_end_through_vzcore(tmp_path):
    pytest.importorskip("vz_hdf5")
    pytest.importorskip("netCDF4")
    import vzcore

    path = tmp_path / "in.nc"
    _sample(path)
    vds = vzcore.open_virtual_dataset(str(path))
    out = str(tmp_path / "refs.json")
    vds.virtualize.write(out, "kerchunk", mode="w")
    with xr.open_dataset(path, engine="netcdf4") as expected:
        for ds in reopen(out):
            assert_same(ds, expected)
