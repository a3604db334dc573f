"""The kerchunk JSON writer, read back with fsspec + zarr and with kerchunk's xarray engine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("vz_kerchunk")
xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")
pytest.importorskip("kerchunk")
fsspec = pytest.importorskip("fsspec")

from vzcore.errors import OptionError, WriteError
from vzcore.group import ManifestGroup, Variable
from vzcore.testing.samples import write_sample_files

from vz_kerchunk import KerchunkWriter

from .conftest import ChunkFile, assert_same, netcdf_group, reopen

SHUFFLE_ZLIB = ({"id": "shuffle", "elementsize": 4}, {"id": "zlib", "level": 4})


def write_json(group: ManifestGroup, tmp_path: Path, name: str = "refs.json", **kw) -> str:
    out = str(tmp_path / name)
    assert KerchunkWriter().write(group, out, **kw) is None
    return out


def load_refs(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def zdoc(refs: dict, key: str) -> dict:
    return json.loads(refs["refs"][key])


# -- virtual variables over hand-written chunks ---------------------------------------------------


def test_codecs_raw_zlib_shuffle_and_big_endian(tmp_path, chunk_file):
    # zarr-python returns big-endian arrays in native byte order: values and kind are kept.
    rng = np.random.default_rng(0)
    a = rng.normal(size=(7, 10)).astype("<f4")
    b = rng.integers(-500, 500, (5, 3)).astype(">i2")
    c = np.arange(9, dtype="<f8")
    group = ManifestGroup(
        variables={
            "a": Variable(("y", "x"), chunk_file.array(a, (3, 4), SHUFFLE_ZLIB), {"units": "K"}),
            "b": Variable(("p", "q"), chunk_file.array(b, (2, 2)), {}),
            "c": Variable(("n",), chunk_file.array(c, (4,), ({"id": "zlib", "level": 1},)), {}),
        },
        attrs={"title": "codecs", "history": "made by hand"},
    )
    out = write_json(group, tmp_path)
    refs = load_refs(out)
    za = zdoc(refs, "a/.zarray")
    assert za["filters"] == [SHUFFLE_ZLIB[0]]
    assert za["compressor"] == SHUFFLE_ZLIB[1]
    assert zdoc(refs, "b/.zarray")["filters"] is None
    assert zdoc(refs, "b/.zarray")["compressor"] is None
    assert zdoc(refs, "b/.zarray")["dtype"] == ">i2"
    assert refs["refs"]["a/2.2"][1:] != [0, 0]
    expected = xr.Dataset(
        {"a": (("y", "x"), a, {"units": "K"}), "b": (("p", "q"), b.astype("=i2")), "c": ("n", c)},
        attrs={"title": "codecs", "history": "made by hand"},
    )
    for ds in reopen(out):
        assert_same(ds, expected)


def test_int_without_fillvalue_keeps_zeros_and_stays_int(tmp_path, chunk_file):
    counts = np.zeros((4, 6), dtype="<i4")
    counts[:2, :3] = [[0, 1, 2], [3, 0, 5]]
    arr = chunk_file.array(counts, (2, 3), missing=[(1, 0), (1, 1), (0, 1)])
    group = ManifestGroup(variables={"counts": Variable(("t", "x"), arr, {"long_name": "n"})})
    out = write_json(group, tmp_path)
    refs = load_refs(out)
    assert zdoc(refs, "counts/.zarray")["fill_value"] is None
    assert "counts/1.0" not in refs["refs"]
    assert "counts/0.1" not in refs["refs"]
    for ds in reopen(out):
        assert ds["counts"].dtype == np.dtype("<i4")
        assert "_FillValue" not in ds["counts"].attrs
        assert "_FillValue" not in ds["counts"].encoding
        np.testing.assert_array_equal(ds["counts"].values, counts)


def test_float_fillvalue_nan_masks_and_missing_chunks_read_nan(tmp_path, chunk_file):
    a = np.arange(12, dtype="<f4").reshape(3, 4)
    a[0, 0] = np.nan
    arr = chunk_file.array(a, (2, 2), SHUFFLE_ZLIB, fill_value=float("nan"), missing=[(1, 1)])
    group = ManifestGroup(
        variables={"v": Variable(("y", "x"), arr, {"_FillValue": float("nan"), "units": "m"})}
    )
    out = write_json(group, tmp_path)
    refs = load_refs(out)
    assert zdoc(refs, "v/.zarray")["fill_value"] == "NaN"
    assert "_FillValue" not in zdoc(refs, "v/.zattrs")
    assert "v/1.1" not in refs["refs"]
    expected = a.copy()
    expected[2:, 2:] = np.nan
    for ds in reopen(out):
        assert ds["v"].dtype == np.dtype("<f4")
        np.testing.assert_array_equal(ds["v"].values, expected)
        assert np.isnan(ds["v"].encoding["_FillValue"])
        assert ds["v"].attrs == {"units": "m"}


def test_int_fillvalue_is_masked_like_netcdf(tmp_path, chunk_file):
    raw = np.array([[1, -999, 0], [4, 5, -999]], dtype="<i2")
    arr = chunk_file.array(raw, (1, 3), fill_value=-999, missing=())
    attrs = {"_FillValue": -999, "scale_factor": 0.5, "add_offset": 1.0}
    group = ManifestGroup(variables={"p": Variable(("y", "x"), arr, attrs)})
    out = write_json(group, tmp_path)
    assert zdoc(load_refs(out), "p/.zarray")["fill_value"] == -999
    decoded = np.where(raw == -999, np.nan, raw * 0.5 + 1.0)
    for ds in reopen(out):
        np.testing.assert_array_equal(ds["p"].values, decoded)
        assert ds["p"].encoding["dtype"] == np.dtype("<i2")
    for ds in reopen(out, mask_and_scale=False):
        np.testing.assert_array_equal(ds["p"].values, raw)
        assert ds["p"].dtype == np.dtype("<i2")


@pytest.mark.parametrize("codecs", [(), SHUFFLE_ZLIB], ids=["raw", "shuffle-zlib"])
def test_missing_chunks_whose_fill_zarr_would_not_return_are_filled(tmp_path, chunk_file, codecs):
    # The source reads missing chunks as -1 but has no _FillValue: zarr would read 0.
    a = np.arange(1, 13, dtype="<i4").reshape(3, 4)
    arr = chunk_file.array(a, (2, 2), codecs, fill_value=-1, missing=[(0, 1), (1, 0)])
    group = ManifestGroup(variables={"v": Variable(("y", "x"), arr, {})})
    out = write_json(group, tmp_path)
    refs = load_refs(out)
    assert refs["refs"]["v/0.1"].startswith("base64:")
    assert refs["refs"]["v/1.0"] == refs["refs"]["v/0.1"]
    expected = a.copy()
    expected[:2, 2:] = -1
    expected[2:, :2] = -1
    for ds in reopen(out):
        assert ds["v"].dtype == np.dtype("<i4")
        np.testing.assert_array_equal(ds["v"].values, expected)

    with pytest.raises(WriteError, match=r"'v'.*missing"):
        KerchunkWriter().write(group, str(tmp_path / "strict.json"), missing_chunks="error")
    assert not (tmp_path / "strict.json").exists()


def test_missing_chunks_of_a_different_fillvalue_attribute_are_filled(tmp_path, chunk_file):
    # _FillValue attribute -9999, but the file's own fill value is 0: zarr would read -9999.
    a = np.arange(8, dtype="<f4")
    arr = chunk_file.array(a, (4,), fill_value=0.0, missing=[(1,)])
    group = ManifestGroup(variables={"v": Variable(("x",), arr, {"_FillValue": -9999.0})})
    out = write_json(group, tmp_path)
    for ds in reopen(out, mask_and_scale=False):
        np.testing.assert_array_equal(ds["v"].values, [0, 1, 2, 3, 0, 0, 0, 0])


def test_fillvalue_attribute_that_cannot_be_zarr_fill_value_stays_an_attribute(
    tmp_path, chunk_file
):
    a = np.array([1, 2, 3, 4], dtype="<i2")
    arr = chunk_file.array(a, (2,))
    group = ManifestGroup(variables={"v": Variable(("x",), arr, {"_FillValue": 1e10})})
    out = write_json(group, tmp_path)
    refs = load_refs(out)
    assert zdoc(refs, "v/.zarray")["fill_value"] is None
    assert zdoc(refs, "v/.zattrs")["_FillValue"] == 1e10


# -- scalars, in-memory variables, groups ---------------------------------------------------------


def test_scalars_virtual_and_in_memory(tmp_path, chunk_file):
    virtual = chunk_file.array(np.array(42.5, dtype="<f8"), ())
    group = ManifestGroup(
        variables={
            "s": Variable((), virtual, {"units": "m"}),
            "crs": Variable((), np.array(7, dtype="<i4"), {"grid_mapping_name": "latitude"}),
        }
    )
    out = write_json(group, tmp_path)
    refs = load_refs(out)
    assert refs["refs"]["s/0"][0] in (chunk_file.url, "{{u0}}")
    assert refs["refs"]["crs/0"].startswith("base64:")
    assert "s/" not in refs["refs"]
    assert zdoc(refs, "s/.zarray")["chunks"] == []
    assert zdoc(refs, "s/.zarray")["shape"] == []
    expected = xr.Dataset(
        {
            "s": ((), np.float64(42.5), {"units": "m"}),
            "crs": ((), np.int32(7), {"grid_mapping_name": "latitude"}),
        }
    )
    for ds in reopen(out):
        assert_same(ds, expected)


def test_in_memory_variables_are_written_as_data(tmp_path):
    time = np.array([0, 1, 2, 31], dtype="<i8")
    group = ManifestGroup(
        variables={
            "time": Variable(
                ("time",),
                time,
                {"units": "days since 2000-01-01", "calendar": "proleptic_gregorian"},
            ),
            "lat": Variable(("lat",), np.array([-45.0, 0.0, 45.0]), {"units": "degrees_north"}),
            "grid": Variable(("lat", "time"), np.arange(12, dtype=">i2").reshape(3, 4), {}),
            "flag": Variable(("time",), np.array([True, False, True, True]), {}),
            "station": Variable(("lat",), np.array(["Oslo", "Zürich", ""], dtype=object), {}),
            "code": Variable(("lat",), np.array([b"ab", b"c", b""], dtype="S2"), {}),
            "uname": Variable(("lat",), np.array(["xé", "y", "zz"], dtype="<U2"), {}),
            "empty": Variable(("none",), np.zeros((0,), dtype="<f4"), {}),
        }
    )
    out = write_json(group, tmp_path)
    refs = load_refs(out)
    assert zdoc(refs, "time/.zarray")["compressor"] is None
    assert zdoc(refs, "station/.zarray")["filters"] == [{"id": "vlen-utf8"}]
    assert not any(k.startswith("empty/") and "." not in k for k in refs["refs"])
    for ds in reopen(out):
        assert ds["time"].dtype == np.dtype("datetime64[ns]")
        np.testing.assert_array_equal(
            ds["time"].values,
            np.array(["2000-01-01", "2000-01-02", "2000-01-03", "2000-02-01"], "datetime64[ns]"),
        )
        assert ds["time"].encoding["units"] == "days since 2000-01-01"
        np.testing.assert_array_equal(ds["lat"].values, [-45.0, 0.0, 45.0])
        np.testing.assert_array_equal(ds["grid"].values, np.arange(12).reshape(3, 4))
        assert ds["grid"].dtype == np.dtype("=i2")  # zarr reads big-endian as native
        assert ds["flag"].dtype == bool
        np.testing.assert_array_equal(ds["flag"].values, [True, False, True, True])
        assert ds["station"].values.tolist() == ["Oslo", "Zürich", ""]
        assert ds["code"].dtype == np.dtype("S2")
        assert ds["code"].values.tolist() == [b"ab", b"c", b""]
        assert ds["uname"].dtype == np.dtype("<U2")
        assert ds["uname"].values.tolist() == ["xé", "y", "zz"]
        assert ds["empty"].shape == (0,)


def test_child_groups(tmp_path, chunk_file):
    a = np.arange(6, dtype="<f4")
    inner = ManifestGroup(
        variables={"v": Variable(("x",), chunk_file.array(a, (4,), SHUFFLE_ZLIB), {"units": "s"})},
        attrs={"level": 2},
        groups={"deeper": ManifestGroup(variables={"w": Variable(("z",), np.arange(3), {})})},
    )
    root = ManifestGroup(
        variables={"top": Variable(("x",), np.arange(6, dtype="<i4"), {})},
        attrs={"level": 1},
        groups={"sub": inner},
    )
    out = write_json(root, tmp_path)
    refs = load_refs(out)["refs"]
    for key in (
        "sub/.zgroup",
        "sub/.zattrs",
        "sub/v/.zarray",
        "sub/v/0",
        "sub/v/1",
        "sub/deeper/.zgroup",
        "sub/deeper/w/0",
    ):
        assert key in refs, key
    assert "sub/v/.zarray" in json.loads(refs[".zmetadata"])["metadata"]
    m = fsspec.filesystem("reference", fo=out).get_mapper("")
    root_ds = xr.open_dataset(m, engine="zarr")
    assert set(root_ds.variables) == {"top"}
    assert root_ds.attrs == {"level": 1}
    for ds in (
        xr.open_dataset(m, engine="zarr", group="sub"),
        xr.open_dataset(out, engine="kerchunk", group="sub"),
    ):
        assert_same(ds, xr.Dataset({"v": ("x", a, {"units": "s"})}, attrs={"level": 2}))
    tree = xr.open_datatree(m, engine="zarr")
    np.testing.assert_array_equal(tree["sub/deeper/w"].values, np.arange(3))


# -- a real netCDF4 file, referenced through h5py's chunk index ----------------------------------


def test_netcdf4_file_round_trip_equals_netcdf4_engine(tmp_path):
    pytest.importorskip("h5py")
    pytest.importorskip("netCDF4")
    # zlib + shuffle float32 with _FillValue and NaNs, int32 without _FillValue, CF-packed
    # int16, a contiguous static variable and an int32 CF time axis
    (path,) = write_sample_files(tmp_path, n_files=1)
    group = netcdf_group(path, loadable=("time",))
    out = write_json(group, tmp_path)
    with xr.open_dataset(path, engine="netcdf4") as expected:
        for got in reopen(out):
            assert_same(got, expected)
            assert int(got["temp"].isnull().sum()) == 3
            assert got["counts"].dtype == np.dtype("i4")


# -- templates, dict output, equivalence of the two serialisations --------------------------------


def test_templates_shrink_output_and_both_engines_resolve_them(tmp_path):
    files = [ChunkFile(tmp_path / f"part_{i}_with_a_long_descriptive_name.bin") for i in range(3)]
    parts = [np.arange(i * 40, (i + 1) * 40, dtype="<f8") for i in range(3)]
    arrays = [f.array(p, (5,)) for f, p in zip(files, parts, strict=True)]
    combined = np.concatenate(arrays)
    group = ManifestGroup(variables={"x": Variable(("n",), combined, {})})
    with_t = write_json(group, tmp_path, "with.json", templates=True)
    without = write_json(group, tmp_path, "without.json")  # the default: URLs spelled out
    refs = load_refs(with_t)
    assert set(refs["templates"]) == {"u0", "u1", "u2"}
    assert set(refs["templates"].values()) == {f.url for f in files}
    assert refs["refs"]["x/0"][0].startswith("{{u")
    assert "templates" not in load_refs(without)
    assert load_refs(without)["refs"]["x/0"][0] == files[0].url
    assert Path(with_t).stat().st_size < Path(without).stat().st_size
    expected = xr.Dataset({"x": ("n", np.concatenate(parts))})
    for target in (with_t, without):
        for ds in reopen(target):
            assert_same(ds, expected)


def test_template_only_where_it_pays(tmp_path, chunk_file):
    group = ManifestGroup(
        variables={"x": Variable(("n",), chunk_file.array(np.arange(3.0), (3,)), {})}
    )
    refs = KerchunkWriter().write(group, None, format="dict", templates=True)
    assert "templates" not in refs  # a URL used once is cheaper spelled out
    assert refs["refs"]["x/0"][0] == chunk_file.url


def test_url_with_braces_disables_templates(tmp_path):
    f = ChunkFile(tmp_path / "odd{{name}} .bin")
    group = ManifestGroup(variables={"x": Variable(("n",), f.array(np.arange(20.0), (2,)), {})})
    out = write_json(group, tmp_path, templates=True)
    assert "templates" not in load_refs(out)
    for ds in reopen(out):
        np.testing.assert_array_equal(ds["x"].values, np.arange(20.0))


def test_dict_format_equals_json_file(tmp_path, chunk_file):
    a = np.arange(30, dtype="<i2").reshape(5, 6)
    group = ManifestGroup(
        variables={
            "a": Variable(
                ("y", "x"), chunk_file.array(a, (2, 2), fill_value=-5, missing=[(0, 0)]), {}
            ),
            "t": Variable(("y",), np.arange(5), {"units": "days since 2001-01-01"}),
            'wärme "q"': Variable(("x",), chunk_file.array(np.arange(6.0), (4,)), {"n": "ü"}),
        },
        groups={
            "g": ManifestGroup(
                variables={"b": Variable(("x",), chunk_file.array(np.arange(6.0), (3,)), {})}
            )
        },
    )
    refs = KerchunkWriter().write(group, None, format="dict")
    out = write_json(group, tmp_path)
    assert load_refs(out) == refs
    assert refs["version"] == 1
    m = fsspec.filesystem("reference", fo=refs).get_mapper("")
    ds = xr.open_dataset(m, engine="zarr")
    assert int(ds["a"].values[0, 0]) == -5
    np.testing.assert_array_equal(ds['wärme "q"'].values, np.arange(6.0))


def test_large_manifest_is_fast(tmp_path):
    import time

    from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray

    # 120,000 chunks over two files; a real 4-byte-chunk file so reads can be checked.
    n = 120_000
    values = np.arange(n, dtype="<i4")
    path = tmp_path / "many.bin"
    path.write_bytes(values.tobytes())
    url = path.absolute().as_uri()
    grid = (300, 400)
    meta = ArrayMetadata((300, 400), np.dtype("<i4"), (1, 1))
    manifest = ChunkManifest(
        [url],
        np.zeros(grid, np.uint8),
        np.arange(n, dtype=np.uint64).reshape(grid) * 4,
        np.full(grid, 4, np.uint64),
    )
    group = ManifestGroup(variables={"v": Variable(("y", "x"), ManifestArray(meta, manifest), {})})
    out = str(tmp_path / "many.json")
    t0 = time.perf_counter()
    KerchunkWriter().write(group, out)
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.0, elapsed  # ~0.1 s here
    refs = load_refs(out)
    assert len(refs["refs"]) == n + 5
    assert refs["refs"]["v/299.399"] == [url, (n - 1) * 4, 4]
    assert "templates" not in refs  # fsspec would expand 120,000 of them at every open
    m = fsspec.filesystem("reference", fo=out).get_mapper("")
    ds = xr.open_dataset(m, engine="zarr")
    np.testing.assert_array_equal(ds["v"][-2:, -3:].values, values.reshape(grid)[-2:, -3:])


# -- atomicity and modes ---------------------------------------------------------------------------


@pytest.fixture
def small_group(chunk_file) -> ManifestGroup:
    arrays = {
        f"v{i}": Variable(("x",), chunk_file.array(np.arange(8.0) + i, (2,)), {}) for i in range(3)
    }
    return ManifestGroup(variables=arrays)


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@contextmanager
def _failed_write_keeps_old_file(
    directory: Path, exc: type[BaseException], match: str | None = None
) -> Iterator[Path]:
    """Yield ``refs.json`` holding old content; the block must raise ``exc`` (``match``).

    Afterwards the old content is still there and no temporary file is left.
    """
    out = directory / "refs.json"
    out.write_text("OLD CONTENT")
    with pytest.raises(exc, match=match):
        yield out
    assert out.read_text() == "OLD CONTENT"
    assert _leftovers(directory) == []


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt, OSError])
def test_exception_mid_write_leaves_old_file_and_no_temp(tmp_path, small_group, monkeypatch, exc):
    from vz_kerchunk import _writer

    real = _writer._array_entries_json
    calls = {"n": 0}

    def failing(arr, tokens):
        calls["n"] += 1
        if calls["n"] == 2:  # the first array is already in the temporary file
            raise exc("injected")
        yield from real(arr, tokens)

    monkeypatch.setattr(_writer, "_array_entries_json", failing)
    expected_exc = WriteError if exc is OSError else exc
    with _failed_write_keeps_old_file(tmp_path, expected_exc) as out:
        KerchunkWriter().write(small_group, str(out), mode="w")
    assert calls["n"] == 2


def test_failure_at_rename_leaves_old_file(tmp_path, small_group, monkeypatch):
    import os

    def broken_replace(src, dst):
        raise PermissionError("injected")

    monkeypatch.setattr(os, "replace", broken_replace)
    with _failed_write_keeps_old_file(tmp_path, WriteError, match="injected") as out:
        KerchunkWriter().write(small_group, str(out), mode="w")


def test_unwritable_tree_fails_before_touching_the_target(tmp_path, small_group):
    small_group.variables["bad"] = Variable(("x",), np.arange(8.0), {"blob": b"\xff\xfe"})
    with _failed_write_keeps_old_file(tmp_path, WriteError, match="blob") as out:
        KerchunkWriter().write(small_group, str(out), mode="w")


def test_modes(tmp_path, small_group):
    out = tmp_path / "refs.json"
    KerchunkWriter().write(small_group, str(out))
    first = out.read_text()
    with pytest.raises(WriteError, match=r"already exists.*mode='w'"):
        KerchunkWriter().write(small_group, str(out))
    with pytest.raises(WriteError, match="already exists"):
        KerchunkWriter().write(small_group, str(out), mode="w-")
    assert out.read_text() == first
    small_group.attrs["new"] = 1
    KerchunkWriter().write(small_group, out.as_uri(), mode="w")  # file:// URL target
    assert json.loads(load_refs(str(out))["refs"][".zattrs"]) == {"new": 1}
    assert _leftovers(tmp_path) == []
    with pytest.raises(OptionError, match="mode='a'"):
        KerchunkWriter().write(small_group, str(tmp_path / "x.json"), mode="a")


def test_bad_targets_and_options(tmp_path, small_group):
    w = KerchunkWriter()
    with pytest.raises(WriteError, match="does not exist"):
        w.write(small_group, str(tmp_path / "no" / "such" / "dir.json"))
    with pytest.raises(WriteError, match="directory"):
        w.write(small_group, str(tmp_path), mode="w")
    with pytest.raises(WriteError, match="remote targets"):
        w.write(small_group, "s3://bucket/refs.json")
    with pytest.raises(ValueError, match="target=None"):
        w.write(small_group, str(tmp_path / "a.json"), format="dict")
    with pytest.raises(ValueError, match="vz-parquet"):
        w.write(small_group, str(tmp_path / "a"), format="parquet")
    with pytest.raises(ValueError, match="needs a target"):
        w.write(small_group, None)
    with pytest.raises(OptionError, match=r"zarr_format=4: pass 2 or 3"):
        w.write(small_group, None, format="dict", zarr_format=4)


def test_names_and_attributes(tmp_path, chunk_file):
    arr = chunk_file.array(np.arange(4.0), (2,))
    attrs = {
        "valid_range": np.array([0.0, 10.0]),
        "count": np.int64(3),
        "missing_value": np.nan,
        "flag": np.bool_(True),
        "text": b"bytes as text",
    }
    group = ManifestGroup(variables={"v": Variable(("x",), arr, attrs)})
    out = write_json(group, tmp_path)
    zattrs = zdoc(load_refs(out), "v/.zattrs")
    assert zattrs["valid_range"] == [0.0, 10.0]
    assert zattrs["count"] == 3
    assert zattrs["text"] == "bytes as text"
    assert zattrs["flag"] is True
    for ds in reopen(out):
        np.testing.assert_array_equal(ds["v"].values, np.arange(4.0))
    bad = ManifestGroup(variables={"a/b": Variable(("x",), arr, {})})
    with pytest.raises(WriteError, match="'a/b'"):
        KerchunkWriter().write(bad, None, format="dict")
    clash = ManifestGroup(variables={"g": Variable(("x",), arr, {})}, groups={"g": ManifestGroup()})
    with pytest.raises(WriteError, match="both a variable and a child group"):
        KerchunkWriter().write(clash, None, format="dict")
    mixed = ManifestGroup(variables={"o": Variable(("x",), np.array([1, "a"], dtype=object), {})})
    with pytest.raises(WriteError, match="object array"):
        KerchunkWriter().write(mixed, None, format="dict")


# The shared WriterTests suite runs in test_kerchunk_writer_suite.py.


def test_huge_fill_chunks_are_refused(tmp_path, chunk_file, monkeypatch):
    from vzcore.manifests import zarr_v2

    monkeypatch.setattr(zarr_v2, "MAX_FILL_BYTES", 100)
    arr = chunk_file.array(np.arange(64.0), (16,), fill_value=7.0, missing=[(1,), (2,)])
    group = ManifestGroup(variables={"v": Variable(("x",), arr, {})})
    with pytest.raises(WriteError, match=r"'v'.*256 bytes"):
        KerchunkWriter().write(group, None, format="dict")
