"""The netcdf3 reader against netCDF4-python and scipy, value by value, dtype included."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("vz_netcdf3")
netCDF4 = pytest.importorskip("netCDF4")  # noqa: N816  # the module's own name
scipy_io = pytest.importorskip("scipy.io")

from vzcore.errors import CorruptFileError, UnsupportedFeatureError
from vzcore.manifests.attributes import clean_tree_attributes
from vzcore.manifests.loading import load_values

from vz_netcdf3._header import parse_header
from vz_netcdf3._reader import Netcdf3Reader, _SourceBytes, outer_chunk, read_header


def url_of(path: Path) -> str:
    return path.resolve().as_uri()


def read(path: Path, **options: Any):
    """Read ``path`` and decode its attributes as vzcore does (the reader hands them raw)."""
    group = Netcdf3Reader().read(url_of(path), **options)
    clean_tree_attributes(group, url_of(path))
    return group


def values(var) -> np.ndarray:
    return load_values(var.data) if var.is_virtual else np.asarray(var.data)


def string_dims(variables: dict[str, tuple[str, ...]], types: dict[str, np.dtype]) -> set[str]:
    """xarray's rule: dimensions only used last by char variables, and not variables."""
    dims = {d for ds in variables.values() for d in ds} - set(variables)
    for name, ds in variables.items():
        for i, d in enumerate(ds):
            if types[name] != np.dtype("S1") or i != len(ds) - 1:
                dims.discard(d)
    return dims


def fold(
    dims: tuple[str, ...], arr: np.ndarray, foldable: set[str]
) -> tuple[tuple[str, ...], np.ndarray]:
    """What xarray makes of a netCDF char array: the last axis folded into S<n>."""
    if arr.dtype == np.dtype("S1") and arr.ndim and dims[-1] in foldable:
        n = arr.shape[-1]
        if n == 0:
            return dims[:-1], np.zeros(arr.shape[:-1], "S1")
        return dims[:-1], np.ascontiguousarray(arr).view(f"S{n}").reshape(arr.shape[:-1])
    return dims, arr


def stored(dtype: np.dtype) -> np.dtype:
    """The big-endian dtype a netCDF classic file stores for ``dtype``."""
    return dtype.newbyteorder(">") if dtype.itemsize > 1 and dtype.kind in "iuf" else dtype


def ref_netcdf4(path: Path) -> tuple[dict[str, Any], dict[str, tuple]]:
    out = {}
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_maskandscale(False)
        ds.set_auto_chartostring(False)
        gattrs = {k: ds.getncattr(k) for k in ds.ncattrs()}
        for name, v in ds.variables.items():
            arr = np.array(v[...])
            out[name] = (v.dimensions, arr, {k: v.getncattr(k) for k in v.ncattrs()})
    return gattrs, out


def ref_scipy(path: Path) -> tuple[dict[str, Any], dict[str, tuple]]:
    out = {}
    with scipy_io.netcdf_file(path, "r", mmap=False, maskandscale=False) as f:
        gattrs = dict(f._attributes)
        for name, v in f.variables.items():
            out[name] = (v.dimensions, np.array(v.data), dict(v._attributes))
    return gattrs, out


def assert_attr_equal(name: str, ours: Any, ref: Any) -> None:
    if isinstance(ref, bytes):  # scipy gives char attributes as bytes
        ref = ref.decode() if name == "_FillValue" else ref.decode().replace("\x00", "")
    if isinstance(ref, str):
        assert ours == ref, name
        return
    ref = np.asarray(ref)
    if ref.size == 1 and name.rsplit(".", 1)[-1] in ("scale_factor", "add_offset"):
        # CF packing attributes stay numpy scalars of the stored type: it decides the
        # dtype xarray decodes to (vzcore.packed_dtypes).
        assert isinstance(ours, np.generic), (name, ours)
        assert ours.dtype == ref.dtype.newbyteorder("="), (name, ours.dtype)
    elif ref.size == 1:
        assert type(ours) in (int, float), (name, ours)
    else:
        assert isinstance(ours, list), (name, ours)
    # Lossless: cast back to the stored type, the value is the stored one.
    back = np.asarray(ours, dtype=ref.dtype).reshape(ref.shape)
    np.testing.assert_array_equal(back, ref, err_msg=name)


