"""The shared WriterTests suite for the kerchunk JSON writer, zarr format 2 and 3.

The output is read back with fsspec's ``ReferenceFileSystem`` and zarr, as users read it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

pytest.importorskip("vz_kerchunk")
fsspec = pytest.importorskip("fsspec")
zarr = pytest.importorskip("zarr")

from vzcore.testing import WriterTests


class _KerchunkJSON(WriterTests):
    writer_name = "kerchunk"
    target_name = "refs.json"
    zarr_format: ClassVar[int] = 2

    def open_output(self, target: Any) -> Any:
        mapper = fsspec.filesystem("reference", fo=str(target)).get_mapper("")
        return zarr.open_group(mapper, mode="r", zarr_format=self.zarr_format)


class TestKerchunkJSONv2WriterSuite(_KerchunkJSON):
    write_options: ClassVar[dict[str, Any]] = {"zarr_format": 2}


class TestKerchunkJSONv3WriterSuite(_KerchunkJSON):
    write_options: ClassVar[dict[str, Any]] = {"zarr_format": 3}
    zarr_format: ClassVar[int] = 3
