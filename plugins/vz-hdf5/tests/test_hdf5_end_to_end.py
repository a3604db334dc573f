"""Through vzcore and the kerchunk JSON writer: the output reads back like the original."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("vz_hdf5")
xr = pytest.importorskip("xarray")
fsspec = pytest.importorskip("fsspec")

from vzcore.testing import ReaderTests


def _through_kerchunk(
    path: Path, tmp_path: Path, group: str | None = None, **write_options: Any
) -> Any:
    pytest.importorskip("vz_kerchunk")
    import vzcore

    vds = vzcore.open_virtual_dataset(str(path), group=group)
    out = tmp_path / f"{path.stem}-{(group or 'root').replace('/', '_')}.json"
    vds.virtualize.to_kerchunk(str(out), format="json", **write_options)
    fs = fsspec.filesystem("reference", fo=str(out))
    return xr.open_dataset(fs.get_mapper(""), engine="zarr", consolidated=False, zarr_format=2)


def _assert_values_equal(got: Any, expected: Any) -> None:
    assert set(got.variables) == set(expected.variables)
    for name in expected.variables:
        a, b = got[name], expected[name]
        assert a.dims == b.dims, name
        if b.dtype.kind in "OUT":
            assert a.values.tolist() == b.values.tolist(), name
            continue
        assert a.dtype == b.dtype, (name, a.dtype, b.dtype)
        np.testing.assert_array_equal(a.values, b.values, err_msg=name)


def test_netcdf4_through_kerchunk(tmp_path: Path, nc4_file: Path) -> None:
    got = _through_kerchunk(nc4_file, tmp_path, allow_float64_decoding=True)
    got = got.drop_vars("packed")
    with xr.open_dataset(nc4_file, engine="netcdf4") as expected:
        _assert_values_equal(got, expected.drop_vars("packed"))
        xr.testing.assert_identical(got.drop_vars("label"), expected.drop_vars(["label", "packed"]))


def test_float32_packed_variable_is_refused_by_name(tmp_path: Path, nc4_file: Path) -> None:
    """xarray decodes 'packed' (int16, float32 scale_factor) to float32 from the file and
    would decode it to float64 from JSON attributes: the write says so and writes nothing."""
    from vzcore.errors import DecodedDtypeError

    with pytest.raises(DecodedDtypeError) as info:
        _through_kerchunk(nc4_file, tmp_path)
    assert info.value.variables == ("packed",)
    assert nc4_file.name in str(info.value)
    assert "float32" in str(info.value)
    assert "allow_float64_decoding=True" in str(info.value)
    assert not list(tmp_path.glob("*.json"))


def test_packed_variable_with_float64_decoding_allowed(tmp_path: Path, nc4_file: Path) -> None:
    """The remedy works: raw values exact; decoded in float64 from the float32 attributes."""
    got = _through_kerchunk(nc4_file, tmp_path, allow_float64_decoding=True)
    with xr.open_dataset(nc4_file, engine="netcdf4", mask_and_scale=False) as raw:
        stored = raw["packed"]
        np.testing.assert_array_equal(got["packed"].encoding["dtype"], stored.dtype)
        scale = float(stored.attrs["scale_factor"])
        offset = float(stored.attrs["add_offset"])
        want = stored.values.astype("f8") * scale + offset
    assert got["packed"].dtype == np.float64
    np.testing.assert_array_equal(got["packed"].values, want)


def test_loaded_packed_coordinate_decodes_like_xarray(tmp_path: Path) -> None:
    """A loaded coordinate packed with float32 attributes decodes to float32, as xarray's."""
    nc = pytest.importorskip("netCDF4")
    import vzcore

    path = tmp_path / "packed_coord.nc"
    with nc.Dataset(path, "w") as ds:
        ds.createDimension("lat", 4)
        v = ds.createVariable("lat", "i2", ("lat",))
        v.scale_factor = np.float32(0.01)
        v.add_offset = np.float32(27.15)
        v.set_auto_maskandscale(False)
        v[:] = np.array([1, 2, 3, 400], "i2")
    vds = vzcore.open_virtual_dataset(str(path))
    with xr.open_dataset(path, engine="netcdf4") as expected:
        assert vds["lat"].dtype == expected["lat"].dtype == np.float32
        np.testing.assert_array_equal(vds["lat"].values, expected["lat"].values)


@pytest.mark.parametrize("group", ["sub", "sub/deeper"])
def test_groups_through_kerchunk(tmp_path: Path, nc4_file: Path, group: str) -> None:
    got = _through_kerchunk(nc4_file, tmp_path, group)
    with xr.open_dataset(nc4_file, engine="netcdf4", group=group) as expected:
        xr.testing.assert_identical(got, expected)


def test_xarray_files_through_kerchunk(tmp_path: Path, xr_files: list[Path]) -> None:
    for path in xr_files:
        got = _through_kerchunk(path, tmp_path)
        with xr.open_dataset(path, engine="netcdf4") as expected:
            xr.testing.assert_identical(got, expected)


def test_plain_hdf5_through_kerchunk(tmp_path: Path, h5_file: Path) -> None:
    pytest.importorskip("h5netcdf")
    got = _through_kerchunk(h5_file, tmp_path)
    with xr.open_dataset(h5_file, engine="h5netcdf", phony_dims="sort") as expected:
        _assert_values_equal(got, expected)
        assert got.attrs.keys() == expected.attrs.keys()
        for key, value in expected.attrs.items():
            np.testing.assert_array_equal(got.attrs[key], value)
    grp = _through_kerchunk(h5_file, tmp_path, "grp")
    with xr.open_dataset(h5_file, engine="h5netcdf", phony_dims="sort", group="grp") as exp:
        xr.testing.assert_identical(grp, exp)


class TestHDF5ReaderConformance(ReaderTests):
    reader_name = "hdf5"

    @pytest.fixture
    def sample(self, nc4_file: Path) -> tuple[Path, dict[str, np.ndarray]]:
        import netCDF4

        with netCDF4.Dataset(nc4_file) as ds:
            ds.set_auto_maskandscale(False)
            values = {
                name: np.asarray(ds.variables[name][...])
                for name in ("temp", "packed", "counts", "lat_bnds", "sparse", "time")
            }
        return nc4_file, values

    @pytest.fixture
    def corrupt_file(self, tmp_path: Path, nc4_file: Path) -> Path:
        path = tmp_path / "corrupt.nc"
        data = bytearray(nc4_file.read_bytes())
        path.write_bytes(bytes(data[: len(data) // 3]))
        return path