def check_against(path: Path, reference: str) -> None:
    group = read(path)
    gref, vref = ref_netcdf4(path) if reference == "netcdf4" else ref_scipy(path)
    assert set(group.variables) == set(vref)
    json.dumps(group.attrs)
    assert set(group.attrs) == set(gref)
    for k, a in gref.items():
        assert_attr_equal(k, group.attrs[k], a)
    header = read_header(url_of(path))
    ref_types = {a.name: a.nc_type.dtype for a in header.attributes}
    for k, a in gref.items():
        if not isinstance(a, str | bytes):  # the stored type, not only the value
            assert ref_types[k].kind == np.asarray(a).dtype.kind, k
            assert ref_types[k].itemsize == np.asarray(a).dtype.itemsize, k
    foldable = string_dims(
        {k: tuple(v[0]) for k, v in vref.items()}, {k: v[1].dtype for k, v in vref.items()}
    )
    for name, (dims, arr, attrs) in vref.items():
        var = group.variables[name]
        exp_dims, expected = fold(tuple(dims), arr, foldable)
        got = values(var)
        assert var.dims == exp_dims, name
        assert got.dtype == stored(expected.dtype), (name, got.dtype, expected.dtype)
        assert got.shape == expected.shape, name
        np.testing.assert_array_equal(got, expected.astype(got.dtype), strict=True, err_msg=name)
        json.dumps(var.attrs)
        assert set(var.attrs) == set(attrs), name
        for k, a in attrs.items():
            assert_attr_equal(f"{name}.{k}", var.attrs[k], a)


def test_values_match_netcdf4(sample_file):
    path, _ = sample_file
    check_against(path, "netcdf4")


def test_values_match_scipy(sample_file, writer):
    if writer.endswith("64BIT_DATA"):
        pytest.skip("scipy.io.netcdf_file cannot read CDF-5")
    path, _ = sample_file
    check_against(path, "scipy")


def test_values_match_what_was_written(sample_file):
    path, content = sample_file
    group = read(path)
    foldable = string_dims(
        {v.name: v.dims for v in content.variables},
        {v.name: np.dtype(v.dtype) for v in content.variables},
    )
    for v in content.variables:
        dims, expected = fold(v.dims, v.values, foldable)
        got = values(group.variables[v.name])
        assert got.dtype == stored(np.dtype(v.dtype)) if v.dtype != "S1" else got.dtype.kind == "S"
        assert got.shape == expected.shape, v.name
        np.testing.assert_array_equal(got, expected.astype(got.dtype), err_msg=v.name)
        assert group.variables[v.name].dims == dims


def test_zero_records(make_file, writer, nc3):
    content = nc3.sample_content(
        cdf5=writer.endswith("DATA"), numrecs=0, scalar=not writer.startswith("scipy")
    )
    path = make_file(writer, content)
    group = read(path)
    for name in ("rec_f4", "rec_i2"):
        var = group.variables[name]
        assert var.shape[0] == 0
        assert var.data.metadata.chunk_shape[0] == 1
        assert var.data.manifest.nchunks == 0
        assert values(var).shape == var.shape
    if writer.startswith("scipy"):
        # scipy stores vsize 0 for record variables without records, so they all begin at
        # the same offset; netCDF-C refuses that ("Unknown file format"), we accept it (no
        # byte of theirs is ever read).
        check_against(path, "scipy")
    else:
        check_against(path, "netcdf4")


# -- record layout -------------------------------------------------------------------------


