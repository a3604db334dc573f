"""The kerchunk reader on references with Zarr v3 metadata (``zarr.json``).

Our ``zarr_format=3`` output is read back (JSON v1, the ``dict`` output saved as JSON v1 and
as a flat v0 mapping, both chunk key encodings, consolidated-only and per-node documents)
and must give the ManifestGroup it was written from: the same metadata, codecs, fill value,
dimension names and manifests, attributes as the zarr format 2 reading gives them, and the
same bytes when written again. Written as zarr format 2 it must equal the format 2 output of
the original, and read through xarray equal the original values. Real HDF5 files (one per
codec, as in ``test_kerchunk_zarr_v3.py``) go through vz-hdf5 first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("vz_kerchunk")
xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")
fsspec = pytest.importorskip("fsspec")

import vzcore
from vzcore.errors import CorruptFileError, UnsupportedFeatureError
from vzcore.group import ManifestGroup, Variable
from vzcore.manifests import ManifestArray
from vzcore.manifests.loading import load_values
from vzcore.testing.compare import assert_same_attrs, assert_same_virtual_array

from vz_kerchunk import KerchunkWriter, ReferenceNotAllowedError

from .conftest import ChunkFile, fuzz_outcomes, read, url_of

SHUFFLE_ZLIB = ({"id": "shuffle", "elementsize": 4}, {"id": "zlib", "level": 4})
STRUCT = np.dtype([("a", "<i4"), ("b", "<f8")])


def write(group: ManifestGroup, path: Path, **options: Any) -> Path:
    KerchunkWriter().write(group, str(path), **options)
    return path


def values(data: Any) -> np.ndarray:
    return load_values(data) if isinstance(data, ManifestArray) else np.asarray(data)


def same_values(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    if want.dtype.kind == "O":
        assert got.tolist() == want.tolist()
        return
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.tobytes() == want.tobytes()


def _rich_group(cf: ChunkFile) -> ManifestGroup:
    rng = np.random.default_rng(5)
    a = rng.normal(size=(7, 10)).astype("<f4")
    holes = np.arange(1, 13, dtype="<i4").reshape(3, 4)
    child = ManifestGroup(
        variables={
            "deep": Variable(
                ("k",),
                cf.array(np.arange(6, dtype=">i2"), (4,), ({"id": "zstd", "level": 1},)),
                {"_FillValue": np.int16(-5), "scale_factor": 0.5},
            ),
        },
        attrs={"group_attr": [1, 2, 3]},
    )
    return ManifestGroup(
        variables={
            "a": Variable(
                ("y", "x"),
                cf.array(a, (3, 4), SHUFFLE_ZLIB),
                {"units": "K", "_FillValue": np.float32(np.nan)},
            ),
            # v3: missing chunks read as fill_value -1 (no fill chunks, unlike format 2)
            "holes": Variable(
                ("p", "q"), cf.array(holes, (2, 2), fill_value=-1, missing=[(0, 1)]), {}
            ),
            "s": Variable((), cf.array(np.array(2.5, "<f8"), ()), {"units": "m"}),
            "flag": Variable(
                ("n",), cf.array(np.array([True, False, True]), (2,)), {"_FillValue": np.True_}
            ),
            # (a complex _FillValue cannot be written as zarr format 2 attributes)
            "cplx": Variable(("n",), cf.array(np.array([1 + 2j, -1j, 3], "<c8"), (2,)), {}),
            "rec": Variable(
                ("n",), cf.array(np.array([(1, 2.5), (-3, 4.0), (5, -6.0)], STRUCT), (2,)), {}
            ),
            "names": Variable(("n",), np.array(["ab", "c", ""], dtype=object), {}),
            "blob": Variable(("n",), np.array([b"\xff", b"", b"a"], dtype=object), {}),
            "code": Variable(("n",), np.array([b"ab", b"c", b""], dtype="S2"), {}),
            "uname": Variable(("n",), np.array(["xé", "y", ""], dtype="<U2"), {}),
            "when": Variable(("n",), np.array([0, 1, -5], dtype="M8[s]"), {}),
            "t": Variable(("t",), np.array([0, 1, 2], "<i8"), {"units": "days since 2000-01-01"}),
        },
        attrs={"title": "v3 round trip", "nan": float("nan"), "n": 3},
        groups={"child": child},
    )


def _walk(group: ManifestGroup, prefix: str = ""):
    for name, var in group.variables.items():
        yield f"{prefix}{name}", var
    for name, child in group.groups.items():
        yield from _walk(child, f"{prefix}{name}/")


def _groups(group: ManifestGroup, prefix: str = ""):
    yield prefix, group.attrs
    for name, child in group.groups.items():
        yield from _groups(child, f"{prefix}{name}/")


def assert_same_group(back: ManifestGroup, original: ManifestGroup, v2_read: ManifestGroup) -> None:
    """``back`` (read from zarr v3) holds what ``original`` held.

    Virtual arrays: metadata, codecs, fill value and manifest equal; in-memory variables:
    values equal. Attributes equal the zarr v2 reading's, types included (``_FillValue`` is
    a numpy scalar of the variable's type there).
    """
    orig = dict(_walk(original))
    v2 = dict(_walk(v2_read))
    got = dict(_walk(back))
    assert list(got) == list(orig)
    for name, var in got.items():
        want = orig[name]
        assert var.dims == want.dims, name
        assert isinstance(var.data, ManifestArray), name
        meta = var.data.metadata
        assert meta.dimension_names == want.dims, name
        if isinstance(want.data, ManifestArray):
            assert_same_virtual_array(var.data, want.data, name)
        same_values(values(var.data), values(want.data))
        assert_same_attrs(var.attrs, v2[name].attrs, name)
    assert repr(dict(_groups(back))) == repr(dict(_groups(original)))  # NaN attributes


@pytest.mark.parametrize("templates", [True, False], ids=["templates", "no-templates"])
def test_our_v3_json_round_trips(tmp_path, chunk_file, templates):
    original = _rich_group(chunk_file)
    first = write(original, tmp_path / "first.json", zarr_format=3, templates=templates)
    back = read(first)
    assert back.attrs["title"] == "v3 round trip"
    assert np.isnan(back.attrs["nan"])
    v2_read = read(write(original, tmp_path / "v2.json", templates=templates))
    assert_same_group(back, original, v2_read)
    assert back.variables["holes"].data.metadata.fill_value == -1
    assert back.variables["a"].data.metadata.fill_value is None  # stored as 0.0: the zero
    assert np.isnan(back.variables["a"].attrs["_FillValue"])
    assert back.groups["child"].variables["deep"].attrs["_FillValue"] == np.int16(-5)
    # written again: the same bytes; as zarr format 2: the same file as from the original
    again = write(back, tmp_path / "again.json", zarr_format=3, templates=templates)
    assert again.read_bytes() == first.read_bytes()
    v2_again = write(back, tmp_path / "v2_again.json", templates=templates)
    assert v2_again.read_bytes() == (tmp_path / "v2.json").read_bytes()
    sub = read(first, group="child")
    assert list(sub.variables) == ["deep"]


def test_dict_output_as_json_v1_and_flat_v0(tmp_path, chunk_file):
    original = _rich_group(chunk_file)
    refs = KerchunkWriter().write(original, None, format="dict", zarr_format=3)
    v1 = tmp_path / "v1.json"
    v1.write_text(json.dumps(refs))
    plain = KerchunkWriter().write(original, None, format="dict", zarr_format=3, templates=False)
    assert not plain.get("templates")
    flat = tmp_path / "v0.json"
    flat.write_text(json.dumps(plain["refs"]))  # spec version 0: the bare mapping
    v2_read = read(write(original, tmp_path / "v2.json"))
    for path in (v1, flat):
        back = read(path)
        assert_same_group(back, original, v2_read)
        assert KerchunkWriter().write(back, None, format="dict", zarr_format=3) == refs
        assert (
            KerchunkWriter().write(back, None, format="dict", zarr_format=3, templates=False)
            == plain
        )


def _v2_encoded(refs: dict[str, Any], sep: str) -> dict[str, Any]:
    """Rewrite default-encoded (c/i/j) references as v2-encoded ones with separator ``sep``."""
    out: dict[str, Any] = {}
    for key, value in refs.items():
        head, marker, coords = key.partition("/c/")
        if key.endswith("zarr.json"):
            doc = json.loads(value) if isinstance(value, str) else value
            for d in [doc, *doc.get("consolidated_metadata", {}).get("metadata", {}).values()]:
                if d.get("node_type") == "array":
                    d["chunk_key_encoding"] = {"name": "v2", "configuration": {"separator": sep}}
            out[key] = json.dumps(doc)
        elif marker:
            out[f"{head}/{coords.replace('/', sep)}"] = value
        elif key.endswith("/c"):
            out[key[:-1] + "0"] = value
        else:
            out[key] = value
    return out


@pytest.mark.parametrize("encoding", ["v2-dot", "v2-slash", "default-dot"])
def test_chunk_key_encodings(tmp_path, chunk_file, encoding):
    a = np.arange(12, dtype=">i4").reshape(3, 4)
    original = ManifestGroup(
        variables={
            "a": Variable(
                ("y", "x"), chunk_file.array(a, (2, 2), fill_value=7, missing=[(1, 1)]), {}
            ),
            "s": Variable((), chunk_file.array(np.array(2.5, "<f8"), ()), {}),
        }
    )
    if encoding == "v2-dot":
        from vzcore.store_plan import plan

        from vz_kerchunk._writer import refs_dict

        refs = refs_dict(plan(original, 3, chunk_key_encoding="v2"))
        assert {"a/0.0", "a/1.0", "s/0"} <= set(refs["refs"])
    else:
        refs = KerchunkWriter().write(original, None, format="dict", zarr_format=3)
        if encoding == "v2-slash":
            refs["refs"] = _v2_encoded(refs["refs"], "/")
            assert {"a/0/0", "a/1/0", "s/0"} <= set(refs["refs"])
        else:
            inner = {}
            for key, value in refs["refs"].items():
                if key.endswith("zarr.json"):
                    doc = json.loads(value)
                    for d in [
                        doc,
                        *doc.get("consolidated_metadata", {}).get("metadata", {}).values(),
                    ]:
                        if d.get("node_type") == "array":
                            d["chunk_key_encoding"]["configuration"]["separator"] = "."
                    value = json.dumps(doc)
                elif "/c/" in key:
                    head, _, coords = key.partition("/c/")
                    key = f"{head}/c.{coords.replace('/', '.')}"
                inner[key] = value
            refs["refs"] = inner
            assert {"a/c.0.0", "a/c.1.0", "s/c"} <= set(refs["refs"])
            assert '"separator": "."' in refs["refs"]["zarr.json"]
    path = tmp_path / "refs.json"
    path.write_text(json.dumps(refs))
    back = read(path)
    want = a.copy()
    want[2:, 2:] = 7
    same_values(values(back.variables["a"].data), want)
    assert values(back.variables["s"].data) == 2.5
    assert back.variables["a"].data.manifest == original.variables["a"].data.manifest
    # what zarr itself reads from these references is the same
    m = fsspec.filesystem("reference", fo=str(path)).get_mapper("")
    ds = xr.open_zarr(m, zarr_format=3, consolidated=False)
    np.testing.assert_array_equal(ds["a"].values, want)


def test_consolidated_only_and_per_node_documents(tmp_path, chunk_file):
    original = _rich_group(chunk_file)
    refs = KerchunkWriter().write(original, None, format="dict", zarr_format=3)
    expected = read(write(original, tmp_path / "full.json", zarr_format=3))
    # only the root document (its consolidated metadata describes every node)
    only_root = {k: v for k, v in refs["refs"].items() if not k.endswith("/zarr.json")}
    # only per-node documents (no consolidated metadata)
    root = json.loads(refs["refs"]["zarr.json"])
    del root["consolidated_metadata"]
    per_node = {**refs["refs"], "zarr.json": json.dumps(root)}
    # a stored node document wins over its consolidated copy
    stale = json.loads(refs["refs"]["zarr.json"])
    stale["consolidated_metadata"]["metadata"]["a"]["attributes"]["units"] = "stale"
    both = {**refs["refs"], "zarr.json": json.dumps(stale)}
    v2_read = read(write(original, tmp_path / "v2.json"))
    for name, inner in [("root", only_root), ("nodes", per_node), ("both", both)]:
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({**refs, "refs": inner}))
        back = read(path)
        assert_same_group(back, original, v2_read)
        assert back.variables["a"].attrs["units"] == "K"
        assert list(back.variables["a"].attrs) == list(expected.variables["a"].attrs)


def test_open_virtual_dataset_datatree_engine_and_safety(tmp_path, chunk_file):
    original = _rich_group(chunk_file)
    sub = tmp_path / "refs"
    sub.mkdir()
    refs = write(original, sub / "refs.json", zarr_format=3)
    # the chunks live next to, not under, the references' directory
    with pytest.raises(ReferenceNotAllowedError, match="allowed_prefixes"):
        vzcore.open_virtual_dataset(refs, reader="kerchunk")
    opts = {"allowed_prefixes": [url_of(tmp_path) + "/"]}
    vds = vzcore.open_virtual_dataset(refs, reader_options=opts)  # chosen by extension
    assert isinstance(vds["a"].data, ManifestArray)
    via_engine = xr.open_dataset(
        refs, engine="virtualizarr", reader="kerchunk", reader_options=opts
    )
    assert via_engine["a"].data.metadata == vds["a"].data.metadata
    tree = vzcore.open_virtual_datatree(refs, reader="kerchunk", reader_options=opts)
    assert tree["child"].ds["deep"].attrs["_FillValue"] == np.int16(-5)
    out = tmp_path / "again.json"
    vds.virtualize.to_kerchunk(str(out), format="json")
    m = fsspec.filesystem("reference", fo=str(out)).get_mapper("")
    ds = xr.open_dataset(m, engine="zarr", consolidated=True).load()
    cf = xr.decode_cf(
        xr.Dataset({k: (v.dims, values(v.data), v.attrs) for k, v in original.variables.items()})
    )
    for name in ("a", "holes", "names", "code", "s"):
        np.testing.assert_array_equal(ds[name].values, cf[name].values)


# -- real HDF5 files, one per codec ---------------------------------------------------------


def test_hdf5_codecs_round_trip_through_v3(tmp_path):
    h5py = pytest.importorskip("h5py")
    pytest.importorskip("vz_hdf5")
    from vzcore.api import read_group
    from vzcore.testing.zarr_v3_cases import write_hdf5_codecs

    path = tmp_path / "codecs.h5"
    cases = write_hdf5_codecs(path)
    with h5py.File(path, "a") as f:
        d = f.create_dataset(
            "sparse", shape=(40, 50), chunks=(20, 25), dtype="<i2", fillvalue=-5, compression="gzip"
        )
        d[:20, :25] = 3
    original = read_group(path)
    v3 = write(original, tmp_path / "v3.json", zarr_format=3)
    v2 = write(original, tmp_path / "v2.json")
    back = read(v3)
    assert_same_group(back, original, read(v2))
    assert back.variables["sparse"].data.metadata.fill_value == -5
    assert write(back, tmp_path / "again.json", zarr_format=3).read_bytes() == v3.read_bytes()
    assert write(back, tmp_path / "v2_again.json").read_bytes() == v2.read_bytes()
    m = fsspec.filesystem("reference", fo=str(tmp_path / "v2_again.json")).get_mapper("")
    ds = xr.open_zarr(m, zarr_format=2, consolidated=True)
    with h5py.File(path, "r") as f:
        for name in [*cases, "sparse"]:
            np.testing.assert_array_equal(ds[name].values, f[name][()])
            assert ds[name].dtype == f[name].dtype.newbyteorder("="), name


# -- Parquet -------------------------------------------------------------------------------


def test_our_parquet_with_v3_documents(tmp_path, chunk_file):
    """vz-parquet's ``zarr_format=3`` layout: zarr.json documents plus ``.zarray`` indexes."""
    pytest.importorskip("vz_parquet")
    pytest.importorskip("pyarrow")
    from vz_parquet._writer import ParquetWriter

    original = _rich_group(chunk_file)
    target = tmp_path / "refs.parq"
    ParquetWriter().write(original, str(target), zarr_format=3, record_size=2)
    zmeta = json.loads((target / ".zmetadata").read_text())
    assert {"zarr.json", "a/zarr.json", "a/.zarray"} <= set(zmeta["metadata"])
    back = read(target)
    assert_same_group(back, original, read(write(original, tmp_path / "v2.json")))
    v3_json = write(original, tmp_path / "v3.json", zarr_format=3)
    assert write(back, tmp_path / "again.json", zarr_format=3).read_bytes() == (
        v3_json.read_bytes()
    )
    # an index that disagrees with its zarr.json
    zmeta["metadata"]["a/.zarray"] = {"shape": [7, 11], "chunks": [3, 4]}
    (target / ".zmetadata").write_text(json.dumps(zmeta))
    with pytest.raises(CorruptFileError, match=r"'a/\.zarray'.*disagrees"):
        read(target)


