"""Fixtures for vz-netcdf3 tests: netCDF classic files written by netCDF4-python and scipy.

One sample content (:func:`sample_content`) is written by every writer: fixed-size and
record variables of every type the format allows, several record variables with slabs
that need padding, char variables (fixed, per record, and one character per record) and
attributes of every type. Factories are exposed as fixtures (``--import-mode=importlib``
means test modules cannot import this file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

NUMRECS = 4
NETCDF4_FORMATS = ("NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET", "NETCDF3_64BIT_DATA")
SCIPY_VERSIONS = (1, 2)
_SCIPY_CODES = {"i1": "b", "i2": "h", "i4": "i", "f4": "f", "f8": "d", "S1": "c"}


@dataclass
class Var:
    """A variable to write: numpy dtype string, dimensions, values and attributes."""

    name: str
    dtype: str
    dims: tuple[str, ...]
    values: np.ndarray
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Content:
    """What a sample file holds."""

    dims: dict[str, int | None]
    variables: list[Var]
    attrs: dict[str, Any]


def _chars(strings: list[str], width: int, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.array([s.encode() for s in strings], dtype=f"S{width}").reshape(shape)
    return arr[..., None].view("S1").reshape((*shape, width))


def sample_content(cdf5: bool = False, numrecs: int = NUMRECS, scalar: bool = True) -> Content:
    """Return the sample content; CDF-5 adds the unsigned and 64-bit types.

    ``scalar=False`` leaves out the 0-d variable: scipy writes a scalar variable's data
    inside the records when there are record variables (a corrupt file).
    """
    rng = np.random.default_rng(7)
    nx, ny, ns = 5, 3, 6
    dims: dict[str, int | None] = {"t": None, "x": nx, "y": ny, "strlen": ns}

    def r(*shape: int) -> tuple[int, ...]:
        return (numrecs, *shape)

    f4 = rng.normal(280, 10, (nx, ny)).astype("f4")
    f4[0, 0] = np.float32(-999.0)
    f8 = np.array([0.0, -1.5, np.nan, np.inf, 1e300])
    zeros = np.array([0, 1, 0, -5, 0], dtype="i4")
    variables = [
        Var(
            "byte_f",
            "i1",
            ("x",),
            np.array([-128, -127, 0, 1, 127], "i1"),
            {"valid_min": np.int8(-100), "flags": np.array([1, 2, 4], "i1")},
        ),
        Var(
            "short_f",
            "i2",
            ("x", "y"),
            rng.integers(-32768, 32767, (nx, ny)).astype("i2"),
            {
                "_FillValue": np.int16(-1),
                "scale_factor": np.float64(0.01),
                "add_offset": np.float64(10.0),
            },
        ),
        Var("int_f", "i4", ("y", "x"), rng.integers(-(2**31), 2**31 - 1, (ny, nx)).astype("i4")),
        Var(
            "float_f",
            "f4",
            ("x", "y"),
            f4,
            {
                "_FillValue": np.float32(-999.0),
                "units": "K",
                "long_name": "température",
                "valid_range": np.array([0, 500], "f4"),
                "missing_value": np.float32(-999.0),
            },
        ),
        Var("double_f", "f8", ("x",), f8, {"_FillValue": np.float64(np.nan)}),
        Var("int_nofill", "i4", ("x",), zeros, {"long_name": "zeros stay zeros"}),
        Var(
            "names",
            "S1",
            ("x", "strlen"),
            _chars(["a", "bb", "", "dddddd", "é"], ns, (nx,)),
            {"long_name": "names"},
        ),
    ]
    if scalar:
        variables.append(Var("scalar", "f8", (), np.array(42.5), {"comment": ""}))
    if numrecs:
        variables += [
            Var(
                "rec_f4",
                "f4",
                ("t", "x"),
                rng.normal(0, 1, r(nx)).astype("f4"),
                {"_FillValue": np.float32(1e20), "units": "m"},
            ),
            Var("rec_i2", "i2", ("t",), np.arange(numrecs, dtype="i2") * 7 - 3),
            Var("rec_i1", "i1", ("t", "y"), rng.integers(-128, 127, r(ny)).astype("i1")),
            Var("rec_f8", "f8", ("t", "y", "x"), rng.normal(0, 1, r(ny, nx))),
            Var(
                "rec_names",
                "S1",
                ("t", "strlen"),
                _chars([f"rec{i}" for i in range(numrecs)], ns, (numrecs,)),
            ),
            Var(
                "flag",
                "S1",
                ("t",),
                np.array([b"abcdefgh"[i % 8 : i % 8 + 1] for i in range(numrecs)], "S1"),
            ),
        ]
    else:
        variables += [
            Var("rec_f4", "f4", ("t", "x"), np.zeros(r(nx), "f4"), {"units": "m"}),
            Var("rec_i2", "i2", ("t",), np.zeros(r(), "i2")),
        ]
    attrs: dict[str, Any] = {
        "title": "vz-netcdf3 sample",
        "unicode": "Zürich ☃",
        "a_byte": np.int8(-7),
        "a_bytes": np.array([-1, 0, 1], "i1"),
        "a_short": np.int16(-300),
        "a_shorts": np.array([1, 2, 3], "i2"),
        "a_int": np.int32(123456),
        "a_ints": np.array([-(2**31), 2**31 - 1], "i4"),
        "a_float": np.float32(1.5),
        "a_floats": np.array([0.25, np.nan, np.inf], "f4"),
        "a_double": np.float64(1e-300),
        "a_doubles": np.array([1.0, -2.0, 3.5], "f8"),
    }
    if cdf5:
        variables += [
            Var(
                "ubyte_f",
                "u1",
                ("x",),
                np.array([0, 1, 128, 254, 255], "u1"),
                {"_FillValue": np.uint8(254)},
            ),
            Var("ushort_f", "u2", ("x",), np.array([0, 1, 2**15, 65534, 65535], "u2")),
            Var("uint_f", "u4", ("x",), np.array([0, 1, 2**31, 2**32 - 2, 2**32 - 1], "u4")),
            Var(
                "int64_f",
                "i8",
                ("x", "y"),
                rng.integers(-(2**63), 2**63 - 1, (nx, ny), dtype="i8"),
                {"_FillValue": np.int64(-(2**62))},
            ),
            Var(
                "uint64_f", "u8", ("x",), np.array([0, 1, 2**63, 2**64 - 2, 2**64 - 1], dtype="u8")
            ),
        ]
        if numrecs:
            variables += [
                Var("rec_u8", "u8", ("t",), np.arange(numrecs, dtype="u8") + 2**63),
                Var("rec_u1", "u1", ("t", "y"), rng.integers(0, 255, r(ny)).astype("u1")),
            ]
        attrs.update(
            a_ubyte=np.uint8(200),
            a_ushorts=np.array([1, 65535], "u2"),
            a_uint=np.uint32(2**32 - 1),
            a_int64=np.int64(-(2**62)),
            a_uint64s=np.array([0, 2**64 - 1], "u8"),
        )
    return Content(dims, variables, attrs)


def write_netcdf4(path: Path, fmt: str, content: Content) -> Path:
    """Write ``content`` with netCDF4-python in ``fmt`` (a NETCDF3_* format)."""
    import netCDF4

    with netCDF4.Dataset(path, "w", format=fmt) as ds:
        for name, n in content.dims.items():
            ds.createDimension(name, n)
        for name, value in content.attrs.items():
            ds.setncattr(name, value)
        for v in content.variables:
            fill = v.attrs.get("_FillValue")
            var = ds.createVariable(v.name, v.dtype, v.dims, fill_value=fill)
            var.set_auto_maskandscale(False)
            var.set_auto_chartostring(False)
            for k, a in v.attrs.items():
                if k != "_FillValue":
                    var.setncattr(k, a)
            if v.values.size:
                var[...] = v.values
    return path


def _scipy_attr(value: Any) -> Any:
    # scipy encodes str attributes as ASCII; give it UTF-8 bytes like netCDF-C stores.
    return value.encode() if isinstance(value, str) else value


def write_scipy(path: Path, version: int, content: Content) -> Path:
    """Write ``content`` with scipy.io.netcdf_file (CDF-1 or CDF-2)."""
    from scipy.io import netcdf_file

    with netcdf_file(path, "w", version=version) as f:
        for name, n in content.dims.items():
            f.createDimension(name, n)
        for name, value in content.attrs.items():
            setattr(f, name, _scipy_attr(value))
        for v in content.variables:
            var = f.createVariable(v.name, _SCIPY_CODES[v.dtype], v.dims)
            for k, a in v.attrs.items():
                setattr(var, k, _scipy_attr(a))
            if not v.dims:
                var.data[()] = v.values  # assignValue fails on 0-d arrays in scipy
            elif v.dims[0] == "t":
                if v.values.shape[0]:
                    var[0 : v.values.shape[0]] = v.values
            else:
                var[...] = v.values
    return path


WRITERS = [*(f"netcdf4-{f}" for f in NETCDF4_FORMATS), *(f"scipy-v{v}" for v in SCIPY_VERSIONS)]


def write_with(writer: str, path: Path, content: Content) -> Path:
    """Write ``content`` with the writer named like the entries of WRITERS."""
    kind, _, arg = writer.partition("-")
    if kind == "netcdf4":
        return write_netcdf4(path, arg, content)
    return write_scipy(path, int(arg[1:]), content)


@pytest.fixture(params=WRITERS)
def writer(request: pytest.FixtureRequest) -> str:
    """Each writer/format combination."""
    return str(request.param)


@pytest.fixture
def sample_file(tmp_path: Path, writer: str) -> tuple[Path, Content]:
    """The sample content written by each writer (CDF-5 types for NETCDF3_64BIT_DATA)."""
    content = sample_content(cdf5=writer.endswith("64BIT_DATA"), scalar=writer.startswith("net"))
    return write_with(writer, tmp_path / "sample.nc", content), content


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_file(writer, content, name="f.nc")`` writes a file in tmp_path."""

    def make(writer: str, content: Content, name: str = "f.nc") -> Path:
        return write_with(writer, tmp_path / name, content)

    return make


@pytest.fixture
def nc3() -> SimpleNamespace:
    """Helpers for tests that build their own files: Content, Var, sample_content, write."""
    return SimpleNamespace(
        Content=Content, Var=Var, sample_content=sample_content, write=write_with
    )
