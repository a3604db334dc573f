"""HDF5 compound types written as references and read back with zarr, field by field.

Compound types with padding, fields out of byte order, nested compounds, big-endian and
mixed-endian fields are written as kerchunk JSON (zarr formats 2 and 3), Parquet and
Icechunk, and each field read through zarr-python must equal h5py's. Types zarr cannot read
(sub-array fields) raise UnsupportedFeatureError naming the file, the variable and the
remedy, and the file's other variables still read. No writer ever stores an array document
zarr cannot parse.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
zarr = pytest.importorskip("zarr")
fsspec = pytest.importorskip("fsspec")

import vzcore
from vzcore.errors import UnsupportedFeatureError, WriteError
from vzcore.manifests import zarr_compat
from vzcore.manifests.zarr_compat import check_array_document, struct_layout, zarr_v2_dtype
from vzcore.testing.outputs import icechunk_store

DTYPES = {
    "padded": np.dtype(
        {"names": ["a", "b"], "formats": ["<i4", "<f8"], "offsets": [0, 8], "itemsize": 20}
    ),
    "reordered": np.dtype(
        {
            "names": ["a", "b", "c"],
            "formats": ["<i4", "<f8", "u1"],
            "offsets": [8, 0, 14],
            "itemsize": 16,
        }
    ),
    "nested": np.dtype([("a", "<i4"), ("n", [("x", "<i2"), ("y", "<f4")]), ("s", "S3")]),
    "big-endian": np.dtype([("a", ">i4"), ("b", ">f8"), ("ok", "|b1")]),
    "mixed-endian": np.dtype([("a", "<i4"), ("b", ">f8")]),
}
V3_UNSUPPORTED = {"mixed-endian"}  # one byte order per zarr v3 `bytes` codec


def _records(dtype: np.dtype[Any], n: int) -> np.ndarray:
    rec = np.zeros(n, dtype)
    for name in dtype.names:
        sub = dtype[name]
        if sub.names is not None:
            for inner in sub.names:
                rec[name][inner] = np.arange(n) * 3 + 1
        elif sub.kind == "S":
            rec[name] = [str(i).encode() for i in range(n)]
        else:
            rec[name] = (np.arange(n) * 7 + 2) % 5 if sub.kind == "b" else np.arange(n) + 0.5
    return rec


def _write(path: Path, dtype: np.dtype[Any]) -> None:
    with h5py.File(path, "w") as f:
        f.create_dataset("rec", data=_records(dtype, 7), chunks=(3,))
        # missing chunks read as the HDF5 fill value, in the original byte layout
        fill = _records(dtype, 2)[1]
        d = f.create_dataset("sparse", shape=(6,), dtype=dtype, chunks=(2,), fillvalue=fill)
        d[0:2] = _records(dtype, 2)
        f.create_dataset("other", data=np.arange(5.0))


def _assert_fields_equal(got: np.ndarray, want: np.ndarray, where: str) -> None:
    assert got.shape == want.shape, where
    for name in want.dtype.names:
        if want.dtype[name].names is not None:
            _assert_fields_equal(got[name], want[name], f"{where}.{name}")
        else:
            np.testing.assert_array_equal(got[name], want[name], err_msg=f"{where}.{name}")


def _read_h5(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in ("rec", "sparse", "other")}


def _zarr_group(output: str | dict[str, Any], zarr_format: int, kind: str) -> Any:
    if kind == "parquet":
        fs = fsspec.filesystem("reference", fo=str(output), remote_protocol="file")
    else:
        fs = fsspec.filesystem("reference", fo=output)
    return zarr.open_group(fs.get_mapper(""), mode="r", zarr_format=zarr_format)


# pandas 3 deprecates the engine fsspec reads Parquet references with (not ours to fix)
@pytest.mark.filterwarnings("ignore:The 'fastparquet' engine is deprecated:DeprecationWarning")
@pytest.mark.parametrize("kind", ["json", "parquet"])
@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("case", sorted(DTYPES))
def test_compound_types_read_back_field_by_field(tmp_path, case, zarr_format, kind):
    path = tmp_path / f"{case}.h5"
    _write(path, DTYPES[case])
    vds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    out = str(tmp_path / ("refs.json" if kind == "json" else "refs.parq"))
    if zarr_format == 3 and case in V3_UNSUPPORTED:
        with pytest.raises(WriteError, match=r"'rec'.*byte order.*zarr_format=2"):
            vds.virtualize.to_kerchunk(out, format=kind, zarr_format=3)
        return
    vds.virtualize.to_kerchunk(out, format=kind, zarr_format=zarr_format)
    g = _zarr_group(out, zarr_format, kind)
    for name, want in _read_h5(path).items():
        got = g[name][...]
        if want.dtype.names is None:
            np.testing.assert_array_equal(got, want)
            continue
        assert got.dtype.itemsize == want.dtype.itemsize  # the same bytes per element
        assert set(want.dtype.names) <= set(got.dtype.names)
        _assert_fields_equal(got, want, name)


@pytest.mark.parametrize("case", sorted(set(DTYPES) - V3_UNSUPPORTED))
def test_compound_types_through_icechunk(tmp_path, case):
    path = tmp_path / f"{case}.h5"
    _write(path, DTYPES[case])
    vds = vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    store = icechunk_store(vds, tmp_path / "repo", sources=[f"file://{path}"])
    g = zarr.open_group(store, mode="r", zarr_format=3)
    for name, want in _read_h5(path).items():
        got = g[name][...]
        if want.dtype.names is None:
            np.testing.assert_array_equal(got, want)
        else:
            _assert_fields_equal(got, want, name)


def test_sub_array_field_raises_and_the_rest_of_the_file_reads(tmp_path):
    path = tmp_path / "subarray.h5"
    bad = np.dtype([("a", "<i4"), ("c", ">f8", (2,))])
    with h5py.File(path, "w") as f:
        f.create_dataset("bad", data=np.zeros(3, bad))
        f.create_dataset("good", data=np.arange(4, dtype="<i2"))
    with pytest.raises(UnsupportedFeatureError) as info:
        vzcore.open_virtual_dataset(str(path), loadable_variables=[])
    err = info.value
    assert err.url == f"file://{path}"
    assert err.variable == "/bad"
    assert "field 'c' is a sub-array" in err.feature
    assert "drop_variables" in str(err)
    assert "skip_unsupported" in str(err)
    # the remedy it names works
    vds = vzcore.open_virtual_dataset(
        str(path), loadable_variables=[], reader_options={"drop_variables": ["bad"]}
    )
    assert set(vds.variables) == {"good"}
    for zarr_format in (2, 3):
        refs = vds.virtualize.to_kerchunk(format="dict", zarr_format=zarr_format)
        g = zarr.open_group(
            fsspec.filesystem("reference", fo=refs).get_mapper(""),
            mode="r",
            zarr_format=zarr_format,
        )
        np.testing.assert_array_equal(g["good"][...], np.arange(4, dtype="<i2"))


def test_struct_layout_and_v2_dtype():
    dt = DTYPES["reordered"]
    assert struct_layout(dt) == [
        ("b", np.dtype("<f8")),
        ("a", np.dtype("<i4")),
        (None, np.dtype("V2")),
        ("c", np.dtype("u1")),
        (None, np.dtype("V1")),
    ]
    assert zarr_v2_dtype(dt) == [["b", "<f8"], ["a", "<i4"], ["", "|V2"], ["c", "|u1"], ["", "|V1"]]
    # the field list has the original's memory layout: the same bytes decode the same
    packed = np.dtype([(n or f"pad{i}", t) for i, (n, t) in enumerate(struct_layout(dt))])
    raw = _records(dt, 4)
    _assert_fields_equal(np.frombuffer(raw.tobytes(), packed), raw, "packed")
    overlapping = np.dtype({"names": ["a", "b"], "formats": ["<i4", "<i4"], "offsets": [0, 2]})
    with pytest.raises(ValueError, match="overlap"):
        struct_layout(overlapping)


def _zarray(dtype: Any) -> dict[str, Any]:
    return {
        "zarr_format": 2,
        "shape": [3],
        "chunks": [3],
        "dtype": dtype,
        "compressor": None,
        "fill_value": None,
        "order": "C",
        "filters": None,
        "dimension_separator": ".",
    }


def test_check_array_document_refuses_what_zarr_cannot_parse():
    check_array_document(_zarray([["a", "<i4"], ["", "|V4"]]), 2, "ok")
    with pytest.raises(WriteError, match=r"'grp/v'.*zarr-python .* cannot parse.*drop_vars"):
        check_array_document(_zarray([["a", "<i4"], ["c", ">f8", [2]]]), 2, "grp/v")
    v3 = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": [3],
        "data_type": "no-such-type",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [3]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0,
        "codecs": [{"name": "bytes"}],
        "attributes": {},
    }
    with pytest.raises(WriteError, match="zarr_format=2"):
        check_array_document(v3, 3, "v")


def test_check_array_document_parses_each_distinct_document_once():
    zarr_compat._parse.cache_clear()
    doc = _zarray("<M8[s]")  # not a plain document: zarr-python parses it
    for i in range(1000):
        check_array_document({**doc, "attributes": {"i": i}}, 2, f"v{i}")
    info = zarr_compat._parse.cache_info()
    assert (info.misses, info.hits) == (1, 999)
    json.dumps(doc)  # the document itself is untouched


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("case", sorted(DTYPES))
def test_loaded_compound_variables_read_back_field_by_field(tmp_path, case, zarr_format):
    # Loading is also the way to write a mixed-endian compound type as zarr v3: the loaded
    # values are in native byte order.
    path = tmp_path / f"{case}.h5"
    _write(path, DTYPES[case])
    vds = vzcore.open_virtual_dataset(str(path), loadable_variables=["rec", "sparse"])
    refs = vds.virtualize.to_kerchunk(format="dict", zarr_format=zarr_format)
    g = _zarr_group(refs, zarr_format, "json")
    for name, want in _read_h5(path).items():
        if want.dtype.names is not None:
            _assert_fields_equal(g[name][...], want, name)
