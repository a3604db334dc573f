"""Loaded coordinates stored as compressed inline chunks, next to references of earlier versions.

``vzcore.store_plan`` compresses a loaded variable's inline chunk when that pays
(``INLINE_CODECS``; earlier versions stored it raw). Every output then names the codec in its
metadata and reads back exactly with fsspec + xarray (zarr format 2 and 3), Icechunk, kerchunk's
combine and vzcore's own reader and ``verify``; references written the earlier way (raw
inline chunks) still combine with new files and new references.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import fsspec
import pytest
import xarray as xr

import vzcore
from vzcore.errors import CombineError
from vzcore.store_plan import INLINE_CODECS, plan
from vzcore.testing.samples import COMBINE

from ._roundtrip import FORMATS, assert_values_equal, reopen, write
from .conftest import write_sample_files

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
pytest.importorskip("vz_parquet")
pytest.importorskip("vz_icechunk")
pytestmark = pytest.mark.filterwarnings("ignore:The .fastparquet. engine is deprecated")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], xr.Dataset]:
    # 80 days per file: two files' int32 time (640 bytes) is compressed when loaded.
    files = write_sample_files(tmp_path_factory.mktemp("data"), n_files=4, steps=80)
    expected = xr.open_mfdataset(files, engine="netcdf4", combine="by_coords", **COMBINE).load()
    return files, expected


def _allow(files: list[Path]) -> dict[str, Any]:
    return {"kerchunk": {"allowed_prefixes": [files[0].parent.as_uri() + "/"]}}


def _json_refs(files: list[Path], out: Path, *, old: bool = False) -> Path:
    """Kerchunk JSON (zarr format 2) of ``files``; ``old``: loaded arrays stored raw, as
    earlier versions wrote them (the documents and bytes of ``compress_inline=False``)."""
    vds = vzcore.open_virtual_mfdataset(files, combine="by_coords", **COMBINE)
    vds.virtualize.to_kerchunk(out, format="json")
    refs = json.loads(out.read_text())
    raw = plan(vds.virtualize.to_group(), 2, compress_inline=False)
    compressed = 0
    for a in raw.arrays:
        if a.values is None:
            continue
        (key,) = (k for k in refs["refs"] if k.startswith(f"{a.path}/") and k[-1].isdigit())
        compressed += json.loads(refs["refs"][f"{a.path}/.zarray"])["compressor"] is not None
        if old:
            refs["refs"][f"{a.path}/.zarray"] = json.dumps(a.documents[".zarray"])
            refs["refs"][key] = "base64:" + base64.b64encode(a.manifest.inline[0]).decode()
    assert compressed == 1  # time; lat and lon (48 and 64 bytes) stay raw
    out.write_text(json.dumps(refs))
    return out


def _time_codecs(kind: str, out: Path) -> Any:
    """The ``compressor`` (zarr format 2) or ``codecs`` (format 3) of the ``time`` array."""
    docs = (
        json.loads(out.read_text())["refs"]
        if kind.startswith("json")
        else json.loads((out / ".zmetadata").read_text())["metadata"]
    )
    v3 = kind.endswith("v3")
    doc = docs["time/zarr.json" if v3 else "time/.zarray"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    return doc["codecs"] if v3 else doc["compressor"]


@pytest.mark.parametrize("kind", ["json-v2", "json-v3", "parquet-v2", "parquet-v3"])
def test_compressed_time_reads_back_with_every_client(archive, tmp_path, kind) -> None:
    files, expected = archive
    vds = vzcore.open_virtual_mfdataset(files, combine="by_coords", **COMBINE)
    fmt, zarr_format = kind.split("-")
    out = tmp_path / ("refs.json" if fmt == "json" else "refs.parq")
    vds.virtualize.to_kerchunk(out, format=fmt, zarr_format=int(zarr_format[1]))
    codecs = _time_codecs(kind, out)
    if zarr_format == "v2":
        assert codecs in INLINE_CODECS
    else:
        assert [c["name"] for c in codecs] == ["bytes", "blosc"]

    # fsspec + xarray's zarr engine (zarr format 2 or 3)
    fs = fsspec.filesystem("reference", fo=str(out), remote_protocol="file")
    got = xr.open_zarr(fs.get_mapper(""), zarr_format=int(zarr_format[1]))
    assert_values_equal(got.load(), expected)
    # vzcore's own reader (the kerchunk reader decodes the inline chunk) and verify
    again = vzcore.open_virtual_dataset(out, reader_options=_allow(files)["kerchunk"])
    assert_values_equal(again, expected, ["time", "lat", "lon"])
    report = vzcore.verify(out, deep=True)
    assert report.ok, report


def test_old_raw_references_combine_with_new_files_and_new_references(archive, tmp_path) -> None:
    files, expected = archive
    old = _json_refs(files[:2], tmp_path / "old.json", old=True)
    new = _json_refs(files[2:], tmp_path / "new.json")
    assert json.loads(json.loads(old.read_text())["refs"]["time/.zarray"])["compressor"] is None
    for parts in ([old, *files[2:]], [old, new]):
        vds = vzcore.open_virtual_mfdataset(parts, reader_options=_allow(files), **COMBINE)
        for fmt in FORMATS:
            where = tmp_path / f"{len(parts)}-{fmt}"
            where.mkdir()
            assert_values_equal(reopen(fmt, write(vds, fmt, where)), expected)


def test_kerchunk_combines_old_and_new_references(archive, tmp_path) -> None:
    from kerchunk.combine import MultiZarrToZarr

    files, expected = archive
    old = _json_refs(files[:2], tmp_path / "old.json", old=True)
    new = _json_refs(files[2:], tmp_path / "new.json")
    refs = MultiZarrToZarr(
        [json.loads(p.read_text()) for p in (old, new)],
        concat_dims=["time"],
        identical_dims=["lat", "lon", "elevation"],
        remote_protocol="file",
    ).translate()
    out = tmp_path / "kerchunk.json"
    out.write_text(json.dumps(refs))
    assert_values_equal(reopen("json2", out), expected)


def test_virtual_time_of_old_and_new_references_needs_loading(archive, tmp_path) -> None:
    # Kept virtual, the two inline chunks decode differently: refused by name, and the
    # remedy the message gives (load it) works.
    files, expected = archive
    old = _json_refs(files[:2], tmp_path / "old.json", old=True)
    new = _json_refs(files[2:], tmp_path / "new.json")
    nested = {**COMBINE, "combine": "nested", "concat_dim": "time"}
    options = _allow(files)
    with pytest.raises(CombineError, match=r"'time': codecs differ .*load the variable"):
        vzcore.open_virtual_mfdataset(
            [old, new], reader_options=options, loadable_variables=[], **nested
        )
    vds = vzcore.open_virtual_mfdataset(
        [old, new], reader_options=options, loadable_variables=["time"], **nested
    )
    assert_values_equal(reopen("json2", write(vds, "json2", tmp_path)), expected)
