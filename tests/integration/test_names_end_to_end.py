"""Hostile names from a real file are refused by read_group; writers refuse unsafe names too."""

from __future__ import annotations

import numpy as np
import pytest

import vzcore
from vzcore.errors import CorruptFileError, UnsupportedFeatureError, WriteError
from vzcore.group import ManifestGroup, Variable


@pytest.mark.parametrize("hostile", [b"..", b"a/b", b"a\\b", b"x\x01"])
def test_netcdf3_file_with_hostile_variable_name(tmp_path, hostile):
    pytest.importorskip("vz_netcdf3")
    netCDF4 = pytest.importorskip("netCDF4")  # noqa: N806  # the module's own name
    path = tmp_path / "names.nc"
    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as ds:
        ds.createDimension("x", 3)
        ds.createVariable("QQ" + "Q" * (len(hostile) - 2), "i4", ("x",))[:] = [1, 2, 3]
    data = path.read_bytes()
    placeholder = b"Q" * len(hostile)
    assert data.count(placeholder) == 1
    path.write_bytes(data.replace(placeholder, hostile))
    # a name the file holds but zarr cannot: unsupported; one netCDF cannot hold: corrupt
    with pytest.raises(
        (UnsupportedFeatureError, CorruptFileError), match=r"variable name|contains ./."
    ) as info:
        vzcore.open_virtual_dataset(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("bad", ["..", "a\\b", "x\x00"])
def test_kerchunk_writer_refuses_unsafe_names(tmp_path, bad):
    from vzcore.store_plan import plan

    tree = ManifestGroup(variables={bad: Variable(("x",), np.arange(3))})
    with pytest.raises(WriteError, match="Unsafe variable name"):
        plan(tree)
    with pytest.raises(WriteError, match="Unsafe group name"):
        plan(ManifestGroup(groups={bad: ManifestGroup()}))
