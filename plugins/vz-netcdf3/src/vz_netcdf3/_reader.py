"""The netCDF classic reader: chunk manifests from the header alone.

Layout of the returned :class:`~vzcore.group.ManifestGroup` (one root group; netCDF classic
has no sub-groups):

* **Fixed-size variables** are one chunk spanning the whole variable. When a variable is
  larger than ``max_chunk_bytes`` it is split on its outermost axis into equal chunks whose
  row count divides the axis length (zarr needs full-size edge chunks, and the bytes after a
  variable belong to something else), see :func:`outer_chunk`.
* **Record variables** (first dimension unlimited) are one chunk per record: chunk shape 1
  on the record axis, record ``r`` at ``begin + r * recsize``. A record slab larger than
  ``max_chunk_bytes`` is split on the next axis the same way. With zero records the shape is
  0 on the record axis and the manifest holds no chunk.
* **dtypes** are the stored big-endian ones (``>i2``, ``>f4``, ``i1``, ...); no codecs.
* **char variables** become fixed-width byte strings where xarray would make them so: the
  last dimension (the string length ``n``) is folded into an ``S<n>`` dtype and dropped
  from the dimensions, so ``char name(station, strlen)`` is an ``S<strlen>`` array over
  ``(station,)``. xarray folds only "stackable" dimensions (see :func:`string_dimensions`:
  no variable of that name, and used only as the last dimension of char variables); other
  char variables stay ``S1`` arrays over all their dimensions, e.g. a one-character flag
  per record, ``char flag(time)``. Either way the bytes are unchanged and the chunks stay
  virtual. The one exception: 1-D char variables along a stackable record dimension when
  there are several record variables (all such strings, interleaved record by record)
  cannot be one contiguous string; their bytes (one per record) are read at scan time and
  returned as a 0-d numpy ``S<numrecs>`` array, up to ``max_loaded_bytes``, beyond which
  :class:`~vzcore.errors.UnsupportedFeatureError` is raised.
* **Attributes** are JSON-safe: one value -> a Python scalar, several -> a list, char ->
  ``str`` (UTF-8, NUL bytes removed, as netCDF4-python reads them; ``_FillValue`` keeps
  its NULs). CF attributes (``_FillValue``, ``scale_factor``, ...) are kept as stored.
* **ArrayMetadata.fill_value** is what unwritten data holds: the variable's ``_FillValue``
  when it has one, else netCDF's default fill value for the type (``NC_FILL_FLOAT`` ...);
  for char variables ``_FillValue`` repeated to the string width, or None (NUL bytes) when
  absent. No chunk of a netCDF classic file is ever missing, so this only documents the
  storage; xarray's masking uses the CF ``_FillValue`` attribute.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from vzcore.errors import CorruptFileError, OptionError, UnsupportedFeatureError
from vzcore.group import ManifestGroup, Variable
from vzcore.io import SourceFile, open_source, scan_session
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray
from vzcore.types import Reader

from vz_netcdf3._header import MAGICS, Attribute, Header, VariableHeader, parse_header

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "DEFAULT_MAX_CHUNK_BYTES",
    "Netcdf3Reader",
    "outer_chunk",
    "read_header",
    "string_dimensions",
]

DEFAULT_MAX_CHUNK_BYTES = 32 * 2**20
"""Fixed-size variables (and record slabs) above this many bytes are split in chunks."""

DEFAULT_MAX_LOADED_BYTES = 2**20
"""Largest char variable read at scan time when it cannot be referenced (see module doc)."""


class _Default(enum.Enum):
    """The default of :meth:`Netcdf3Reader.read`'s options: the reader's own setting."""

    READER = "the reader's setting"


class _SourceBytes:
    """The :class:`~vz_netcdf3._header.ByteSource` of a file opened with vzcore's opener.

    :func:`vzcore.io.open_source` gives the size and positional reads (plain reads of local
    files; remote ones through a block cache shared inside a scan session, so the header
    costs one or two range requests) and says what is wrong with a missing, forbidden or
    empty file; what the bytes mean is the header parser's business.
    """

    def __init__(self, source: SourceFile) -> None:
        self.source = source

    @property
    def size(self) -> int | None:
        return self.source.size

    def read(self, start: int, stop: int) -> bytes:
        return self.source.read_at(start, stop - start)


def read_header(
    url: str,
    storage_options: dict[str, Any] | None = None,
    *,
    block_size: int = 64 * 1024,
) -> Header:
    """Parse the header of the netCDF classic file at ``url`` (no data is read).

    Parameters
    ----------
    url
        Absolute URL of the file (``file:///...``, ``s3://...``).
    storage_options
        fsspec options for remote URLs.
    block_size
        Bytes read first; more are read while the header goes on.

    Returns
    -------
    Header
        The parsed header.
    """
    with open_source(url, storage_options) as source:
        return parse_header(_SourceBytes(source), url, block_size=block_size)


def outer_chunk(length: int, row_bytes: int, max_bytes: int | None) -> int:
    """Choose how many rows of an axis go in one chunk.

    The whole axis when it fits in ``max_bytes`` (or ``max_bytes`` is None or 0). Otherwise
    a divisor of ``length`` so every chunk is full size: the largest divisor giving chunks
    of at most ``max_bytes``, unless that is under an eighth of the ideal row count (e.g. a
    prime length), in which case the smallest divisor above it (the whole axis for a prime).

    Parameters
    ----------
    length
        Number of rows along the axis.
    row_bytes
        Bytes of one row (the product of the inner dimensions times the item size).
    max_bytes
        Target upper bound of a chunk's size.

    Returns
    -------
    int
        Rows per chunk (a divisor of ``length``).

    Examples
    --------
    >>> outer_chunk(365, 4_000_000, 32_000_000)
    5
    >>> outer_chunk(10, 8, 1000)
    10
    """
    if not max_bytes or length <= 1 or length * row_bytes <= max_bytes:
        return length
    ideal = max(1, max_bytes // max(row_bytes, 1))
    root = math.isqrt(length)
    cand = np.arange(1, root + 1, dtype=np.int64)
    small = cand[length % cand == 0]
    divisors = np.union1d(small, length // small)
    below = int(divisors[divisors <= ideal].max())
    if below * 8 >= ideal:
        return below
    return int(divisors[divisors > ideal].min())


def _int_option(name: str, value: Any, minimum: int) -> int:
    """Validate an integer reader option."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise OptionError(
            "reader 'netcdf3'",
            name,
            value,
            f"use an integer >= {minimum}" + (" or None" if name == "max_chunk_bytes" else ""),
        )
    return int(value)


