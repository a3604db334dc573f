"""``drop_variables`` reaches the readers: a dropped variable is never parsed.

Readers that declare a ``drop_variables`` keyword (vz-hdf5, vz-netcdf3, vz-tiff,
vz-kerchunk) receive it from the core, so a variable they cannot virtualize (an HDF5 long
double, Fortran-ordered references) can be left out; for readers that do not declare it, the
core drops after reading. Values of what remains equal the originals.
"""

from __future__ import annotations

import json

import fsspec
import h5py
import numpy as np
import pytest
import xarray as xr

import vzcore
from vzcore.errors import UnsupportedFeatureError

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")


@pytest.fixture
def bad_file(tmp_path):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.arange(6.0))
        f["x"].make_scale("x")
        # long double: a type zarr has no data type for (vz-hdf5 refuses the variable)
        for name, dtype in (("good", "i4"), ("bad_var", np.longdouble)):
            d = f.create_dataset(name, data=np.arange(6, dtype=dtype) * 3, chunks=(3,))
            d.dims[0].attach_scale(f["x"])
        g = f.create_group("sub")
        g.create_dataset("bad_var", data=np.ones(4, np.longdouble), chunks=(2,))
        g.create_dataset("other", data=np.arange(4.0))
    return path


def _read_back(vds):
    fs = fsspec.filesystem("reference", fo=vds.virtualize.to_kerchunk(format="dict"))
    return xr.open_zarr(fs.get_mapper(""), consolidated=False).load()


def test_unsupported_variable_blocks_the_file_and_says_how_to_drop_it(bad_file) -> None:
    with pytest.raises(UnsupportedFeatureError, match="drop_variables"):
        vzcore.open_virtual_dataset(bad_file)


@pytest.mark.parametrize(
    "opener",
    [
        lambda p: vzcore.open_virtual_dataset(p, drop_variables=["bad_var"]),
        lambda p: vzcore.open_virtual_dataset(p, drop_variables="bad_var"),
        lambda p: vzcore.open_virtual_dataset(p, reader_options={"drop_variables": ["bad_var"]}),
        lambda p: vzcore.open_virtual_dataset(
            p, reader_options={"hdf5": {"drop_variables": ["bad_var"]}}
        ),
        lambda p: xr.open_dataset(p, engine="virtualizarr", drop_variables=["bad_var"]),
        lambda p: vzcore.open_virtual_mfdataset(
            [p], combine="nested", concat_dim="x", drop_variables=["bad_var"]
        ),
    ],
    ids=["api", "api-str", "reader-options", "keyed", "engine", "mfdataset"],
)
def test_top_level_drop_reaches_the_hdf5_reader(bad_file, opener) -> None:
    vds = opener(bad_file)
    assert "bad_var" not in vds.variables
    got = _read_back(vds)
    with h5py.File(bad_file) as f:
        np.testing.assert_array_equal(got["good"].values, f["good"][...])
        np.testing.assert_array_equal(got["x"].values, f["x"][...])


def test_datatree_drop_applies_in_every_group(bad_file) -> None:
    for vdt in (
        vzcore.open_virtual_datatree(bad_file, drop_variables=["bad_var"]),
        xr.open_datatree(bad_file, engine="virtualizarr", drop_variables=["bad_var"]),
    ):
        assert "bad_var" not in vdt.to_dataset().variables
        assert set(vdt["sub"].to_dataset(inherit=False).variables) == {"other"}


def test_kerchunk_reader_does_not_parse_dropped_arrays(tmp_path, bad_file) -> None:
    vds = vzcore.open_virtual_dataset(bad_file, drop_variables=["bad_var"])
    refs = vds.virtualize.to_kerchunk(format="dict")
    refs = refs.get("refs", refs)
    zarray = json.loads(refs["good/.zarray"])
    zarray["order"] = "F"  # something the reader refuses
    refs["good/.zarray"] = json.dumps(zarray)
    path = tmp_path / "refs.json"
    path.write_text(json.dumps(refs))
    allow = {"allowed_prefixes": [bad_file.parent.as_uri() + "/"]}
    with pytest.raises(UnsupportedFeatureError, match="order"):
        vzcore.open_virtual_dataset(path, reader_options=allow)
    vds = vzcore.open_virtual_dataset(path, reader_options=allow, drop_variables=["good"])
    assert set(vds.variables) == {"x"}


def test_netcdf3_reader_receives_drop_variables(tmp_path) -> None:
    pytest.importorskip("vz_netcdf3")
    from vz_netcdf3._reader import Netcdf3Reader

    path = tmp_path / "c.nc"
    xr.Dataset({"a": ("t", np.arange(3.0)), "b": ("t", np.arange(3))}).to_netcdf(
        path, format="NETCDF3_CLASSIC", engine="scipy"
    )
    group = Netcdf3Reader().read(path.as_uri(), drop_variables=["b"])
    assert set(group.variables) == {"a"}
    vds = vzcore.open_virtual_dataset(path, drop_variables=["b"])
    assert set(vds.variables) == {"a"}
    np.testing.assert_array_equal(_read_back(vds)["a"].values, np.arange(3.0))


def test_tiff_reader_does_not_parse_a_dropped_image(tmp_path) -> None:
    pytest.importorskip("vz_tiff")
    tifffile = pytest.importorskip("tifffile")
    path = tmp_path / "img.tif"
    tifffile.imwrite(path, np.arange(64, dtype="u2").reshape(8, 8), tile=(16, 16))
    whole = vzcore.open_virtual_dataset(path)
    dropped = vzcore.open_virtual_dataset(path, drop_variables=["band_data"])
    assert "band_data" in whole.variables
    assert set(dropped.variables) == set(whole.variables) - {"band_data"}


def test_readers_without_the_keyword_are_filtered_by_the_core(toy_installed, tmp_path) -> None:
    from vz_toy import write_toy

    from vzcore._open_options import reader_keywords
    from vzcore.plugins import get_reader

    assert "drop_variables" not in reader_keywords(get_reader("toy").load_class()().read)
    path = tmp_path / "f.toy"
    write_toy(
        str(path),
        {"a": (("x",), np.arange(3.0), {}), "b": (("x",), np.arange(3.0), {})},
        attrs={},
        chunks={},
    )
    vds = vzcore.open_virtual_dataset(path, drop_variables=["b"])
    assert set(vds.variables) == {"a"}


def test_the_suggested_remedy_works(bad_file) -> None:
    import ast
    import re

    dropped: list[str] = []
    for _ in range(3):  # follow the drop_variables=[...] each message suggests until it opens
        message = ""
        try:
            vds = vzcore.open_virtual_dataset(bad_file, drop_variables=dropped)
        except UnsupportedFeatureError as err:
            message = str(err)
        if not message:
            break
        found = re.search(r"drop_variables=(\[[^\]]*\])", message)
        assert found, message
        suggested = ast.literal_eval(found.group(1))
        assert suggested
        assert not set(suggested) & set(dropped)
        dropped.extend(suggested)
    else:
        pytest.fail(f"still refused after dropping {dropped}")
    assert "bad_var" not in vds.variables
