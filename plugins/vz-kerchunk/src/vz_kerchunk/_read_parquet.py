"""Loading kerchunk Parquet references (fsspec's ``LazyReferenceMapper`` layout).

Layout of a reference directory::

    refs.parq/.zmetadata              {"metadata": {key: document}, "record_size": N, ...}
    refs.parq/<array path>/refs.<i>.parq
    refs.parq/.vzcore-sources.parq    vzcore's source-file table, when .zmetadata names it

Record file ``i`` of an array holds rows ``i * N ... (i + 1) * N - 1`` of its chunks in
flat C order, with columns ``path`` (text, often dictionary-encoded), ``offset``, ``size``
and ``raw`` (inline bytes). A row with ``raw`` set is an inline chunk; a null ``path`` is a
missing chunk; ``offset == size == 0`` is a whole-file reference ``[url]``. A record file
that does not exist holds only missing chunks (fsspec does not write those). Columns are
read with pyarrow and turned into :class:`~vz_kerchunk._columns.ChunkColumns` with numpy,
without a Python loop per chunk (inline rows aside).

vzcore's Parquet writer records the source files' size, modification time and ETag at
scan time in a table beside ``.zmetadata`` (``"vzcore": {"sources_table": name}``;
columns ``url``, ``size``, ``mtime``, ``etag``); earlier versions wrote them inline
(``"vzcore": {"sources": {url: {...}}}``, as the JSON writer still does). Both are read
into the inline form.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from vzcore.errors import (
    CorruptFileError,
    SourceNotFoundError,
    UnsupportedFeatureError,
    VZOtherReadersWarning,
)
from vzcore.io import open_source

from vz_kerchunk._columns import INLINE, MISSING, WHOLE_FILE, ChunkColumns, ChunkKeys

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["SOURCES_TABLE", "ParquetRefs", "load_parquet_refs"]

_FASTPARQUET_DELTA_LIMIT = 2**28
"""Span of deltas from which fastparquet misdecodes a ``DELTA_BINARY_PACKED`` column."""

SOURCES_TABLE = ".vzcore-sources.parq"
"""The only table name ``"sources_table"`` may give (a file beside ``.zmetadata``)."""


class ParquetRefs:
    """A kerchunk Parquet reference directory, read one array at a time."""

    templates: Mapping[str, str] = MappingProxyType({})
    """Parquet references have no URL templates."""

    def __init__(self, url: str, fs: Any, root: str, meta: dict[str, Any]) -> None:
        self.url = url
        self.fs = fs
        self.root = root.rstrip("/")
        docs = meta.get("metadata")
        if not isinstance(docs, dict):
            raise CorruptFileError(url, "'.zmetadata' has no 'metadata' object")
        self.docs: dict[str, Any] = docs
        size = meta.get("record_size")
        if type(size) is not int or size <= 0:
            raise CorruptFileError(
                url, f"'.zmetadata' record_size must be a positive integer, got {size!r}"
            )
        self.record_size = size
        self.sources = meta.get("vzcore")
        if isinstance(self.sources, dict) and "sources_table" in self.sources:
            self.sources = {"sources": self._read_sources(self.sources["sources_table"])}

    def _read_sources(self, name: Any) -> dict[str, dict[str, Any]]:
        """Return ``{url: {"size": ..., "mtime": ..., "etag": ...}}`` from the source table."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if name != SOURCES_TABLE:
            raise CorruptFileError(
                self.url, f"'vzcore' sources_table must be {SOURCES_TABLE!r}, got {name!r}"
            )
        try:
            with self.fs.open(f"{self.root}/{name}", "rb") as f:
                table = pq.read_table(f)
        except FileNotFoundError as err:
            raise CorruptFileError(
                self.url, f"'.zmetadata' names the source table {name!r}, which is missing"
            ) from err
        except (pa.ArrowException, OSError, ValueError) as err:
            raise CorruptFileError(
                self.url, f"source table {name!r} is unreadable ({err})"
            ) from err
        columns = table.to_pydict()
        urls = columns.get("url")
        if urls is None or not all(isinstance(u, str) for u in urls):
            raise CorruptFileError(self.url, f"source table {name!r} has no text column 'url'")
        sizes = columns.get("size", [None] * len(urls))
        mtimes = columns.get("mtime", [None] * len(urls))
        etags = columns.get("etag", [None] * len(urls))
        out: dict[str, dict[str, Any]] = {}
        for url, size, mtime, etag in zip(urls, sizes, mtimes, etags, strict=True):
            info = {"size": size, "mtime": mtime, "etag": etag}
            # Validated with the inline form, by SourceInfo.from_json.
            out[url] = {k: v for k, v in info.items() if v is not None}
        return out

    def count_chunk_keys(self, prefix: str) -> int | None:
        """Parquet records have no stray keys: nothing to count."""
        return None

    def unclaimed_keys(self, prefix: str, claimed_keys: set[str]) -> list[str]:
        """Parquet records have no stray keys."""
        return []

    def _record_name(self, path: str, record: int) -> str:
        return (
            f"{self.root}/{path}/refs.{record}.parq" if path else f"{self.root}/refs.{record}.parq"
        )

    def _read_record(self, path: str, record: int) -> tuple[Any, frozenset[str]] | None:
        """Return the record's table and the names of its delta-encoded columns."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        name = self._record_name(path, record)
        try:
            with self.fs.open(name, "rb") as f:
                parquet = pq.ParquetFile(f)
                meta = parquet.metadata
                delta = frozenset(
                    meta.schema.column(j).path
                    for g in range(meta.num_row_groups)
                    for j in range(meta.num_columns)
                    if "DELTA_BINARY_PACKED" in meta.row_group(g).column(j).encodings
                )
                return parquet.read(), delta
        except FileNotFoundError:
            return None  # fsspec writes no record file whose chunks are all missing
        except (pa.ArrowException, OSError, ValueError) as err:
            raise CorruptFileError(self.url, f"record file {name!r} is unreadable ({err})") from err

    def _warn_if_fastparquet_misreads(
        self, name: str, column: str, values: NDArray[np.int64]
    ) -> None:
        """Warn when fastparquet (fsspec's reader) would misread a delta-encoded column.

        fastparquet decodes ``DELTA_BINARY_PACKED`` blocks of 29 bits or more per value
        wrongly (vzcore's Parquet writer before 2026-12 wrote them when offsets jumped by
        256 MiB or more); pyarrow, which vzcore reads with, decodes them right.
        """
        deltas = np.diff(values)
        if deltas.size and int(deltas.max()) - int(deltas.min()) >= _FASTPARQUET_DELTA_LIMIT:
            warnings.warn(
                f"{self.url}: {name!r} stores {column!r} delta-encoded with neighbouring "
                "values 2^28 or more apart; vzcore reads it right, but fsspec's Parquet "
                "reader (fastparquet) decodes it wrongly and would read the wrong bytes. "
                "Write the references again: vzcore.open_virtual_dataset(<these references>)"
                ".virtualize.to_kerchunk(<new directory>, format='parquet')",
                VZOtherReadersWarning,
                stacklevel=2,
            )

    def array_columns(
        self, path: str, grid_shape: tuple[int, ...], keys: ChunkKeys
    ) -> ChunkColumns:
        """Return the chunk references of the array at ``path``.

        ``keys`` is not used: record rows are addressed by flat chunk index.
        """
        n = math.prod(grid_shape)
        codes = np.full(n, MISSING, dtype=np.int64)
        offsets = np.zeros(n, dtype=np.int64)
        lengths = np.zeros(n, dtype=np.int64)
        inline: dict[int, bytes] = {}
        table_urls: dict[str, int] = {}
        for record in range(math.ceil(n / self.record_size)):
            read = self._read_record(path, record)
            if read is None:
                continue
            table, delta = read
            start = record * self.record_size
            rows = min(table.num_rows, n - start)
            if table.num_rows > self.record_size:
                raise CorruptFileError(
                    self.url,
                    f"record {record} of {path!r} has {table.num_rows} rows, more than "
                    f"record_size={self.record_size}",
                )
            sl = slice(start, start + rows)
            self._fill(
                path,
                record,
                table.slice(0, rows),
                table_urls,
                codes[sl],
                offsets[sl],
                lengths[sl],
                inline,
                start,
                delta,
            )
        return ChunkColumns(list(table_urls), codes, offsets, lengths, inline)

    def _fill(
        self,
        path: str,
        record: int,
        table: Any,
        table_urls: dict[str, int],
        codes: NDArray[np.int64],
        offsets: NDArray[np.int64],
        lengths: NDArray[np.int64],
        inline: dict[int, bytes],
        start: int,
        delta: frozenset[str],
    ) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        where = f"record {record} of {path!r}"
        names = set(table.column_names)
        if "path" not in names and "raw" not in names:
            raise CorruptFileError(self.url, f"{where} has neither a 'path' nor a 'raw' column")
        rows = table.num_rows
        if "path" in names:
            col = table.column("path")
            if pa.types.is_dictionary(col.type):
                col = col.cast(col.type.value_type)
            if col.null_count == len(col):
                idx = np.full(rows, -1, dtype=np.int64)
            elif not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                raise CorruptFileError(
                    self.url, f"{where}: the 'path' column holds {col.type}, not text"
                )
            else:
                enc = pc.dictionary_encode(col).combine_chunks()
                idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
                dictionary = enc.dictionary.to_pylist()
                lut = np.array(
                    [table_urls.setdefault(u, len(table_urls)) for u in dictionary] or [0],
                    dtype=np.int64,
                )
                idx = np.where(idx >= 0, lut[np.maximum(idx, 0)], -1)
        else:
            idx = np.full(rows, -1, dtype=np.int64)
        off = self._int_column(table, "offset", where, rows)
        size = self._int_column(table, "size", where, rows)
        for column, values in (("offset", off), ("size", size)):
            if column in delta:
                self._warn_if_fastparquet_misreads(self._record_name(path, record), column, values)
        real = idx >= 0
        codes[real] = idx[real]
        offsets[real] = off[real]
        whole = real & (off == 0) & (size == 0)
        lengths[real] = size[real]
        lengths[whole] = WHOLE_FILE
        if "raw" in names:
            raw = table.column("raw")
            if raw.null_count != len(raw):
                if not (
                    pa.types.is_binary(raw.type)
                    or pa.types.is_large_binary(raw.type)
                    or pa.types.is_string(raw.type)
                    or pa.types.is_large_string(raw.type)
                ):
                    raise CorruptFileError(
                        self.url, f"{where}: the 'raw' column holds {raw.type}, not bytes"
                    )
                raw = raw.combine_chunks()
                valid = np.flatnonzero(raw.is_valid().to_numpy(zero_copy_only=False))
                for i in valid.tolist():
                    value = raw[i].as_py()
                    inline[start + i] = value.encode("utf-8") if isinstance(value, str) else value
                codes[valid] = INLINE
                offsets[valid] = 0
                lengths[valid] = 0

    def _int_column(self, table: Any, name: str, where: str, rows: int) -> NDArray[np.int64]:
        import pyarrow as pa

        if name not in table.column_names:
            return np.zeros(rows, dtype=np.int64)
        col = table.column(name)
        if col.null_count == len(col):
            return np.zeros(rows, dtype=np.int64)
        if not pa.types.is_integer(col.type):
            raise CorruptFileError(self.url, f"{where}: the {name!r} column holds {col.type}")
        arr: NDArray[np.int64] = col.fill_null(0).to_numpy().astype(np.int64)
        if col.type in (pa.uint64(),) and (col.to_numpy() >= 2**63).any():
            raise CorruptFileError(self.url, f"{where}: {name!r} values exceed 2**63")
        if (arr < 0).any():
            bad = int(arr[arr < 0][0])
            raise CorruptFileError(self.url, f"{where}: negative {name} {bad}")
        return arr


def load_parquet_refs(url: str, storage_options: dict[str, Any] | None = None) -> ParquetRefs:
    """Open a kerchunk Parquet reference directory (reads ``.zmetadata`` only).

    Raises
    ------
    vzcore.errors.CorruptFileError
        ``.zmetadata`` missing, empty or malformed.
    """
    from fsspec.core import url_to_fs

    try:
        import pyarrow  # noqa: F401
    except ImportError as err:
        raise UnsupportedFeatureError(
            url, None, "Parquet references without pyarrow", "pip install pyarrow"
        ) from err
    fs, root = url_to_fs(url, **(storage_options or {}))
    root = root.rstrip("/")
    try:
        with open_source(f"{url.rstrip('/')}/.zmetadata", storage_options) as source:
            raw = source.read_all()
    except SourceNotFoundError as err:  # (the directory exists: the reader's input kind)
        raise CorruptFileError(
            url, "it is a directory without '.zmetadata', so not kerchunk Parquet references"
        ) from err
    try:
        meta = json.loads(raw)
    except (ValueError, RecursionError) as err:
        raise CorruptFileError(url, f"'.zmetadata' is not valid JSON ({err})") from err
    if not isinstance(meta, dict):
        raise CorruptFileError(url, "'.zmetadata' must hold a JSON object")
    return ParquetRefs(url, fs, root, meta)
