"""Valid HDF5 files from the wild: every value as h5py reads it, or one precise error.

Each class of issue 16 (scalar and non-UTF-8 variable-length strings, fixed-length strings
that h5py cuts, long double, the HDF5 time type, names that are not UTF-8, one unsupported
variable among good ones, external links, virtual datasets) and the filter message of issue
12 item 12, on small files written by h5py, read back through kerchunk JSON references with
fsspec + zarr and compared with h5py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
zarr = pytest.importorskip("zarr")
fsspec = pytest.importorskip("fsspec")
pytest.importorskip("vz_kerchunk")

import vzcore
from vzcore._urls import to_url
from vzcore.errors import (
    UnsupportedFeatureError,
    UnsupportedPartsError,
    VZSkippedPartsWarning,
)
from vzcore.manifests import ManifestArray
from vzcore.testing.outputs import icechunk_store

from vz_hdf5._reader import HDF5Reader


def _refs(path: Path, tmp_path: Path, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    """Open fully virtual, write kerchunk JSON, return the zarr group and the references."""
    vds = vzcore.open_virtual_dataset(str(path), loadable_variables=[], **kwargs)
    out = tmp_path / f"{path.stem}.json"
    vds.virtualize.to_kerchunk(str(out), format="json")
    fs = fsspec.filesystem("reference", fo=str(out))
    group = zarr.open_group(fs.get_mapper(""), mode="r", zarr_format=2)
    return group, json.loads(out.read_text())["refs"]


def _h5py_values(dset: Any) -> np.ndarray:
    """What h5py reads; variable-length strings as text where they are valid UTF-8."""
    values = np.asarray(dset[()], dtype=object if dset.dtype.kind == "O" else None)
    if values.dtype == object:
        try:
            return np.asarray(
                [v.decode("utf-8") for v in values.ravel().tolist()], dtype=object
            ).reshape(values.shape)
        except UnicodeDecodeError:
            return values
    return values


def _assert_equal(got: Any, dset: Any) -> None:
    expected = _h5py_values(dset)
    got = np.asarray(got)
    assert got.shape == expected.shape, dset.name
    if expected.dtype == object:
        assert got.ravel().tolist() == expected.ravel().tolist(), dset.name
    else:
        assert got.dtype == expected.dtype, (dset.name, got.dtype, expected.dtype)
        np.testing.assert_array_equal(got, expected, err_msg=str(dset.name))


# -- 1. variable-length strings ---------------------------------------------------------------


def test_scalar_and_array_vlen_strings(tmp_path: Path) -> None:
    path = tmp_path / "vlen.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("title", data="hello é", dtype=h5py.string_dtype())  # NWB/NeXus style
        f.create_dataset("ascii", data=b"plain", dtype=h5py.string_dtype("ascii"))
        f.create_dataset("latin", data=b"caf\xe9", dtype=h5py.string_dtype("ascii"))
        f.create_dataset(
            "grid",
            data=np.array([["a", "bé"], ["", "c" * 300]], dtype=object),
            dtype=h5py.string_dtype(),
            chunks=(1, 1),
            compression="gzip",
        )
        f.create_dataset(
            "bytes", data=np.array([b"a\xff", b"b", b""], dtype=object), dtype=h5py.string_dtype()
        )
        f.create_dataset(
            "empty", shape=(0,), dtype=h5py.string_dtype(), maxshape=(None,), chunks=(4,)
        )
        f.create_dataset("unwritten", shape=(5,), dtype=h5py.string_dtype(), chunks=(2,))
    group, _ = _refs(path, tmp_path)
    with h5py.File(path, "r") as f:
        assert set(group.array_keys()) == set(f)
        for name in f:
            _assert_equal(group[name][...], f[name])
    # valid UTF-8 reads as text (as netCDF4/h5netcdf give it), other bytes as the bytes
    assert group["title"][...] == "hello é"
    assert group["latin"][...] == b"caf\xe9"
    assert group["bytes"][...].tolist() == [b"a\xff", b"b", b""]


# -- 5. fixed-length strings ------------------------------------------------------------------


_PADS = {"nullterm": 0, "nullpad": 1, "spacepad": 2}
_STORED = [b"ab\x00cd ", b"xy  \x00 ", b"abcdef", b"  a   ", b"\x00\x00\x00\x00\x00\x00"]


def _fixed_strings(path: Path, values: list[bytes], chunked: bool = False) -> None:
    with h5py.File(path, "w") as f:
        for name, pad in _PADS.items():
            for cset in (h5py.h5t.CSET_ASCII, h5py.h5t.CSET_UTF8):
                tid = h5py.h5t.C_S1.copy()
                tid.set_size(6)
                tid.set_strpad(pad)
                tid.set_cset(cset)
                dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
                if chunked:
                    dcpl.set_chunk((2,))
                    dcpl.set_deflate(4)
                space = h5py.h5s.create_simple((len(values),))
                d = h5py.h5d.create(f.id, f"{name}_{cset}".encode(), tid, space, dcpl=dcpl)
                d.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array(values, dtype="S6"), mtype=tid)


@pytest.mark.parametrize("chunked", [False, True])
def test_fixed_strings_read_as_h5py_reads_them(tmp_path: Path, chunked: bool) -> None:
    path = tmp_path / "fixed.h5"
    _fixed_strings(path, _STORED, chunked)
    group, refs = _refs(path, tmp_path)
    with h5py.File(path, "r") as f:
        # h5py cuts NULLTERM strings at the NUL and strips SPACEPAD's spaces
        assert f["nullterm_0"][0] == b"ab"
        assert f["spacepad_0"][3] == b"  a"
        for name in f:
            _assert_equal(group[name][...], f[name])
    # NULLPAD strings read as stored: they stay references into the file
    assert isinstance(refs["nullpad_0/0"], list)
    assert not isinstance(refs["nullterm_0/0"], list)  # the cut values, inlined


def test_fixed_strings_without_stray_bytes_stay_virtual(tmp_path: Path) -> None:
    path = tmp_path / "clean.h5"
    _fixed_strings(path, [b"ab", b"abcdef", b""])
    group = HDF5Reader().read(to_url(path))
    for name in ("nullterm_0", "nullpad_1"):
        manifest = group.variables[name].data.manifest
        assert not manifest.inline
        assert manifest.paths == (to_url(path),)


def test_fixed_strings_too_large_to_inline(tmp_path: Path, monkeypatch: Any) -> None:
    import vz_hdf5._reader as reader

    monkeypatch.setattr(reader, "INLINE_LIMIT", 16)
    path = tmp_path / "fixed.h5"
    _fixed_strings(path, _STORED)
    with pytest.raises(UnsupportedPartsError, match=r"H5T_STR_NULLTERM\) holding bytes after"):
        HDF5Reader().read(to_url(path))
    # ... and load_unsupported gives exactly h5py's values
    group = HDF5Reader().read(to_url(path), load_unsupported=True)
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(group.variables["nullterm_0"].data, f["nullterm_0"][()])


# -- 6. long double, the time type, names that are not UTF-8 -----------------------------


def _wild_types(path: Path) -> None:
    with h5py.File(path, "w") as f:
        f.create_dataset("good", data=np.arange(4.0))
        f["good"].attrs["exact"] = np.longdouble(1.5)  # float64 holds it: kept
        f.create_dataset("ld", data=np.arange(4, dtype=np.longdouble))
        h5py.h5d.create(f.id, b"when", h5py.h5t.UNIX_D32LE, h5py.h5s.create_simple((3,)))


def test_long_double_and_time_type_are_named_together(tmp_path: Path) -> None:
    path = tmp_path / "types.h5"
    _wild_types(path)
    with pytest.raises(UnsupportedPartsError) as info:
        vzcore.open_virtual_dataset(str(path))
    err = info.value
    assert isinstance(err, UnsupportedFeatureError)  # what callers already catch
    assert [p.variable for p in err.parts] == ["/ld", "/when"]
    message = str(err)
    assert "long double" in message
    assert "H5T_TIME" in message
    assert "corrupt" not in message
    assert "drop_variables=['ld', 'when']" in message
    assert "reader_options={'skip_unsupported': True}" in message


def test_each_suggested_remedy_works(tmp_path: Path) -> None:
    path = tmp_path / "types.h5"
    _wild_types(path)
    # the reader's own drop_variables keyword (vzcore passes top-level drop_variables to it)
    group = HDF5Reader().read(to_url(path), drop_variables=["ld", "when"])
    assert set(group.variables) == {"good"}
    vds = vzcore.open_virtual_dataset(str(path), reader_options={"drop_variables": ["ld", "when"]})
    assert set(vds.variables) == {"good"}
    with pytest.warns(VZSkippedPartsWarning, match=r"'/ld'.*'/when'"):
        out, _ = _refs(path, tmp_path, reader_options={"skip_unsupported": True})
    with h5py.File(path, "r") as f:
        _assert_equal(out["good"][...], f["good"])
    assert out["good"].attrs["exact"] == 1.5


def test_one_unsupported_variable_reports_itself_with_both_remedies(tmp_path: Path) -> None:
    path = tmp_path / "one.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("good", data=np.arange(3))
        f.create_group("sub").create_dataset("ld", data=np.ones(2, np.longdouble))
    with pytest.raises(UnsupportedFeatureError, match="long double") as info:
        HDF5Reader().read(to_url(path))
    assert info.value.variable == "/sub/ld"
    assert "drop_variables=['/sub/ld']" in str(info.value)
    group = HDF5Reader().read(to_url(path), drop_variables=["/sub/ld"])
    assert set(group.groups["sub"].variables) == set()


def test_null_dataspace_datasets_are_named_with_why_and_skippable(tmp_path: Path) -> None:
    # h5py writes None as h5py.Empty (an H5S_NULL dataset): pyuvdata's UVH5 and refnx's ORSO
    # files hold several beside their real data; no zarr array is shapeless
    path = tmp_path / "uvh5like.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("good", data=np.arange(3.0))
        cat = f.create_group("Header").create_group("phase_center_catalog")
        cat.create_dataset("cat_dist", data=h5py.Empty("f8"))
        cat.create_dataset("cat_epoch", data=h5py.Empty("f8"))
    with pytest.raises(UnsupportedPartsError) as info:
        vzcore.open_virtual_datatree(str(path), loadable_variables=[])
    message = str(info.value)
    assert "'/Header/phase_center_catalog/cat_dist'" in message
    assert "'/Header/phase_center_catalog/cat_epoch'" in message
    assert "every zarr array has a shape" in message
    assert "reader_options={'skip_unsupported': True}" in message
    with pytest.warns(VZSkippedPartsWarning, match="cat_dist"):
        tree = vzcore.open_virtual_datatree(
            str(path), loadable_variables=[], reader_options={"skip_unsupported": True}
        )
    refs = tree.virtualize.to_kerchunk(format="dict")
    out = zarr.open_group(fsspec.filesystem("reference", fo=refs).get_mapper(""), mode="r")
    assert "cat_dist" not in out["Header/phase_center_catalog"]
    with h5py.File(path, "r") as f:
        _assert_equal(out["good"][...], f["good"])


def test_inexact_long_double_attribute(tmp_path: Path) -> None:
    path = tmp_path / "attr.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("v", data=np.arange(3))
        f["v"].attrs["third"] = np.longdouble(1) / np.longdouble(3)
    with pytest.raises(UnsupportedFeatureError, match=r"attribute 'third'.*long double"):
        HDF5Reader().read(to_url(path))
    with pytest.warns(VZSkippedPartsWarning, match="third"):
        group = HDF5Reader().read(to_url(path), skip_unsupported=True)
    assert "third" not in group.variables["v"].attrs  # only the attribute is left out
    assert isinstance(group.variables["v"].data, ManifestArray)


def test_dropped_variables_are_never_parsed(tmp_path: Path) -> None:
    path = tmp_path / "drop.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("good", data=np.arange(3))
        h5py.h5d.create(f.id, b"when", h5py.h5t.UNIX_D32LE, h5py.h5s.create_simple((3,)))
        f["gone"] = h5py.ExternalLink("missing.h5", "/x")
    group = HDF5Reader().read(to_url(path), drop_variables=["when", "gone"])
    assert set(group.variables) == {"good"}


def test_names_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset(b"caf\xe9", data=np.arange(3))
        f.attrs[b"r\xe9sum\xe9"] = "text"
        g = f.create_group(b"gr\xfcn")
        g.create_dataset(b"\xb5m", data=np.arange(2.0), chunks=(1,))
        g[b"\xb5m"].attrs[b"\xe9"] = 1
    # decoded as Latin-1 when not UTF-8: one character per byte, nothing lost
    tree = vzcore.open_virtual_datatree(str(path), loadable_variables=[])
    assert set(tree.ds.variables) == {"café"}
    assert tree.attrs == {"résumé": "text"}
    assert tree["grün"]["µm"].attrs == {"é": 1}
    group, _ = _refs(path, tmp_path)
    with h5py.File(path, "r") as f:
        _assert_equal(group["café"][...], f[b"caf\xe9"])
    # group= takes the decoded name
    assert set(vzcore.open_virtual_dataset(str(path), group="grün").variables) == {"µm"}
    tree.virtualize.to_kerchunk(str(tmp_path / "tree.json"), format="json")
    fs = fsspec.filesystem("reference", fo=str(tmp_path / "tree.json"))
    root = zarr.open_group(fs.get_mapper(""), mode="r", zarr_format=2)
    with h5py.File(path, "r") as f:
        _assert_equal(root["grün/µm"][...], f[b"gr\xfcn"][b"\xb5m"])


# -- 8. external links and virtual datasets -----------------------------------------------------


def test_external_links_become_references_into_the_other_file(tmp_path: Path) -> None:
    other = tmp_path / "data" / "other.h5"
    other.parent.mkdir()
    with h5py.File(other, "w") as f:
        f.create_dataset(
            "temp",
            data=np.arange(60, dtype="f4").reshape(6, 10),
            chunks=(2, 5),
            compression="gzip",
            shuffle=True,
        )
        f.create_group("grp").create_dataset("n", data=np.arange(5, dtype=">i2"))
    path = tmp_path / "links.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("local", data=np.arange(4))
        f["temp"] = h5py.ExternalLink("data/other.h5", "/temp")  # relative to this file
        f["grp"] = h5py.ExternalLink(str(other), "/grp")  # absolute, to a group
    vds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    assert vds["temp"].data.manifest.paths == (to_url(other),)
    group, _ = _refs(path, tmp_path)
    with h5py.File(path, "r") as f:  # h5py follows the links itself
        for name in ("local", "temp"):
            _assert_equal(group[name][...], f[name])
    tree = vzcore.open_virtual_datatree(str(path), loadable_variables=[])
    assert tree["grp"]["n"].data.manifest.paths == (to_url(other),)


def _padded(path: Path) -> h5py.File:
    """A new HDF5 file whose first 64 KiB hold other numbers (so wrong offsets still read)."""
    f = h5py.File(path, "w")
    f.create_dataset("padding", data=np.full(16384, 7, dtype="f4"))
    return f


def test_links_that_lead_through_other_links_reference_the_file_holding_the_data(
    tmp_path: Path,
) -> None:
    # c.h5 holds the data; b.h5 reaches it by an external link (to the dataset, and to a
    # group); a.h5 links to b.h5's links, and a soft link of a.h5 passes through an
    # external link too. h5py follows every hop itself; the references must point at c.h5,
    # not at the file holding the last link (b.h5 is padded so that c.h5's offsets lie
    # inside it: read from b.h5 they would be silently wrong values).
    with h5py.File(tmp_path / "c.h5", "w") as f:
        f.create_dataset("x", data=np.arange(40.0), chunks=(10,), compression="gzip")
        f.create_group("grp").create_dataset("y", data=np.arange(12, dtype="i4"), chunks=(5,))
    with _padded(tmp_path / "b.h5") as f:
        f["x"] = h5py.ExternalLink("c.h5", "/x")
        f["g"] = h5py.ExternalLink("c.h5", "/grp")
    path = tmp_path / "a.h5"
    with h5py.File(path, "w") as f:
        f["chain"] = h5py.ExternalLink("b.h5", "/x")  # a -> b -> c
        f["through_group"] = h5py.ExternalLink("b.h5", "/g/y")  # b's /g is c's /grp
        f["ext"] = h5py.ExternalLink("c.h5", "/grp")
        f["soft"] = h5py.SoftLink("/ext/y")  # a soft link of a.h5 into c.h5
    vds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    for name in ("chain", "through_group", "soft"):
        assert vds[name].data.manifest.paths == (to_url(tmp_path / "c.h5"),), name
    group, _ = _refs(path, tmp_path)
    with h5py.File(path, "r") as f:
        for name in ("chain", "through_group", "soft"):
            _assert_equal(group[name][...], f[name])


def test_virtual_dataset_source_behind_an_external_link(tmp_path: Path) -> None:
    (source,) = _sources(tmp_path, 1)
    with _padded(tmp_path / "hop.h5") as f:
        f["data"] = h5py.ExternalLink(source.name, "/data")
    path = tmp_path / "vds_hop.h5"
    with h5py.File(path, "w") as f:
        layout = h5py.VirtualLayout(shape=(1, 100), dtype="f4")
        layout[0] = h5py.VirtualSource("hop.h5", "data", shape=(100,))
        f.create_virtual_dataset("stack", layout)
    vds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    assert vds["stack"].data.manifest.paths == (to_url(source),)
    group, _ = _refs(path, tmp_path)
    with h5py.File(path, "r") as f:
        _assert_equal(group["stack"][...], f["stack"])


def test_a_loop_of_soft_links_is_reported_not_followed_forever(tmp_path: Path) -> None:
    path = tmp_path / "soft_loop.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("good", data=np.arange(3))
        f["l1"] = h5py.SoftLink("/l2")
        f["l2"] = h5py.SoftLink("/l1")
    with pytest.raises(UnsupportedPartsError, match="more than 16 links"):
        HDF5Reader().read(to_url(path))
    with pytest.warns(VZSkippedPartsWarning, match="l1"):
        group = HDF5Reader().read(to_url(path), skip_unsupported=True)
    assert set(group.variables) == {"good"}


def _sources(tmp_path: Path, n: int = 3, chunks: tuple[int, ...] = (25,)) -> list[Path]:
    paths = []
    for i in range(n):
        p = tmp_path / f"src{i}.h5"
        with h5py.File(p, "w") as f:
            f.create_dataset(
                "data", data=np.arange(100, dtype="f4") + 100 * i, chunks=chunks, compression="gzip"
            )
        paths.append(p)
    return paths


def test_virtual_dataset_over_whole_source_chunks(tmp_path: Path) -> None:
    sources = _sources(tmp_path)
    path = tmp_path / "vds.h5"
    with h5py.File(path, "w") as f:
        layout = h5py.VirtualLayout(shape=(4, 100), dtype="f4")
        for i, src in enumerate(sources):
            layout[i] = h5py.VirtualSource(src.name, "data", shape=(100,))
        f.create_virtual_dataset("stack", layout, fillvalue=-1)  # row 3: no source
        inner = f.create_dataset("inner", data=np.arange(10, dtype="i4"), chunks=(5,))
        same = h5py.VirtualLayout(shape=(10,), dtype="i4")
        same[:] = h5py.VirtualSource(".", inner.name, shape=(10,))
        f.create_virtual_dataset("same_file", same)
    vds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    assert set(vds["stack"].data.manifest.paths) == {to_url(p) for p in sources}
    group, _ = _refs(path, tmp_path)
    with h5py.File(path, "r") as f:
        assert (f["stack"][3] == -1).all()
        for name in ("stack", "same_file"):
            _assert_equal(group[name][...], f[name])


@pytest.mark.parametrize(
    ("place", "match"),
    [
        (lambda layout, src: layout.__setitem__((0, slice(10, 110)), src), "does not fall on"),
        (
            lambda layout, src: layout.__setitem__((0, slice(0, 50)), src[:50]),
            "only part of the source",
        ),
    ],
)
def test_virtual_dataset_that_does_not_map_onto_chunks(
    tmp_path: Path, place: Any, match: str
) -> None:
    (src,) = _sources(tmp_path, 1)
    path = tmp_path / "vds.h5"
    with h5py.File(path, "w") as f:
        layout = h5py.VirtualLayout(shape=(2, 200), dtype="f4")
        place(layout, h5py.VirtualSource(src.name, "data", shape=(100,)))
        f.create_virtual_dataset("v", layout)
        f.create_dataset("ok", data=np.arange(3))
    with pytest.raises(UnsupportedFeatureError, match=match):
        HDF5Reader().read(to_url(path))
    with pytest.warns(VZSkippedPartsWarning, match="virtual dataset"):
        assert set(HDF5Reader().read(to_url(path), skip_unsupported=True).variables) == {"ok"}


# -- issue 12 item 12: a filter whose HDF5 plugin is not loaded -------------------------------


def test_filter_without_its_plugin_is_named_not_called_corrupt(tmp_path: Path) -> None:
    pytest.importorskip("hdf5plugin")
    path = tmp_path / "zfp.h5"
    write = f"""
        import h5py, hdf5plugin, numpy as np
        with h5py.File({str(path)!r}, "w") as f:
            f.create_dataset("z", data=np.linspace(0, 1, 64), chunks=(16,),
                             **hdf5plugin.Zfp(reversible=True))
    """
    read = f"""
        import sys
        from vz_hdf5._reader import HDF5Reader
        from vzcore.errors import UnsupportedFeatureError
        assert "hdf5plugin" not in sys.modules
        try:
            HDF5Reader().read("file://" + {str(path)!r}, load_unsupported=True)
        except UnsupportedFeatureError as err:
            print(err)
    """
    env = {"PATH": "/usr/bin:/bin", "HDF5_PLUGIN_PATH": str(tmp_path / "none")}
    for code in (write, read):
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    message = done.stdout
    for expected in ("32013", "'zfp'", "pip install hdf5plugin"):
        assert expected in message, message
    assert "corrupt" not in message, message


def test_link_cycles_are_reported_not_followed_forever(tmp_path: Path) -> None:
    loop = tmp_path / "loop.h5"
    with h5py.File(loop, "w") as f:
        g = f.create_group("g")
        g.create_dataset("x", data=np.arange(3))
        g["up"] = f  # a hard link back to the root
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.create_dataset("x", data=np.arange(2))
        f["to_b"] = h5py.ExternalLink("b.h5", "/")
    with h5py.File(tmp_path / "b.h5", "w") as f:
        f.create_dataset("y", data=np.arange(2))
        f["to_a"] = h5py.ExternalLink("a.h5", "/")
    for path, where in ((loop, "/g/up"), (tmp_path / "a.h5", "/to_a")):
        with pytest.raises(UnsupportedFeatureError, match="cycle") as info:
            HDF5Reader().read(to_url(path))
        assert info.value.variable == where
        with pytest.warns(VZSkippedPartsWarning, match="cycle"):
            group = HDF5Reader().read(to_url(path), skip_unsupported=True)
        assert len(list(group.walk())) == 2


def test_links_and_virtual_datasets_over_http(tmp_path: Path) -> None:
    from vzcore.testing.servers import http_server

    sources = _sources(tmp_path, 2)
    path = tmp_path / "remote.h5"
    with h5py.File(path, "w") as f:
        f["linked"] = h5py.ExternalLink(sources[0].name, "/data")
        layout = h5py.VirtualLayout(shape=(2, 100), dtype="f4")
        for i, src in enumerate(sources):
            layout[i] = h5py.VirtualSource(src.name, "data", shape=(100,))
        f.create_virtual_dataset("stack", layout)
    with http_server(tmp_path) as server:
        vds = vzcore.open_virtual_dataset(f"{server.url}/remote.h5", loadable_variables=[])
        assert vds["linked"].data.manifest.paths == (f"{server.url}/src0.h5",)
        assert set(vds["stack"].data.manifest.paths) == {f"{server.url}/{s.name}" for s in sources}
    # the same byte ranges, read back from the local copies the server served
    local = vds.virtualize.rename_paths(lambda p: p.replace(server.url, to_url(tmp_path)))
    out = tmp_path / "remote.json"
    local.virtualize.to_kerchunk(str(out), format="json")
    group = zarr.open_group(
        fsspec.filesystem("reference", fo=str(out)).get_mapper(""), mode="r", zarr_format=2
    )
    with h5py.File(path, "r") as f:
        for name in ("linked", "stack"):
            _assert_equal(group[name][...], f[name])


def test_virtual_mosaic_with_edge_tiles_and_a_missing_source(tmp_path: Path) -> None:
    path = tmp_path / "mosaic.h5"
    with h5py.File(path, "w") as f:
        layout = h5py.VirtualLayout(shape=(20, 13), dtype="i2")
        for i in range(2):
            for j in range(2):
                width = 8 if j == 0 else 5  # the right-hand tiles end at the mosaic's edge
                data = np.arange(10 * width, dtype="i2").reshape(10, width) + 100 * (2 * i + j)
                f.create_dataset(
                    f"t{i}{j}", data=data, chunks=(5, 8), maxshape=(10, 8), compression="gzip"
                )
                layout[i * 10 : (i + 1) * 10, j * 8 : j * 8 + width] = h5py.VirtualSource(
                    ".", f"t{i}{j}", shape=(10, width)
                )
        f.create_virtual_dataset("mosaic", layout, fillvalue=7)
        lost = h5py.VirtualLayout(shape=(4,), dtype="i4")
        lost[:] = h5py.VirtualSource("missing.h5", "/x", shape=(4,))
        f.create_virtual_dataset("lost", lost)
    with pytest.raises(UnsupportedFeatureError, match=r"'missing\.h5' cannot be opened"):
        HDF5Reader().read(to_url(path))
    group, _ = _refs(path, tmp_path, reader_options={"drop_variables": ["lost"]})
    with h5py.File(path, "r") as f:
        _assert_equal(group["mosaic"][...], f["mosaic"])


def test_time_typed_attribute_is_named_and_skippable(tmp_path: Path) -> None:
    path = tmp_path / "tattr.h5"
    with h5py.File(path, "w") as f:
        f.attrs["title"] = "kept"
        h5py.h5a.create(f.id, b"stamp", h5py.h5t.UNIX_D32LE, h5py.h5s.create(h5py.h5s.SCALAR))
        f.create_dataset("v", data=np.arange(3))
    with pytest.raises(UnsupportedFeatureError, match=r"attribute 'stamp' of the HDF5 time type"):
        HDF5Reader().read(to_url(path))
    with pytest.warns(VZSkippedPartsWarning, match="stamp"):
        group = HDF5Reader().read(to_url(path), skip_unsupported=True)
    assert group.attrs == {"title": "kept"}
    assert set(group.variables) == {"v"}


def test_a_broken_link_is_reported_once_and_only_where_read(tmp_path: Path) -> None:
    path = tmp_path / "broken.h5"
    with h5py.File(path, "w") as f:
        a = f.create_group("a")
        a["gone"] = h5py.ExternalLink("missing.h5", "/x")
        a["gone2"] = h5py.ExternalLink("missing.h5", "/y")
        f.create_group("b").create_dataset("v", data=np.arange(3))
    with pytest.raises(UnsupportedPartsError) as info:
        HDF5Reader().read(to_url(path), group="a")
    assert [p.variable for p in info.value.parts] == ["/a/gone", "/a/gone2"]
    # group "a" precedes "b" (its phony dimensions are counted) but is not read
    group = HDF5Reader().read(to_url(path), group="b")
    assert set(group.variables) == {"v"}


def test_string_classes_through_icechunk_and_zarr_v3(tmp_path: Path) -> None:
    path = tmp_path / "strings.h5"
    _fixed_strings(path, _STORED)
    with h5py.File(path, "a") as f:
        f.create_dataset("title", data="hello é", dtype=h5py.string_dtype())
        f.create_dataset(
            "raw", data=np.array([b"a\xff", b"b"], dtype=object), dtype=h5py.string_dtype()
        )
    vds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    stores = {"icechunk": icechunk_store(vds, tmp_path / "repo", sources=[path])}
    vds.virtualize.to_kerchunk(str(tmp_path / "v3.json"), format="json", zarr_format=3)
    fs = fsspec.filesystem("reference", fo=str(tmp_path / "v3.json"), asynchronous=True)
    stores["kerchunk v3"] = zarr.storage.FsspecStore(fs, read_only=True)
    with h5py.File(path, "r") as f:
        for kind, store in stores.items():
            group = zarr.open_group(store, mode="r", zarr_format=3)
            assert set(group.array_keys()) == set(f), kind
            for name in f:
                _assert_equal(group[name][...], f[name])


def test_filter_without_codec_names_what_loading_it_needs(tmp_path: Path) -> None:
    hdf5plugin = pytest.importorskip("hdf5plugin")
    path = tmp_path / "sz.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset(
            "z", data=np.linspace(0, 1, 64), chunks=(16,), **hdf5plugin.Zfp(reversible=True)
        )
    with pytest.raises(UnsupportedFeatureError, match=r"32013 \(zfp\)") as info:
        HDF5Reader().read(to_url(path))
    assert "pip install hdf5plugin" in str(info.value)
    assert "drop_variables=['z']" in str(info.value)
