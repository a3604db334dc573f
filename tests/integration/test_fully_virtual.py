"""Fully virtual datasets: any subset of variables as ``loadable_variables``, ``[]`` included.

A dimension coordinate that is not loaded stays virtual: a coordinate *without an index*
(xarray would need its values to build one), concatenated and written like any virtual
variable. Each case goes through a public entry point, is written in every output format and
read back with the standard clients, and compared with the originals read by xarray's netcdf4
engine (decoded) and by netCDF4-python (raw stored values).
"""

from __future__ import annotations

import itertools

import fsspec
import numpy as np
import pytest
import xarray as xr

import vzcore
from vzcore._dask_graph import unwrap_duck_array
from vzcore.manifests import ManifestArray
from vzcore.testing.samples import COMBINE, open_originals

from ._roundtrip import FORMATS, assert_values_equal, raw_netcdf, reopen, write
from .conftest import write_sample_files

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
pytest.importorskip("vz_parquet")
pytest.importorskip("vz_icechunk")
pytest.importorskip("netCDF4")

NAMES = ("time", "lat", "lon", "temp", "counts", "wind", "elevation")
SUBSETS = [[], ["time"], ["lat", "lon"], ["time", "temp"], list(NAMES)]
# fsspec reads Parquet references through fastparquet, which pandas 3 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:The .fastparquet. engine is deprecated")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_sample_files(tmp_path_factory.mktemp("fully-virtual"), n_files=3)


@pytest.fixture(scope="module")
def expected_one(files):
    with xr.open_dataset(files[0], engine="netcdf4") as ds:
        return ds.load()


@pytest.fixture(scope="module")
def expected_all(files):
    return open_originals(files, combine="nested", concat_dim="time", **COMBINE)


def _check_storage(vds: xr.Dataset, loadable: list[str]) -> None:
    for name in NAMES:
        data = unwrap_duck_array(vds[name].variable._data)
        assert isinstance(data, ManifestArray) is (name not in loadable), name
    # Only loaded dimension coordinates carry an index.
    assert set(vds.xindexes) == {n for n in ("time", "lat", "lon") if n in loadable}


def _read_dict(refs: dict) -> xr.Dataset:
    fs = fsspec.filesystem("reference", fo=refs)
    return xr.open_zarr(fs.get_mapper(""), consolidated=False).load()


@pytest.mark.parametrize(
    "loadable",
    [list(c) for r in range(len(NAMES) + 1) for c in itertools.combinations(NAMES, r)],
    ids=lambda c: "+".join(c) or "none",
)
def test_every_subset_opens_and_writes_back_equal(files, expected_one, loadable) -> None:
    vds = vzcore.open_virtual_dataset(files[0], loadable_variables=loadable)
    _check_storage(vds, loadable)
    got = _read_dict(vds.virtualize.to_kerchunk(format="dict"))
    assert_values_equal(got, expected_one)
    assert got.attrs == expected_one.attrs


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("loadable", SUBSETS, ids=lambda c: "+".join(c) or "none")
def test_every_format_equals_the_original(files, expected_one, tmp_path, fmt, loadable) -> None:
    vds = vzcore.open_virtual_dataset(files[0], loadable_variables=loadable)
    written = write(vds, fmt, tmp_path)
    assert_values_equal(reopen(fmt, written), expected_one)
    raw = reopen(fmt, written, decode=False)
    for name in NAMES:
        stored = raw_netcdf(files[0], name)
        assert raw[name].dtype == stored.dtype, name
        assert np.array_equal(raw[name].values, stored, equal_nan=stored.dtype.kind == "f"), name


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("loadable", SUBSETS, ids=lambda c: "+".join(c) or "none")
def test_nested_mfdataset(files, expected_all, tmp_path, fmt, loadable) -> None:
    vds = vzcore.open_virtual_mfdataset(
        files, combine="nested", concat_dim="time", loadable_variables=loadable
    )
    _check_storage(vds, loadable)
    assert vds.sizes["time"] == expected_all.sizes["time"]
    assert_values_equal(reopen(fmt, write(vds, fmt, tmp_path)), expected_all)


@pytest.mark.parametrize("loadable", SUBSETS, ids=lambda c: "+".join(c) or "none")
def test_engine(files, expected_one, loadable) -> None:
    # xarray builds a default index for every dimension coordinate the backend returns
    # without one; a virtual one has no values to build it from, so the engine needs
    # create_default_indexes=False when a dimension coordinate is left virtual.
    vds = xr.open_dataset(
        files[0],
        engine="virtualizarr",
        loadable_variables=loadable,
        create_default_indexes=False,
    )
    _check_storage(vds, loadable)
    assert_values_equal(_read_dict(vds.virtualize.to_kerchunk(format="dict")), expected_one)


def test_engine_with_default_indexes_keeps_loaded_coordinates_indexed(files) -> None:
    vds = xr.open_dataset(
        files[0], engine="virtualizarr", loadable_variables=["time", "lat", "lon"]
    )
    assert set(vds.xindexes) == {"time", "lat", "lon"}


def test_engine_mfdataset_nested(files, expected_all) -> None:
    vds = xr.open_mfdataset(
        files,
        engine="virtualizarr",
        combine="nested",
        concat_dim="time",
        **COMBINE,
        loadable_variables=[],
        create_default_indexes=False,
    )
    assert not vds.xindexes
    assert_values_equal(_read_dict(vds.virtualize.to_kerchunk(format="dict")), expected_all)


def test_by_coords_without_loaded_coordinates_says_what_to_do(files) -> None:
    with pytest.raises(vzcore.errors.VZError, match=r"virtual \(not in loadable_variables\)"):
        vzcore.open_virtual_mfdataset(files, combine="by_coords", loadable_variables=[])


@pytest.mark.parametrize("loadable", SUBSETS, ids=lambda c: "+".join(c) or "none")
def test_datatree_entry_points(files, expected_one, loadable) -> None:
    for vdt in (
        vzcore.open_virtual_datatree(files[0], loadable_variables=loadable),
        xr.open_datatree(
            files[0],
            engine="virtualizarr",
            loadable_variables=loadable,
            create_default_indexes=False,
        ),
    ):
        _check_storage(vdt.to_dataset(), loadable)
        got = _read_dict(vdt.virtualize.to_kerchunk(format="dict"))
        assert_values_equal(got, expected_one)
