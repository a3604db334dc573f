"""Byte-string attributes: UTF-8 ones are written as text, others refused by name."""

from __future__ import annotations

import json

import pytest

import vzcore
from vzcore.errors import WriteError

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")


def test_utf8_bytes_become_text_and_other_bytes_are_refused(tmp_path, sample_files) -> None:
    vds = vzcore.open_virtual_dataset(sample_files[0])
    vds["temp"].attrs["comment"] = "café".encode()
    vds.virtualize.to_kerchunk(tmp_path / "ok.json", format="json")
    refs = json.loads((tmp_path / "ok.json").read_text())["refs"]
    assert json.loads(refs["temp/.zattrs"])["comment"] == "café"

    vds["temp"].attrs["blob"] = b"\xff\xfe"  # never silently replaced by U+FFFD
    with pytest.raises(WriteError, match=r"'blob'.*not UTF-8"):
        vds.virtualize.to_kerchunk(tmp_path / "bad.json", format="json")
    assert not (tmp_path / "bad.json").exists()