def string_dimensions(header: Header) -> set[str]:
    """Return the dimensions that hold string lengths, by xarray's rule.

    xarray concatenates the characters of a ``char`` variable along its last dimension when
    that dimension is "stackable": no variable has its name, and every variable that uses
    it is a ``char`` variable using it as its last dimension (``xarray.conventions``,
    ``decode_cf_variables``). Other char variables stay arrays of single characters.

    Parameters
    ----------
    header
        A parsed header.

    Returns
    -------
    set of str
        Names of the dimensions folded into ``S<n>`` dtypes.
    """
    names = {v.name for v in header.variables}
    out = {d.name for d in header.dimensions if d.name not in names}
    for v in header.variables:
        for i, d in enumerate(v.dimensions):
            if not v.nc_type.is_char or i != len(v.dimensions) - 1:
                out.discard(d.name)
    return out


def _attr_value(attr: Attribute) -> Any:
    """Return an attribute's value as stored: ``bytes`` for text, numpy values for numbers.

    Text is handed over undecoded: vzcore decodes every reader's attributes by one policy
    (:mod:`vzcore.manifests.attributes`). NUL bytes are dropped from text, as netCDF4-python
    does, except in a ``_FillValue``, whose bytes are the fill of a ``char`` variable.
    """
    if attr.nc_type.is_char:
        return attr.raw if attr.name == "_FillValue" else attr.raw.replace(b"\x00", b"")
    values = attr.values
    return values[0] if values.size == 1 else values


def _fill_value(var: VariableHeader, width: int) -> Any:
    """Return the storage fill value of ``var`` (see the module docstring)."""
    t = var.nc_type
    attr = var.attribute("_FillValue")
    if t.is_char:
        if attr is not None and attr.raw:
            return attr.raw[:1] * width
        return None
    if attr is not None and attr.raw and not attr.nc_type.is_char:
        stored = attr.values[:1]
        with np.errstate(all="ignore"):
            cast = stored.astype(t.dtype)
            back = cast.astype(stored.dtype)
        if np.array_equal(back, stored, equal_nan=stored.dtype.kind == "f"):
            return cast[0].item()
        # A _FillValue of another type that the variable's type cannot hold: netCDF-C would
        # have refused to write it, so unwritten data holds the default fill value.
    return t.default_fill