def test_record_chunks_are_interleaved(sample_file):
    path, _ = sample_file
    group = read(path)
    header = read_header(url_of(path))
    rec = header.record_variables
    assert len(rec) > 1
    slabs = [v.slab_bytes for v in rec]
    assert header.recsize == sum(s + (-s % 4) for s in slabs)
    begins = sorted(v.begin for v in rec)
    for name in ("rec_f4", "rec_i2", "rec_i1", "rec_f8", "rec_names"):
        var = group.variables[name]
        meta, manifest = var.data.metadata, var.data.manifest
        assert meta.chunk_shape[0] == 1
        assert meta.chunk_shape[1:] == var.shape[1:]
        offsets = manifest.offsets.reshape(-1)
        assert offsets.size == 4
        np.testing.assert_array_equal(np.diff(offsets), header.recsize)
        assert int(offsets[0]) in begins
        assert set(manifest.lengths.ravel().tolist()) == {
            meta.dtype.itemsize * math.prod(meta.chunk_shape)
        }
        assert meta.codecs == ()


@pytest.mark.parametrize("dtype", ["i1", "i2", "f4", "f8", "S1"])
def test_single_record_variable_is_not_padded(make_file, writer, nc3, dtype):
    n = 5
    if dtype == "S1":
        vals = np.array([[b"a", b"b", b"c"]] * n, "S1")
    else:
        vals = (np.arange(n * 3).reshape(n, 3) - 4).astype(dtype)
    content = nc3.Content({"t": None, "x": 3}, [nc3.Var("v", dtype, ("t", "x"), vals)], {})
    path = make_file(writer, content)
    var = read(path).variables["v"]
    itemsize = np.dtype(dtype).itemsize
    np.testing.assert_array_equal(np.diff(var.data.manifest.offsets.ravel()), 3 * itemsize)
    check_against(path, "netcdf4")


def test_single_record_char_variable_is_one_string(make_file, writer, nc3):
    vals = np.array([b"h", b"e", b"l", b"l", b"o"], "S1")
    path = make_file(writer, nc3.Content({"t": None}, [nc3.Var("c", "S1", ("t",), vals)], {}))
    var = read(path).variables["c"]
    assert var.is_virtual
    assert var.dims == ()
    assert var.data.dtype == np.dtype("S5")
    assert values(var)[()] == b"hello"
    check_against(path, "netcdf4")


def test_char_per_record_stays_characters(sample_file):
    # "t" is used by numeric variables too: xarray keeps flag(t) as single characters.
    path, _ = sample_file
    var = read(path).variables["flag"]
    assert var.is_virtual
    assert var.dims == ("t",)
    assert var.data.dtype == np.dtype("S1")
    assert var.data.metadata.chunk_shape == (1,)
    np.testing.assert_array_equal(values(var), np.frombuffer(b"abcd", "S1"))


def test_char_dimension_used_by_a_number_is_not_folded(make_file, writer, nc3):
    chars = np.array([[b"a", b"b"], [b"c", b"d"]], "S1")
    content = nc3.Content(
        {"x": 2, "n": 2},
        [
            nc3.Var("c", "S1", ("x", "n"), chars),
            nc3.Var("k", "i4", ("n",), np.arange(2, dtype="i4")),
        ],
        {},
    )
    group = read(make_file(writer, content))
    assert group.variables["c"].dims == ("x", "n")
    assert group.variables["c"].data.dtype == np.dtype("S1")
    np.testing.assert_array_equal(values(group.variables["c"]), chars)


def _interleaved_strings(nc3, make_file, writer):
    content = nc3.Content(
        {"t": None},
        [
            nc3.Var("c1", "S1", ("t",), np.frombuffer(b"hello", "S1").copy()),
            nc3.Var("c2", "S1", ("t",), np.frombuffer(b"world", "S1").copy()),
        ],
        {},
    )
    return make_file(writer, content)


def test_interleaved_record_strings_are_loaded(make_file, writer, nc3):
    path = _interleaved_strings(nc3, make_file, writer)
    group = read(path)
    for name, text in (("c1", b"hello"), ("c2", b"world")):
        var = group.variables[name]
        assert not var.is_virtual
        assert var.dims == ()
        assert var.data.dtype == np.dtype("S5")
        assert var.data[()] == text
    check_against(path, "netcdf4")


