"""Source files' size/mtime/ETag stored under the "vzcore" key, which readers ignore."""

from __future__ import annotations

import json

import fsspec
import numpy as np
import pytest
import xarray as xr
from vzcore.group import ManifestGroup, Variable
from vzcore.manifests import ManifestArray, SourceInfo

from vz_kerchunk import KerchunkWriter


@pytest.fixture
def group_with_sources(chunk_file) -> ManifestGroup:
    arr = chunk_file.array(np.arange(12.0), (4,))
    info = SourceInfo(size=chunk_file.path.stat().st_size, mtime=123.5, etag='"e"')
    arr = ManifestArray(arr.metadata, arr.manifest.with_sources({chunk_file.url: info}))
    return ManifestGroup(variables={"v": Variable(("x",), arr, {})})


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_sources_written_to_json_and_dict(tmp_path, chunk_file, group_with_sources, zarr_format):
    expected = {
        "sources": {
            chunk_file.url: {"size": chunk_file.path.stat().st_size, "mtime": 123.5, "etag": '"e"'}
        }
    }
    out = tmp_path / "refs.json"
    KerchunkWriter().write(group_with_sources, out, zarr_format=zarr_format)
    assert json.loads(out.read_text())["vzcore"] == expected
    refs = KerchunkWriter().write(group_with_sources, None, format="dict", zarr_format=zarr_format)
    assert refs["vzcore"] == expected
    if zarr_format == 2:  # standard readers ignore the key and read the values
        mapper = fsspec.filesystem("reference", fo=str(out)).get_mapper("")
        ds = xr.open_dataset(mapper, engine="zarr", consolidated=False)
        np.testing.assert_array_equal(ds["v"].values, np.arange(12.0))


def test_record_sources_false_leaves_them_out(tmp_path, group_with_sources):
    out = tmp_path / "refs.json"
    KerchunkWriter().write(group_with_sources, out, record_sources=False)
    assert "vzcore" not in json.loads(out.read_text())
    assert "vzcore" not in KerchunkWriter().write(
        group_with_sources, None, format="dict", record_sources=False
    )


def test_reading_references_keeps_what_they_recorded(tmp_path, chunk_file, group_with_sources):
    """The kerchunk reader never stats the files now: that would hide a change since."""
    import vzcore

    allow = {"allowed_prefixes": [chunk_file.url.rsplit("/", 1)[0] + "/"]}
    recorded, bare = tmp_path / "recorded.json", tmp_path / "bare.json"
    KerchunkWriter().write(group_with_sources, recorded)
    KerchunkWriter().write(group_with_sources, bare, record_sources=False)

    def sources(path):
        ds = vzcore.open_virtual_dataset(path, reader="kerchunk", reader_options=allow)
        return ds.virtualize.to_group().sources()

    assert sources(recorded) == group_with_sources.sources()
    assert sources(bare) == {}
