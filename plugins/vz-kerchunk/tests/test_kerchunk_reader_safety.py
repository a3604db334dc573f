"""The kerchunk reader is safe by default: URL allow-list, name validation, corrupt input."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("vz_kerchunk")

import vzcore
from vzcore.errors import CorruptFileError, VZError
from vzcore.manifests.loading import load_values

from vz_kerchunk import ReferenceNotAllowedError

from .conftest import fuzz_outcomes, read, url_of, zarray


def one_var_refs(target: str, name: str = "v", length: int = 16) -> dict:
    return {
        "version": 1,
        "refs": {
            ".zgroup": json.dumps({"zarr_format": 2}),
            f"{name}/.zarray": zarray([4], [4]),
            f"{name}/.zattrs": json.dumps({"_ARRAY_DIMENSIONS": ["x"]}),
            f"{name}/0": [target, 0, length],
        },
    }


def write_refs(tmp_path: Path, doc: dict, name: str = "refs.json") -> Path:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(doc))
    return p


# -- the URL allow-list ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("file:///etc/passwd", "protocol 'file' is not allowed"),
        ("/etc/passwd", "protocol 'file' is not allowed"),
        ("../outside.bin", "protocol 'file' is not allowed"),  # climbs out of the refs' directory
        ("http://169.254.169.254/latest/meta-data/", "protocol 'http' is not allowed"),
        ("https://169.254.169.254/latest/meta-data/", "private network"),
        ("https://localhost:8080/x.nc", "private network"),
        ("https://[::1]/x.nc", "private network"),
        ("https://2130706433/x.nc", "private network"),
        ("https://10.1.2.3/x.nc", "private network"),
        ("memory://x.nc", "protocol 'memory' is not allowed"),
        ("reference://x", "protocol 'reference' is not allowed"),
        ("ssh://host/x.nc", "protocol 'ssh' is not allowed"),
    ],
)
def test_refuses_urls_outside_the_default_policy(tmp_path, target, why):
    refs = write_refs(tmp_path / "refs", one_var_refs(target, name="secret"))
    with pytest.raises(ReferenceNotAllowedError, match=why) as info:
        read(refs)
    err = info.value
    assert isinstance(err, VZError)
    assert err.variable == "secret"
    assert "'secret'" in str(err)
    assert err.url in str(err)
    assert "allowed_prefixes" in str(err)


def test_refused_before_anything_is_read_through_every_entry_point(tmp_path):
    refs = write_refs(tmp_path / "refs", one_var_refs("file:///etc/passwd"))
    with pytest.raises(ReferenceNotAllowedError):
        vzcore.open_virtual_dataset(refs, reader="kerchunk", loadable_variables=["v"])
    with pytest.raises(ReferenceNotAllowedError):
        vzcore.open_virtual_datatree(refs)
    xr = pytest.importorskip("xarray")
    with pytest.raises(ReferenceNotAllowedError):
        xr.open_dataset(refs, engine="virtualizarr", reader="kerchunk")


def test_default_allows_the_refs_directory_tree_and_object_stores(tmp_path):
    data = tmp_path / "refs" / "sub" / "data.bin"
    data.parent.mkdir(parents=True)
    data.write_bytes(np.arange(4, dtype="<i4").tobytes())
    refs = write_refs(tmp_path / "refs", one_var_refs("sub/data.bin"))
    group = read(refs)
    np.testing.assert_array_equal(load_values(group.variables["v"].data), np.arange(4))
    for remote in (
        "s3://bucket/x.nc",
        "gs://bucket/x.nc",
        "az://c/x.nc",
        "https://data.example.org/x.nc",
    ):
        refs = write_refs(tmp_path / "refs", one_var_refs(remote), "remote.json")
        assert read(refs).variables["v"].data.manifest.paths == (remote,)


def test_symlink_out_of_the_refs_directory_is_refused(tmp_path):
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "link").symlink_to("/etc")
    refs = write_refs(tmp_path / "refs", one_var_refs("link/passwd"))
    with pytest.raises(ReferenceNotAllowedError, match="file:///etc/passwd"):
        read(refs)


def test_percent_encoded_dotdot_is_refused(tmp_path):
    refs = write_refs(tmp_path, one_var_refs("https://data.example.org/a/%2e%2e/%2e%2e/x"))
    with pytest.raises(ReferenceNotAllowedError, match="percent-encoded"):
        read(refs)


def test_options_widen_or_narrow_the_policy(tmp_path):
    outside = tmp_path / "data" / "x.bin"
    outside.parent.mkdir()
    outside.write_bytes(np.arange(4, dtype="<i4").tobytes())
    refs = write_refs(tmp_path / "refs", one_var_refs(url_of(outside)))
    with pytest.raises(ReferenceNotAllowedError):
        read(refs)
    # a prefix at a "/" boundary: ".../data" allows ".../data/x.bin" but not ".../database"
    for prefix in (url_of(tmp_path / "data"), url_of(tmp_path / "data") + "/", str(outside)):
        group = read(refs, allowed_prefixes=[prefix])
        np.testing.assert_array_equal(load_values(group.variables["v"].data), np.arange(4))
    with pytest.raises(ReferenceNotAllowedError):
        read(refs, allowed_prefixes=[url_of(tmp_path / "dat")])
    vds = vzcore.open_virtual_dataset(
        refs, reader_options={"allowed_prefixes": [url_of(tmp_path / "data")]}
    )
    assert vds["v"].shape == (4,)
    # narrowing: no protocol allowed, only one bucket prefix
    remote = write_refs(tmp_path / "refs", one_var_refs("s3://other/x.nc"), "s3.json")
    with pytest.raises(ReferenceNotAllowedError, match="protocol 's3'"):
        read(remote, allowed_protocols=[], allowed_prefixes=["s3://mine/"])
    assert read(remote, allowed_protocols=["s3"]).variables["v"].data.manifest.paths
    # an internal host only when a prefix names it
    internal = write_refs(tmp_path, one_var_refs("http://127.0.0.1:9999/x.nc"), "int.json")
    assert read(internal, allowed_prefixes=["http://127.0.0.1:9999/"]).variables["v"]
    with pytest.raises(ReferenceNotAllowedError, match="private network"):
        read(internal, allowed_protocols=["http"])


def test_bad_options_are_refused(tmp_path):
    refs = write_refs(tmp_path, one_var_refs("s3://b/x.nc"))
    with pytest.raises(TypeError, match="allowed_protocols"):
        read(refs, allowed_protocols="s3")
    with pytest.raises(ValueError, match="allowed_prefixes"):
        read(refs, allowed_prefixes=[""])
    with pytest.raises(TypeError):
        read(refs, not_an_option=1)


# -- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["../evil", "a/../../b", "/abs", "a//b", "back\\slash", "ctl\x01", ".", "a/./b", ".zfoo"],
)
def test_bad_array_and_group_names_are_corrupt(tmp_path, name):
    doc = one_var_refs("s3://b/x.nc", name=name)
    refs = write_refs(tmp_path, doc)
    with pytest.raises(CorruptFileError, match=r"name|absolute|key") as info:
        read(refs)
    assert str(refs) in str(info.value)


def test_bad_group_name_in_zgroup_key(tmp_path):
    doc = one_var_refs("s3://b/x.nc")
    doc["refs"]["../up/.zgroup"] = json.dumps({"zarr_format": 2})
    with pytest.raises(CorruptFileError, match=r"'\.\.'"):
        read(write_refs(tmp_path, doc))


# -- corrupt references ------------------------------------------------------------------------


def _valid(tmp_path: Path) -> dict:
    data = tmp_path / "data.bin"
    data.write_bytes(np.arange(8, dtype="<i4").tobytes())
    doc = one_var_refs("data.bin")
    doc["refs"]["v/.zarray"] = zarray([8], [4])
    doc["refs"]["v/1"] = ["data.bin", 16, 16]
    return doc


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda r: r.__setitem__("v/0", ["data.bin", -1, 16]), "non-negative"),
        (lambda r: r.__setitem__("v/0", ["data.bin", 0, "16"]), "non-negative"),
        (lambda r: r.__setitem__("v/0", ["data.bin", 0]), r"\[url, offset, length\]"),
        (lambda r: r.__setitem__("v/0", [5, 0, 16]), "not text"),
        (lambda r: r.__setitem__("v/0", 12), "chunk entry"),
        (lambda r: r.__setitem__("v/0", "base64:@@@"), "base64"),
        (lambda r: r.__setitem__("v/.zarray", "{not json"), "not valid JSON"),
        (lambda r: r.__setitem__("v/.zarray", "[1, 2]"), "JSON object"),
        (
            lambda r: r.__setitem__("v/.zarray", json.dumps({"shape": [8], "dtype": "<i4"})),
            "lacks 'chunks'",
        ),
        (lambda r: r.__setitem__("v/.zarray", zarray([8], [0])), "'chunks'"),
        (lambda r: r.__setitem__("v/.zarray", zarray([8], [4], dtype="<x9")), "invalid dtype"),
        (lambda r: r.__setitem__("v/.zarray", zarray([8], [4], fill_value="abc")), "fill_value"),
        (lambda r: r.__setitem__("v/.zarray", zarray([8, 2], [4])), "differ in length"),
        (
            lambda r: r.__setitem__("v/.zattrs", json.dumps({"_ARRAY_DIMENSIONS": "x"})),
            "_ARRAY_DIMENSIONS",
        ),
        (lambda r: r.__setitem__("v/7", ["data.bin", 0, 4]), "'v/7'"),  # outside the grid
        (lambda r: r.__setitem__("w/0", ["data.bin", 0, 4]), "'w/0'"),  # no .zarray
        (lambda r: r.pop("v/.zarray"), "'v/0'"),
    ],
)
def test_corrupt_references_name_the_file_and_key(tmp_path, mutate, match):
    doc = _valid(tmp_path)
    mutate(doc["refs"])
    refs = write_refs(tmp_path, doc)
    with pytest.raises(CorruptFileError, match=match) as info:
        read(refs)
    assert str(refs) in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "{",
        '{"version": 1, "refs": []}',
        '{"version": 1, "templates": [1]}',
        '{"version": 1, "gen": {}}',
        b"\xff\xfe{}".decode("latin-1"),
    ],
)
def test_corrupt_documents(tmp_path, text):
    p = tmp_path / "refs.json"
    p.write_text(text, encoding="latin-1")
    with pytest.raises(CorruptFileError):
        read(p)


def test_unknown_version_and_jinja_templates_are_unsupported(tmp_path):
    from vzcore.errors import UnsupportedFeatureError

    with pytest.raises(UnsupportedFeatureError, match="version 2"):
        read(write_refs(tmp_path, {"version": 2, "refs": {}}))
    doc = one_var_refs("{{f('x')}}")
    doc["templates"] = {"f": "{{x}}/data"}
    with pytest.raises(UnsupportedFeatureError, match="jinja"):
        read(write_refs(tmp_path, doc))


def test_missing_whole_file_is_a_clear_error(tmp_path):
    refs = write_refs(tmp_path, one_var_refs("gone.bin"))
    doc = json.loads(refs.read_text())
    doc["refs"]["v/0"] = ["gone.bin"]
    refs = write_refs(tmp_path, doc)
    with pytest.raises(CorruptFileError, match=r"whole file .*gone\.bin"):
        read(refs)


def test_corrupt_parquet_directories(tmp_path):
    pytest.importorskip("pyarrow")
    d = tmp_path / "refs.parq"
    d.mkdir()
    with pytest.raises(CorruptFileError, match=r"\.zmetadata"):
        read(d)
    (d / ".zmetadata").write_text("{nope")
    with pytest.raises(CorruptFileError, match="not valid JSON"):
        read(d)
    meta = {
        "metadata": {
            ".zgroup": {"zarr_format": 2},
            "v/.zarray": json.loads(zarray([4], [2])),
            "v/.zattrs": {"_ARRAY_DIMENSIONS": ["x"]},
        },
        "record_size": 0,
    }
    (d / ".zmetadata").write_text(json.dumps(meta))
    with pytest.raises(CorruptFileError, match="record_size"):
        read(d)
    meta["record_size"] = 10
    (d / ".zmetadata").write_text(json.dumps(meta))
    (d / "v").mkdir()
    (d / "v" / "refs.0.parq").write_bytes(b"PAR1 not really")
    with pytest.raises(CorruptFileError, match=r"refs\.0\.parq"):
        read(d)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table(
            {
                "path": ["s3://b/x", "s3://b/x"],
                "offset": [-5, 0],
                "size": [1, 1],
                "raw": pa.array([None, None], pa.binary()),
            }
        ),
        d / "v" / "refs.0.parq",
    )
    with pytest.raises(CorruptFileError, match="negative offset"):
        read(d)
    pq.write_table(
        pa.table({"path": ["/etc/passwd", None], "offset": [1, 0], "size": [1, 0]}),
        d / "v" / "refs.0.parq",
    )
    with pytest.raises(ReferenceNotAllowedError, match="file:///etc/passwd"):
        read(d)


# -- fuzz ----------------------------------------------------------------------------------------


_JUNK = [
    None,
    -1,
    0,
    2**70,
    1.5,
    "",
    "x",
    "base64:",
    "base64:!!",
    [],
    [None],
    ["a", 1],
    ["a", -1, 1],
    {},
    {"id": None},
    [[1]],
    True,
    "../../../etc/passwd",
    "file:///etc/passwd",
    "\x00",
    "{",
    "NaN",
]


def _mutations(doc: dict, rng: random.Random):
    refs = doc["refs"]
    keys = list(refs)
    key = rng.choice(keys)
    kind = rng.randrange(6)
    out = copy.deepcopy(doc)
    r = out["refs"]
    if kind == 0:
        del r[key]
    elif kind == 1:
        r[key] = rng.choice(_JUNK)
    elif kind == 2 and isinstance(refs[key], str) and refs[key].startswith("{"):
        inner = json.loads(refs[key])
        field = rng.choice(list(inner) or ["x"])
        inner[field] = rng.choice(_JUNK)
        r[key] = json.dumps(inner)
    elif kind == 3 and isinstance(refs[key], str):
        text = refs[key]
        r[key] = text[: rng.randrange(len(text) + 1)]
    elif kind == 4:
        r[key.replace("v", rng.choice(["..", "", "/", "v/w", "\\"]), 1)] = refs[key]
    else:
        out[rng.choice(["version", "templates", "gen", "vzcore", "refs"])] = rng.choice(_JUNK)
    return out


def test_fuzzed_references_raise_only_vzcore_errors(tmp_path):
    base = _valid(tmp_path)
    base["refs"]["s/.zarray"] = zarray(
        [3],
        [2],
        "<f8",
        "NaN",
        compressor={"id": "zlib", "level": 1},
        filters=[{"id": "shuffle", "elementsize": 8}],
    )
    base["refs"]["s/.zattrs"] = json.dumps({"_ARRAY_DIMENSIONS": ["y"], "units": "m"})
    base["refs"]["s/0"] = "base64:AAAA"
    base["refs"]["g/.zgroup"] = json.dumps({"zarr_format": 2})
    base["vzcore"] = {"sources": {"data.bin": {"size": 32}}}
    rng = random.Random(20260101)

    def texts():
        for i in range(300):
            text = json.dumps(_mutations(base, rng))
            if i % 7 == 0:  # truncated text as well
                text = text[: rng.randrange(len(text))]
            yield text

    outcomes = fuzz_outcomes(tmp_path, texts())
    assert outcomes["error"] > 50
    assert outcomes["ok"] > 20
