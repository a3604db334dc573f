"""A third-party plugin, installed with pip, is picked up with no change to vzcore."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import vzcore
from vzcore import ManifestArray
from vzcore.testing.samples import MINIMAL


def _write_files(directory, n=3, steps=4):
    from vz_toy import write_toy

    paths = []
    for i in range(n):
        t = np.arange(i * steps, (i + 1) * steps, dtype="i8")
        p = directory / f"f{i}.toy"
        write_toy(
            str(p),
            {
                "time": (("time",), t, {"units": "days since 2000-01-01"}),
                "x": (("x",), np.arange(6.0), {}),
                "v": (
                    ("time", "x"),
                    np.arange(i * 24, (i + 1) * 24, dtype="f4").reshape(4, 6),
                    {"_FillValue": -1.0, "units": "K"},
                ),
                "static": (("x",), np.arange(6, dtype="i2"), {}),
            },
            attrs={"title": "toy"},
            chunks={"v": (2, 3)},
        )
        paths.append(p)
    return paths


def test_plugin_is_listed_after_install(toy_installed):
    info = {p.name: p for p in vzcore.list_plugins()}
    assert info["toy"].distribution == "vz-toy"
    assert info["toy"].version == "1.0.0"
    assert info["toy"].readers == ("toy",)


def test_xarray_engine_opens_the_toy_format(toy_installed, tmp_path):
    (path, *_) = _write_files(tmp_path, n=1)
    ds = xr.open_dataset(path, engine="virtualizarr")
    assert isinstance(ds["v"].data, ManifestArray)
    assert ds["v"].attrs == {"_FillValue": -1.0, "units": "K"}
    assert ds["time"].dtype == np.dtype("datetime64[ns]")
    assert str(ds["time"].values[0])[:10] == "2000-01-01"
    assert ds.attrs == {"title": "toy"}
    assert hasattr(ds, "virtualize")


def test_open_mfdataset_graph_turns_back_into_manifests(toy_installed, tmp_path):
    paths = _write_files(tmp_path)
    ds = xr.open_mfdataset(
        sorted(paths)[::-1],
        engine="virtualizarr",
        combine="by_coords",
        data_vars="all",
        coords="different",
        compat="no_conflicts",
        join="outer",
    )
    group = ds.virtualize.to_group()
    v = group.variables["v"].data
    assert isinstance(v, ManifestArray)
    assert v.shape == (12, 6)
    assert v.chunk_shape == (2, 3)
    files = v.manifest.path_array()[:, 0]
    assert [f.rsplit("/", 1)[1] for f in files] == ["f0.toy"] * 2 + ["f1.toy"] * 2 + ["f2.toy"] * 2
    # The static variable is broadcast along time by xarray's defaults, by reference.
    s = group.variables["static"].data
    assert isinstance(s, ManifestArray)
    assert s.shape == (12, 6)
    assert group.variables["time"].attrs["units"] == "days since 2000-01-01"
    assert group.variables["time"].data.tolist() == list(range(12))


def test_a_graph_that_computes_on_values_is_refused(toy_installed, tmp_path):
    from vzcore.errors import NotVirtualizableError

    paths = _write_files(tmp_path)
    ds = xr.open_mfdataset(
        paths,
        engine="virtualizarr",
        combine="by_coords",
        **MINIMAL,
        join="outer",
    )
    ds["v"] = ds["v"] * 2
    with pytest.raises(NotVirtualizableError, match="'v'"):
        ds.virtualize.to_group()


def test_bare_manifest_arrays_combine_with_xarray(toy_installed, tmp_path):
    paths = _write_files(tmp_path)
    dss = [vzcore.open_virtual_dataset(p) for p in paths[::-1]]
    combined = xr.combine_by_coords(
        dss,
        **MINIMAL,
        join="outer",
        combine_attrs="override",
    )
    assert isinstance(combined["v"].data, ManifestArray)
    assert combined["v"].shape == (12, 6)
    assert isinstance(combined["static"].data, ManifestArray)
    assert combined["static"].dims == ("x",)
    mf = vzcore.open_virtual_mfdataset(str(tmp_path / "f*.toy"), **MINIMAL)
    assert mf["v"].data.manifest == combined["v"].data.manifest


def test_accessor_exists_after_import_vzcore():
    ds = xr.Dataset()
    assert hasattr(ds, "virtualize")
    assert hasattr(xr.DataTree(), "virtualize")


def test_engine_is_opt_in(tmp_path):
    from vzcore.xarray_backend import VirtualiZarrBackendEntrypoint

    assert VirtualiZarrBackendEntrypoint().guess_can_open(str(tmp_path / "x.nc")) is False
    assert "virtualizarr" in xr.backends.list_engines()
