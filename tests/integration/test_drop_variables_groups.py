"""Issue 12, item 4 leftover: how ``drop_variables`` names match in subgroups.

A bare name drops the variable of that name in every group, as xarray's own
``open_datatree(..., drop_variables=[...])`` does; a path (``"/g/v"`` or ``"g/v"``) drops
only that variable, which xarray's engines would silently ignore. Every entry point
(``open_virtual_dataset``, ``open_virtual_datatree``, ``open_virtual_mfdataset`` and the
``virtualizarr`` engine) gives the same result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

pytest.importorskip("vz_hdf5")
nc4 = pytest.importorskip("netCDF4")

import vzcore


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    path = tmp_path / "tree.nc"
    with nc4.Dataset(path, "w") as nc:
        nc.createDimension("x", 3)
        nc.createVariable("v", "f4", ("x",))[:] = 1
        nc.createVariable("w", "f4", ("x",))[:] = 2
        g = nc.createGroup("g")
        g.createVariable("v", "f4", ("x",))[:] = 3
        g.createVariable("w", "f4", ("x",))[:] = 4
    return path


def _names(dt: xr.DataTree) -> dict[str, list[str]]:
    return {n.path: sorted(n.to_dataset(inherit=False).data_vars) for n in dt.subtree}


@pytest.mark.parametrize(
    ("drop", "expected"),
    [
        (["v"], {"/": ["w"], "/g": ["w"]}),
        (["/g/v"], {"/": ["v", "w"], "/g": ["w"]}),
        (["g/v"], {"/": ["v", "w"], "/g": ["w"]}),
        (["/v"], {"/": ["w"], "/g": ["v", "w"]}),
    ],
)
def test_every_entry_point_drops_the_same(tree: Path, drop: list[str], expected: dict) -> None:
    if drop == ["v"]:  # the bare name: what xarray's own engine does
        assert _names(xr.open_datatree(tree, engine="netcdf4", drop_variables=drop)) == expected
    assert _names(vzcore.open_virtual_datatree(tree, drop_variables=drop)) == expected
    assert _names(xr.open_datatree(tree, engine="virtualizarr", drop_variables=drop)) == expected
    for group in ("/", "g"):
        want = expected["/" if group == "/" else "/g"]
        ds = vzcore.open_virtual_dataset(tree, group=group, drop_variables=drop)
        assert sorted(ds.data_vars) == want
        ds = xr.open_dataset(tree, engine="virtualizarr", group=group, drop_variables=drop)
        assert sorted(ds.data_vars) == want
        mf = vzcore.open_virtual_mfdataset(
            [tree], group=group, drop_variables=drop, combine="nested", concat_dim="x"
        )
        assert sorted(mf.data_vars) == want
    # What is left reads back equal to the original.
    refs = vzcore.open_virtual_datatree(tree, drop_variables=drop).virtualize.to_kerchunk(
        format="dict"
    )
    import fsspec
    import zarr

    fs = fsspec.filesystem("reference", fo=refs, asynchronous=True)
    store = zarr.storage.FsspecStore(fs, read_only=True, path="")
    got = xr.open_datatree(store, engine="zarr", zarr_format=2, consolidated=False)
    with nc4.Dataset(tree) as nc:
        for path, names in expected.items():
            src = nc if path == "/" else nc[path.strip("/")]
            for name in names:
                np.testing.assert_array_equal(got[path][name].values, src[name][:])
