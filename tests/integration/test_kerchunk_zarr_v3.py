"""The sample archive written as kerchunk references with Zarr v3 metadata, read by zarr 3.

Ten netCDF4 files are combined with ``vzcore.open_virtual_mfdataset``, written with
``to_kerchunk(..., zarr_format=3)`` (JSON file and dict) and reopened the ways the
vz-kerchunk README documents: an fsspec reference mapper passed to ``xr.open_zarr`` (with
and without consolidated metadata) and an asynchronous ReferenceFileSystem wrapped in
``zarr.storage.FsspecStore``. Each must equal ``xr.open_mfdataset(engine="netcdf4")``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
pytest.importorskip("netCDF4")
zarr = pytest.importorskip("zarr")
fsspec = pytest.importorskip("fsspec")

import vzcore
from vzcore.testing.samples import COMBINE

from .conftest import write_sample_files


def _mapper(refs):
    return fsspec.filesystem("reference", fo=refs).get_mapper("")


def _async_store(refs):
    fs = fsspec.filesystem("reference", fo=refs, asynchronous=True)
    return zarr.storage.FsspecStore(fs, read_only=True, path="")


OPENERS = {
    "mapper": lambda refs: xr.open_zarr(_mapper(refs), zarr_format=3, consolidated=False),
    "mapper-consolidated": lambda refs: xr.open_zarr(
        _mapper(refs), zarr_format=3, consolidated=True
    ),
    "async-store": lambda refs: xr.open_zarr(_async_store(refs), zarr_format=3),
    "open_dataset-url": lambda refs: xr.open_dataset(
        "reference://",
        engine="zarr",
        chunks={},
        backend_kwargs={"storage_options": {"fo": refs}, "zarr_format": 3},
    ),
}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("v3")
    paths = write_sample_files(tmp, n_files=10)
    vds = vzcore.open_virtual_mfdataset(paths, combine="by_coords", **COMBINE)
    out = str(tmp / "combined_v3.json")
    vds.virtualize.to_kerchunk(out, format="json", zarr_format=3)
    as_dict = vds.virtualize.to_kerchunk(format="dict", zarr_format=3)
    expected = xr.open_mfdataset(paths, engine="netcdf4", combine="by_coords", **COMBINE)
    yield out, as_dict, expected
    expected.close()


# A dict cannot travel through the URL opener (storage_options are copied).
CASES = [("json", o) for o in OPENERS] + [("dict", o) for o in OPENERS if "url" not in o]


@pytest.mark.parametrize(("target", "opener"), CASES)
def test_sample_archive_equals_the_originals(written, target, opener):
    out, as_dict, expected = written
    ds = OPENERS[opener](out if target == "json" else as_dict)
    xr.testing.assert_identical(ds.load(), expected.load())
    for name in expected.variables:
        assert ds[name].dtype == expected[name].dtype, name
    # ints stay ints, zeros stay zeros, NaNs only where the originals have them
    assert ds["counts"].dtype == np.dtype("i4")
    assert int((ds["counts"] == 0).sum()) == int((expected["counts"] == 0).sum()) > 0
    assert int(ds["temp"].isnull().sum()) == int(expected["temp"].isnull().sum()) == 30
    # CF-packed int16 decodes identically; time decodes to datetime64
    np.testing.assert_array_equal(ds["wind"].values, expected["wind"].values)
    assert ds["time"].dtype.kind == "M"
    assert ds.sizes["time"] == 40


def test_encoded_values_are_the_stored_ones(written):
    out, _, _ = written
    raw = xr.open_zarr(_mapper(out), zarr_format=3, decode_cf=False)
    assert raw["wind"].dtype == np.dtype("i2")
    assert raw["wind"].attrs["scale_factor"] == 0.01
    assert raw["counts"].attrs.get("_FillValue") is None
    assert raw["temp"].encoding["fill_value"] == np.float32(-9999.0)


def test_output_is_zarr_v3_only_with_consolidated_root(written):
    out, as_dict, _ = written
    with open(out, encoding="utf-8") as f:
        refs = json.load(f)
    assert refs == json.loads(json.dumps(as_dict))
    keys = set(refs["refs"])
    assert not [
        k for k in keys if k.rsplit("/", 1)[-1] in (".zarray", ".zattrs", ".zgroup", ".zmetadata")
    ]
    assert "temp/c/0/0/0" in keys
    root = json.loads(refs["refs"]["zarr.json"])
    assert root["node_type"] == "group"
    assert set(root["consolidated_metadata"]["metadata"]) == {
        "temp",
        "counts",
        "wind",
        "elevation",
        "time",
        "lat",
        "lon",
    }
    g = zarr.open_group(_async_store(out), mode="r", zarr_format=3, use_consolidated=True)
    assert g.metadata.consolidated_metadata is not None
    assert g["counts"].dtype == np.dtype("i4")
