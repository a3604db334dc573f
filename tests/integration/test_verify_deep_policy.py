"""Issue 12, item 5: ``verify(deep=True)`` follows the same allow-list rules as ``verify``.

A user's own references verify and decode every chunk with no options, wherever they sit
relative to the data (item 6). An allow-list the caller gives is applied before anything
is read, deep or not. Deep verify hands out no data: a reference into a file that is not
what the references say (here a secret text file) is reported as a bad chunk whose message
carries none of the file's bytes.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("vz_hdf5")
vz_kerchunk = pytest.importorskip("vz_kerchunk")
nc4 = pytest.importorskip("netCDF4")

import vzcore


def _layout(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "data" / "a.nc"
    data.parent.mkdir()
    with nc4.Dataset(data, "w") as ds:
        ds.createDimension("x", 8)
        v = ds.createVariable("v", "i4", ("x",), chunksizes=(2,), zlib=True)
        v[:] = np.arange(8)
    refs = tmp_path / "refs" / "a.json"
    refs.parent.mkdir()
    vzcore.open_virtual_dataset(data).virtualize.to_kerchunk(str(refs), format="json")
    return data, refs


def test_deep_verify_of_own_references_in_another_directory(tmp_path: Path) -> None:
    _, refs = _layout(tmp_path)
    report = vzcore.verify(str(refs), deep=True)
    assert report.ok, str(report)
    assert report.chunks_decoded == 4


def test_deep_verify_applies_the_callers_allow_list(tmp_path: Path) -> None:
    data, refs = _layout(tmp_path)
    with pytest.raises(vz_kerchunk.ReferenceNotAllowedError, match=r"a\.nc"):
        vzcore.verify(
            str(refs), deep=True, reader_options={"allowed_prefixes": ["s3://elsewhere/"]}
        )
    with pytest.raises(vz_kerchunk.ReferenceNotAllowedError):
        vzcore.verify(
            str(refs), deep=True, reader_options={"kerchunk": {"allowed_protocols": ["s3"]}}
        )
    report = vzcore.verify(
        str(refs), deep=True, reader_options={"allowed_prefixes": [data.parent.as_uri() + "/"]}
    )
    assert report.ok, str(report)
    assert report.chunks_decoded == 4


def test_deep_verify_reports_no_bytes_of_foreign_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    text = b"TOP-SECRET-PASSWORD-0123456789abcdef"
    secret.write_bytes(text)
    refs = tmp_path / "refs" / "evil.json"
    refs.parent.mkdir()
    arrays = {
        "raw": {"dtype": "|u1", "compressor": None, "filters": None},
        "zipped": {"dtype": "<i4", "compressor": {"id": "zlib", "level": 1}, "filters": None},
    }
    doc: dict[str, object] = {".zgroup": json.dumps({"zarr_format": 2})}
    for name, spec in arrays.items():
        doc[f"{name}/.zarray"] = json.dumps(
            {
                "zarr_format": 2,
                "shape": [len(text) * 2],
                "chunks": [len(text) * 2],
                "order": "C",
                "fill_value": None,
                **spec,
            }
        )
        doc[f"{name}/.zattrs"] = json.dumps({"_ARRAY_DIMENSIONS": [name]})
        doc[f"{name}/0"] = [secret.as_uri(), 0, len(text)]
    refs.write_text(json.dumps({"version": 1, "refs": doc}))
    report = vzcore.verify(str(refs), deep=True, reader_options={"allowed_prefixes": ["*"]})
    assert not report.ok
    assert {b.variable for b in report.bad_chunks} == set(arrays)
    shown = str(report) + repr(report.bad_chunks)
    for piece in (text, base64.b64encode(text)):
        assert piece.decode() not in shown
    for k in range(0, len(text) - 4, 4):
        assert text[k : k + 5].decode() not in shown, shown
