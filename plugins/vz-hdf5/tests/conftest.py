"""Fixtures that write sample HDF5/netCDF4 files into tmp_path, plus comparison helpers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
netCDF4 = pytest.importorskip("netCDF4")  # noqa: N816  # the module's own name


def child_outcomes(
    script: str, args: list[str], cases: int, timeout: float
) -> list[dict[str, Any]]:
    """Run ``script`` in a fresh interpreter with ``args``; return its JSON lines, one per case.

    Asserts that it exited cleanly and printed one line for each of the ``cases`` cases.
    """
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    outcomes = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(outcomes) == cases
    return outcomes


def heap_guard(obj: Any, fd: int) -> Any:
    """The :class:`~vz_hdf5._gheap.HeapGuard` of ``obj``'s file, reading through ``fd``."""
    import os

    from vz_hdf5._gheap import HeapGuard

    fcpl = obj.file.id.get_create_plist()
    sizeof_addr, sizeof_len = fcpl.get_sizes()
    return HeapGuard(
        lambda off, n: os.pread(fd, n, off),
        base=int(fcpl.get_userblock()),
        sizeof_addr=sizeof_addr,
        sizeof_len=sizeof_len,
        file_size=os.fstat(fd).st_size,
    )


def url_of(path: Path) -> str:
    from vzcore._urls import to_url

    return to_url(path)


def read(path: Path, **kwargs: Any) -> Any:
    """Read ``path`` and decode its attributes as vzcore does (the reader hands them raw)."""
    from vzcore.manifests.attributes import clean_tree_attributes

    from vz_hdf5._reader import HDF5Reader

    group = HDF5Reader().read(url_of(path), **kwargs)
    clean_tree_attributes(group, url_of(path))
    return group


def h5_raw(dset: Any) -> np.ndarray:
    """What h5py reads, with vlen strings as str objects."""
    info = h5py.check_string_dtype(dset.dtype)
    if info is not None and info.length is None:
        return np.asarray(dset.asstr()[()], dtype=object)
    return np.asarray(dset[()])


def assert_same_as_h5py(path: Path, group: Any, h5path: str = "/") -> int:
    """Compare every variable of ``group`` (recursively) with h5py; return how many."""
    from vzcore.manifests import ManifestArray
    from vzcore.manifests.loading import load_values

    count = 0
    with h5py.File(path, "r") as f:
        for gpath, g in group.walk():
            base = h5path.rstrip("/") + ("/" + gpath if gpath else "")
            for name, var in g.variables.items():
                h5name = f"{base}/_nc4_non_coord_{name}"
                if h5name not in f:
                    h5name = f"{base}/{name}"
                expected = h5_raw(f[h5name])
                dset_dtype = f[h5name].dtype
                # numpy scalars are always native-endian: compare with the stored dtype
                expected_dtype = expected.dtype if expected.dtype == object else dset_dtype
                if dset_dtype.subdtype is not None:  # HDF5 array type: trailing axes
                    expected_dtype = dset_dtype.subdtype[0]
                got = load_values(var.data) if isinstance(var.data, ManifestArray) else var.data
                assert got.dtype == expected_dtype, (h5name, got.dtype, expected_dtype)
                assert got.shape == expected.shape, (h5name, got.shape, expected.shape)
                if expected.dtype.kind == "f":
                    np.testing.assert_array_equal(got, expected, err_msg=h5name)
                else:
                    assert (got == expected).all(), h5name
                count += 1
    return count


def outputs_against_h5py(
    path: Path, directory: Path, names: list[str]
) -> Iterator[tuple[str, str, np.ndarray, np.ndarray]]:
    """Yield ``(output, name, zarr's values, h5py's values)`` for every output and name.

    ``path`` is scanned fully virtual and written in every output under ``directory``
    (:func:`vzcore.testing.outputs.zarr_outputs`).
    """
    import vzcore
    from vzcore.testing.outputs import zarr_outputs

    vds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    groups = zarr_outputs(vds, directory)
    with h5py.File(path, "r") as f:
        for where, group in groups.items():
            for name in names:
                yield where, name, group[name][...], f[name][()]