class Netcdf3Reader(Reader):
    """Reads netCDF classic files (CDF-1, CDF-2 and CDF-5) into chunk manifests.

    Parameters
    ----------
    max_chunk_bytes
        Fixed-size variables (and record slabs) larger than this are split on their outer
        axis (default 32 MiB); None or 0 keeps one chunk per variable (per record).
    max_loaded_bytes
        Upper bound of the char data read at scan time for strings that cannot be
        referenced (1-D char variables along a string-length record dimension shared by
        several record variables, see the module docstring); default 1 MiB.
    header_block_size
        Bytes of the first header read (64 KiB); longer headers are read in more blocks.
    """

    name: ClassVar[str] = "netcdf3"

    def __init__(
        self,
        *,
        max_chunk_bytes: int | None = DEFAULT_MAX_CHUNK_BYTES,
        max_loaded_bytes: int = DEFAULT_MAX_LOADED_BYTES,
        header_block_size: int = 64 * 1024,
    ) -> None:
        self.max_chunk_bytes = max_chunk_bytes
        self.max_loaded_bytes = max_loaded_bytes
        self.header_block_size = header_block_size

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(max_chunk_bytes={self.max_chunk_bytes!r}, "
            f"max_loaded_bytes={self.max_loaded_bytes!r})"
        )

    @classmethod
    def sniff(cls, head: bytes, url: str) -> bool:
        """Return True when ``head`` starts with a netCDF classic magic number."""
        return head[:4] in MAGICS

    @scan_session()  # one remote handle for the whole scan
    def read(
        self,
        url: str,
        *,
        group: str | None = None,
        storage_options: dict[str, Any] | None = None,
        drop_variables: Iterable[str] | str | None = None,
        max_chunk_bytes: int | _Default | None = _Default.READER,
        max_loaded_bytes: int | _Default = _Default.READER,
        header_block_size: int | _Default = _Default.READER,
    ) -> ManifestGroup:
        """Return the file's variables and attributes as a :class:`~vzcore.ManifestGroup`.

        Parameters
        ----------
        url
            Absolute URL of a netCDF classic file.
        group
            Must be None, ``""`` or ``"/"``: netCDF classic files have only a root group.
        storage_options
            fsspec options for remote URLs.
        drop_variables
            Variables to leave out; they are not parsed beyond the header.
        max_chunk_bytes, max_loaded_bytes, header_block_size
            Override the constructor's settings for this call.

        Returns
        -------
        vzcore.ManifestGroup
            Root group with one variable per netCDF variable.

        Raises
        ------
        vzcore.errors.CorruptFileError
            When the header is invalid or the file is shorter than its data.
        vzcore.errors.UnsupportedFeatureError
            For a ``group`` other than the root, or a char variable that can neither be
            referenced nor loaded within ``max_loaded_bytes``.
        """
        if isinstance(max_chunk_bytes, _Default):
            max_chunk_bytes = self.max_chunk_bytes
        if isinstance(max_loaded_bytes, _Default):
            max_loaded_bytes = self.max_loaded_bytes
        if isinstance(header_block_size, _Default):
            header_block_size = self.header_block_size
        max_chunk = (
            None if max_chunk_bytes is None else _int_option("max_chunk_bytes", max_chunk_bytes, 0)
        )
        max_loaded = _int_option("max_loaded_bytes", max_loaded_bytes, 0)
        block = _int_option("header_block_size", header_block_size, 1)
        if group not in (None, "", "/"):
            raise UnsupportedFeatureError(
                url,
                None,
                f"group {group!r}",
                "netCDF classic files have only a root group; pass group=None",
            )
        drop = {drop_variables} if isinstance(drop_variables, str) else set(drop_variables or ())
        with open_source(url, storage_options) as source:
            header = parse_header(_SourceBytes(source), url, block_size=block)
            root = ManifestGroup(attrs={a.name: _attr_value(a) for a in header.attributes})
            string_dims = string_dimensions(header)
            for var in header.variables:
                if var.name in drop:
                    continue
                root.variables[var.name] = self._variable(
                    url, header, var, max_chunk, max_loaded, source, string_dims
                )
        return root

    # -- one variable ------------------------------------------------------------------

    def _variable(
        self,
        url: str,
        header: Header,
        var: VariableHeader,
        max_chunk: int | None,
        max_loaded: int,
        source: SourceFile,
        string_dims: set[str],
    ) -> Variable:
        attrs = {a.name: _attr_value(a) for a in var.attributes}
        dims = tuple(d.name for d in var.dimensions)
        shape = var.shape
        dtype = var.nc_type.dtype
        if var.nc_type.is_char and shape and dims[-1] in string_dims:
            width = shape[-1]
            if var.is_record and len(shape) == 1 and len(header.record_variables) > 1:
                data = self._load_record_chars(url, header, var, max_loaded, source)
                return Variable((), data, attrs)
            dims, shape = dims[:-1], shape[:-1]
            if width == 0:  # a record-axis string with no record: xarray gives b"" as S1
                return Variable(dims, np.zeros(shape, dtype="S1"), attrs)
            dtype = np.dtype(f"S{width}")
        fill = _fill_value(var, dtype.itemsize)
        # A 1-D record char variable folds its record axis into the string: not "record".
        record = var.is_record and bool(shape)
        meta_shape, offsets, lengths, chunk_shape = _layout(
            header, var, shape, dtype, record, max_chunk
        )
        metadata = ArrayMetadata(
            shape=meta_shape,
            dtype=dtype,
            chunk_shape=chunk_shape,
            fill_value=fill,
            codecs=(),
            dimension_names=dims,
        )
        manifest = ChunkManifest([url], np.zeros(offsets.shape, dtype=np.uint8), offsets, lengths)
        return Variable(dims, ManifestArray(metadata, manifest), attrs)

    def _load_record_chars(
        self,
        url: str,
        header: Header,
        var: VariableHeader,
        max_loaded: int,
        source: SourceFile,
    ) -> NDArray[np.bytes_]:
        """Read a 1-D record char variable (one interleaved byte per record)."""
        n = header.numrecs
        if n == 0:
            return np.zeros((), dtype="S1")
        if n > max_loaded:
            raise UnsupportedFeatureError(
                url,
                var.name,
                f"1-D char variable along the record dimension ({n} records, one byte each, "
                "interleaved with other record variables)",
                f"it is larger than max_loaded_bytes={max_loaded}; raise that reader option "
                "to load it",
            )
        starts = [var.begin + r * header.recsize for r in range(n)]
        data = b"".join(source.read_at(start, 1) for start in starts)
        if len(data) != n:
            raise CorruptFileError(
                url, f"variable {var.name!r}: only {len(data)} of {n} record bytes could be read"
            )
        return np.array(data, dtype=f"S{n}")