# -- corrupt and unknown documents ----------------------------------------------------------


def _doc_edit(key: str, **changes: Any):
    def edit(refs: dict[str, Any]) -> None:
        doc = json.loads(refs[key])
        for field, value in changes.items():
            if value is None:
                doc.pop(field, None)
            else:
                doc[field] = value
        refs[key] = json.dumps(doc)
        root = json.loads(refs["zarr.json"])
        root.pop("consolidated_metadata", None)  # the stored documents only
        refs["zarr.json"] = json.dumps(root)

    return edit


def _set(key: str, value: Any):
    def edit(refs: dict[str, Any]) -> None:
        refs[key] = value

    return edit


@pytest.mark.parametrize(
    ("mutate", "error", "match"),
    [
        (_set("a/zarr.json", "{not json"), CorruptFileError, r"'a/zarr\.json' is not valid JSON"),
        (_set("a/zarr.json", "[1]"), CorruptFileError, r"'a/zarr\.json' must hold a JSON object"),
        (
            _doc_edit("a/zarr.json", node_type="table"),
            CorruptFileError,
            r"'a/zarr\.json': 'node_type'",
        ),
        (_doc_edit("a/zarr.json", shape=[-3, 4]), CorruptFileError, r"'a/zarr\.json'.*shape"),
        (
            _doc_edit("a/zarr.json", codecs=None),
            CorruptFileError,
            r"'a/zarr\.json': it lacks 'codecs'",
        ),
        (
            _doc_edit("a/zarr.json", fill_value="xyz"),
            CorruptFileError,
            r"'a/zarr\.json'.*fill_value",
        ),
        (
            _doc_edit("a/zarr.json", attributes={"_FillValue": "%%"}),
            CorruptFileError,
            r"'a/zarr\.json'.*_FillValue",
        ),
        (
            _doc_edit("a/zarr.json", codecs=[{"name": "gzip"}, {"name": "bytes"}]),
            CorruptFileError,
            r"'a/zarr\.json'.*before any array-to-bytes",
        ),
        (
            _doc_edit("a/zarr.json", data_type="float8_e4m3"),
            UnsupportedFeatureError,
            r"float8_e4m3.*'a/zarr\.json'",
        ),
        (
            _doc_edit(
                "a/zarr.json",
                codecs=[
                    {"name": "bytes", "configuration": {"endian": "little"}},
                    {"name": "frobnicate"},
                ],
            ),
            UnsupportedFeatureError,
            r"codec 'frobnicate' in 'a/zarr\.json'",
        ),
        (
            _doc_edit("a/zarr.json", codecs=[{"name": "sharding_indexed", "configuration": {}}]),
            UnsupportedFeatureError,
            r"sharding_indexed.*'a/zarr\.json'",
        ),
        (
            _doc_edit("a/zarr.json", chunk_grid={"name": "rectangular", "configuration": {}}),
            UnsupportedFeatureError,
            r"rectangular.*'a/zarr\.json'",
        ),
        # Rectilinear grids are read (docs/variable-chunks.md); an empty one is corrupt.
        (
            _doc_edit("a/zarr.json", chunk_grid={"name": "rectilinear", "configuration": {}}),
            CorruptFileError,
            r"'a/zarr\.json'.*chunk_shapes",
        ),
        (
            _doc_edit("a/zarr.json", dimension_names=None),
            UnsupportedFeatureError,
            "dimension_names",
        ),
        (
            _doc_edit("a/zarr.json", shape=[2**40, 4]),
            UnsupportedFeatureError,
            "chunks per array are refused",
        ),
        (
            _doc_edit("a/zarr.json", zarr_format=4),
            UnsupportedFeatureError,
            r"zarr_format 4 in 'a/zarr\.json'",
        ),
        (
            _doc_edit("child/zarr.json", node_type="group", zarr_format=2),
            CorruptFileError,
            r"'child/zarr\.json'.*zarr_format",
        ),
        (
            _doc_edit("child/zarr.json", novel={"must_understand": True}),
            UnsupportedFeatureError,
            r"'novel' in 'child/zarr\.json'",
        ),
        (
            _set(
                "b/.zarray",
                json.dumps({"zarr_format": 2, "shape": [1], "chunks": [1], "dtype": "<i4"}),
            ),
            CorruptFileError,
            r"'b/\.zarray' is zarr format 2",
        ),
        (_set("a/c/9/9", ["chunks.bin", 0, 4]), CorruptFileError, r"'a/c/9/9'"),
        (_set("a/0.0", ["chunks.bin", 0, 4]), CorruptFileError, r"'a/0\.0'"),
        (
            _set(
                "zarr.json",
                json.dumps(
                    {
                        "zarr_format": 3,
                        "node_type": "group",
                        "consolidated_metadata": {"kind": "inline", "metadata": []},
                    }
                ),
            ),
            CorruptFileError,
            "consolidated_metadata",
        ),
        (
            _set(
                "zarr.json",
                json.dumps(
                    {
                        "zarr_format": 3,
                        "node_type": "group",
                        "consolidated_metadata": {"kind": "remote"},
                    }
                ),
            ),
            UnsupportedFeatureError,
            "'remote'",
        ),
        (
            _set(
                "zarr.json",
                json.dumps(
                    {
                        "zarr_format": 3,
                        "node_type": "group",
                        "consolidated_metadata": {"metadata": {"../up": {"node_type": "group"}}},
                    }
                ),
            ),
            CorruptFileError,
            r"'\.\./up'",
        ),
    ],
)
def test_corrupt_and_unknown_v3_documents_name_the_key(tmp_path, chunk_file, mutate, error, match):
    refs = KerchunkWriter().write(_rich_group(chunk_file), None, format="dict", zarr_format=3)
    mutate(refs["refs"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(refs))
    with pytest.raises(error, match=match) as info:
        read(path)
    assert url_of(path) in str(info.value)


def test_root_array_and_unnamed_dimensions_are_unsupported(tmp_path, chunk_file):
    from vzcore.manifests.zarr_v3 import array_metadata_v3

    arr = chunk_file.array(np.arange(4, dtype="<i4"), (2,))
    doc = array_metadata_v3(arr.metadata, {}, ["x"])
    path = tmp_path / "root.json"
    path.write_text(json.dumps({"zarr.json": json.dumps(doc), "c/0": [chunk_file.url, 8, 8]}))
    with pytest.raises(UnsupportedFeatureError, match="array at the root"):
        read(path)
    doc["dimension_names"] = [None]
    path.write_text(
        json.dumps(
            {
                "zarr.json": json.dumps({"zarr_format": 3, "node_type": "group"}),
                "v/zarr.json": json.dumps(doc),
            }
        )
    )
    with pytest.raises(UnsupportedFeatureError, match="unnamed dimensions") as info:
        read(path)
    assert "'v'" in str(info.value)


_JUNK: list[Any] = [
    None,
    -1,
    0,
    2**70,
    10**5,
    1.5,
    "NaN",
    "",
    "x",
    "0xzz",
    [],
    [None],
    [-1, "a"],
    {},
    {"name": 3},
    {"name": "bytes"},
    {"must_understand": True},
    True,
]


def _paths(doc: Any, prefix: tuple[Any, ...] = ()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*prefix, i))


def test_fuzzed_v3_documents_raise_only_vzcore_errors(tmp_path, chunk_file):
    import random

    base = KerchunkWriter().write(_rich_group(chunk_file), None, format="dict", zarr_format=3)
    doc_keys = [k for k in base["refs"] if k.endswith("zarr.json")]
    rng = random.Random(20261125)

    def texts():
        for _ in range(150):
            refs = dict(base["refs"])
            for _ in range(rng.choice([1, 1, 2])):
                key = rng.choice(doc_keys)
                doc = json.loads(refs[key])
                path = rng.choice([p for p in _paths(doc) if p])
                target = doc
                for step in path[:-1]:
                    target = target[step]
                if rng.random() < 0.2 and isinstance(target, dict):
                    del target[path[-1]]
                else:
                    target[path[-1]] = rng.choice(_JUNK)
                refs[key] = json.dumps(doc)
            yield json.dumps({**base, "refs": refs})

    outcomes = fuzz_outcomes(tmp_path, texts())
    assert outcomes["error"] > 50
    assert outcomes["ok"] > 10