def test_interleaved_record_strings_over_the_limit(make_file, writer, nc3):
    path = _interleaved_strings(nc3, make_file, writer)
    with pytest.raises(UnsupportedFeatureError, match="c1"):
        read(path, max_loaded_bytes=3)


def test_streaming_record_count(make_file, writer, tmp_path, nc3):
    path = make_file(writer, nc3.sample_content(cdf5=writer.endswith("DATA"), scalar=False))
    expected = read(path)
    raw = bytearray(path.read_bytes())
    width = 8 if raw[3] == 5 else 4
    raw[4 : 4 + width] = b"\xff" * width
    streamed = tmp_path / "streamed.nc"
    streamed.write_bytes(bytes(raw))
    header = read_header(url_of(streamed))
    assert header.streaming
    assert header.numrecs == 4
    got = read(streamed)
    for name, var in expected.variables.items():
        np.testing.assert_array_equal(values(got.variables[name]), values(var), strict=True)


# -- chunking of large variables ----------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "row", "target", "expected"),
    [
        (10, 8, 1000, 10),  # fits: whole axis
        (365, 4_000_000, 32_000_000, 5),  # 8 rows would fit; 5 divides 365
        (360, 4_000_000, 32_000_000, 8),
        (367, 4_000_000, 32_000_000, 1),  # prime, but 1 row is within 8x of the ideal 8
        (1_000_003, 10, 32_000, 1_000_003),  # prime with tiny rows: stays whole
        (1024, 1, 100, 64),
        (1, 10**9, 10, 1),
        (12, 10, None, 12),
        (12, 10, 0, 12),
    ],
)
def test_outer_chunk(length, row, target, expected):
    got = outer_chunk(length, row, target)
    assert got == expected
    assert length % got == 0


def test_large_fixed_variables_split_on_outer_axis(make_file, writer, nc3):
    a = np.arange(12 * 4 * 5, dtype="f8").reshape(12, 4, 5)
    r = np.arange(3 * 6 * 2, dtype="i2").reshape(3, 6, 2)
    names = np.array([[b"x"] * 7] * 12, "S1")
    content = nc3.Content(
        {"t": None, "a": 12, "b": 4, "c": 5, "d": 6, "e": 2, "s": 7},
        [
            nc3.Var("a", "f8", ("a", "b", "c"), a),
            nc3.Var("names", "S1", ("a", "s"), names),
            nc3.Var("r", "i2", ("t", "d", "e"), r),
            nc3.Var("r2", "f4", ("t",), np.ones(3, "f4")),
        ],
        {},
    )
    path = make_file(writer, content)
    group = read(path, max_chunk_bytes=4 * 4 * 5 * 8)
    va = group.variables["a"].data
    assert va.metadata.chunk_shape == (4, 4, 5)
    assert va.manifest.grid_shape == (3, 1, 1)
    np.testing.assert_array_equal(np.diff(va.manifest.offsets.ravel()), 4 * 4 * 5 * 8)
    vn = group.variables["names"].data
    assert vn.metadata.chunk_shape == (12,)  # 84 bytes fit in the limit
    vr = group.variables["r"].data
    assert vr.metadata.chunk_shape == (1, 6, 2)
    group = read(path, max_chunk_bytes=8)
    assert group.variables["r"].data.metadata.chunk_shape == (1, 2, 2)
    assert group.variables["r"].data.manifest.grid_shape == (3, 3, 1)
    assert group.variables["names"].data.metadata.chunk_shape == (1,)
    for g in (group, read(path, max_chunk_bytes=None)):
        for name, expected in {"a": a, "r": r}.items():
            np.testing.assert_array_equal(values(g.variables[name]), expected, strict=False)
    assert read(path, max_chunk_bytes=None).variables["a"].data.metadata.chunk_shape == (12, 4, 5)


# -- metadata ------------------------------------------------------------------------------


