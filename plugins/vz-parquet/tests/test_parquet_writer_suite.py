"""The shared WriterTests suite for the Parquet references writer, zarr format 2 and 3.

The output is read back with fsspec's ``ReferenceFileSystem`` (its ``LazyReferenceMapper``
reads the records) and zarr, as users read it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

pytest.importorskip("vz_parquet")
fsspec = pytest.importorskip("fsspec")
zarr = pytest.importorskip("zarr")

from vzcore.testing import WriterTests

from .conftest import FASTPARQUET_DEPRECATED


@pytest.mark.filterwarnings(FASTPARQUET_DEPRECATED)
class _Parquet(WriterTests):
    writer_name = "parquet"
    target_name = "refs.parq"
    zarr_format: ClassVar[int] = 2
    remote_protocol: ClassVar[str | None] = "file"

    def open_output(self, target: Any) -> Any:
        kw = {} if self.remote_protocol is None else {"remote_protocol": self.remote_protocol}
        fs = fsspec.filesystem("reference", fo=str(target), **kw)
        return zarr.open_group(fs.get_mapper(""), mode="r", zarr_format=self.zarr_format)


class TestParquetV2WriterSuite(_Parquet):
    write_options: ClassVar[dict[str, Any]] = {"zarr_format": 2}


class TestParquetV3WriterSuite(_Parquet):
    write_options: ClassVar[dict[str, Any]] = {"zarr_format": 3}
    zarr_format: ClassVar[int] = 3
    remote_protocol = None  # fsspec guesses it from the first reference
