"""End to end: netCDF classic -> virtual dataset -> kerchunk JSON -> xarray, equal to the original."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("vz_netcdf3")
pytest.importorskip("vz_kerchunk")
pytest.importorskip("netCDF4")
xr = pytest.importorskip("xarray")
fsspec = pytest.importorskip("fsspec")

import vzcore
from vzcore.manifests import ManifestArray


@pytest.fixture(autouse=True)
def only_our_plugins(monkeypatch):
    # Only this reader and the JSON writer: other plugins in a shared environment may be
    # half-installed, and these tests must pass with just the two.
    monkeypatch.setenv("VZCORE_PLUGINS", "netcdf3,kerchunk")
    vzcore.refresh_plugins()
    yield
    monkeypatch.undo()
    vzcore.refresh_plugins()


def with_coordinates(nc3, content, start: int = 0):
    """Add CF coordinates: x (float) and t (int days since 2000-01-01, a record variable)."""
    n = next(v.values.shape[0] for v in content.variables if v.dims[:1] == ("t",))
    content.variables += [
        nc3.Var("x", "f8", ("x",), np.linspace(0, 1, 5), {"units": "m"}),
        nc3.Var(
            "t",
            "i4",
            ("t",),
            np.arange(start, start + n, dtype="i4"),
            {"units": "days since 2000-01-01", "calendar": "standard"},
        ),
    ]
    return content


def roundtrip(path: Path, tmp_path: Path, **open_kwargs):
    vds = vzcore.open_virtual_dataset(path, **open_kwargs)
    out = tmp_path / (path.stem + ".json")
    vds.virtualize.to_kerchunk(str(out), format="json")
    return vds, xr.open_dataset(str(out), engine="kerchunk").load()


def assert_same(got, expected) -> None:
    xr.testing.assert_identical(got, expected)
    for name, var in expected.variables.items():
        assert got[name].dtype == var.dtype, name
        assert got[name].dims == var.dims, name


def test_roundtrip_equals_original(tmp_path, make_file, writer, nc3):
    content = nc3.sample_content(cdf5=writer.endswith("DATA"), scalar=writer.startswith("net"))
    path = make_file(writer, with_coordinates(nc3, content))
    vds, got = roundtrip(path, tmp_path)
    assert isinstance(vds["rec_f8"].variable.data, ManifestArray)
    assert isinstance(vds["names"].variable.data, ManifestArray)
    assert vds["t"].dtype == np.dtype("datetime64[ns]")  # loaded and CF-decoded
    expected = xr.open_dataset(path).load()
    assert_same(got, expected)
    # Ints without _FillValue stay ints, their zeros stay zeros.
    assert got["int_nofill"].dtype == np.dtype("i4")
    assert int((got["int_nofill"] == 0).sum()) == 3
    assert got["names"].dtype == np.dtype("S6")
    assert got["flag"].dims == ("t",)
    if not writer.endswith("DATA"):
        assert_same(got, xr.open_dataset(path, engine="scipy").load())


def test_zero_records_roundtrip(tmp_path, make_file, nc3):
    content = nc3.sample_content(numrecs=0)
    path = make_file("netcdf4-NETCDF3_64BIT_OFFSET", content)
    _, got = roundtrip(path, tmp_path)
    expected = xr.open_dataset(path).load()
    assert got.sizes["t"] == 0
    assert_same(got, expected)


def test_raw_values_roundtrip(tmp_path, make_file, writer, nc3):
    # Without masking, scaling or time decoding on either side, the stored values and dtypes
    # are equal (characters are still concatenated, as xarray does by default).
    content = nc3.sample_content(cdf5=writer.endswith("DATA"), scalar=writer.startswith("net"))
    path = make_file(writer, content)
    refs = vzcore.open_virtual_dataset(path).virtualize.to_kerchunk(format="dict")
    mapper = fsspec.filesystem("reference", fo=refs).get_mapper("")
    # (engine="kerchunk" does not pass decoding flags on to the zarr engine.)
    raw = {"mask_and_scale": False, "decode_times": False, "decode_timedelta": False}
    got = xr.open_dataset(mapper, engine="zarr", consolidated=False, **raw).load()
    expected = xr.open_dataset(path, **raw).load()
    for name, var in expected.variables.items():
        np.testing.assert_array_equal(got[name].values, var.values, err_msg=name)
        assert got[name].dtype.newbyteorder("=") == var.dtype.newbyteorder("="), name


def test_engine_picks_the_reader_by_magic(tmp_path, make_file, nc3):
    content = with_coordinates(nc3, nc3.sample_content())
    path = make_file("netcdf4-NETCDF3_CLASSIC", content)
    odd = tmp_path / "archive.dat"  # no netCDF extension: magic bytes decide
    odd.write_bytes(path.read_bytes())
    vds = xr.open_dataset(odd, engine="virtualizarr")
    refs = vds.virtualize.to_kerchunk(format="dict")
    mapper = fsspec.filesystem("reference", fo=refs).get_mapper("")
    got = xr.open_dataset(mapper, engine="zarr", consolidated=False).load()
    assert_same(got, xr.open_dataset(path).load())


def test_files_combine_along_records(tmp_path, make_file, nc3):
    paths = []
    for i in range(3):
        content = with_coordinates(nc3, nc3.sample_content(), start=4 * i)
        paths.append(make_file("netcdf4-NETCDF3_64BIT_OFFSET", content, name=f"part{i}.nc"))
    vds = vzcore.open_virtual_mfdataset(
        [str(p) for p in paths[::-1]],
        combine="by_coords",
        data_vars="minimal",
        coords="minimal",
        compat="override",
    )
    assert vds.sizes["t"] == 12
    assert vds["rec_f8"].variable.data.manifest.grid_shape[0] == 12
    refs = vds.virtualize.to_kerchunk(format="dict")
    mapper = fsspec.filesystem("reference", fo=refs).get_mapper("")
    got = xr.open_dataset(mapper, engine="zarr", consolidated=False).load()
    expected = xr.open_mfdataset(
        paths, combine="by_coords", data_vars="minimal", coords="minimal", compat="override"
    ).load()
    assert_same(got, expected)


def test_float32_scale_factor_is_refused_then_decoded_as_float64_on_request(tmp_path):
    """JSON attributes have no float32: the write names the variable, and the remedy works."""
    import netCDF4
    from vzcore.errors import DecodedDtypeError

    path = tmp_path / "packed.nc"
    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as ds:
        ds.createDimension("x", 3)
        v = ds.createVariable("v", "i2", ("x",), fill_value=np.int16(-1))
        v.scale_factor = np.float32(0.1)
        v.set_auto_maskandscale(False)
        v[:] = np.array([1, -1, 3], "i2")
    vds = vzcore.open_virtual_dataset(path)
    out = tmp_path / "packed.json"
    with pytest.raises(DecodedDtypeError) as info:
        vds.virtualize.to_kerchunk(str(out), format="json")
    assert info.value.variables == ("v",)
    assert "packed.nc" in str(info.value)
    assert not out.exists()
    vds.virtualize.to_kerchunk(str(out), format="json", allow_float64_decoding=True)
    got = xr.open_dataset(str(out), engine="kerchunk").load()
    expected = xr.open_dataset(path).load()
    assert expected["v"].dtype == np.float32
    assert got["v"].dtype == np.float64
    want = np.array([1.0, np.nan, 3.0]) * float(np.float32(0.1))
    np.testing.assert_array_equal(got["v"].values, want)


def test_latin1_names_open_as_scipy_reads_them(tmp_path):
    # scipy.io.netcdf_file writes names as Latin-1 bytes (b"Bandwidth (\xb5m)"), as older tools
    # did: a valid classic file that xarray's scipy engine opens; so must the reader
    from scipy.io import netcdf_file

    path = tmp_path / "latin1.nc"
    with netcdf_file(path, "w") as f:
        f.createDimension("x", 3)
        v = f.createVariable("band", "f4", ("x",))
        v[:] = np.array([1.5, 2.5, 3.5], "f4")
        setattr(v, "Bandwidth (\xb5m)", 0.065)
        f.résolution = b"10 m"
    assert b"Bandwidth (\xb5m)" in path.read_bytes()  # the stored name is not UTF-8
    _, got = roundtrip(path, tmp_path, loadable_variables=[])
    expected = xr.open_dataset(path, engine="scipy").load()
    assert got["band"].attrs["Bandwidth (\xb5m)"] == expected["band"].attrs["Bandwidth (\xb5m)"]
    assert_same(got, expected)