def _layout(
    header: Header,
    var: VariableHeader,
    shape: tuple[int, ...],
    dtype: np.dtype[Any],
    record: bool,
    max_chunk: int | None,
) -> tuple[tuple[int, ...], NDArray[np.uint64], NDArray[np.uint64], tuple[int, ...]]:
    """Return (shape, offsets grid, lengths grid, chunk shape) of one variable."""
    item = dtype.itemsize
    if record:
        inner = shape[1:]
        numrecs = shape[0]
        if inner:
            row = math.prod(inner[1:]) * item
            rows = outer_chunk(inner[0], row, max_chunk)
            chunk_shape = (1, rows, *inner[1:])
            per_rec = inner[0] // rows
            step = rows * row
        else:
            chunk_shape, per_rec, step = (1,), 1, item
        rec_off = np.uint64(var.begin) + np.arange(numrecs, dtype=np.uint64) * np.uint64(
            header.recsize
        )
        offsets = rec_off[:, None] + np.arange(per_rec, dtype=np.uint64)[None, :] * np.uint64(step)
        grid = (numrecs, per_rec, *([1] * (len(shape) - 2))) if inner else (numrecs,)
        offsets = offsets.reshape(grid)
        length = step
    elif shape:
        row = math.prod(shape[1:]) * item
        rows = outer_chunk(shape[0], row, max_chunk)
        chunk_shape = (rows, *shape[1:])
        n = shape[0] // rows
        offsets = np.uint64(var.begin) + np.arange(n, dtype=np.uint64) * np.uint64(rows * row)
        offsets = offsets.reshape((n, *([1] * (len(shape) - 1))))
        length = rows * row
    else:
        chunk_shape = ()
        offsets = np.array(var.begin, dtype=np.uint64)
        length = item
    lengths = np.full(offsets.shape, length, dtype=np.uint64)
    return shape, offsets, lengths, chunk_shape