def test_fill_values(sample_file, writer):
    path, _ = sample_file
    group = read(path)

    def fill(name: str) -> Any:
        return group.variables[name].data.metadata.fill_value

    assert fill("float_f") == -999.0
    assert fill("short_f") == -1
    assert fill("int_f") == -2147483647  # NC_FILL_INT
    assert fill("int_nofill") == -2147483647
    assert "_FillValue" not in group.variables["int_nofill"].attrs
    assert fill("byte_f") == -127
    assert fill("rec_f4") == float(np.float32(1e20))
    assert fill("rec_f8") == 9.9692099683868690e36
    assert fill("rec_i2") == -32767
    assert math.isnan(fill("double_f"))
    assert fill("names") is None
    if writer.endswith("DATA"):
        assert fill("ubyte_f") == 254
        assert fill("ushort_f") == 65535
        assert fill("uint_f") == 4294967295
        assert fill("int64_f") == -(2**62)
        assert fill("uint64_f") == 18446744073709551614


def test_metadata_is_plain(sample_file):
    path, _ = sample_file
    url = url_of(path)
    group = read(path)
    for name, var in group.variables.items():
        if not var.is_virtual:
            continue
        meta = var.data.metadata
        assert meta.codecs == ()
        assert meta.dimension_names == var.dims
        assert var.data.manifest.paths == (url,), name
        if meta.dtype.kind in "iuf" and meta.dtype.itemsize > 1:
            assert meta.dtype.byteorder == ">", name


def test_char_fill_value(make_file, writer, nc3):
    vals = np.array([[b"a", b"b"], [b"c", b"d"]], "S1")
    path = make_file(
        writer,
        nc3.Content(
            {"x": 2, "s": 2}, [nc3.Var("c", "S1", ("x", "s"), vals, {"_FillValue": b"*"})], {}
        ),
    )
    var = read(path).variables["c"]
    assert var.data.metadata.fill_value == b"**"
    assert var.attrs["_FillValue"] == "*"


def test_scipy_scalar_next_to_records_is_corrupt(tmp_path, nc3):
    from scipy.io import netcdf_file

    path = tmp_path / "scipy-scalar.nc"
    with netcdf_file(path, "w", version=1) as f:
        f.createDimension("t", None)
        r = f.createVariable("r", "i", ("t",))
        r[0:3] = [1, 2, 3]
        s = f.createVariable("s", "d", ())
        s.data[()] = 42.5
    with pytest.raises(CorruptFileError, match="'s' overlaps the record data"):
        read(path)
    with pytest.raises(OSError, match="Unknown file format"):  # netCDF-C refuses it too
        netCDF4.Dataset(path)


def test_scalar_char(make_file, writer, nc3):
    path = make_file(writer, nc3.Content({}, [nc3.Var("c", "S1", (), np.array(b"z", "S1"))], {}))
    var = read(path).variables["c"]
    assert var.dims == ()
    assert var.data.dtype == np.dtype("S1")
    assert values(var)[()] == b"z"
    check_against(path, "netcdf4")


# -- access paths ----------------------------------------------------------------------------


def test_remote_url_through_fsspec(sample_file):
    import fsspec

    path, _ = sample_file
    fs = fsspec.filesystem("memory")
    fs.pipe("/nc3/sample.nc", path.read_bytes())
    try:
        group = Netcdf3Reader().read("memory://nc3/sample.nc")
        local = read(path)
        for name, var in local.variables.items():
            other = group.variables[name]
            if var.is_virtual:
                assert other.data.manifest.paths == ("memory://nc3/sample.nc",)
            np.testing.assert_array_equal(values(other), values(var), strict=True)
    finally:
        fs.rm("/nc3", recursive=True)


class CountingSource:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.reads: list[tuple[int, int]] = []

    @property
    def size(self) -> int:
        return len(self.data)

    def read(self, start: int, stop: int) -> bytes:
        self.reads.append((start, stop))
        return self.data[start:stop]


def test_header_read_in_blocks(sample_file):
    path, _ = sample_file
    data = path.read_bytes()
    whole = parse_header(CountingSource(data), "x")
    src = CountingSource(data)
    small = parse_header(src, "x", block_size=64)
    assert small == whole
    assert len(src.reads) > 1
    assert src.reads[-1][1] < whole.header_size * 2 + 64  # never much past the header
    src = CountingSource(data)
    parse_header(src, "x")
    assert len(src.reads) == 1  # the default block holds these headers
    assert src.reads[0] == (0, len(data))  # capped at the file size


