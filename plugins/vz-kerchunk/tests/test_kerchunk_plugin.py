"""vz-kerchunk as a vzcore plugin: registration, lazy import, and the workflow through vzcore."""

from __future__ import annotations

import numpy as np
import pytest
from vzcore.testing.imports import import_statements, modules_imported_by

pytest.importorskip("vz_kerchunk")
xr = pytest.importorskip("xarray")

from .conftest import assert_same, reopen


def test_writer_is_registered():
    import vzcore
    from vzcore import plugins
    from vzcore.types import Writer

    from vz_kerchunk import KerchunkWriter

    spec = plugins.get_writer("kerchunk")
    assert spec.load_class() is KerchunkWriter
    assert isinstance(KerchunkWriter(), Writer)
    info = {p.name: p for p in vzcore.list_plugins()}["kerchunk"]
    assert info.distribution == "vz-kerchunk"
    assert info.writers == ("kerchunk",)


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
    rng = np.random.default_rng(7)
    temp = rng.normal(280, 5, (3, 4, 5)).astype("f4")
    temp[1, 1, 1] = np.nan
    ds = xr.Dataset(
        {
            "temp": (("time", "lat", "lon"), temp, {"units": "K"}),
            "counts": (("time", "lat", "lon"), rng.integers(0, 3, (3, 4, 5)).astype("i4")),
        },
        coords={
            "time": np.array(["2001-01-01", "2001-01-02", "2001-01-03"], "datetime64[ns]"),
            "lat": np.linspace(-30, 30, 4),
            "lon": np.linspace(0, 40, 5),
        },
        attrs={"title": "end to end"},
    )
    ds.to_netcdf(
        path,
        engine="netcdf4",
        encoding={
            "temp": {
                "zlib": True,
                "shuffle": True,
                "chunksizes": (1, 2, 5),
                "_FillValue": np.float32(-1e30),
            },
            "counts": {"_FillValue": None},
            "time": {"units": "days since 2001-01-01", "dtype": "i4"},
        },
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
