"""A JSON reference file too large to be useful is refused, with Parquet and Icechunk as remedies."""

from __future__ import annotations

import json

import numpy as np
import pytest
from vzcore.errors import WriteError
from vzcore.group import ManifestGroup, Variable
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray

from vz_kerchunk import KerchunkWriter
from vz_kerchunk._writer import MAX_JSON_REFERENCES


def _group(n_files: int, per_file: int) -> ManifestGroup:
    grid = (n_files, per_file)
    lengths = np.full(grid, 100, np.uint64)
    offsets = (np.arange(per_file, dtype=np.uint64) * 100)[None, :].repeat(n_files, 0)
    urls = np.array([f"file:///data/f_{i}.nc" for i in range(n_files)], dtype=object)
    meta = ArrayMetadata((n_files, per_file), np.dtype("<f4"), (1, 1))
    manifest = ChunkManifest.from_arrays(np.broadcast_to(urls[:, None], grid), offsets, lengths)
    return ManifestGroup(variables={"v": Variable(("t", "x"), ManifestArray(meta, manifest), {})})


def test_default_limit_refuses_more_than_a_million_references(tmp_path):
    group = _group(2, MAX_JSON_REFERENCES // 2 + 1)
    target = tmp_path / "refs.json"
    with pytest.raises(
        WriteError, match=r"1,000,002 chunk references.*format='parquet'.*to_icechunk"
    ):
        KerchunkWriter().write(group, target)
    assert not target.exists()
    with pytest.raises(WriteError, match="max_references=None"):
        KerchunkWriter().write(group, None, format="dict")


def test_limit_is_configurable(tmp_path):
    group = _group(4, 25)
    with pytest.raises(WriteError, match="100 chunk references exceed max_references=99"):
        KerchunkWriter().write(group, tmp_path / "a.json", max_references=99)
    KerchunkWriter().write(group, tmp_path / "b.json", max_references=100)
    KerchunkWriter().write(group, tmp_path / "c.json", max_references=None)
    refs = json.loads((tmp_path / "c.json").read_text())["refs"]
    assert (
        sum(1 for k in refs if k.startswith("v/") and not k.endswith((".zarray", ".zattrs"))) == 100
    )
    with pytest.raises(TypeError, match="max_references"):
        KerchunkWriter().write(group, tmp_path / "d.json", max_references="many")
