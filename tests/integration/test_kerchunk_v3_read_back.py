"""The sample archive as Zarr v3 kerchunk references, read back with ``reader="kerchunk"``.

Netcdf4 files are combined with ``vzcore.open_virtual_mfdataset`` and written with
``to_kerchunk(..., zarr_format=3)``. Reading that JSON back must give the virtual dataset it
was written from: the same ManifestGroup (metadata, codecs, fill values, dimension names,
manifests; attributes as the zarr format 2 reading gives them), the same bytes when written
again as zarr format 3, the same file as the original's when written as zarr format 2, and
through xarray the values ``xr.open_mfdataset(engine="netcdf4")`` gives.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
pytest.importorskip("netCDF4")
pytest.importorskip("zarr")
fsspec = pytest.importorskip("fsspec")

from vz_kerchunk import KerchunkReader

import vzcore
from vzcore._from_xarray import dataset_to_group
from vzcore.manifests import ManifestArray
from vzcore.manifests.loading import load_values
from vzcore.testing.compare import assert_same_attrs, assert_same_virtual_array
from vzcore.testing.samples import COMBINE

from .conftest import write_sample_files


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("v3back")
    paths = write_sample_files(tmp, n_files=5)
    vds = vzcore.open_virtual_mfdataset(paths, combine="by_coords", **COMBINE)
    v3 = tmp / "combined_v3.json"
    v2 = tmp / "combined_v2.json"
    vds.virtualize.to_kerchunk(str(v3), format="json", zarr_format=3)
    vds.virtualize.to_kerchunk(str(v2), format="json")
    expected = xr.open_mfdataset(paths, engine="netcdf4", combine="by_coords", **COMBINE)
    yield tmp, vds, v3, v2, expected.load()
    expected.close()


def _url(path) -> str:
    return "file://" + str(path)


def test_rewritten_v3_is_byte_identical_and_v2_equals_the_originals(archive):
    tmp, _, v3, v2, expected = archive
    back = vzcore.open_virtual_dataset(v3, reader="kerchunk")
    assert isinstance(back["temp"].data, ManifestArray)
    again = tmp / "again_v3.json"
    back.virtualize.to_kerchunk(str(again), format="json", zarr_format=3)
    assert again.read_bytes() == v3.read_bytes()
    as_v2 = tmp / "again_v2.json"
    back.virtualize.to_kerchunk(str(as_v2), format="json")
    assert as_v2.read_bytes() == v2.read_bytes()
    m = fsspec.filesystem("reference", fo=str(as_v2)).get_mapper("")
    with xr.open_dataset(m, engine="zarr", consolidated=True) as ds:
        xr.testing.assert_identical(ds.load(), expected)
        for name in expected.variables:
            assert ds[name].dtype == expected[name].dtype, name
        assert int(ds["temp"].isnull().sum()) == int(expected["temp"].isnull().sum()) > 0
        assert ds["counts"].dtype == np.dtype("i4")


def test_manifest_group_equals_the_original_scan(archive):
    _, vds, v3, v2, _ = archive
    original = dataset_to_group(vds)
    back = KerchunkReader().read(_url(v3))
    via_v2 = KerchunkReader().read(_url(v2))
    assert back.attrs == via_v2.attrs == {"title": "vzcore sample"}
    assert list(back.variables) == list(original.variables)
    for name, var in back.variables.items():
        want = original.variables[name]
        assert var.dims == want.dims, name
        meta = var.data.metadata
        assert meta.dimension_names == want.dims
        if isinstance(want.data, ManifestArray):
            assert_same_virtual_array(var.data, want.data, name)
            assert dict(var.data.manifest.sources) == dict(want.data.manifest.sources), name
        else:  # loaded coordinates: written inline, read back as inline chunks
            got = load_values(var.data)
            assert got.dtype == want.data.dtype, name
            np.testing.assert_array_equal(got, want.data)
        # attributes: as the zarr v2 reading gives them, _FillValue a numpy scalar
        assert_same_attrs(var.attrs, via_v2.variables[name].attrs, name)
    assert back.variables["temp"].attrs["_FillValue"] == np.float32(-9999.0)
    assert back.variables["temp"].data.metadata.codecs == (
        {"id": "shuffle", "elementsize": 4},
        {"id": "zlib", "level": 4},
    )
    assert back.variables["wind"].attrs["_FillValue"].dtype == np.dtype("i2")
    assert "_FillValue" not in back.variables["counts"].attrs


def test_parquet_v3_output_reads_back_like_the_json(archive):
    pytest.importorskip("vz_parquet")
    pytest.importorskip("pyarrow")
    tmp, vds, v3, _, _ = archive
    target = tmp / "combined_v3.parq"
    vds.virtualize.to_kerchunk(str(target), format="parquet", zarr_format=3)
    back = vzcore.open_virtual_dataset(target, reader="kerchunk")
    again = tmp / "from_parquet_v3.json"
    back.virtualize.to_kerchunk(str(again), format="json", zarr_format=3)
    assert again.read_bytes() == v3.read_bytes()