class Helpers:
    """Helper functions handed to tests through the ``hx`` fixture (importlib mode)."""

    url_of = staticmethod(url_of)
    read = staticmethod(read)
    h5_raw = staticmethod(h5_raw)
    assert_same_as_h5py = staticmethod(assert_same_as_h5py)


@pytest.fixture
def hx() -> type[Helpers]:
    return Helpers


@pytest.fixture
def nc4_file(tmp_path: Path) -> Path:
    """A netCDF4-python file with most classic netCDF-4 features."""
    path = tmp_path / "classic.nc"
    rng = np.random.default_rng(0)
    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        ds.title = "test file"
        ds.history = "created by a test"
        ds.version = np.int32(3)
        ds.weights = np.array([1.5, 2.5], dtype="f4")
        ds.createDimension("time", None)
        ds.createDimension("lat", 6)
        ds.createDimension("lon", 8)
        ds.createDimension("nv", 2)  # dimension without a coordinate variable
        t = ds.createVariable("time", "f8", ("time",))
        t.units = "days since 2000-01-01"
        t.calendar = "standard"
        t[:] = np.arange(5)
        lat = ds.createVariable("lat", "f4", ("lat",), contiguous=True)
        lat[:] = np.linspace(-50, 50, 6)
        lon = ds.createVariable("lon", "f4", ("lon",))
        lon[:] = np.linspace(0, 350, 8)
        temp = ds.createVariable(
            "temp",
            "f4",
            ("time", "lat", "lon"),
            zlib=True,
            complevel=4,
            shuffle=True,
            chunksizes=(2, 3, 4),
            fill_value=-999.0,
        )
        temp.units = "K"
        data = rng.normal(280, 5, (5, 6, 8)).astype("f4")
        data[0, 0, 0] = -999.0
        temp[:] = data
        packed = ds.createVariable(
            "packed",
            "i2",
            ("time", "lat", "lon"),
            zlib=True,
            chunksizes=(1, 6, 8),
            fill_value=np.int16(-32767),
        )
        packed.scale_factor = np.float32(0.01)
        packed.add_offset = np.float32(273.15)
        packed.set_auto_maskandscale(False)
        packed[:] = rng.integers(-3000, 3000, (5, 6, 8)).astype("i2")
        counts = ds.createVariable("counts", "i4", ("lat", "lon"), contiguous=True)
        counts[:] = np.arange(48, dtype="i4").reshape(6, 8)
        bnds = ds.createVariable(
            "lat_bnds", "f8", ("lat", "nv"), fletcher32=True, chunksizes=(3, 2)
        )
        bnds[:] = np.stack([np.arange(6), np.arange(6) + 1], axis=1)
        nofill = ds.createVariable("nofill", "i4", ("lat",), fill_value=False)
        nofill[:] = np.arange(6)
        sparse = ds.createVariable(
            "sparse", "f8", ("lat", "lon"), chunksizes=(2, 2), fill_value=1e20
        )
        sparse[0:2, 0:2] = 7.0
        label = ds.createVariable("label", str, ("lat",))
        label[:] = np.array(["a", "bb", "ccc", "", "éé", "f"], dtype=object)
        sub = ds.createGroup("sub")
        sub.comment = "a subgroup"
        sub.createDimension("x", 3)
        xv = sub.createVariable("xdata", "i8", ("x", "lat"), zlib=True)
        xv[:] = np.arange(18).reshape(3, 6)
        deeper = sub.createGroup("deeper")
        dv = deeper.createVariable("d", "u1", ("x",))
        dv[:] = [1, 2, 3]
    return path


