"""Every output format, one after another: JSON -> virtual dataset -> Parquet -> virtual
dataset -> Icechunk, each stage reopened with the standard client and equal to the originals.

This is the conversion users do after the fact (kerchunk JSON they already have, turned into
Parquet for size and into Icechunk for versioning), through vzcore's kerchunk reader.
"""

from __future__ import annotations

import fsspec
import pytest
import xarray as xr

import vzcore
from vzcore._urls import to_url
from vzcore.manifests import ManifestArray
from vzcore.testing.outputs import icechunk_store
from vzcore.testing.samples import COMBINE

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
pytest.importorskip("vz_parquet")
pytest.importorskip("vz_icechunk")
pytest.importorskip("icechunk")


def assert_same_references(got: xr.Dataset, expected: xr.Dataset) -> None:
    """Same variables, attributes, array metadata and chunk references (values unread)."""
    assert got.attrs == expected.attrs
    assert set(got.variables) == set(expected.variables)
    for name, var in expected.variables.items():
        other = got[name].variable
        assert (other.dims, other.attrs) == (var.dims, var.attrs), name
        if isinstance(var.data, ManifestArray):
            assert other.data.metadata == var.data.metadata, name
            assert other.data.manifest == var.data.manifest, name
        else:
            xr.testing.assert_identical(other, var)


def assert_same(got: xr.Dataset, expected: xr.Dataset) -> None:
    xr.testing.assert_identical(got, expected)
    for name, var in expected.variables.items():
        assert got[name].dtype == var.dtype, name


# fsspec reads Parquet references with pandas' fastparquet engine, which pandas 3 deprecates.
@pytest.mark.filterwarnings("ignore:The .fastparquet. engine is deprecated")
def test_json_to_parquet_to_icechunk_stays_equal(tmp_path, sample_files) -> None:
    expected = xr.open_mfdataset(
        sample_files, engine="netcdf4", combine="by_coords", **COMBINE
    ).load()
    allow = {"allowed_prefixes": [to_url(sample_files[0].parent) + "/"]}

    # 1. Scan and write kerchunk JSON.
    vds = vzcore.open_virtual_mfdataset(sample_files, combine="by_coords", **COMBINE)
    vds.virtualize.to_kerchunk(tmp_path / "refs.json", format="json")
    fs = fsspec.filesystem("reference", fo=str(tmp_path / "refs.json"))
    assert_same(xr.open_zarr(fs.get_mapper(""), consolidated=True).load(), expected)

    # 2. JSON -> virtual dataset -> Parquet.
    from_json = vzcore.open_virtual_dataset(
        tmp_path / "refs.json", reader="kerchunk", reader_options=allow
    )
    from_json.virtualize.to_kerchunk(tmp_path / "refs.parq", format="parquet")
    fs = fsspec.filesystem("reference", fo=str(tmp_path / "refs.parq"), remote_protocol="file")
    assert_same(xr.open_zarr(fs.get_mapper(""), consolidated=False).load(), expected)

    # 3. Parquet -> virtual dataset -> Icechunk.
    from_parquet = vzcore.open_virtual_dataset(
        tmp_path / "refs.parq", reader="kerchunk", reader_options=allow
    )
    assert_same_references(from_parquet, from_json)
    assert from_parquet.virtualize.to_group().sources() == vds.virtualize.to_group().sources()
    store = icechunk_store(from_parquet, tmp_path / "repo", message="from parquet")
    got = xr.open_zarr(store, consolidated=False).load()
    assert_same(got, expected)
