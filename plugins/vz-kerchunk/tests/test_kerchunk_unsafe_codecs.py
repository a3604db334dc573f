"""Foreign references cannot make vzcore unpickle, or allocate from, data they point at.

* An array whose codecs unpickle (numcodecs ``pickle``) is refused when the references are
  read, before any chunk is decoded, even in a process that lets numcodecs unpickle
  (``NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE=1``): coordinates are loaded by default and
  ``verify(deep=True)`` decodes every chunk. ``allow_pickle=True`` opts in.
* A ``vlen-utf8`` chunk whose item count cannot be true (random bytes) fails on its header,
  before numcodecs allocates an object array of that many items.

The hostile chunks are real files: a pickle whose loading creates a file (the test checks
that it was never created), and random bytes.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("vz_kerchunk")
pytest.importorskip("xarray")

import numcodecs
import numcodecs.pickles
import vzcore
from vzcore.errors import CorruptFileError, OptionError, UnsafeCodecError

from vz_kerchunk import KerchunkReader


class _Trap:
    """Unpickling it opens (creates) the file ``path``: proof that the data ran code."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.path, "w"))


@pytest.fixture
def numcodecs_unpickles(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process opted in to unpickling (as NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE=1 does)."""
    monkeypatch.setattr(numcodecs.pickles, "ALLOW_UNSAFE_PICKLE_DECODE", True)


def _v2_array(dtype: str, shape: list[int], filters: list[dict[str, Any]] | None) -> dict[str, str]:
    return {
        ".zarray": json.dumps(
            {
                "zarr_format": 2,
                "shape": shape,
                "chunks": shape,
                "dtype": dtype,
                "fill_value": None,
                "order": "C",
                "compressor": None,
                "filters": filters,
            }
        ),
        ".zattrs": json.dumps({"_ARRAY_DIMENSIONS": ["x"]}),
    }


def _refs(tmp_path: Path, arrays: dict[str, tuple[dict[str, str], bytes]]) -> dict[str, Any]:
    """Kerchunk references (JSON spec v1): one chunk per array, in its own data file."""
    refs: dict[str, Any] = {".zgroup": json.dumps({"zarr_format": 2})}
    for name, (docs, chunk) in arrays.items():
        (tmp_path / f"{name}.bin").write_bytes(chunk)
        for key, doc in docs.items():
            refs[f"{name}/{key}"] = doc
        refs[f"{name}/0"] = [f"{name}.bin", 0, len(chunk)]
    return {"version": 1, "refs": refs}


def _pickle_refs(tmp_path: Path, layout: str) -> tuple[Path, Path]:
    """Write references whose coordinate ``x`` holds a trap pickle; return them and the trap."""
    trap = tmp_path / "trap-sprung"
    payload = pickle.dumps(_Trap(trap))
    (tmp_path / "x.bin").write_bytes(payload)
    if layout == "zarr v3":
        zarr_json = {
            "zarr_format": 3,
            "node_type": "array",
            "shape": [1],
            "data_type": "int32",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1]}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": 0,
            "codecs": [
                {"name": "bytes", "configuration": {"endian": "little"}},
                {"name": "numcodecs.pickle", "configuration": {}},
            ],
            "dimension_names": ["x"],
            "attributes": {},
        }
        refs: dict[str, Any] = {
            "zarr.json": json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}),
            "x/zarr.json": json.dumps(zarr_json),
            "x/c/0": ["x.bin", 0, len(payload)],
        }
        path = tmp_path / "refs.json"
        path.write_text(json.dumps({"version": 1, "refs": refs}))
        return path, trap
    doc = _refs(tmp_path, {"x": (_v2_array("|O", [1], [{"id": "pickle"}]), payload)})
    if layout == "parquet":
        pytest.importorskip("fastparquet")
        from kerchunk.df import refs_to_dataframe

        path = tmp_path / "refs.parq"
        refs = dict(doc["refs"])
        refs["x/0"] = [str(tmp_path / "x.bin"), 0, len(payload)]
        refs_to_dataframe(refs, str(path))
        return path, trap
    path = tmp_path / "refs.json"
    path.write_text(json.dumps(doc))
    return path, trap


ENTRY_POINTS = {
    "open_virtual_dataset": lambda p: vzcore.open_virtual_dataset(str(p)),
    "open_virtual_mfdataset": lambda p: vzcore.open_virtual_mfdataset([str(p)]),
    "verify(deep=True)": lambda p: vzcore.verify(str(p), deep=True),
    "fully virtual, then verify(deep=True)": lambda p: vzcore.verify(
        vzcore.open_virtual_dataset(str(p), loadable_variables=[]), deep=True
    ),
}


@pytest.mark.usefixtures("numcodecs_unpickles")
@pytest.mark.filterwarnings("ignore:The .fastparquet. engine is deprecated")  # kerchunk's writer
@pytest.mark.parametrize("layout", ["json", "parquet", "zarr v3"])
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_pickle_codec_is_refused_before_any_chunk_is_decoded(tmp_path, layout, entry):
    path, trap = _pickle_refs(tmp_path, layout)
    with pytest.raises(UnsafeCodecError) as caught:
        ENTRY_POINTS[entry](path)
    assert not trap.exists(), "the references' pickle was loaded"
    err = caught.value
    assert isinstance(err, PermissionError)
    assert (err.variable, err.codec) == ("x", "pickle")
    assert err.url.endswith(path.name)
    message = str(err)
    assert f"variable 'x' in {err.url!r}" in message
    assert "codec 'pickle' unpickles Python objects" in message
    assert "reader_options={'allow_pickle': True}" in message
    assert "drop_variables=['x']" in message
    assert "corrupt" not in message


def test_the_refusal_names_the_array_in_its_group_and_dropping_it_works(tmp_path):
    payload = pickle.dumps(np.array(["a"], dtype=object))
    (tmp_path / "g").mkdir()
    doc = _refs(
        tmp_path,
        {
            "g/x": (_v2_array("|O", [1], [{"id": "pickle"}]), payload),
            "g/v": (_v2_array("<i4", [1], None), np.array([7], "<i4").tobytes()),
        },
    )
    path = tmp_path / "refs.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(UnsafeCodecError, match=r"variable 'g/x'.*drop_variables=\['g/x'\]"):
        vzcore.open_virtual_datatree(str(path))
    tree = vzcore.open_virtual_datatree(str(path), drop_variables=["g/x"])
    assert list(tree["g"].data_vars) == ["v"]


@pytest.mark.usefixtures("numcodecs_unpickles")
def test_allow_pickle_opts_in_for_trusted_references(tmp_path):
    strings = np.array(["alpha", "beta", "gamma"], dtype=object)
    doc = _refs(tmp_path, {"x": (_v2_array("|O", [3], [{"id": "pickle"}]), b"")})
    chunk = numcodecs.Pickle().encode(strings)
    (tmp_path / "x.bin").write_bytes(chunk)
    doc["refs"]["x/0"] = ["x.bin", 0, len(chunk)]
    path = tmp_path / "refs.json"
    path.write_text(json.dumps(doc))
    ds = vzcore.open_virtual_dataset(str(path), reader_options={"allow_pickle": True})
    assert ds["x"].values.tolist() == strings.tolist()
    report = vzcore.verify(str(path), deep=True, reader_options={"allow_pickle": True})
    assert report.ok, str(report)
    assert report.chunks_decoded == 1


@pytest.mark.usefixtures("numcodecs_unpickles")
def test_a_chunk_that_unpickles_to_no_array_names_the_chunk_and_what_it_was(tmp_path):
    chunk = pickle.dumps({"not": "an array"})
    doc = _refs(tmp_path, {"x": (_v2_array("|O", [1], [{"id": "pickle"}]), chunk)})
    path = tmp_path / "refs.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(CorruptFileError) as caught:  # x is loaded: a dimension coordinate
        vzcore.open_virtual_dataset(str(path), reader_options={"allow_pickle": True})
    message = str(caught.value)
    assert "chunk 0 of variable 'x' decoded to a builtins.dict" in message
    assert "not an array or bytes of object elements" in message
    assert caught.value.url.endswith("x.bin")
    report = vzcore.verify(str(path), deep=True, reader_options={"allow_pickle": True})
    (bad,) = report.bad_chunks
    assert (bad.variable, bad.chunk) == ("x", (0,))
    assert "decoded to a builtins.dict" in bad.error


def test_numcodecs_refusing_to_unpickle_is_not_reported_as_corrupt(tmp_path, monkeypatch):
    monkeypatch.setattr(numcodecs.pickles, "ALLOW_UNSAFE_PICKLE_DECODE", False)
    strings = np.array(["alpha"], dtype=object)
    chunk = numcodecs.Pickle().encode(strings)
    path = tmp_path / "refs.json"
    path.write_text(
        json.dumps(_refs(tmp_path, {"x": (_v2_array("|O", [1], [{"id": "pickle"}]), chunk)}))
    )
    with pytest.raises(UnsafeCodecError) as caught:
        vzcore.open_virtual_dataset(str(path), reader_options={"allow_pickle": True})
    assert "NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE=1" in str(caught.value)
    assert "corrupt" not in str(caught.value)
    report = vzcore.verify(str(path), deep=True, reader_options={"allow_pickle": True})
    (bad,) = report.bad_chunks
    assert "NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE=1" in bad.error
    assert "corrupt" not in bad.error


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_allow_pickle_must_be_a_bool(tmp_path, value):
    path = tmp_path / "refs.json"
    path.write_text(json.dumps({"version": 1, "refs": {".zgroup": '{"zarr_format": 2}'}}))
    with pytest.raises(OptionError, match=r"invalid option allow_pickle=.*: pass True or False"):
        KerchunkReader().read("file://" + str(path), allow_pickle=value)


# -- vlen-utf8 chunks of random bytes ------------------------------------------------------------


def _vlen_refs(tmp_path: Path, chunk: bytes, n: int) -> Path:
    doc = _refs(tmp_path, {"s": (_v2_array("|O", [n], [{"id": "vlen-utf8"}]), chunk)})
    path = tmp_path / "refs.json"
    path.write_text(json.dumps(doc))
    return path


def test_vlen_chunk_of_random_bytes_fails_on_its_header(tmp_path):
    rng = np.random.default_rng(12)
    noise = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    count = int.from_bytes(noise[:4], "little")
    assert 4 + 4 * count > len(noise)  # what numcodecs would allocate an object array for
    path = _vlen_refs(tmp_path, noise, 10)
    header = rf"header announces {count} items, which need at least {4 + 4 * count} bytes, "
    header += "but the chunk has 4096 bytes"
    report = vzcore.verify(str(path), deep=True)
    (bad,) = report.bad_chunks
    assert (bad.variable, bad.chunk, bad.length) == ("s", (0,), 4096)
    assert header in bad.error
    with pytest.raises(CorruptFileError, match=header):
        vzcore.open_virtual_dataset(str(path), loadable_variables=["s"])


def test_vlen_chunk_whose_count_is_not_the_chunks_is_refused(tmp_path):
    chunk = numcodecs.VLenUTF8().encode(np.array(["a", "b", "c"], dtype=object))
    path = _vlen_refs(tmp_path, chunk, 4)
    (bad,) = vzcore.verify(str(path), deep=True).bad_chunks
    assert "header announces 3 items where the chunk holds 4 elements" in bad.error
    short = _vlen_refs(tmp_path, b"\x01\x00", 1)
    (bad,) = vzcore.verify(str(short), deep=True).bad_chunks
    assert "a vlen-utf8 chunk of 2 bytes lacks its 4-byte item count" in bad.error


def test_vlen_chunk_that_is_true_decodes(tmp_path):
    words = np.array(["", "héllo", "wörld", "x" * 1000], dtype=object)
    path = _vlen_refs(tmp_path, numcodecs.VLenUTF8().encode(words), 4)
    report = vzcore.verify(str(path), deep=True)
    assert report.ok, str(report)
    assert report.chunks_decoded == 1
    ds = vzcore.open_virtual_dataset(str(path), loadable_variables=["s"])
    assert ds["s"].values.tolist() == words.tolist()


# -- the command line passes reader options (vz verify / vz convert -R KEY=VALUE) ---------------


def _vz(*args: str, unpickles: bool) -> Any:
    """Run ``python -m vzcore ARGS`` as a user does, numcodecs unpickling or not."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE": "1" if unpickles else "0"}
    return subprocess.run(
        [sys.executable, "-m", "vzcore", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )


@pytest.mark.usefixtures("numcodecs_unpickles")
def test_vz_verify_and_convert_take_allow_pickle_as_a_reader_option(tmp_path):
    strings = np.array(["alpha", "beta", "gamma"], dtype=object)
    chunk = numcodecs.Pickle().encode(strings)
    path = tmp_path / "refs.json"
    path.write_text(
        json.dumps(_refs(tmp_path, {"x": (_v2_array("|O", [3], [{"id": "pickle"}]), chunk)}))
    )
    refused = _vz("verify", str(path), "--deep", unpickles=True)
    assert refused.returncode == 2, refused.stderr
    assert "codec 'pickle' unpickles Python objects" in refused.stderr
    ok = _vz("verify", str(path), "--deep", "--json", "-R", "allow_pickle=true", unpickles=True)
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["ok"]
    assert report["chunks_decoded"] == 1
    out = str(tmp_path / "copy.json")
    refused = _vz("convert", str(path), out, unpickles=False)
    assert "codec 'pickle' unpickles Python objects" in refused.stderr
    # with the option the reader takes them; zarr v2 metadata cannot hold a pickled object
    # array, which the writer says (no chunk is decoded, numcodecs may not unpickle here)
    passed = _vz("convert", str(path), out, "--reader-option", "allow_pickle=true", unpickles=False)
    assert passed.returncode == 2
    assert "Cannot write variable 'x' as zarr format 2" in passed.stderr, passed.stderr


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("allow_pickle=yes", "invalid option allow_pickle='yes'"),
        ("allow_pikle=true", "allow_pikle"),
        ("allow_pickle", "--reader-option 'allow_pickle' is not KEY=VALUE"),
    ],
)
def test_vz_verify_reports_a_bad_reader_option(tmp_path, option, message):
    path = tmp_path / "refs.json"
    path.write_text(json.dumps({"version": 1, "refs": {".zgroup": '{"zarr_format": 2}'}}))
    done = _vz("verify", str(path), "-R", option, unpickles=False)
    assert done.returncode == 2
    assert message in done.stderr