@pytest.fixture
def xr_files(tmp_path: Path) -> list[Path]:
    """Three files written by xarray's netCDF4 engine, split along time."""
    xr = pytest.importorskip("xarray")
    import pandas as pd

    paths = []
    times = pd.date_range("2000-01-01", periods=6, freq="D")
    rng = np.random.default_rng(1)
    for i in range(3):
        air = rng.normal(280, 5, (2, 3, 4)).astype("f4")
        air[0, 1, 1] = np.nan
        ds = xr.Dataset(
            {
                "air": (("time", "lat", "lon"), air, {"units": "K"}),
                "mask": (("lat", "lon"), np.ones((3, 4), "i1")),
            },
            coords={
                "time": times[2 * i : 2 * i + 2],
                "lat": [10.0, 20.0, 30.0],
                "lon": [0.0, 1.0, 2.0, 3.0],
            },
            attrs={"source": "test"},
        )
        ds.air.encoding.update(zlib=True, shuffle=True, chunksizes=(1, 3, 4))
        path = tmp_path / f"air_{i}.nc"
        ds.to_netcdf(path, engine="netcdf4")
        paths.append(path)
    return paths


@pytest.fixture
def h5_file(tmp_path: Path) -> Path:
    """A plain h5py file (no dimension scales) with many layouts and dtypes."""
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as f:
        f.attrs["int_attr"] = np.int64(5)
        f.attrs["str_attr"] = "hello"
        f.create_dataset(
            "chunked",
            data=np.arange(100, dtype="<f8").reshape(10, 10),
            chunks=(4, 3),
            compression="gzip",
            compression_opts=6,
            shuffle=True,
        )
        f.create_dataset("contiguous", data=np.arange(12, dtype="<i4").reshape(3, 4))
        f.create_dataset("bigendian", data=np.arange(12, dtype=">i4").reshape(3, 4), chunks=(2, 2))
        f.create_dataset("bigfloat", data=np.linspace(0, 1, 10).astype(">f8"))
        make_compact(f, "compact", np.arange(6, dtype="i2"))
        make_compact(f, "compact_scalar", np.array(2.25, dtype=">f8"))
        f.create_dataset("scalar", data=np.float32(3.5))
        f.create_dataset("empty", shape=(0, 4), dtype="f4", chunks=(5, 4), maxshape=(None, 4))
        f.create_dataset("empty_contig", shape=(0,), dtype="i4")
        f.create_dataset("unallocated", shape=(6, 6), dtype="i4", chunks=(3, 3), fillvalue=-1)
        part = f.create_dataset("partial", shape=(7, 5), dtype="u2", chunks=(3, 2), fillvalue=9)
        part[0:3, 0:2] = 1
        part[6, 4] = 2
        f.create_dataset("fixed_str", data=np.array([b"ab", b"cde", b""], dtype="S3"))
        f.create_dataset(
            "vlen_str", data=np.array(["x", "yy", "zzz"], dtype=object), dtype=h5py.string_dtype()
        )
        f.create_dataset("bools", data=np.array([True, False, True]))
        ed = h5py.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 42}, basetype="u1")
        f.create_dataset("enum", data=np.array([0, 42, 1], dtype="u1"), dtype=ed)
        cdt = np.dtype([("a", "<i2"), ("b", "<f8"), ("c", "S2")])
        f.create_dataset(
            "compound", data=np.array([(1, 2.5, b"x"), (3, 4.5, b"yz")], cdt), chunks=(1,)
        )
        f.create_dataset("same_size_a", data=np.zeros((10, 10), "i1"))
        g = f.create_group("grp")
        g.attrs["bytes_attr"] = np.bytes_(b"raw")
        g.create_dataset("inner", data=np.arange(5, dtype="u8"), chunks=(2,))
        g.create_dataset("other", data=np.arange(15, dtype="u4").reshape(3, 5))
    return path


def make_compact(f: Any, name: str, data: np.ndarray) -> Any:
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    dset = f.create_dataset(name, shape=data.shape, dtype=data.dtype, dcpl=dcpl)
    dset[()] = data
    return dset
