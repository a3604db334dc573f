"""Errors about a group say "group '/sub'", never "variable '/sub'".

``UnsupportedFeatureError(url, path, feature, hint, kind="group")`` words the message; the
remedy added for variables (``drop_variables=[...]``), which does not leave a group out,
is not added for groups. Real files from h5py, netCDF4 and hand-written kerchunk JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
nc4 = pytest.importorskip("netCDF4")
pytest.importorskip("vz_hdf5")
pytest.importorskip("xarray")

import vzcore
from vzcore.errors import UnsupportedFeatureError, UnsupportedPartsError, VZSkippedPartsWarning

WIDE = np.finfo(np.longdouble).eps < np.finfo(np.float64).eps
needs_wide = pytest.mark.skipif(not WIDE, reason="long double is float64 on this platform")


def _expect_group(err: UnsupportedFeatureError, path: str) -> None:
    assert err.kind == "group"
    assert err.variable == path
    assert f"Cannot virtualize group {path!r} in " in str(err)
    assert "variable" not in str(err)
    assert "drop_variables" not in str(err)


@needs_wide
def test_group_attribute_that_json_cannot_hold(tmp_path: Path) -> None:
    path = tmp_path / "g.h5"
    with h5py.File(path, "w") as f:
        f.create_group("sub").attrs["ld"] = np.longdouble(1) + np.finfo(np.longdouble).eps
        f["sub"].create_dataset("v", data=np.arange(3))
    with pytest.raises(UnsupportedFeatureError) as caught:
        vzcore.open_virtual_datatree(path)
    _expect_group(caught.value, "/sub")
    assert "attribute 'ld' of type long double" in str(caught.value)
    # the remedy the message gives works
    with pytest.warns(VZSkippedPartsWarning, match="'/sub'"):
        tree = vzcore.open_virtual_datatree(
            path, reader_options={"skip_unsupported": True}, loadable_variables=["v"]
        )
    np.testing.assert_array_equal(tree["sub"]["v"].values, np.arange(3))


def test_group_name_that_zarr_cannot_hold(tmp_path: Path) -> None:
    path = tmp_path / "g.h5"
    with h5py.File(path, "w") as f:
        f.create_group("a\\b").create_dataset("v", data=np.arange(3))
        f.create_dataset("w", data=np.arange(2))
    with pytest.raises(UnsupportedFeatureError) as caught:
        vzcore.open_virtual_datatree(path)
    _expect_group(caught.value, "/a\\b")


def test_group_linking_back_to_its_parent(tmp_path: Path) -> None:
    path = tmp_path / "g.h5"
    with h5py.File(path, "w") as f:
        f.create_group("sub")["loop"] = f["/"]
    with pytest.raises(UnsupportedFeatureError) as caught:
        vzcore.open_virtual_datatree(path)
    _expect_group(caught.value, "/sub/loop")
    assert "(a cycle)" in str(caught.value)


@needs_wide
def test_several_parts_list_groups_as_groups(tmp_path: Path) -> None:
    path = tmp_path / "g.h5"
    with h5py.File(path, "w") as f:
        f.create_group("sub").attrs["ld"] = np.longdouble(1) + np.finfo(np.longdouble).eps
        f.create_dataset("bad\\name", data=[1])
    with pytest.raises(UnsupportedPartsError) as caught:
        vzcore.open_virtual_datatree(path)
    message = str(caught.value)
    assert "group '/sub': attribute 'ld'" in message
    assert "'/bad\\\\name': name 'bad\\\\name'" in message  # a variable: named as before
    assert "drop_variables=['bad\\\\name']" in message  # ... and droppable


def test_group_whose_dimension_disagrees_with_its_parent(tmp_path: Path) -> None:
    path = tmp_path / "n.nc"
    with nc4.Dataset(path, "w") as ds:
        ds.createDimension("x", 3)
        ds.createVariable("a", "i4", ("x",))[:] = [1, 2, 3]
        sub = ds.createGroup("sub")
        sub.createDimension("x", 4)
        sub.createVariable("b", "i4", ("x",))[:] = [1, 2, 3, 4]
    with pytest.raises(UnsupportedFeatureError) as caught:
        vzcore.open_virtual_datatree(path)
    err = caught.value
    assert err.kind == "group"
    assert str(err).startswith(f"Cannot virtualize group '/sub' in {err.url!r}")
    # the remedy it gives works
    ds = vzcore.open_virtual_dataset(path, group="/sub", loadable_variables=["b"])
    np.testing.assert_array_equal(ds["b"].values, [1, 2, 3, 4])


def test_kerchunk_group_of_another_zarr_format(tmp_path: Path) -> None:
    pytest.importorskip("vz_kerchunk")
    refs = {
        "version": 1,
        "refs": {".zgroup": json.dumps({"zarr_format": 2}), "g/.zgroup": '{"zarr_format": 5}'},
    }
    path = tmp_path / "refs.json"
    path.write_text(json.dumps(refs))
    with pytest.raises(UnsupportedFeatureError) as caught:
        vzcore.open_virtual_datatree(path)
    _expect_group(caught.value, "g")
    assert "zarr_format 5 in '.zgroup'" in str(caught.value)


def test_a_variable_is_still_a_variable(tmp_path: Path) -> None:
    path = tmp_path / "g.h5"
    with h5py.File(path, "w") as f:
        f.create_group("sub").create_dataset("bad\\name", data=[1])
    with pytest.raises(UnsupportedFeatureError) as caught:
        vzcore.open_virtual_datatree(path)
    err = caught.value
    assert err.kind == "variable"
    assert f"Cannot virtualize variable '/sub/bad\\\\name' in {err.url!r}" in str(err)
    assert "drop_variables=['/sub/bad\\\\name']" in str(err)
