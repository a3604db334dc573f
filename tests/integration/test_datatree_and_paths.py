"""DataTrees written as one reference set, and re-pointing references."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import vzcore

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
netcdf4 = pytest.importorskip("netCDF4")
fsspec = pytest.importorskip("fsspec")


def _grouped_file(path):
    with netcdf4.Dataset(path, "w") as f:
        f.title = "root"
        f.createDimension("x", 4)
        v = f.createVariable("top", "i4", ("x",))
        v[:] = np.arange(4)
        g = f.createGroup("child")
        g.createDimension("y", 3)
        w = g.createVariable("temp", "f4", ("y",), fill_value=np.float32(-1))
        w[:] = [1.5, -1, 2.5]
        w.units = "K"
    return path


def test_open_datatree_and_write_every_group(tmp_path):
    path = _grouped_file(tmp_path / "tree.nc")
    vdt = xr.open_datatree(path, engine="virtualizarr")
    assert isinstance(vdt["child"]["temp"].data, vzcore.ManifestArray)
    refs = vdt.virtualize.to_kerchunk(format="dict")
    fs = fsspec.filesystem("reference", fo=refs)
    expected = xr.open_datatree(path, engine="netcdf4")
    # xarray cannot open groups of an fsspec mapper; map each group's prefix instead.
    for node in expected.subtree:
        mapper = fs.get_mapper(node.path.strip("/"))
        got = xr.open_dataset(mapper, engine="zarr", consolidated=False)
        xr.testing.assert_identical(got.load(), node.to_dataset(inherit=False).load())
    assert set(refs["refs"]) >= {"child/.zgroup", "child/temp/.zarray", "top/.zarray"}


def test_rename_paths_repoints_references(tmp_path):
    path = _grouped_file(tmp_path / "tree.nc")
    vds = vzcore.open_virtual_dataset(path)
    moved_dir = tmp_path / "moved"
    moved_dir.mkdir()
    (moved_dir / "tree.nc").write_bytes(path.read_bytes())
    renamed = vds.virtualize.rename_paths({f"file://{tmp_path}/": f"file://{moved_dir}/"})
    assert renamed["top"].data.manifest.paths == (f"file://{moved_dir}/tree.nc",)
    assert vds["top"].data.manifest.paths == (f"file://{path}",)
    path.unlink()  # only the moved copy remains
    refs = renamed.virtualize.to_kerchunk(format="dict")
    ds = xr.open_dataset(fsspec.filesystem("reference", fo=refs).get_mapper(""), engine="zarr")
    np.testing.assert_array_equal(ds["top"].values, np.arange(4))