def test_long_header(tmp_path):
    path = tmp_path / "long.nc"
    with netCDF4.Dataset(path, "w", format="NETCDF3_64BIT_OFFSET") as ds:
        ds.createDimension("x", 2)
        ds.history = "h" * 200_000
        for i in range(300):
            v = ds.createVariable(f"v{i:03d}", "f4", ("x",))
            v.long_name = f"variable number {i}" * 10
            v[:] = [i, -i]
    src = CountingSource(path.read_bytes())
    header = parse_header(src, "x")
    assert header.header_size > 200_000
    assert 2 < len(src.reads) < 10
    group = read(path)
    assert len(group.attrs["history"]) == 200_000
    np.testing.assert_array_equal(values(group.variables["v299"]), [299, -299])


def test_no_data_read_at_scan_time(sample_file, monkeypatch):
    path, _ = sample_file
    calls = []
    original = _SourceBytes.read

    def spy(self, start, stop):
        calls.append((start, stop))
        return original(self, start, stop)

    monkeypatch.setattr(_SourceBytes, "read", spy)
    read(path, header_block_size=128)
    header = read_header(url_of(path))
    assert max(stop for _, stop in calls) <= max(2 * header.header_size, header.header_size + 128)


# -- options and plugin ----------------------------------------------------------------------


def test_group_must_be_root(sample_file):
    path, _ = sample_file
    assert read(path, group="/").variables
    with pytest.raises(UnsupportedFeatureError, match="only a root group"):
        read(path, group="sub")


def test_options_are_checked(sample_file):
    path, _ = sample_file
    with pytest.raises(TypeError, match="max_chunk_bytes"):
        read(path, chunk_bytes=3)
    for bad in (
        {"max_chunk_bytes": -1},
        {"max_chunk_bytes": "32MB"},
        {"header_block_size": 0},
        {"max_loaded_bytes": None},
        {"max_chunk_bytes": True},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            read(path, **bad)
    assert read(path, max_chunk_bytes=np.int64(1000), header_block_size=16).variables


def test_sniff():
    assert Netcdf3Reader.sniff(b"CDF\x01\x00\x00", "x.bin")
    assert Netcdf3Reader.sniff(b"CDF\x02", "x")
    assert Netcdf3Reader.sniff(b"CDF\x05", "x")
    assert not Netcdf3Reader.sniff(b"CDF\x03", "x.nc")
    assert not Netcdf3Reader.sniff(b"\x89HDF\r\n\x1a\n", "x.nc")


def test_reader_found_by_magic_bytes(sample_file, tmp_path, monkeypatch):
    import vzcore
    from vzcore import plugins

    monkeypatch.setenv("VZCORE_PLUGINS", "netcdf3")  # other plugins may be half-installed
    path, _ = sample_file
    odd = tmp_path / "no-extension"
    shutil.copy(path, odd)
    head = odd.read_bytes()[: plugins.head_size()]
    vzcore.refresh_plugins()
    spec = plugins.find_reader(url_of(odd), head)
    assert spec.name == "netcdf3"
    assert spec.load_class() is Netcdf3Reader
    assert "netcdf3" in [p.name for p in vzcore.list_plugins()]
    monkeypatch.undo()
    vzcore.refresh_plugins()


def test_plugin_import_is_light():
    code = (
        "import sys, vz_netcdf3.plugin\n"
        "heavy = {'vz_netcdf3._reader', 'vz_netcdf3._header', 'netCDF4', 'scipy', 'fsspec', "
        "'h5py', 'xarray'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # vzcore itself may import xarray/fsspec; the plugin adds nothing of its own.
    loaded = set(json.loads(out.stdout.strip().replace("'", '"')))
    assert not loaded & {"vz_netcdf3._reader", "vz_netcdf3._header", "netCDF4", "scipy"}
