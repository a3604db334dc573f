"""The corpus scripts' pure parts: manifest, format sniffing, comparison, classification.

``./dev corpus`` itself needs the network and minutes; these checks need neither.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import h5py
import numpy as np
import pytest
import tifffile
from scipy.io import netcdf_file

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"corpus_{name}", CORPUS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fetch = _load("fetch")
compare = _load("compare")


def test_manifest_is_well_formed() -> None:
    sources, entries = fetch.load_manifest()
    assert fetch.validate_manifest(sources, entries) == []
    assert len(entries) >= 100
    assert {e.format for e in entries} == {"hdf5", "netcdf3", "tiff"}
    for e in entries:
        assert e.package
        assert e.version
        assert e.member
        assert len(e.sha256) == 64


def test_validate_manifest_reports_problems() -> None:
    src = fetch.Source("pkg", "1.0", "pkg-1.0.tar.gz")
    good = fetch.Entry("pkg", "1.0", "pkg-1.0.tar.gz", "pkg-1.0/a.h5", "0" * 64, "hdf5", 1)
    assert fetch.validate_manifest([src], [good]) == []
    bad = fetch.Entry("pkg", "1.0", "other.tar.gz", "pkg-1.0/a.h5", "xyz", "gif", 1)
    problems = fetch.validate_manifest([src], [good, bad])
    assert any("sha256" in p for p in problems)
    assert any("unknown format" in p for p in problems)
    assert any("not a listed source" in p for p in problems)
    assert any("listed twice" in p for p in problems)


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"\x89HDF\r\n\x1a\n" + b"\0" * 600, "hdf5"),
        (b"\0" * 512 + b"\x89HDF\r\n\x1a\n", "hdf5"),
        (b"CDF\x01\0\0", "netcdf3"),
        (b"CDF\x02\0\0", "netcdf3"),
        (b"II*\x00", "tiff"),
        (b"MM\x00+", "tiff"),
        (b"GIF89a", None),
    ],
)
def test_sniff_format(head: bytes, fmt: str | None) -> None:
    assert fetch.sniff_format(head) == fmt


def test_scan_finds_files_inside_a_wheel(tmp_path: Path) -> None:
    import zipfile

    h5 = tmp_path / "x.h5"
    with h5py.File(h5, "w") as f:
        f["a"] = np.arange(3)
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.write(h5, "pkg/tests/data/x.h5")
        z.writestr("pkg/tests/data/crash-123.tif", b"II*\x00")
        z.writestr("pkg/readme.txt", b"hello")
    entries = fetch.scan(fetch.Source("pkg", "1.0", wheel.name), wheel)
    assert [(e.member, e.format) for e in entries] == [("pkg/tests/data/x.h5", "hdf5")]
    # a source's include pattern keeps only the members it matches
    with zipfile.ZipFile(wheel, "a") as z:
        z.write(h5, "pkg/big/y.h5")
    assert len(fetch.scan(fetch.Source("pkg", "1.0", wheel.name), wheel)) == 2
    entries = fetch.scan(fetch.Source("pkg", "1.0", wheel.name, include=r"^pkg/tests/"), wheel)
    assert [e.member for e in entries] == ["pkg/tests/data/x.h5"]
    bad = fetch.Source("pkg", "1.0", wheel.name, include="(")
    assert any("not a regex" in p for p in fetch.validate_manifest([bad], []))


def test_compare_values_numbers_bit_for_bit() -> None:
    a = np.array([1.0, np.nan, -0.0], dtype=">f8")
    assert compare.compare_values(a, a.astype("<f8")) is None
    assert "values differ" in compare.compare_values(a, np.array([1.0, np.nan, 0.0]))
    assert "dtype" in compare.compare_values(np.arange(3, dtype="i4"), np.arange(3.0))
    assert "shape" in compare.compare_values(np.arange(3), np.arange(4))
    assert compare.compare_values(np.array([1 + 2j]), np.array([1 + 2j])) is None


def test_compare_values_strings_and_compound() -> None:
    vlen = np.array([b"ab", b"c"], dtype=object)
    assert compare.compare_values(vlen, np.array(["ab", "c"])) is None
    assert compare.compare_values(np.array(b"x", dtype=object), np.array("x")) is None
    assert "element 1" in compare.compare_values(vlen, np.array(["ab", "d"]))
    assert compare.compare_values(np.array([b"ab"], "S2"), np.array([b"ab"], "S2")) is None
    # NUL-terminated strings with bytes after the NUL differ from the cut string
    assert compare.compare_values(np.array([b"a"], "S3"), np.array([b"a\0b"], "S3"))
    dt = np.dtype([("x", "<i4"), ("y", "<f8")])
    rec = np.array([(1, 2.0), (3, np.nan)], dt)
    assert compare.compare_values(rec, rec.astype([("x", ">i4"), ("y", ">f8")])) is None
    other = rec.copy()
    other["x"][1] = 4
    assert "field 'x'" in compare.compare_values(rec, other)
    padded = np.zeros(2, [("f0", "V1"), ("x", "<i4"), ("y", "<f8")])
    padded["x"], padded["y"] = rec["x"], rec["y"]
    assert compare.compare_values(rec, padded) is None
    assert "fields" in compare.compare_values(rec, padded[["x"]])
    chars = np.array([[b"a", b"b"], [b"c", b""]], "S1")
    assert compare.compare_values(chars, np.array([b"ab", b"c"], "S2")) is None
    assert compare.compare_values(chars, np.array([b"ab", b"d"], "S2"))
    # a 0-d compound: np.void (h5py) in an object array against the compound array read back
    scalar = np.empty((), object)
    scalar[()] = rec[0]
    assert compare.compare_values(scalar, np.asarray(rec[0])) is None
    assert "element 0" in compare.compare_values(scalar, np.asarray(rec[1]))


def test_references_of_generated_files(tmp_path: Path) -> None:
    h5 = tmp_path / "g.h5"
    with h5py.File(h5, "w") as f:
        f["a"] = np.arange(4)
        f["grp/s"] = "scalar text"
        f.create_dataset("empty", data=h5py.Empty("f4"))
        d = f.create_dataset("dim", data=np.zeros(2))
        d.attrs["NAME"] = compare.NETCDF_DIM_ONLY + b"      2"
    with compare.hdf5_reference(str(h5)) as ref:
        assert ref.has_groups
        assert sorted(ref.arrays) == ["a", "grp/s"]
        assert set(ref.skipped) == {"dim", "empty"}
        assert ref.arrays["grp/s"]()[()] == b"scalar text"

    nc = tmp_path / "c.nc"
    with netcdf_file(nc, "w") as f:
        f.createDimension("t", 2)
        f.createVariable("v", "f4", ("t",))[:] = [1.5, 2.5]
    with compare.netcdf3_reference(str(nc)) as ref:
        np.testing.assert_array_equal(ref.arrays["v"](), [1.5, 2.5])

    tif = tmp_path / "p.tif"
    tifffile.imwrite(tif, np.ones((8, 8), "u1"))
    tifffile.imwrite(tif, np.zeros((4, 4), "u2"), append=True)
    with compare.tiff_reference(str(tif)) as ref:
        assert sorted(ref.arrays) == ["band_data", "series_1/band_data"]


def test_classify() -> None:
    from vzcore.errors import UnsupportedFeatureError

    ok = compare.classify(exception=None, is_vz_error=False, compared=2, dropped=[], mismatches={})
    assert (ok.status, ok.compared) == ("exact", 2)
    err = UnsupportedFeatureError("f.h5", "v", "a feature")
    assert (
        compare.classify(
            exception=err, is_vz_error=True, compared=0, dropped=[], mismatches={}
        ).status
        == "error"
    )
    crash = compare.classify(
        exception=KeyError("k"),
        is_vz_error=False,
        compared=0,
        dropped=[],
        mismatches={},
        where="x.py:1 in f",
    )
    assert crash.status == "crash"
    assert "KeyError" in crash.reason
    assert "x.py:1" in crash.reason
    wrong = compare.classify(
        exception=None, is_vz_error=False, compared=1, dropped=["b"], mismatches={}
    )
    assert wrong.status == "wrong"
    assert "dropped" in wrong.reason
    read = compare.classify(
        exception=None,
        is_vz_error=False,
        compared=0,
        dropped=[],
        mismatches={"a": "read: ValueError: bad"},
    )
    assert read.status == "crash"
    decoded = compare.classify(
        exception=None,
        is_vz_error=False,
        compared=1,
        dropped=[],
        mismatches={},
        decoded={"time": "1 values differ"},
    )
    assert decoded.status == "wrong"


@pytest.fixture
def check(monkeypatch: pytest.MonkeyPatch) -> Any:
    """corpus/check.py, loaded with corpus/ on sys.path (it imports compare.py as run.py does)."""
    monkeypatch.syspath_prepend(str(CORPUS))
    return _load("check")


def test_check_mode_on_a_generated_file(tmp_path: Path, check: Any) -> None:
    h5 = tmp_path / "n.h5"
    with h5py.File(h5, "w") as f:
        f["a"] = np.arange(6, dtype="<i2").reshape(2, 3)
        f["g/b"] = np.linspace(0, 1, 5)
    for mode in check.MODES:
        with compare.hdf5_reference(str(h5)) as ref:
            result = check.check_mode(str(h5), "hdf5", mode, ref, None)
        assert (result.status, result.compared) == ("exact", 2), result.reason


def test_check_mode_reports_dropped_and_differing_arrays(tmp_path: Path, check: Any) -> None:
    h5 = tmp_path / "d.h5"
    with h5py.File(h5, "w") as f:
        f["a"] = np.arange(3.0)
    with compare.hdf5_reference(str(h5)) as ref:
        ref.arrays["ghost"] = lambda: np.zeros(1)
        ref.arrays["a"] = lambda: np.array([0.0, 1.0, 5.0])
        result = check.check_mode(str(h5), "hdf5", "virtual", ref, None)
    assert result.status == "wrong"
    assert result.dropped == ["ghost"]
    assert "values differ" in result.mismatches["a"]


def test_compare_values_compound_storage_order_only() -> None:
    declared = np.dtype(
        {"names": ["a", "b"], "formats": ["<i4", "<f8"], "offsets": [8, 0], "itemsize": 12}
    )
    expected = np.zeros(3, declared)
    expected["a"], expected["b"] = [1, 2, 3], [0.5, 1.5, 2.5]
    stored = np.zeros(3, [("b", "<f8"), ("a", "<i4")])  # what zarr holds: byte order
    stored["a"], stored["b"] = expected["a"], expected["b"]
    assert compare.compare_values(expected, stored) is None
    stored["a"][1] = 7
    assert "field 'a'" in compare.compare_values(expected, stored)
    in_order = np.zeros(3, [("a", "<i4"), ("b", "<f8")])  # declaration order is fine too
    in_order["a"], in_order["b"] = expected["a"], expected["b"]
    assert compare.compare_values(expected, in_order) is None
    packed = np.zeros(3, [("a", "<i4"), ("b", "<f8")])
    other = np.zeros(3, [("b", "<i4"), ("a", "<f8")])  # an order the offsets do not force
    assert compare.compare_values(packed, other).startswith("fields")


def _write_small(path: Path, fmt: str) -> None:
    if fmt == "hdf5":
        with h5py.File(path, "w") as f:
            f["a"] = np.arange(3.0)
    elif fmt == "netcdf3":
        with netcdf_file(path, "w") as f:
            f.createDimension("x", 3)
            f.createVariable("a", "f8", ("x",))[:] = np.arange(3.0)
    else:
        tifffile.imwrite(path, np.arange(12, dtype="u1").reshape(3, 4))


@pytest.mark.parametrize("fmt", ["hdf5", "netcdf3", "tiff"])
def test_an_array_absent_from_the_output_is_wrong_for_every_format(
    tmp_path: Path, check: Any, fmt: str
) -> None:
    path = tmp_path / f"f.{fmt}"
    _write_small(path, fmt)
    for mode in check.MODES:
        with compare.REFERENCES[fmt](str(path)) as ref:
            result = check.check_mode(str(path), fmt, mode, ref, None)
        assert result.status == "exact", result.reason
        with compare.REFERENCES[fmt](str(path)) as ref:
            ref.arrays["ghost"] = lambda: np.zeros(1)  # in the original, not in the output
            result = check.check_mode(str(path), fmt, mode, ref, None)
        assert result.status == "wrong"
        assert result.dropped == ["ghost"]
        assert "silently dropped: ghost" in result.reason


def test_netcdf3_is_decoded_by_both_xarray_engines(check: Any) -> None:
    assert check._decoding_engines("netcdf3", "scipy") == ["scipy", "netcdf4"]
    assert check._decoding_engines("hdf5", "netcdf4") == ["netcdf4"]
    assert check._decoding_engines("tiff", None) == []


def test_check_mode_decodes_netcdf3_with_both_engines(tmp_path: Path, check: Any) -> None:
    path = tmp_path / "t.nc"
    with netcdf_file(path, "w") as f:
        f.createDimension("time", None)
        t = f.createVariable("time", "f8", ("time",))
        t.units = "seconds since 2000-01-01"
        t[:] = [0.0, 0.37543299999999996, 2.5]
        v = f.createVariable("v", "f4", ("time",))
        v._FillValue = np.float32(-1)
        v[:] = [1, -1, 3]
    for mode in check.MODES:
        with compare.netcdf3_reference(str(path)) as ref:
            result = check.check_mode(str(path), "netcdf3", mode, ref, "scipy")
        assert (result.status, result.decoded) == ("exact", {}), result.reason
    refs = {"version": 1, "refs": {".zgroup": '{"zarr_format": 2}', ".zattrs": "{}"}}
    problems = check._decoded(str(path), ["scipy", "netcdf4"], refs)
    assert problems["time"] == "missing from the references"
    assert problems["time (engine netcdf4)"] == "missing from the references"
