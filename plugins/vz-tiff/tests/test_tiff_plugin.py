"""Registration of the ``tiff`` plugin: cheap descriptors, lazy imports, sniffing."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("vz_tiff")

import vzcore
from vzcore import plugins


def test_importing_the_plugin_imports_no_format_library() -> None:
    code = (
        "import sys, vz_tiff, vz_tiff.plugin, vzcore; vzcore.list_plugins(); "
        "print([m for m in ('tifffile', 'imagecodecs', 'numcodecs', 'fsspec') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_listed_with_its_reader() -> None:
    info = {p.name: p for p in vzcore.list_plugins()}
    assert "tiff" in info
    assert info["tiff"].readers == ("tiff",)
    assert info["tiff"].distribution == "vz-tiff"


@pytest.mark.parametrize("head", [b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"])
def test_magic_bytes(head: bytes) -> None:
    spec = plugins.find_reader("file:///data/image.bin", head + b"\x00" * 12)
    assert spec.name == "tiff"
    from vz_tiff._reader import TiffReader

    assert TiffReader.sniff(head, "file:///data/image.bin")
    assert not TiffReader.sniff(b"CDF\x01", "file:///data/x.tif")
