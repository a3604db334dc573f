"""The HDF5 / netCDF4 reader: one file in, a :class:`vzcore.ManifestGroup` out.

For every dataset of the requested group (and its subgroups) the reader records the
dataset's zarr-level metadata and where each chunk's bytes sit in the file:

* **chunked** datasets: one manifest entry per allocated chunk, found with HDF5's own
  chunk iteration (``DatasetID.chunk_iter``) filling numpy arrays; unallocated chunks are
  missing and read as the dataset's fill value;
* **contiguous** datasets: one chunk holding the whole array (missing when unallocated);
* **compact** datasets (data inside the object header): one inline chunk;
* **variable-length strings** (values in the global heap): their values are read and
  stored as inline chunks encoded with numcodecs' ``vlen-utf8`` codec, dtype ``object``,
  on the dataset's own chunk grid (so files with the same chunking still concatenate).

Dimension names come from netCDF-4 dimension scales (``DIMENSION_LIST`` /
``_Netcdf4Coordinates``); axes without a scale get phony dimensions named exactly as
h5netcdf's ``phony_dims="sort"`` (and netCDF-C) name them: ``phony_dim_0``, ``phony_dim_1``,
... counted over the whole file, one per distinct size per group. Dimension scales that are
"a netCDF dimension but not a netCDF variable" never appear as variables, and netCDF-4
bookkeeping attributes never appear as attributes.

``ArrayMetadata.fill_value`` is the HDF5 dataset fill value (what an unallocated chunk reads
as; ``None`` when the file keeps HDF5's default of zeros); the CF ``_FillValue`` attribute is
kept in ``attrs`` exactly as stored. Anything that cannot be referenced byte for byte raises
:class:`~vzcore.errors.UnsupportedFeatureError` naming the file, variable and feature.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import struct
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NoReturn

import h5py
import numpy as np
from vzcore.errors import (
    CorruptFileError,
    GroupNotFoundError,
    OptionError,
    SourceAccessError,
    UnsupportedFeatureError,
    UnsupportedPartsError,
    VZError,
    VZSkippedPartsWarning,
)
from vzcore.group import ManifestGroup, Variable
from vzcore.io import SourceFile, collection_paused, local_path, open_source, scan_session
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray
from vzcore.manifests.zarr_compat import unsupported_dtype_reason
from vzcore.names import name_problem
from vzcore.types import Reader

from vz_hdf5._attrs import read_attrs, type_description
from vz_hdf5._filters import codecs_for_pipeline, hdf5_plugin_source
from vz_hdf5._gheap import HeapError, HeapGuard
from vz_hdf5._header_attrs import LINK_INFO, Decoded, attrs_and_messages
from vz_hdf5._header_dataset import HeaderDataset, header_dataset
from vz_hdf5._names import as_link_error, decode_name, object_path
from vz_hdf5._opened import mark_opened, opened_before
from vz_hdf5._superblock import end_of_allocation, superblock_sizes
from vz_hdf5._unlimited import pad_unlimited
from vz_hdf5.plugin import HDF5_MAGIC

__all__ = ["HDF5Reader"]

_log = logging.getLogger(__name__)

NOT_A_VARIABLE = b"This is a netCDF dimension but not a netCDF variable"
NON_COORD_PREFIX = "_nc4_non_coord_"

_LIBRARY_ERRORS = (
    OSError,
    RuntimeError,
    KeyError,
    ValueError,
    TypeError,
    IndexError,
    OverflowError,
    MemoryError,
    UnicodeError,
    struct.error,
)
"""What h5py, HDF5 and the native index reader raise on damaged files."""

INLINE_LIMIT = 16 * 2**20
"""Largest values (bytes) the reader inlines because their stored bytes differ from what
h5py reads (fixed-length strings cut at the NUL)."""

_LAYOUT_MESSAGE = 0x0008
"""Type of the Data Layout message of an object header."""

SMALL_FILE = 256 * 2**10
"""Local files up to this size (bytes) are read whole, once, for the native parsers."""

SPARSE_GRID_CELLS = 2**26
"""Chunk grids of more cells than this (a 1.1 GB manifest) are refused when sparse."""

SPARSE_RATIO = 16
"""A grid is sparse when the file stores fewer than one chunk in this many of its cells."""

_MISSING = ChunkManifest.MISSING
_U32_MAX = 2**32 - 1
_INLINE = ChunkManifest.INLINE


@contextmanager
def _open(
    url: str, storage_options: dict[str, Any] | None
) -> Iterator[tuple[h5py.File, SourceFile]]:
    """Open ``url`` with h5py (local files by path, others through vzcore's opener)."""
    with open_source(url, storage_options) as source:
        if source.size is None:
            raise UnsupportedFeatureError(
                url,
                None,
                "remote file whose size the server does not report",
                "download it and scan the local copy",
            )
        # h5py reads a remote file while holding its lock, waiting for fsspec's loop thread:
        # no cyclic collection may free h5py objects there meanwhile (vzcore.io docs)
        paused = collection_paused() if source.local_path is None else nullcontext()
        with paused:
            try:
                h5 = (
                    h5py.File(source.file, "r")
                    if source.local_path is None
                    else _open_local(source.local_path)
                )
            except OSError as err:  # h5py reports corrupt/truncated/non-HDF5 files as OSError
                raise CorruptFileError(url, f"HDF5 cannot open it ({err})") from err
            try:
                yield h5, source
            finally:
                _close(h5)


def _close(h5: h5py.File) -> None:
    """Close ``h5`` as ``h5.close()`` does, without its walk when nothing else is open.

    h5py's ``File.close`` closes every object of the file still open (two
    ``H5Fget_obj_ids``), then the file, then walks every h5py identifier of the process
    (``nonlocal_close``) to invalidate those HDF5 closed behind their backs. When the
    file's own identifier is its only open object (the reader's groups and datasets are
    gone by then), closing that identifier closes nothing else: there is nothing to
    invalidate, and only the identifier is closed.
    """
    fid = h5.id
    if fid.valid and h5py.h5f.get_obj_count(fid, h5py.h5f.OBJ_ALL) == 1:
        fid._close()  # (h5py's FileID.close without the walk)
    else:
        h5.close()


@functools.cache
def _read_only_fapl() -> Any:
    """Return the file access property list of ``h5py.File(path, "r")``, made once.

    h5py builds it (and a file creation property list that opening a file does not use) on
    every ``File(...)``: two HDF5 property lists created and closed per small file. Its
    settings for a local file with the defaults: library version bounds (earliest, latest),
    alignment (1, 1), the default metadata cache (``test_hdf5_open_local.py`` compares it
    with h5py's own). HDF5 copies the list when it opens a file, so one serves every open.

    One setting differs: the raw data chunk cache has :data:`CHUNK_CACHE_SLOTS` hash slots
    instead of HDF5 2's 8191 (its byte size and preemption policy are HDF5's). HDF5 zeroes
    the slot table of every chunked dataset it opens (64 KiB at 8191 slots: ~65,000
    instructions per dataset, more than the rest of the open); the reader opens every
    dataset and reads the values of few (whole, so a chunk is read once either way), so
    the cache decides no value, only how fast a read of many small chunks repeats.
    """
    plist = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    plist.set_libver_bounds(h5py.h5f.LIBVER_EARLIEST, h5py.h5f.LIBVER_LATEST)
    plist.set_alignment(1, 1)
    mdc, _, nbytes, w0 = plist.get_cache()
    plist.set_cache(mdc, CHUNK_CACHE_SLOTS, nbytes, w0)
    return plist


CHUNK_CACHE_SLOTS = 521
"""Hash slots of the raw data chunk cache of the files the reader opens (HDF5 1.x's
default; see :func:`_read_only_fapl`)."""


def _open_local(path: str) -> h5py.File:
    """Return ``h5py.File(path, "r")``, opened with the shared :func:`_read_only_fapl`.

    ``h5py.File(fid)`` would bind a second identifier of the file (``H5Iget_file_id``),
    then drop ``fid``; its constructor does nothing else for an identifier, so the File
    is bound to ``fid`` itself (``Group.__init__``, as ``File.__init__`` ends).
    """
    fid = h5py.h5f.open(os.fsencode(path), h5py.h5f.ACC_RDONLY, fapl=_read_only_fapl())
    h5: h5py.File = h5py.File.__new__(h5py.File)
    h5py.Group.__init__(h5, fid)
    return h5


def _positional_reader(source: SourceFile) -> Callable[[int, int], bytes]:
    """Return ``read_at(offset, size)`` over ``source`` for the native parsers.

    The object headers, heaps and chunk indexes of a small file take some 70 reads of a
    few hundred bytes each; a small local file is read whole once and those reads are
    slices of it (the same bytes: fewer at the end of the file, none past it).
    """
    return _reader_over(source, _whole_file(source))


def _whole_file(source: SourceFile) -> bytes | None:
    """Return the bytes of a small local file (None for any other, or one that changed)."""
    size = source.size
    if source.local_path is None or size is None or size > SMALL_FILE:
        return None
    data = source.read_at(0, size)
    return data if len(data) == size else None  # (changed under us: read it as it is)


def _reader_over(source: SourceFile, data: bytes | None) -> Callable[[int, int], bytes]:
    """Return :func:`_positional_reader`'s reader, over ``data`` (the whole file) when given."""
    if data is None:
        return source.read_at

    def read_at(offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            return source.read_at(offset, length)  # (its own answer to a bad position)
        return data[offset : offset + length]

    return read_at


class HDF5Reader(Reader):
    """Read HDF5 and netCDF4 files into virtual arrays.

    Reader options (``reader_options=`` in vzcore's API):

    ``drop_variables``
        Names (or paths inside the file) of datasets to skip before they are parsed, so a
        variable using an unsupported feature can be left out on purpose. vzcore's
        top-level ``drop_variables=`` reaches this parameter too.
    ``load_unsupported``
        When True, a dataset that cannot be referenced virtually (unsupported filter,
        dtype or layout) is read into memory with h5py and kept as a numpy array instead
        of raising, when h5py can read it into a type zarr can hold. Default False.
    ``skip_unsupported``
        When True, every part that cannot be represented (a variable, an attribute) is left
        out, with one :class:`~vzcore.errors.VZSkippedPartsWarning` listing them all, and
        everything else is read. Default False: one
        :class:`~vzcore.errors.UnsupportedFeatureError` names every such part (an
        :class:`~vzcore.errors.UnsupportedPartsError` when there are several).
    ``chunk_index``
        ``"auto"`` (default): chunk indexes (v1 B-trees) are read by vz-hdf5's own parser,
        falling back to HDF5's ``chunk_iter``; ``"hdf5"``: always ``chunk_iter``.

    Examples
    --------
    >>> group = HDF5Reader().read("file:///data/air.nc")  # doctest: +SKIP
    >>> group.variables["air"].data  # doctest: +SKIP
    ManifestArray<shape=(2920, 25, 53), dtype=int16, chunks=(730, 13, 27), nchunks=16>
    """

    name: ClassVar[str] = "hdf5"

    @classmethod
    def sniff(cls, head: bytes, url: str) -> bool:
        """Return True when ``head`` holds the HDF5 signature at 0 or a user-block offset."""
        return HDF5_MAGIC.found_in(head)  # the descriptor's signature, defined once

    @scan_session()  # one remote handle for h5py and the native chunk-index reader
    def read(
        self,
        url: str,
        *,
        group: str | None = None,
        storage_options: dict[str, Any] | None = None,
        drop_variables: Iterable[str] | str | None = None,
        subgroups: bool = True,
        load_unsupported: bool = False,
        skip_unsupported: bool = False,
        chunk_index: Literal["auto", "hdf5"] = "auto",
    ) -> ManifestGroup:
        """Return the group at ``group`` (root when None) with its subgroups.

        Parameters
        ----------
        url
            Absolute URL of the file (``file:///...``, ``s3://...``).
        group
            Path of the group inside the file (``"a/b"`` or ``"/a/b"``).
        storage_options
            fsspec options for non-local URLs.
        drop_variables
            Variables (names, or paths inside the file) to leave out unparsed.
        subgroups
            False to read the group alone: its child groups are neither read nor
            checked (vzcore passes False when it opens one group as a dataset).
        load_unsupported, skip_unsupported, chunk_index
            See the class docstring.

        Raises
        ------
        UnsupportedFeatureError
            A dataset uses a filter, dtype or layout with no exact virtual representation
            (:class:`~vzcore.errors.UnsupportedPartsError` naming all of them when several
            do), unless ``skip_unsupported=True``.
        CorruptFileError
            The file is not readable as HDF5 (truncated, corrupt).
        """
        drop = {drop_variables} if isinstance(drop_variables, str) else set(drop_variables or ())
        if chunk_index not in ("auto", "hdf5"):
            raise OptionError(
                "reader 'hdf5'",
                "chunk_index",
                chunk_index,
                "pass 'auto' (native v1 B-tree reader, falling back to HDF5) or 'hdf5' "
                "(HDF5's chunk_iter)",
            )
        local = local_path(url)
        if url.startswith("file://") and local is not None and local != url[len("file://") :]:
            url = "file://" + local  # a percent-encoded file URL: reference the real path
        with _open(url, storage_options) as (h5, source):
            scanner = _Scanner(
                url,
                h5,
                source,
                drop=frozenset(drop),
                load_unsupported=bool(load_unsupported),
                native=chunk_index == "auto",
                storage_options=storage_options,
                skip_unsupported=bool(skip_unsupported),
            )
            scanner.shared.subgroups = subgroups
            try:
                with scanner.others:
                    return scanner.finish(scanner.scan(group))
            except VZError:
                raise
            except _LIBRARY_ERRORS as err:
                # The reader boundary: on a damaged file h5py/HDF5 raise bare OSError,
                # KeyError ("incorrect metadata checksum"), ValueError, TypeError, ...
                # (seen by tests/test_hdf5_fuzz.py); none of them may leak.
                raise CorruptFileError(
                    url, f"HDF5 failed reading metadata ({type(err).__name__}: {err})"
                ) from err


# -- group survey ----------------------------------------------------------------------


class _Attrs:
    """The attributes of one object, each read (by h5py) at most once.

    Names are listed once; a value is read on first use and kept, so the survey, the
    dimension naming and :func:`read_attrs` share the reads. ``decoded`` (from
    :func:`vz_hdf5._header_attrs.header_attrs`) gives the names and the values already
    decoded from the object header; h5py reads the others.
    """

    __slots__ = ("_manager", "_names", "_obj", "_values", "header", "sources", "undecoded")

    def __init__(self, obj: h5py.HLObject, decoded: tuple[Any, ...] | None = None) -> None:
        self._obj = obj
        self._manager: h5py.AttributeManager | None = None
        self.undecoded: dict[str, bytes] = {}
        """Attribute messages of the attributes left to h5py, by name (when known)."""
        self.header: dict[int, tuple[int, bytes]] | None = None
        """The object's dataset messages (:data:`vz_hdf5._header_attrs.DATASET_MESSAGES`)."""
        self.sources: dict[str, Any] | None = None
        """The kept decode each value came from, by name (see :func:`read_attrs`)."""
        if decoded is None:
            self._names = list(self._h5attrs)
            self._values: dict[str, Any] = {}
        else:
            self._names, self._values = decoded[0], decoded[1]
            if len(decoded) > 5:
                self.undecoded, self.header, self.sources = decoded[3], decoded[4], decoded[5]

    @property
    def _h5attrs(self) -> h5py.AttributeManager:
        """h5py's attributes of the object, made when one is read through h5py.

        (An AttributeManager costs an h5py call per object, and the root group's makes
        a Group and a File object; most objects have every attribute decoded already.)
        """
        if self._manager is None:
            self._manager = self._obj.attrs
        return self._manager

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __getitem__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            value = self._values[name] = self._h5attrs[name]
            return value

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self._names else default

    def get_id(self, name: str) -> Any:
        return self._h5attrs.get_id(name)


@dataclass
class _Entry:
    """One dataset of a group, with what dimension naming needs."""

    name: str
    dset: h5py.Dataset
    is_scale: bool
    dimlist: Any  # DIMENSION_LIST value (array of reference arrays) or None
    attrs: _Attrs | None
    path: str = ""
    """The dataset's path in the scanned file (decoded text)."""
    scanner: _Scanner | None = None
    """The scanner of the file holding the dataset (another file behind an external link)."""
    dropped: bool = False
    """Left out by ``drop_variables``: kept only for dimension naming, never parsed further."""


@dataclass
class _Survey:
    """The datasets, subgroups and dimension table of one group."""

    datasets: list[_Entry] = field(default_factory=list)
    groups: list[tuple[str, h5py.Group, _Scanner]] = field(default_factory=list)
    dims: dict[str, int] = field(default_factory=dict)
    """Dimensions of the group in netCDF order: labeled ones, then phony ones."""
    problems: list[_Problem] = field(default_factory=list)
    """Links of the group that cannot be followed."""
    named: dict[int, str] = field(default_factory=dict)
    """Datasets of the group with one hard link (here), by object header address: the name
    ``H5Rget_name`` gives a reference to them (see :meth:`_Scanner._dimension_list`)."""
    hdf5_path: str | None = None
    """The group's path as HDF5 names it (``object_path``), once asked."""


def _is_scale(attrs: _Attrs) -> bool:
    if "CLASS" not in attrs:
        return False
    cls = attrs["CLASS"]
    if isinstance(cls, np.ndarray):
        cls = cls.item() if cls.size == 1 else b""
    if isinstance(cls, str):
        cls = cls.encode()
    return bool(cls == b"DIMENSION_SCALE")


def _writes_no_fill(dset: h5py.Dataset) -> bool:
    """Whether HDF5 never writes fill values into ``dset``'s chunks (fill time "never")."""
    header = _header(dset)
    if header is not None:
        return header.writes_no_fill
    return bool(dset.id.get_create_plist().get_fill_time() == h5py.h5d.FILL_TIME_NEVER)


def _not_a_variable(attrs: _Attrs | None) -> bool:
    if attrs is None or "NAME" not in attrs:
        return False
    name = attrs["NAME"]
    if isinstance(name, str):
        name = name.encode()
    return isinstance(name, bytes | np.bytes_) and NOT_A_VARIABLE in bytes(name)


_MAX_LINK_DEPTH = 8
"""How many files deep external links and virtual dataset sources are followed."""

_MAX_LINK_HOPS = 16
"""How many soft and external links one path may pass through (HDF5's default ``nlinks``)."""


@dataclass
class _Problem:
    """A part of the file that cannot be represented, as found during one scan."""

    error: UnsupportedFeatureError
    drop_name: str | None
    """What ``drop_variables=[...]`` takes to leave it out (None: not a variable)."""


@dataclass
class _Shared:
    """State shared by the scanners of one read (the file and the files it links to)."""

    skip_unsupported: bool = False
    subgroups: bool = True
    """False: read the group being read alone, not its child groups."""
    top: str = "/"
    """Path of the group being read."""
    phony_count: int = 0
    problems: list[_Problem] = field(default_factory=list)
    files: dict[str, _Scanner] = field(default_factory=dict)
    """Scanners of the other files that external links and VDS sources lead to, by URL."""
    others: ExitStack = field(default_factory=ExitStack)
    """Closes those files at the end of the read."""
    group_stack: set[tuple[str, int]] = field(default_factory=set)
    """Groups being read (URL, object address): a link back to one is a cycle."""
    vds_stack: set[tuple[str, str]] = field(default_factory=set)
    """Virtual datasets being resolved (URL, path): a source that maps back is refused."""


def _join_url(base_url: str, filename: str) -> str:
    """Resolve ``filename`` (as an external link or a VDS mapping stores it) against a file.

    HDF5 looks for a relative name beside the file holding the link (after the prefixes of
    ``HDF5_EXT_PREFIX`` / ``HDF5_VDS_PREFIX``, which a remote scan cannot use); an absolute
    local path is used as is when it exists, else its base name beside the linking file.
    """
    import posixpath

    if "://" in filename:
        return filename
    local = local_path(base_url)
    if filename.startswith("/"):
        if local is not None and os.path.exists(filename):
            return "file://" + filename
        filename = posixpath.basename(filename)
    scheme, sep, rest = base_url.partition("://")
    if not sep:
        scheme, rest = "", base_url
    directory = posixpath.dirname(rest)
    joined = posixpath.normpath(posixpath.join(directory, filename))
    if rest.startswith("/") and joined.startswith("//"):
        joined = "/" + joined.lstrip("/")
    return f"{scheme}://{joined}" if sep else joined


class _Scanner:
    """Walks one open file; holds the per-file state (phony dimension counter)."""

    def __init__(
        self,
        url: str,
        h5: h5py.File,
        source: SourceFile,
        *,
        drop: frozenset[str] = frozenset(),
        load_unsupported: bool = False,
        native: bool = True,
        storage_options: dict[str, Any] | None = None,
        shared: _Shared | None = None,
        depth: int = 0,
        skip_unsupported: bool = False,
    ) -> None:
        self.url = url
        self.whole = _whole_file(source)
        """The bytes of a small local file, read once (None: read as needed)."""
        self.raw = _reader_over(source, self.whole)
        """Positional reads of the file's bytes (the native chunk-index reader's)."""
        self.native = native
        sizes = None if self.whole is None else superblock_sizes(self.whole)
        if sizes is None:  # (HDF5's, through a copy of the file creation property list)
            fcpl = h5.id.get_create_plist()
            sizeof_addr, sizeof_len = fcpl.get_sizes()
            sizes = int(fcpl.get_userblock()), int(sizeof_addr), int(sizeof_len)
        self.base, self.sizeof_addr, self.sizeof_len = sizes
        self.h5 = h5
        self.size: int = source.size or 0  # (known: _open refuses files of unknown size)
        self.positions = np.uint32 if self.size <= _U32_MAX else np.uint64
        """The dtype of the chunk offsets and lengths placed in manifests: ``uint32`` when
        the file is smaller than 4 GiB (then every byte position that passes
        :meth:`_check_extent` fits), which vzcore keeps as it is; it converts ``uint64``
        positions that fit to ``uint32`` itself (a check and a copy per array)."""
        self.drop = drop
        self.load_unsupported = load_unsupported
        self.storage_options = storage_options
        self.shared = shared if shared is not None else _Shared(skip_unsupported)
        self.depth = depth
        self._dimids: dict[str, dict[int, str]] = {}
        self._heap: HeapGuard | None = None
        self._heap_checked: set[int] = set()
        self._walked: dict[int, Decoded | None] = {}
        """Headers walked before their object was opened, by address: what
        :func:`attrs_and_messages` gave (see :meth:`_unopened`), for
        :meth:`_check_heap_attrs` to take."""
        self._walks: dict[int, tuple[Any, int | None]] = {}
        """The walks of those headers (for :func:`mark_opened`), by address."""

    @property
    def phony_count(self) -> int:
        return self.shared.phony_count

    @phony_count.setter
    def phony_count(self, value: int) -> None:
        self.shared.phony_count = value

    @property
    def others(self) -> ExitStack:
        """The files opened to follow links; close them when the read ends."""
        return self.shared.others

    # -- traversal ---------------------------------------------------------------------

    def scan(self, group: str | None) -> ManifestGroup:
        path = "/" + (group or "").strip("/")
        self.shared.top = path
        if path == "/":
            return self._group(self.h5)
        obj = self.h5.get(path)
        if obj is None:  # a name that is not UTF-8 in the file (decode_name gave Latin-1)
            try:
                obj = h5py.Group(h5py.h5o.open(self.h5.id, path.encode("latin-1")))
            except (UnicodeEncodeError, KeyError, ValueError, OSError):
                obj = None
        if not isinstance(obj, h5py.Group):
            available: list[str] = []
            self.h5.visit(
                lambda n: (
                    available.append(decode_name(n)) if isinstance(self.h5[n], h5py.Group) else None
                )
            )
            raise GroupNotFoundError(self.url, group or "", sorted(available))
        self._count_phony_before(path)
        return self._group(obj)

    def finish(self, group: ManifestGroup) -> ManifestGroup:
        """Return ``group``, or raise (or warn, when skipping) for the unsupported parts."""
        problems = self.shared.problems
        if not problems:
            return group
        drop_names = [p.drop_name for p in problems if p.drop_name is not None]
        skip = "reader_options={'skip_unsupported': True}"
        if self.shared.skip_unsupported:
            listing = "; ".join(
                f"{p.error.variable!r} ({p.error.feature})" if p.error.variable else p.error.feature
                for p in problems
            )
            warnings.warn(
                f"Left out {len(problems)} unsupported part(s) of {self.url!r} "
                f"(skip_unsupported=True): {listing}",
                VZSkippedPartsWarning,
                stacklevel=4,
            )
            return group
        if len(problems) == 1:
            err = problems[0].error
            remedies = []
            if drop_names:
                remedies.append(f"leave it out with drop_variables={drop_names!r}")
            remedies.append(f"skip it with {skip}")
            hint = "; ".join(h for h in (err.hint, ", or ".join(remedies)) if h)
            raise UnsupportedFeatureError(
                err.url, err.variable, err.feature, hint, kind=err.kind
            ) from err
        raise UnsupportedPartsError(self.url, [p.error for p in problems], drop_names, skip)

    def _problem(self, err: UnsupportedFeatureError, drop_name: str | None) -> None:
        self.shared.problems.append(_Problem(err, drop_name))

    def _dropped(self, name: str, path: str) -> bool:
        name = name.removeprefix(NON_COORD_PREFIX)
        return bool({name, path, path.lstrip("/")} & self.drop)

    def _count_phony_before(self, target: str) -> None:
        """Advance the phony counter over groups that precede ``target`` (pre-order)."""
        seen: set[tuple[str, int]] = set()

        def visit(grp: h5py.Group, scanner: _Scanner) -> bool:
            if object_path(grp) == target and scanner is self:
                return True
            key = (scanner.url, _address(grp))
            if key in seen:  # a link cycle: _group reports it
                return False
            seen.add(key)
            survey = scanner._survey(grp, object_path(grp))
            return any(visit(child, s) for _, child, s in survey.groups)

        visit(self.h5, self)

    def _other_file(self, filename: str, where: str, what: str) -> _Scanner:
        """Return the scanner of the file that a link or VDS mapping of ``where`` names."""
        target = _join_url(self.url, filename)
        if target == self.url:
            return self
        if target in self.shared.files:
            return self.shared.files[target]
        if self.depth >= _MAX_LINK_DEPTH:
            raise UnsupportedFeatureError(
                self.url,
                where,
                f"{what} more than {_MAX_LINK_DEPTH} files deep",
            )
        try:
            h5, source = self.others.enter_context(_open(target, self.storage_options))
        except (SourceAccessError, CorruptFileError) as err:
            raise UnsupportedFeatureError(
                self.url,
                where,
                f"{what}: {filename!r} cannot be opened as {target!r} ({err})",
                "put the file beside the linking file, or open the target file itself",
            ) from err
        child = _Scanner(
            target,
            h5,
            source,
            drop=frozenset(),
            load_unsupported=self.load_unsupported,
            native=self.native,
            storage_options=self.storage_options,
            shared=self.shared,
            depth=self.depth + 1,
        )
        self.shared.files[target] = child
        return child

    def _follow(
        self, target: bytes, where: str, what: str, hops: int = 0
    ) -> tuple[_Scanner, h5py.HLObject | None]:
        """Open ``target`` (a path from this file's root) following each link on the way.

        h5py would follow an external link met on the way by itself and hand back an object
        of a third file, to be read as if it were this file's (offsets into the wrong file).
        Here every soft and external link is followed explicitly, an external one moving to
        that file's scanner. Returns the scanner of the file holding the object, and the
        object (None when the path leads nowhere: a missing name, a dangling link, a
        user-defined link type).
        """
        grp: h5py.Group = self.h5
        parts = [p for p in target.split(b"/") if p and p != b"."]
        for i, part in enumerate(parts):
            rest = b"/".join(parts[i + 1 :])
            if not grp.id.links.exists(part):
                return self, None
            kind = grp.id.links.get_info(part).type
            if kind in (h5py.h5l.TYPE_SOFT, h5py.h5l.TYPE_EXTERNAL):
                if hops >= _MAX_LINK_HOPS:
                    raise UnsupportedFeatureError(
                        self.url, where, f"{what}: a path through more than {_MAX_LINK_HOPS} links"
                    )
                value = grp.id.links.get_val(part)
                if kind == h5py.h5l.TYPE_SOFT:  # relative to the group holding the link
                    base = (
                        value
                        if value.startswith(b"/")
                        else h5py.h5i.get_name(grp.id) + b"/" + value
                    )
                    return self._follow(base + b"/" + rest, where, what, hops + 1)
                filename, path = value
                other = self._other_file(decode_name(filename), where, what)
                return other._follow(path + b"/" + rest, where, what, hops + 1)
            if kind != h5py.h5l.TYPE_HARD:
                return self, None
            try:
                obj = _open_child(grp, part)
            except KeyError:
                return self, None
            if not rest:
                return self, obj
            if not isinstance(obj, h5py.Group):
                return self, None
            grp = obj
        return self, grp

    def _survey(
        self, grp: h5py.Group, gpath: str | None = None, gaddr: int | None = None
    ) -> _Survey:
        """Return the datasets, subgroups and dimensions of ``grp`` (header at ``gaddr``)."""
        survey = _Survey()
        labeled_max: list[int | None] = []
        phony: Counter[int] = Counter()
        gpath = object_path(grp) if gpath is None else gpath
        rows = _link_rows(grp)
        # HDF5 finds each listed name again by itself when it looks it up (see _unopened)
        looked_up = len({row[0] for row in rows}) == len(rows) and self._compact_links(grp, gaddr)
        for key, kind, address in rows:
            name = decode_name(key)
            path = f"{gpath.rstrip('/')}/{name}"
            if (bad := name_problem(name)) is not None:  # e.g. '\\' (zarr: a path separator)
                if not self._dropped(name, path):
                    is_group = kind == h5py.h5l.TYPE_HARD and isinstance(grp.get(key), h5py.Group)
                    survey.problems.append(
                        _Problem(
                            UnsupportedFeatureError(
                                self.url,
                                path,
                                f"name {name!r}: {bad}",
                                kind="group" if is_group else "variable",
                            ),
                            None if is_group else self._drop_name(name, path),
                        )
                    )
                continue
            # (low-level calls: h5py's Group.get decodes names as strict UTF-8)
            scanner = self
            if kind == h5py.h5l.TYPE_EXTERNAL:
                raw_file, raw_target = grp.id.links.get_val(key)
                filename, target = decode_name(raw_file), decode_name(raw_target)
                try:
                    what = f"external link to {filename!r}:{target!r}"
                    scanner, obj = self._other_file(filename, path, what)._follow(
                        raw_target, path, what
                    )
                    if obj is None:
                        raise UnsupportedFeatureError(
                            self.url,
                            path,
                            f"external link to {target!r}, which {scanner.url!r} lacks",
                        )
                except UnsupportedFeatureError as err:
                    if not self._dropped(name, path):  # (reported by _group, once)
                        link_err = as_link_error(err)  # the target's kind is not known
                        survey.problems.append(_Problem(link_err, self._drop_name(name, path)))
                    continue
            elif kind == h5py.h5l.TYPE_SOFT:  # (its path may pass through an external link)
                try:
                    scanner, obj = self._follow(
                        h5py.h5i.get_name(grp.id) + b"/" + key, path, "soft link"
                    )
                except UnsupportedFeatureError as err:
                    if not self._dropped(name, path):
                        survey.problems.append(_Problem(err, self._drop_name(name, path)))
                    continue
                if obj is None:  # dangling soft link: nothing to read
                    continue
            else:
                obj = self._unopened(grp, key, address, looked_up)
                if obj is None:
                    obj = _open_child(grp, key)  # (a hard link that fails: a damaged file)
            if isinstance(obj, h5py.Group):
                survey.groups.append((name, obj, scanner))
                continue
            if not isinstance(obj, h5py.Dataset):
                continue  # committed datatypes (netCDF-4 user types)
            dropped = self._dropped(name, path)
            try:
                if isinstance(obj, _ReadOnlyDataset) and obj.nlink is not None:  # (unopened)
                    if obj.nlink == 1:
                        survey.named[address] = name
                    attrs: _Attrs | None = _Attrs(obj, self._check_heap_attrs(obj, addr=address))
                else:
                    info = h5py.h5g.get_objinfo(obj.id)
                    if kind == h5py.h5l.TYPE_HARD and info.nlink == 1:
                        survey.named[_address(obj, info)] = name
                    attrs = _Attrs(obj, scanner._check_heap_attrs(obj, info))
                    if isinstance(obj, _ReadOnlyDataset):
                        layout = (attrs.header or {}).get(_LAYOUT_MESSAGE)
                        obj.set_header(
                            header_dataset(attrs.header, scanner.sizeof_addr, scanner.sizeof_len),
                            None if layout is None or layout[0] < 0 else layout[1],
                        )
                        walk = self._walks.pop(address, None) if address >= 0 else None
                        if walk is not None and obj.header is not None:  # (HDF5 opened it)
                            at = self._walk_key(address)
                            mark_opened(at, walk, info.nlink, obj.header, obj.layout_message)
                assert attrs is not None
                is_scale = _is_scale(attrs)
                # references in another file's DIMENSION_LIST name that file's objects
                dimlist = scanner._dimension_list(attrs) if scanner is self else None
                shape = _full_shape(obj)
            except (VZError, *_LIBRARY_ERRORS):
                if not dropped:
                    raise
                # a dropped dataset is not parsed: its dataspace alone counts for phony dims
                attrs, is_scale, dimlist = None, False, None
                try:
                    shape = tuple(obj.shape or ())
                except _LIBRARY_ERRORS:
                    continue
            if is_scale:
                survey.dims[name] = shape[0] if shape else 0
                labeled_max.append(obj.maxshape[0] if obj.maxshape else None)
            elif shape:
                unlabeled = (
                    list(shape)
                    if dimlist is None
                    else [s for s, refs in zip(shape, dimlist, strict=False) if len(refs) == 0]
                )
                if unlabeled:
                    phony |= Counter(unlabeled)
            survey.datasets.append(
                _Entry(name, obj, is_scale, dimlist, attrs, path, scanner, dropped)
            )
        labeled = Counter(labeled_max)
        for size, count in phony.items():
            for _ in range(labeled[size], count):
                survey.dims[f"phony_dim_{self.phony_count}"] = size
                self.phony_count += 1
        return survey

    def _drop_name(self, name: str, path: str) -> str:
        """Return what ``drop_variables`` takes for the dataset at ``path``.

        Its name when it is in the group being read, its path otherwise.
        """
        parent = path.rsplit("/", 1)[0] or "/"
        return name.removeprefix(NON_COORD_PREFIX) if parent == self.shared.top else path

    def _group(self, grp: h5py.Group, gpath: str | None = None) -> ManifestGroup:
        named = gpath is None
        if named:  # (the file's root: HDF5 names a file identifier "/")
            gpath = "/" if grp is self.h5 else object_path(grp)
        assert gpath is not None
        info = h5py.h5g.get_objinfo(grp.id)  # (its address: the heap check's and the cycle key's)
        survey = self._survey(grp, gpath, _address(grp, info))
        if named:  # (the path HDF5 gives: what _dimid_names asks of it)
            survey.hdf5_path = gpath
        self.shared.problems.extend(survey.problems)
        cached = _Attrs(grp, self._check_heap_attrs(grp, info))
        unreadable: list[UnsupportedFeatureError] = []
        attrs, _ = read_attrs(grp, url=self.url, file=self.h5, cached=cached, unreadable=unreadable)
        for err in unreadable:
            self._problem(err, None)
        variables: dict[str, Variable] = {}
        maxshapes: dict[str, tuple[int | None, ...] | None] = {}
        for entry in survey.datasets:
            if entry.dropped or (entry.is_scale and _not_a_variable(entry.attrs)):
                continue
            name = entry.name.removeprefix(NON_COORD_PREFIX)
            scanner = entry.scanner or self
            try:
                dims = self._dims(entry, survey, grp)
                variables[name] = scanner._variable(entry.dset, dims, entry.attrs)
                maxshapes[name] = entry.dset.maxshape
            except UnsupportedFeatureError as err:
                self._problem(err, self._drop_name(entry.name, entry.path))
        entries = {e.name.removeprefix(NON_COORD_PREFIX): e for e in survey.datasets}
        for name in pad_unlimited(variables, maxshapes, lambda n: _writes_no_fill(entries[n].dset)):
            entry = entries[name]
            self._problem(
                UnsupportedFeatureError(
                    self.url,
                    entry.path,
                    f"records beyond the dataset's {entry.dset.shape} along "
                    "an unlimited dimension written without fill values (HDF5 fill time 'never', "
                    "netCDF NC_NOFILL), which netCDF-C and h5netcdf read differently",
                    f"leave it out with drop_variables={[name]!r}",
                ),
                self._drop_name(entry.name, entry.path),
            )
        groups: dict[str, ManifestGroup] = {}
        if not self.shared.subgroups:
            return ManifestGroup(variables=variables, attrs=attrs, groups=groups)
        key = (self.url, _address(grp, info))
        self.shared.group_stack.add(key)
        try:
            for name, child, scanner in survey.groups:
                path = f"{gpath.rstrip('/')}/{name}"
                if (scanner.url, _address(child)) in self.shared.group_stack:
                    self._problem(
                        UnsupportedFeatureError(
                            self.url,
                            path,
                            f"link back to the enclosing group "
                            f"{object_path(child)!r} (a cycle), which zarr's tree cannot hold",
                            kind="group",
                        ),
                        None,
                    )
                    continue
                groups[name] = scanner._group(child, path if scanner is self else None)
        finally:
            self.shared.group_stack.discard(key)
        return ManifestGroup(variables=variables, attrs=attrs, groups=groups)

    # -- dimensions ----------------------------------------------------------------------

    def _dimid_names(self, grp: h5py.Group, survey: _Survey | None = None) -> dict[int, str]:
        """Map netCDF dimension ids to names for ``grp`` and its ancestors.

        ``survey`` is the survey of ``grp`` when at hand (its datasets, in link order).
        """
        if survey is None:
            key = object_path(grp)
        else:  # (the survey's group: its path asked of HDF5 once)
            if survey.hdf5_path is None:
                survey.hdf5_path = object_path(grp)
            key = survey.hdf5_path
        if key in self._dimids:
            return self._dimids[key]
        out: dict[int, str] = {}
        if key != "/":
            out.update(self._dimid_names(grp.parent))
        if survey is not None:
            scales = [
                (e.name, e.attrs) for e in survey.datasets if e.is_scale and e.attrs is not None
            ]
        else:
            scales = []
            for name in grp:
                obj = grp.get(name)
                # (_survey has checked these datasets' attributes for global heap damage)
                if isinstance(obj, h5py.Dataset):
                    attrs = _Attrs(obj)
                    if _is_scale(attrs):
                        scales.append((name, attrs))
        for name, attrs in scales:
            dimid = attrs.get("_Netcdf4Dimid")
            if dimid is not None:  # (a numpy scalar is its own first element)
                first = dimid if isinstance(dimid, np.generic) else np.asarray(dimid).ravel()[0]
                out[int(first)] = name
        self._dimids[key] = out
        return out

    def _dimension_list(self, attrs: _Attrs) -> Any:
        """Return the ``DIMENSION_LIST`` of a dataset: per axis, the scales it refers to.

        Read from the global heap when the attribute is a plain one (object header
        addresses, named by :meth:`_dim_name`), else through h5py (h5py References).
        """
        if "DIMENSION_LIST" not in attrs:
            return None
        msg = attrs.undecoded.get("DIMENSION_LIST")
        guard = self._heap_guard()
        if msg is not None and guard is not None:
            found = guard.object_references(msg)
            if found is not None:
                return found
        return attrs["DIMENSION_LIST"]

    def _dim_name(self, entry: _Entry, axis: int, ref: Any, survey: _Survey) -> str | None:
        """Return the name of the dimension scale ``ref`` (of axis ``axis`` of ``entry``).

        An address read by :meth:`_dimension_list` is named from the group's datasets
        with one hard link (what ``H5Rget_name`` would give); any other goes to HDF5.
        """
        if isinstance(ref, int):
            name = survey.named.get(ref)
            if name is not None:
                return name
            assert entry.attrs is not None  # (a dimension list was read from them)
            ref = entry.attrs["DIMENSION_LIST"][axis][-1]
        return self._ref_basename(ref)

    def _ref_basename(self, ref: Any) -> str | None:
        try:
            # H5Rget_name: the name self.h5[ref].name gives, without opening the object
            target = h5py.h5r.get_name(ref, self.h5.id)
        except (KeyError, ValueError, OSError, TypeError):
            return None
        return decode_name(target).rsplit("/", 1)[-1] if target else None

    def _dims(self, entry: _Entry, survey: _Survey, grp: h5py.Group) -> tuple[str, ...]:
        dset = entry.dset
        shape = _full_shape(dset)
        if not shape:
            return ()
        names: list[str | None] = [None] * len(shape)
        attrs = entry.attrs
        if entry.is_scale and attrs is not None:  # (attrs: None only for dropped entries)
            if "_Netcdf4Coordinates" in attrs:
                ids = _values(attrs["_Netcdf4Coordinates"])
                table = self._dimid_names(grp, survey)
                if len(ids) == len(shape) and all(int(i) in table for i in ids):
                    return tuple(table[int(i)] for i in ids)
            names[0] = entry.name
        if entry.dimlist is not None:
            for axis, refs in enumerate(entry.dimlist):
                if axis < len(shape) and names[axis] is None and len(refs):
                    names[axis] = self._dim_name(entry, axis, refs[-1], survey)
        used: Counter[int] = Counter()
        for axis, n in enumerate(names):
            if n is not None:
                continue
            size = shape[axis]
            candidates = [d for d, s in survey.dims.items() if s == size]
            k = used[size]
            used[size] += 1
            if k < len(candidates):
                names[axis] = candidates[k]
            else:  # a labeled/unlabeled mix h5netcdf would refuse: give it its own phony dim
                new = f"phony_dim_{self.phony_count}"
                self.phony_count += 1
                survey.dims[new] = size
                names[axis] = new
        return tuple(n for n in names if n is not None)

    # -- variables -----------------------------------------------------------------------

    def _variable(
        self, dset: h5py.Dataset, dims: tuple[str, ...], h5attrs: _Attrs | None = None
    ) -> Variable:
        unreadable: list[UnsupportedFeatureError] = []
        attrs, attr_dtypes = read_attrs(
            dset, url=self.url, file=self.h5, cached=h5attrs, unreadable=unreadable
        )
        try:
            data: ManifestArray | np.ndarray = self._array(dset, dims, attr_dtypes)
        except UnsupportedFeatureError as err:
            if not self.load_unsupported or dset.shape is None:
                raise
            data = self._load(dset, err)
        for problem in unreadable:  # the variable is fine; only these attributes are not
            self._problem(problem, None)
        return Variable(dims, data, attrs)

    def _load(self, dset: h5py.Dataset, err: UnsupportedFeatureError) -> np.ndarray:
        """Read ``dset`` with h5py (``load_unsupported``).

        Raises ``err`` when that cannot give an array zarr holds.
        """
        try:
            dtype = dset.dtype
        except (TypeError, ValueError):  # no numpy type (H5T_TIME, ...): loading cannot help
            raise err from None
        if dtype.kind in "fc" and dtype.itemsize > (8 if dtype.kind == "f" else 16):
            raise err  # long double: zarr has no type for the loaded values either
        self._check_heap_values(dset)
        return np.asarray(self._read_values(dset))

    def _read_values(self, dset: h5py.Dataset, reader: Any = None) -> Any:
        """Return ``reader()`` (default ``dset[()]``).

        A filter that HDF5 cannot load becomes an UnsupportedFeatureError naming it and
        what provides it.
        """
        try:
            return dset[()] if reader is None else reader()
        except OSError as err:
            plist = dset.id.get_create_plist()
            missing = [
                int(plist.get_filter(i)[0])
                for i in range(plist.get_nfilters())
                if not h5py.h5z.filter_avail(int(plist.get_filter(i)[0]))
            ]
            if not missing:
                raise
            from vz_hdf5._filters import FILTER_NAMES

            fid = missing[0]
            raise UnsupportedFeatureError(
                self.url,
                object_path(dset),
                f"HDF5 filter {FILTER_NAMES.get(fid, 'unregistered')!r} (id {fid}), whose "
                "HDF5 plugin is not loaded in this process, so its values cannot be read",
                f"reading them needs {hdf5_plugin_source(fid)}",
            ) from err

    # -- global heap checks (libhdf5 can loop forever on a damaged collection) ----------

    def _heap_guard(self) -> HeapGuard | None:
        if self._heap is None and self.raw is not None:
            self._heap = HeapGuard(
                self.raw,
                base=self.base,
                sizeof_addr=self.sizeof_addr,
                sizeof_len=self.sizeof_len,
                file_size=self.size,
                whole=self.whole,
            )
        return self._heap

    def _check_heap_attrs(
        self, obj: h5py.HLObject, info: Any = None, *, addr: int | None = None
    ) -> Decoded | None:
        """Validate the global heap collections the attributes of ``obj`` use (once).

        Returns the attribute names, the values decoded from the object header and the
        attribute messages (:func:`~vz_hdf5._header_attrs.attrs_and_messages`), or None
        when h5py must read them. ``info`` is ``obj``'s ``H5Gget_objinfo`` when at hand,
        ``addr`` its header address (for an object not opened). Raises CorruptFileError
        naming the object and attribute.
        """
        guard = self._heap_guard()
        if guard is None:
            return None
        if addr is None:
            addr = _address(obj, info)
        walked = self._walked
        found = walked.pop(addr) if addr in walked else attrs_and_messages(guard, addr)
        if addr in self._heap_checked:
            return found
        self._heap_checked.add(addr)
        # (the messages just parsed, when there are: the header is parsed once)
        messages = None if found is None else found[2]
        self._heap_checked_by(obj, "attributes", lambda: guard.check_attributes(addr, messages))
        return found

    def _walk_key(self, addr: int) -> tuple[int, int, int, int]:
        """Return the key of the kept walk of the header at ``addr`` (``_header_attrs._REPLAYS``)."""
        return (addr, self.base, self.sizeof_addr, self.sizeof_len)

    @functools.cached_property
    def _end_of_allocation(self) -> int | None:
        """The file's end of allocation relative to its base address (None: unknown)."""
        try:
            return end_of_allocation(self.raw, self.base, self.sizeof_addr)
        except (IndexError, ValueError, OSError):
            return None

    def _compact_links(self, grp: h5py.Group, addr: int | None) -> bool:
        """Whether HDF5 looks a name of ``grp`` up among the link messages of its header.

        That is a new-style group whose Link Info message gives no dense storage (HDF5's
        ``H5G__obj_lookup``): the lookup takes the first link message of that name, the
        one HDF5's iteration listed when no other has that name. ``addr``: the group's
        header address (asked of HDF5 when None). The header is walked here (kept for
        :meth:`_check_heap_attrs`): HDF5 itself has read it, to list the links.
        """
        guard = self._heap_guard()
        if guard is None:
            return False
        if addr is None:
            addr = _address(grp)
        walked = self._walked
        found = walked[addr] if addr in walked else attrs_and_messages(guard, addr)
        walked[addr] = found
        linfo = None if found is None else found[4].get(LINK_INFO)
        if linfo is None or linfo[0] < 0 or linfo[0] & 0x02:  # (none, twice, shared)
            return False
        data = linfo[1]
        pos = 2 + (8 if data[1] & 0x01 else 0)  # (version, flags, max creation index)
        if data[0] != 0 or len(data) < pos + self.sizeof_addr:
            return False
        return data[pos : pos + self.sizeof_addr] == b"\xff" * self.sizeof_addr

    def _unopened(
        self, grp: h5py.Group, key: bytes, addr: int, looked_up: bool = False
    ) -> _ReadOnlyDataset | None:
        """Return the dataset a hard link of ``grp`` leads to, without opening it, or None.

        ``addr`` is its object header address; ``looked_up``: HDF5's lookup of ``key`` in
        ``grp`` is known to find the link listed (:meth:`_compact_links`), else it is
        asked (``H5Lget_info``). The header is walked here (its attributes
        and dataset messages, kept for :meth:`_check_heap_attrs`); when HDF5 opened a
        header of exactly these bytes as a dataset before and would again (its link, the
        file's end of allocation: :mod:`vz_hdf5._opened`), the dataset is returned
        unopened, its metadata decoded from the header then (HDF5 opens it when something
        the header does not give is asked of it). None: open the object through HDF5,
        which judges it.
        """
        guard = self._heap_guard()
        if guard is None or addr < 0:
            return None
        walk: list[Any] = []
        self._walked[addr] = attrs_and_messages(guard, addr, walk)
        if not walk:
            return None
        opened = opened_before(self._walk_key(addr), walk[0])
        if opened is None or not opened.within(self._end_of_allocation):
            self._walks[addr] = (walk[0], walk[1])  # (HDF5 opens it: mark_opened records it)
            return None
        if not looked_up:  # the link HDF5 looks up by name to open it (the same lookup)
            try:
                link = grp.id.links.get_info(key)
            except _LIBRARY_ERRORS:
                return None  # (H5Oopen then says why)
            if link.type != h5py.h5l.TYPE_HARD or link.u != addr:
                return None  # (a damaged group: another link of the same name)
        dset = _ReadOnlyDataset.unopened(grp.id, key, opened.nlink)
        dset.set_header(opened.header, opened.layout)  # (decoded from the same messages)
        return dset

    def _check_heap_values(self, dset: h5py.Dataset) -> None:
        """Validate the global heap collections the fill value and values of ``dset`` use."""
        guard = self._heap_guard()
        if guard is None:
            return
        addr = _address(dset)
        self._heap_checked_by(
            dset, "values", lambda: guard.check_dataset(addr, lambda: self._raw_chunks(dset))
        )

    def _heap_checked_by(
        self, obj: h5py.HLObject, what: str, check: Callable[[], str | None]
    ) -> None:
        """Run a global heap ``check`` of ``obj``'s ``what``: raise on damage, log a skip.

        A :class:`~vz_hdf5._gheap.HeapError` becomes a CorruptFileError naming the object; a
        check that could not run (it returns why) is logged at debug level.
        """
        try:
            why = check()
        except HeapError as err:
            raise CorruptFileError(self.url, f"{object_path(obj)!r}: {err}") from err
        if why is not None:
            _log.debug(
                "%s: %s of %r not checked for global heap damage: %s",
                self.url,
                what,
                object_path(obj),
                why,
            )

    def _raw_chunks(self, dset: h5py.Dataset) -> Iterator[bytes]:
        """Yield the unfiltered bytes of every allocated chunk of ``dset``."""
        import numcodecs

        from vz_hdf5._gheap import UnknownStructureError

        assert self.raw is not None
        plist = dset.id.get_create_plist()
        if plist.get_layout() != h5py.h5d.CHUNKED:
            raise UnknownStructureError(f"HDF5 layout {plist.get_layout()}")
        filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
        filters = [(int(f[0]), int(f[1]), tuple(int(c) for c in f[2]), "") for f in filters]
        tid = dset.id.get_type()
        # H5Tget_size gives a vlen type's memory size; on disk it is (length, address, index)
        vlen = tid.get_class() == h5py.h5t.VLEN or (
            tid.get_class() == h5py.h5t.STRING and tid.is_variable_str()
        )
        itemsize = 8 + self.sizeof_addr if vlen else tid.get_size()
        try:
            configs = codecs_for_pipeline(
                filters,
                np.dtype(f"V{itemsize}"),
                self.url,
                object_path(dset),
                math.prod(dset.chunks or ()),
            )
        except UnsupportedFeatureError as err:
            raise UnknownStructureError(str(err)) from err
        codecs = [
            # HDF5's shuffle stores the element size it used (the disk size: 16 for vlen)
            numcodecs.get_codec(
                {"id": "shuffle", "elementsize": f[2][0]} if f[0] == 2 and f[2] else dict(c)
            )
            for f, c in zip(filters, configs, strict=True)
        ]
        ndim = len(dset.shape or ())
        rows = _chunk_rows(dset.id, ndim)
        for offset, size, mask in rows[:, ndim : ndim + 3].tolist():
            if offset + size > self.size:
                raise HeapError(f"a chunk at offset {offset} overruns the file")
            data: Any = self.raw(int(offset), int(size))
            try:
                for i in reversed(range(len(codecs))):
                    if not mask & (1 << i):  # a set bit: HDF5 skipped that filter
                        data = codecs[i].decode(data)
            except Exception as err:  # any codec failure: HDF5 itself will judge the chunk
                raise UnknownStructureError(f"chunk at {offset} does not decode") from err
            yield bytes(data)

    def _unsupported(self, dset: h5py.Dataset, feature: str, hint: str = "") -> NoReturn:
        # The remedies that always work (drop_variables=[...], skip_unsupported) are added
        # by finish(), which knows every unsupported part of the file.
        raise UnsupportedFeatureError(self.url, object_path(dset), feature, hint)

    def _check_dtype(self, dset: h5py.Dataset, dtype: np.dtype[Any]) -> str:
        """Return ``"vlen-str"`` or ``"raw"``; raise for types without a byte-exact view."""
        info = h5py.check_string_dtype(dtype)
        if info is not None and info.length is None:
            return "vlen-str"
        if h5py.check_ref_dtype(dtype) is not None:
            self._unsupported(dset, f"dtype {dtype} (HDF5 object/region references)")
        if h5py.check_vlen_dtype(dtype) is not None:
            self._unsupported(dset, "variable-length sequence dtype (HDF5 vlen)")
        if dtype.kind == "O":
            self._unsupported(dset, f"object dtype {dtype}")
        if dtype.names is not None:
            for fname in dtype.names:
                sub = dtype.fields[fname][0] if dtype.fields else dtype
                if sub.hasobject:
                    self._unsupported(
                        dset, f"compound dtype whose field {fname!r} is variable-length"
                    )
        if dtype.subdtype is not None and dtype.subdtype[0].hasobject:
            self._unsupported(dset, f"HDF5 array element type {dtype} of variable-length items")
        base = dtype.subdtype[0] if dtype.subdtype is not None else dtype
        reason = unsupported_dtype_reason(base)  # compound layouts zarr cannot read
        if reason is not None:
            name = dset.name.rsplit("/", 1)[-1]
            self._unsupported(
                dset,
                reason,
                f"zarr cannot hold it: leave it out with reader_options={{'drop_variables': "
                f"[{name!r}]}} (or reader_options={{'skip_unsupported': True}} to skip every "
                "unsupported variable)",
            )
        tid = dset.id.get_type()
        if dtype.kind in "fc" and dtype.itemsize > (8 if dtype.kind == "f" else 16):
            what = type_description(tid) if dtype.kind == "f" else f"complex long double ({dtype})"
            self._unsupported(dset, f"type: {what}, which zarr has no data type for")
        if tid.get_size() != dtype.itemsize:
            self._unsupported(
                dset,
                f"HDF5 type of {tid.get_size()} bytes that h5py converts to {dtype}",
            )
        if tid.get_class() in (h5py.h5t.INTEGER, h5py.h5t.FLOAT) and (
            tid.get_precision() != 8 * tid.get_size() or tid.get_offset() != 0
        ):
            self._unsupported(
                dset,
                f"HDF5 {dtype} with {tid.get_precision()} significant bits at bit offset "
                f"{tid.get_offset()} (padded number type)",
            )
        return "raw"

    def _fill_value(self, dset: h5py.Dataset, plist: Any, kind: str) -> Any:
        if plist.fill_value_defined() != h5py.h5d.FILL_VALUE_USER_DEFINED:
            return None
        return self._fill_from(dset, dset.fillvalue, kind)

    def _fill_from(self, dset: h5py.Dataset, value: Any, kind: str) -> Any:
        """Return the fill value of ``dset`` given h5py's ``fillvalue`` ``value``."""
        if kind == "vlen-str":
            if isinstance(value, bytes):
                return value.decode("utf-8", "surrogateescape") or None
            return value or None
        arr = np.asarray(value, dtype=dset.dtype)
        if dset.dtype.subdtype is not None:  # HDF5 array type: one fill per element
            if arr.size and not (arr == arr.flat[0]).all():
                self._unsupported(
                    dset, f"fill value {arr.tolist()} that differs within the array element"
                )
            arr = np.asarray(arr.flat[0] if arr.size else 0, dtype=dset.dtype.subdtype[0])
        if arr.dtype.names is not None or arr.dtype.kind == "V":
            return arr.tobytes()
        if arr.dtype.kind == "S":
            return arr.item()
        item = arr.item()
        if isinstance(item, complex):
            return item
        return item

    def _array(
        self, dset: h5py.Dataset, dims: tuple[str, ...], attr_dtypes: dict[str, str]
    ) -> ManifestArray:
        header = _header(dset)
        if header is not None and unsupported_dtype_reason(header.dtype) is None:
            return self._header_array(dset, header, dims, attr_dtypes)
        shape = dset.shape
        if shape is None:
            self._unsupported(
                dset,
                "null dataspace (H5S_NULL, h5py.Empty: a dataset without a shape, which no zarr "
                "array can be: every zarr array has a shape)",
            )
        try:
            dtype = dset.dtype
        except (TypeError, ValueError):  # h5py: "No NumPy equivalent for TypeTimeID
            # exists", "Insufficient precision in available types" (IEEE quadruple floats)
            self._unsupported(
                dset,
                f"type: {type_description(dset.id.get_type())}, which has no numpy or "
                "zarr equivalent (h5py cannot read it either)",
            )
        dsid = dset.id
        plist = dsid.get_create_plist()
        layout = plist.get_layout()
        if layout == h5py.h5d.VIRTUAL:
            from vz_hdf5._virtual import virtual_array

            fill = self._fill_value(dset, plist, "raw")
            return virtual_array(self, dset, _plain_dtype(dtype), fill, dims)
        if plist.get_external_count():
            files = [plist.get_external(i)[0].decode() for i in range(plist.get_external_count())]
            self._unsupported(
                dset,
                f"external raw data storage in {files}",
                "its bytes live in other files whose paths HDF5 resolves at read time; "
                "rewrite the dataset into the file (h5repack) or load it",
            )
        kind = self._check_dtype(dset, dtype)
        if kind == "vlen-str":  # its fill value and values are read from the global heap
            self._check_heap_values(dset)
        filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
        filters = [
            (
                int(f[0]),
                int(f[1]),
                tuple(int(c) for c in f[2]),
                f[3].decode("ascii", "replace") if isinstance(f[3], bytes) else str(f[3]),
            )
            for f in filters
        ]
        if layout == h5py.h5d.CHUNKED:
            chunks = tuple(int(c) for c in dset.chunks)
        else:
            chunks = tuple(max(int(s), 1) for s in shape)
        codecs = (
            ()
            if kind == "vlen-str"
            else codecs_for_pipeline(filters, dtype, self.url, object_path(dset), math.prod(chunks))
        )
        fill = self._fill_value(dset, plist, kind)
        extra = self._extra(layout, attr_dtypes)
        enum = h5py.check_enum_dtype(dtype)
        if enum is not None and dtype != np.dtype(bool):
            extra["enum"] = {str(k): int(v) for k, v in enum.items()}
        dtype = _plain_dtype(dtype)

        if kind == "vlen-str":
            manifest, codec_id = self._vlen_manifest(dset, chunks)
            if codec_id == "vlen-bytes" and isinstance(fill, str):
                fill = fill.encode("utf-8", "surrogateescape")
            meta = ArrayMetadata(
                shape, np.dtype(object), chunks, fill, ({"id": codec_id},), dims, extra
            )
            return ManifestArray(meta, manifest)

        grid = tuple(math.ceil(s / c) for s, c in zip(shape, chunks, strict=True))
        if dtype.kind == "S":
            cut = self._converted_strings(dset, dtype)
            if cut is not None:  # h5py reads other bytes than the file holds: inline those
                extra["hdf5_strings"] = "inlined as h5py reads them (cut at NUL / spaces)"
                manifest = self._inline_manifest(cut, chunks, grid)
                return ManifestArray(
                    ArrayMetadata(shape, dtype, chunks, fill, (), dims, extra), manifest
                )
        if layout == h5py.h5d.CHUNKED:
            manifest, codecs = self._chunked(
                dset, shape, dtype, chunks, grid, filters, codecs, extra
            )
        elif layout == h5py.h5d.CONTIGUOUS:
            offset = dset.id.get_offset()
            if offset is not None and offset < self.base:
                # HDF5 adds the user block size to an unallocated dataset's undefined
                # address, which wraps around to base - 1 (data never lies in the user block)
                offset = None
            manifest = self._contiguous_manifest(dset, shape, dtype, grid, offset)
        elif layout == h5py.h5d.COMPACT:
            manifest = self._compact_manifest(dset, dtype, grid)
        else:  # pragma: no cover - HDF5 has no other layouts today
            self._unsupported(dset, f"HDF5 layout {layout}")
        if dtype.subdtype is not None:
            # An HDF5 array element type is byte for byte a trailing block of axes held
            # whole in every chunk: expose it as such (zarr has no subarray dtypes).
            dtype, sub = dtype.subdtype
            shape, chunks = shape + sub, chunks + sub
            grid = grid + (1,) * len(sub)
            manifest = ChunkManifest(
                manifest.paths,
                manifest.path_index.reshape(grid),
                manifest.offsets.reshape(grid),
                manifest.lengths.reshape(grid),
                manifest.inline,
            )
            extra["hdf5_array_type"] = list(sub)
        meta = ArrayMetadata(shape, dtype, chunks, fill, codecs, dims, extra)
        return ManifestArray(meta, manifest)

    def _header_array(
        self,
        dset: h5py.Dataset,
        header: HeaderDataset,
        dims: tuple[str, ...],
        attr_dtypes: dict[str, str],
    ) -> ManifestArray:
        """:meth:`_array` for a dataset of numbers whose metadata came from its header.

        :func:`~vz_hdf5._header_dataset.header_dataset` decodes only plain integers and
        IEEE floats (no strings, enums, compounds, arrays, external or virtual storage),
        so none of :meth:`_array`'s refusals and special cases apply.
        """
        shape, dtype, layout = header.shape, header.dtype, header.layout
        chunks = header.chunks or tuple(max(int(s), 1) for s in shape)
        filters = list(header.filters)
        try:  # (the dataset's path, an HDF5 call, is only for the error message)
            codecs = codecs_for_pipeline(filters, dtype, self.url, "", math.prod(chunks))
        except UnsupportedFeatureError:  # the same refusal, naming the dataset
            codecs = codecs_for_pipeline(
                filters, dtype, self.url, object_path(dset), math.prod(chunks)
            )
        # (a numpy scalar of header.dtype, a plain number: _fill_from gives its item)
        fill = None if header.fill is None else header.fill.item()
        extra = self._extra(layout, attr_dtypes)
        grid = tuple(math.ceil(s / c) for s, c in zip(shape, chunks, strict=True))
        if layout == h5py.h5d.CHUNKED:
            manifest, codecs = self._chunked(
                dset, shape, dtype, chunks, grid, filters, codecs, extra
            )
        elif layout == h5py.h5d.CONTIGUOUS:
            address = header.address  # (relative to the base address, as the file holds it)
            offset = None if address is None else address + self.base
            manifest = self._contiguous_manifest(dset, shape, dtype, grid, offset)
        else:
            manifest = self._compact_manifest(dset, dtype, grid)
        meta = ArrayMetadata(shape, dtype, chunks, fill, codecs, dims, extra)
        return ManifestArray(meta, manifest)

    @staticmethod
    def _extra(layout: int, attr_dtypes: dict[str, str]) -> dict[str, Any]:
        extra: dict[str, Any] = {
            "hdf5_layout": {0: "compact", 1: "contiguous", 2: "chunked"}.get(layout, str(layout))
        }
        if attr_dtypes:
            extra["attr_dtypes"] = attr_dtypes
        return extra

    def _chunked(
        self,
        dset: h5py.Dataset,
        shape: tuple[int, ...],
        dtype: np.dtype[Any],
        chunks: tuple[int, ...],
        grid: tuple[int, ...],
        filters: list[tuple[int, int, tuple[int, ...], str]],
        codecs: Any,
        extra: dict[str, Any],
    ) -> tuple[ChunkManifest, Any]:
        """Return the manifest of a chunked dataset and its codecs (filter masks applied)."""
        manifest, extra["chunk_index"], skipped = self._chunked_manifest(dset, shape, chunks, grid)
        if not filters:
            self._check_unfiltered(dset, manifest, chunks, dtype)
        if skipped is not None:
            from vz_hdf5._filter_mask import filter_mask_codecs

            codecs = filter_mask_codecs(
                filters,
                codecs,
                dset.dtype,
                math.prod(chunks),
                *skipped,
                self.url,
                object_path(dset),
            )
        return manifest, codecs

    # -- manifests -----------------------------------------------------------------------

    def _manifest(
        self,
        grid: tuple[int, ...],
        path_index: np.ndarray,
        offsets: np.ndarray,
        lengths: np.ndarray,
        inline: dict[int, bytes] | None = None,
    ) -> ChunkManifest:
        if len(grid) != 1:  # (one axis: the arrays have the grid's shape already)
            path_index, offsets, lengths = (
                path_index.reshape(grid),
                offsets.reshape(grid),
                lengths.reshape(grid),
            )
        return ChunkManifest.from_codes((self.url,), path_index, offsets, lengths, inline)

    def _check_extent(self, dset: h5py.Dataset, end: int) -> None:
        if end > self.size:
            raise CorruptFileError(
                self.url,
                f"dataset {object_path(dset)!r} has chunk bytes up to offset {end}, past the end of "
                f"the file ({self.size} bytes)",
            )

    def _chunked_manifest(
        self,
        dset: h5py.Dataset,
        shape: tuple[int, ...],
        chunks: tuple[int, ...],
        grid: tuple[int, ...],
    ) -> tuple[ChunkManifest, str, tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
        """Return the manifest, how its index was read and the chunks' filter masks.

        The second item is ``"v1-btree"`` (native reader), ``"hdf5"`` (``chunk_iter``) or
        ``"none"`` (an empty array); the third is None when every chunk went through every
        filter, else the filter mask, stored length and element offsets of every chunk.
        """
        skipped: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        n = math.prod(grid)
        how = "hdf5" if n else "none"
        rows: np.ndarray | list[list[int]] | None = None
        if n:
            rows = self._native_rows(dset, len(shape))
            if rows is None:
                self._check_edge_filtering(dset)
                rows = _chunk_rows(dset.id, len(shape))
            else:
                how = "v1-btree"
            self._check_sparse(dset, shape, chunks, n, len(rows))
        pi = _codes(n, _MISSING)
        off = np.zeros(n, self.positions)
        ln = np.zeros(n, self.positions)
        if rows is not None:
            ndim = len(shape)
            few: list[list[int]] | None = None
            if len(rows) <= _FEW_CHUNKS:
                few = rows if isinstance(rows, list) else rows.tolist()
            if few is not None and not any(row[ndim + 2] for row in few):
                try:
                    end = _place_few(few, ndim, chunks, grid, pi, off, ln)
                except OverflowError:  # past 4 GiB in a smaller file: _check_extent says so
                    pi = _codes(n, _MISSING)
                    off, ln = np.zeros(n, np.uint64), np.zeros(n, np.uint64)
                    end = _place_few(few, ndim, chunks, grid, pi, off, ln)
                if end is not None:
                    self._check_extent(dset, end)
                return self._manifest(grid, pi, off, ln), how, skipped
            if isinstance(rows, list):  # (rows of the native reader's Python path)
                rows = np.array(rows, np.uint64).reshape(-1, ndim + 3)
            idx = rows[:, :ndim] // np.asarray(chunks, np.uint64)
            inside = (idx < np.asarray(grid, np.uint64)).all(axis=1)
            if not inside.all():  # chunks left behind by shrinking the dataset
                rows, idx = rows[inside], idx[inside]
            if rows.shape[0]:
                if rows[:, ndim + 2].any():  # some optional filters skipped: _filter_mask.py
                    skipped = rows[:, ndim + 2], rows[:, ndim + 1], rows[:, :ndim]
                flat = np.ravel_multi_index(tuple(idx.T.astype(np.intp)), grid)
                pi[flat] = 0
                off[flat] = rows[:, ndim]  # (cast to self.positions: checked just below)
                ln[flat] = rows[:, ndim + 1]
                starts, ends = rows[:, ndim], rows[:, ndim] + rows[:, ndim + 1]
                wrapped = bool((ends < starts).any())  # a uint64 sum past 2**64
                self._check_extent(dset, 1 << 64 if wrapped else int(ends.max()))
        return self._manifest(grid, pi, off, ln), how, skipped

    def _check_unfiltered(
        self,
        dset: h5py.Dataset,
        manifest: ChunkManifest,
        chunks: tuple[int, ...],
        dtype: np.dtype[Any],
    ) -> None:
        """Refuse unfiltered chunks whose stored size is not a whole chunk's.

        Without filters HDF5 stores every chunk whole, edge chunks included; a chunk index
        saying otherwise is damaged (e.g. a filter pipeline message that lost its filters:
        HDF5 would then read whole chunks of compressed bytes and the bytes after them).
        """
        nbytes = math.prod(chunks) * dtype.itemsize
        stored = manifest.path_index < len(manifest.paths)  # (not missing, not inline)
        wrong = stored & (manifest.lengths != nbytes)
        if not wrong.any():
            return
        where = tuple(int(i[0]) for i in np.nonzero(wrong))
        raise CorruptFileError(
            self.url,
            f"dataset {object_path(dset)!r} has no filters, but its chunk {where} stores "
            f"{int(manifest.lengths[where])} bytes where a chunk of {chunks} {dtype} "
            f"elements holds {nbytes}",
        )

    def _check_sparse(
        self,
        dset: h5py.Dataset,
        shape: tuple[int, ...],
        chunks: tuple[int, ...],
        cells: int,
        stored: int,
    ) -> None:
        """Refuse a chunk grid far larger than its stored chunks, before allocating it.

        A manifest holds 17 bytes per grid cell, stored or not: a sparse dataset (a huge
        extent with few chunks written, or a damaged dataspace) would take gigabytes, or
        more memory than exists, for a few references.
        """
        if cells <= SPARSE_GRID_CELLS or stored * SPARSE_RATIO >= cells:
            return
        self._unsupported(
            dset,
            f"sparse chunk grid: shape {shape} in chunks of {chunks} is {cells:,} grid cells, "
            f"of which the file stores {stored:,}; a chunk manifest holds 17 bytes per cell "
            f"({17 * cells / 1e9:,.1f} GB here)",
            "if the extent is right, read the stored region with h5py instead",
        )

    def _check_edge_filtering(self, dset: h5py.Dataset) -> None:
        """Refuse layouts whose partial edge chunks skip the filters without saying so."""
        if self.raw is None or not dset.id.get_create_plist().get_nfilters():
            return
        from vz_hdf5._btree import ChunkIndexError, read_layout_message, unfiltered_edges

        try:
            layout = read_layout_message(
                self.raw,
                _address(dset),
                base=self.base,
                sizeof_addr=self.sizeof_addr,
                sizeof_len=self.sizeof_len,
            )
        except (ChunkIndexError, IndexError, ValueError, struct.error):
            return
        if layout is not None and unfiltered_edges(layout):
            self._unsupported(
                dset,
                "partial edge chunks stored without filters (H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS)",
                "one codec pipeline cannot decode both kinds of chunk; rewrite the dataset "
                "(h5repack) or load it",
            )

    def _native_rows(self, dset: h5py.Dataset, ndim: int) -> np.ndarray | list[list[int]] | None:
        """Chunk rows from the native v1 B-tree reader, or None to use ``chunk_iter``.

        (A list of rows of Python ints for a small tree: see ``read_v1_chunk_rows``.)
        """
        if not self.native or self.raw is None:
            return None
        from vz_hdf5._btree import ChunkIndexError, ChunkKeyError, read_v1_chunk_rows

        layout = dset.layout_message if isinstance(dset, _ReadOnlyDataset) else None
        try:
            # H5Gget_objinfo is O(1); H5Oget_info also sizes the chunk index (walks it).
            addr = -1 if layout is not None else _address(dset)
            return read_v1_chunk_rows(
                self.raw,
                addr,
                base=self.base,
                sizeof_addr=self.sizeof_addr,
                sizeof_len=self.sizeof_len,
                ndim=ndim,
                layout=layout,  # (the header's, parsed by the survey)
            )
        except ChunkKeyError as err:
            raise CorruptFileError(
                self.url,
                f"dataset {object_path(dset)!r}: {err}, so HDF5 reads some of its chunks "
                "as fill values while its chunk index lists them",
            ) from err
        except (ChunkIndexError, IndexError, ValueError, struct.error):
            return None  # let HDF5 itself read (and judge) the index

    def _contiguous_manifest(
        self,
        dset: h5py.Dataset,
        shape: tuple[int, ...],
        dtype: np.dtype[Any],
        grid: tuple[int, ...],
        offset: int | None,
    ) -> ChunkManifest:
        """Return the manifest of a contiguous dataset whose data is at ``offset``."""
        n = math.prod(grid)
        pi = _codes(n, _MISSING)
        off = np.zeros(n, self.positions)
        ln = np.zeros(n, self.positions)
        nbytes = math.prod(shape) * dtype.itemsize
        if n and nbytes and offset is not None:
            self._check_extent(dset, int(offset) + nbytes)  # (so both fit self.positions)
            pi[0] = 0
            off[0] = offset
            ln[0] = nbytes
        return self._manifest(grid, pi, off, ln)

    def _compact_manifest(
        self, dset: h5py.Dataset, dtype: np.dtype[Any], grid: tuple[int, ...]
    ) -> ChunkManifest:
        n = math.prod(grid)
        pi = _codes(n, _MISSING)
        off = np.zeros(n, np.uint64)
        ln = np.zeros(n, np.uint64)
        inline: dict[int, bytes] = {}
        if n and dset.size:
            base = dtype.subdtype[0] if dtype.subdtype is not None else dtype
            raw = np.ascontiguousarray(dset[()], dtype=base).tobytes()
            pi[0] = _INLINE
            ln[0] = len(raw)
            inline[0] = raw
        return self._manifest(grid, pi, off, ln, inline)

    def _converted_strings(self, dset: h5py.Dataset, dtype: np.dtype[Any]) -> Any:
        """Return h5py's values of a fixed-length string dataset, when they differ.

        None when they equal the stored bytes as zarr would read them.

        HDF5 converts on read: ``H5T_STR_NULLTERM`` strings are cut at the first NUL and
        ``H5T_STR_SPACEPAD`` strings lose their trailing spaces, while ``H5T_STR_NULLPAD``
        ones are returned as stored (numpy drops trailing NULs, as zarr's reader does).
        Most files hold nothing after the terminator, and their strings stay virtual.

        Raises
        ------
        UnsupportedFeatureError
            When the values differ and are larger than :data:`INLINE_LIMIT`.
        """
        tid = dset.id.get_type()
        if tid.get_class() != h5py.h5t.STRING or dset.size == 0:
            return None
        pad = tid.get_strpad()
        if pad == h5py.h5t.STR_NULLPAD or (pad == h5py.h5t.STR_NULLTERM and dtype.itemsize == 1):
            return None  # read as stored (one NUL-terminated byte is b"" either way)

        def stored() -> np.ndarray:
            out = np.empty(dset.shape, dtype=dtype)
            dset.id.read(h5py.h5s.ALL, h5py.h5s.ALL, out, mtype=tid)
            return out

        raw = self._read_values(dset, stored)
        converted = np.asarray(self._read_values(dset), dtype=dtype)
        if np.array_equal(raw, converted):
            return None
        nbytes = converted.nbytes
        if nbytes > INLINE_LIMIT:
            name = "H5T_STR_NULLTERM" if pad == h5py.h5t.STR_NULLTERM else "H5T_STR_SPACEPAD"
            what = "bytes after the NUL" if pad == h5py.h5t.STR_NULLTERM else "trailing spaces"
            self._unsupported(
                dset,
                f"fixed-length strings ({name}) holding {what}, which h5py drops on reading "
                f"and zarr would not; they would be inlined, but they are {nbytes} bytes, "
                f"more than the {INLINE_LIMIT} bytes vzcore inlines",
                "load it with reader_options={'load_unsupported': True}",
            )
        return converted

    def _inline_manifest(
        self, values: np.ndarray, chunks: tuple[int, ...], grid: tuple[int, ...]
    ) -> ChunkManifest:
        """Return a manifest holding ``values`` as inline, uncompressed C-order chunks."""
        n = math.prod(grid)
        pi = _codes(n, _INLINE)
        off = np.zeros(n, np.uint64)
        ln = np.zeros(n, np.uint64)
        inline: dict[int, bytes] = {}
        for flat in range(n):
            idx = np.unravel_index(flat, grid) if grid else ()
            sel = tuple(slice(i * c, (i + 1) * c) for i, c in zip(idx, chunks, strict=True))
            key: tuple[Any, ...] = (*sel, Ellipsis)
            part = values[key]
            block = np.zeros(chunks, dtype=values.dtype)
            fill: tuple[Any, ...] = (*(slice(0, p) for p in part.shape), Ellipsis)
            block[fill] = part
            inline[flat] = block.tobytes()
            ln[flat] = len(inline[flat])
        return self._manifest(grid, pi, off, ln, inline)

    def _vlen_manifest(
        self, dset: h5py.Dataset, chunks: tuple[int, ...]
    ) -> tuple[ChunkManifest, str]:
        """Return the inline manifest of a variable-length string dataset and its codec id.

        The values are what h5py reads (one ``bytes`` per element, a bare ``bytes`` for a
        scalar dataset). When all of them are UTF-8 they are stored as text with
        ``vlen-utf8`` (readers of the output get ``str``, as netCDF4/h5netcdf give); when
        some are not, as the very bytes with ``vlen-bytes`` (readers get ``bytes``, as h5py
        gives), so no byte is changed either way.
        """
        from numcodecs import VLenBytes, VLenUTF8

        shape = tuple(dset.shape)
        grid = tuple(math.ceil(s / c) for s, c in zip(shape, chunks, strict=True))
        n = math.prod(grid)
        pi = _codes(n, _INLINE)
        off = np.zeros(n, np.uint64)
        ln = np.zeros(n, np.uint64)
        inline: dict[int, bytes] = {}
        codec_id = "vlen-utf8"
        if n:
            stored = np.empty(shape, dtype=object)
            stored[...] = self._read_values(dset)  # a scalar dataset reads as one bytes
            items = [
                v if isinstance(v, bytes) else str(v).encode("utf-8", "surrogateescape")
                for v in stored.ravel().tolist()
            ]
            values = np.empty(len(items), dtype=object)
            try:
                values[:] = [v.decode("utf-8") for v in items]
                empty: str | bytes = ""
                codec: Any = VLenUTF8()
            except UnicodeDecodeError:
                values[:] = items
                empty, codec, codec_id = b"", VLenBytes(), "vlen-bytes"
            values = values.reshape(shape)
            for flat in range(n):
                idx = np.unravel_index(flat, grid) if grid else ()
                sel = tuple(
                    slice(i * c, min((i + 1) * c, s))
                    for i, c, s in zip(idx, chunks, shape, strict=True)
                )
                block = np.full(chunks, empty, dtype=object)
                key: tuple[Any, ...] = (*sel, Ellipsis)
                part = values[key]
                fill: tuple[Any, ...] = (*(slice(0, p) for p in part.shape), Ellipsis)
                block[fill] = part
                raw = bytes(codec.encode(block.reshape(-1)))
                inline[flat] = raw
                ln[flat] = len(raw)
        return self._manifest(grid, pi, off, ln, inline), codec_id


class _ReadOnlyDataset(h5py.Dataset):  # type: ignore[misc]  # (h5py is untyped)
    """An h5py Dataset of a file opened read-only, its type and extent asked of HDF5 once.

    h5py builds a new numpy dtype (``H5Dget_type`` + conversion) on every ``.dtype`` and
    a new dataspace on every ``.maxshape``; the reader asks for them several times per
    dataset (survey, dimensions, variable, fill value). Nothing can change them while the
    file is open read-only. The data transfer property list that h5py creates with every
    Dataset object is made on the first read instead (most datasets are never read here).
    """

    def __init__(self, bind: h5py.h5d.DatasetID, *, readonly: bool = False) -> None:
        # h5py's Dataset.__init__ without ``self._dxpl = h5p.create(DATASET_XFER)``
        if not isinstance(bind, h5py.h5d.DatasetID):
            raise ValueError(f"{bind} is not a DatasetID")  # noqa: TRY004  (h5py's error)
        h5py.HLObject.__init__(self, bind)
        self._readonly = readonly
        self._cache_props: dict[Any, Any] = {}

    nlink: int | None = None
    """The link count of a dataset not opened yet (see :meth:`unopened`); else None."""

    _link: tuple[Any, bytes] | None = None

    @classmethod
    def unopened(cls, parent: Any, key: bytes, nlink: int) -> _ReadOnlyDataset:
        """Return the dataset of the hard link ``key`` of ``parent``, not opened yet.

        HDF5 opens it on the first use of its :attr:`id`. ``parent``: the GroupID or FileID
        of the group holding the link; ``nlink``: the dataset's link count (what
        ``H5Gget_objinfo`` would give).
        """
        self = cls.__new__(cls)
        self._id = None
        self._link = (parent, key)
        self._readonly = True
        self._cache_props = {}
        self.nlink = nlink
        return self

    @property
    def id(self) -> h5py.h5d.DatasetID:
        """Low-level identifier of the dataset (opened now when it was not)."""
        oid: Any = self._id  # type: ignore[has-type]  # (h5py's attribute, untyped)
        if oid is None:
            assert self._link is not None
            parent, key = self._link
            oid = h5py.h5o.open(parent, key)
            if not isinstance(oid, h5py.h5d.DatasetID):  # (HDF5 opened these bytes as one)
                raise TypeError(f"{key!r} is no longer a dataset")
            self._id = oid
        return oid

    @functools.cached_property
    def _dxpl(self) -> Any:
        """The data transfer property list of h5py's reads (default settings)."""
        return h5py.h5p.create(h5py.h5p.DATASET_XFER)

    @functools.cached_property
    def dtype(self) -> np.dtype[Any]:
        """Numpy dtype representing the datatype (h5py's, computed once)."""
        return super().dtype  # type: ignore[no-any-return]

    @functools.cached_property
    def maxshape(self) -> tuple[int | None, ...] | None:
        """Shape up to which this dataset can be resized (h5py's, computed once)."""
        return super().maxshape  # type: ignore[no-any-return]

    header: HeaderDataset | None = None
    """The dataset's metadata decoded from its object header (None: h5py's to give)."""

    layout_message: bytes | None = None
    """The Data Layout message of the object header (None: not parsed here)."""

    def set_header(self, header: HeaderDataset | None, layout: bytes | None = None) -> None:
        """Use ``header`` (decoded from the object header) for shape, dtype and maxshape.

        ``layout`` is the header's Data Layout message, which the chunk index reader then
        takes instead of parsing the header again.
        """
        if header is None:
            return
        self.header = header
        self.layout_message = layout
        self._cache_props["shape"] = header.shape
        self.__dict__["dtype"] = header.dtype
        self.__dict__["maxshape"] = header.maxshape


def _header(dset: h5py.Dataset) -> HeaderDataset | None:
    """Return the metadata decoded from ``dset``'s object header, when it was."""
    return dset.header if isinstance(dset, _ReadOnlyDataset) else None


def _open_child(grp: h5py.Group, key: bytes) -> h5py.HLObject:
    """Return ``grp[key]`` for a hard or soft link of a group of a read-only file.

    What h5py's ``Group.__getitem__`` does, without the ``File`` object it builds (for its
    mode) on every call; datasets come as :class:`_ReadOnlyDataset`.
    """
    oid = h5py.h5o.open(grp.id, key)
    otype = h5py.h5i.get_type(oid)
    if otype == h5py.h5i.GROUP:
        return h5py.Group(oid)
    if otype == h5py.h5i.DATASET:
        return _ReadOnlyDataset(oid, readonly=True)
    if otype == h5py.h5i.DATATYPE:
        return h5py.Datatype(oid)
    raise TypeError("Unknown object type")


_FEW_CHUNKS = 64
"""Chunk rows up to this many are placed in the manifest arrays one by one in Python
(:func:`_place_few`): numpy's per-call cost is most of the work for a few rows."""


def _place_few(
    rows: list[list[int]],
    ndim: int,
    chunks: tuple[int, ...],
    grid: tuple[int, ...],
    pi: np.ndarray,
    off: np.ndarray,
    ln: np.ndarray,
) -> int | None:
    """Place chunk ``rows`` (none with a filter mask) as ``_chunked_manifest`` does.

    Rows whose chunk lies outside ``grid`` (left behind by shrinking the dataset) are
    skipped; a later row for the same chunk wins. Returns the end of the last byte placed
    (None when no row was).
    """
    end: int | None = None
    axes = list(zip(chunks, grid, strict=True))  # (ndim of them: zip stops the rows there)
    for row in rows:
        flat = 0
        for start, (chunk, size) in zip(row, axes, strict=False):
            i = start // chunk
            if i >= size:
                break
            flat = flat * size + i
        else:
            pi[flat] = 0
            off[flat] = row[ndim]
            ln[flat] = row[ndim + 1]
            stop = row[ndim] + row[ndim + 1]
            end = stop if end is None or stop > end else end
    return end


def _link_rows(grp: h5py.Group) -> list[tuple[bytes, int, int]]:
    """Return the raw name, link type and target address of each member of ``grp``.

    In h5py's order; the address is -1 for a link that is not hard.
    One ``H5Literate`` over the group in the order h5py's iteration (``for name in grp``)
    uses: creation order when the group tracks it, else name order. h5py's ``GroupIter``
    decides from the group creation property list (of the root group, opened with
    ``h5o.open``, for a file); HDF5 iterates in creation order exactly when the group
    tracks it (``H5G__obj_iterate`` refuses otherwise: "no creation order index to
    query"), so that iteration is tried first, and the property list asked only when it
    fails. The link types and addresses come with the names instead of one
    ``H5Lget_info`` per name.
    """
    found: list[tuple[bytes, int, int]] = []
    hard = h5py.h5l.TYPE_HARD

    def add(name: bytes, info: Any) -> None:
        kind = info.type
        found.append((name, kind, info.u if kind == hard else -1))

    if _LINK_ORDER["creation_first"]:
        try:
            grp.id.links.iterate(add, idx_type=h5py.h5.INDEX_CRT_ORDER, info=True)
        except _LIBRARY_ERRORS:
            found.clear()
        else:
            return found
    gid = grp.id
    if isinstance(gid, h5py.h5f.FileID):  # (its own plist is the file creation plist)
        gid = h5py.h5o.open(gid, b"/")
    gcpl = gid.get_create_plist()
    tracked = gcpl.get_link_creation_order() & h5py.h5p.CRT_ORDER_TRACKED
    _LINK_ORDER["creation_first"] = bool(tracked)  # (the next group is likely alike)
    index = h5py.h5.INDEX_CRT_ORDER if tracked else h5py.h5.INDEX_NAME
    gid.links.iterate(add, idx_type=index, info=True)
    return found


_LINK_ORDER = {"creation_first": True}
"""Whether :func:`_link_rows` tries the creation-order iteration first: the last group's
order (netCDF-4 files track it; h5py's, by default, do not), so a failed first try is
paid once per change of kind. Either way the result is the same."""


def _values(value: Any) -> list[Any]:
    """Return ``np.asarray(value).ravel().tolist()`` (a 1-D array's ``tolist()``)."""
    if type(value) is np.ndarray and value.ndim == 1:
        return value.tolist()  # type: ignore[no-any-return]
    return np.asarray(value).ravel().tolist()


def _codes(n: int, code: int) -> np.ndarray:
    """Return ``np.full(n, code, np.int8)`` (without its Python-level dispatch)."""
    out = np.empty(n, np.int8)
    out.fill(code)
    return out


def _address(obj: h5py.HLObject, info: Any = None) -> int:
    """Return the object header address of ``obj`` (its identity within its file).

    ``info``: ``obj``'s ``H5Gget_objinfo``, when the caller has it already.
    """
    return int((h5py.h5g.get_objinfo(obj.id) if info is None else info).objno[0])


def _full_shape(dset: h5py.Dataset) -> tuple[int, ...]:
    """Shape of a dataset with the axes of an HDF5 array element type appended."""
    shape = tuple(dset.shape or ())
    try:
        dtype = dset.dtype
    except (TypeError, ValueError):  # no numpy type (H5T_TIME, binary128, ...): refused
        return shape  # when the variable is read
    sub = dtype.subdtype
    return shape + tuple(sub[1]) if sub is not None else shape


def _plain_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """Return ``dtype`` without h5py's metadata (enum maps, string encodings), layout kept."""
    if dtype.names is not None and dtype.fields is not None:
        fields = [dtype.fields[n] for n in dtype.names]
        return np.dtype(
            {
                "names": list(dtype.names),
                "formats": [_plain_dtype(f[0]) for f in fields],
                "offsets": [f[1] for f in fields],
                "itemsize": dtype.itemsize,
            }
        )
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        return np.dtype((_plain_dtype(base), shape))
    return np.dtype(dtype.str)


def _chunk_rows(dsid: h5py.h5d.DatasetID, ndim: int) -> np.ndarray:
    """Return one row per allocated chunk: element offsets, byte offset, size, filter mask."""
    rows: list[tuple[int, ...]] = []
    append = rows.append
    if hasattr(dsid, "chunk_iter"):
        dsid.chunk_iter(
            lambda info: append((*info.chunk_offset, info.byte_offset, info.size, info.filter_mask))
        )
    else:  # pragma: no cover - HDF5 < 1.12.3 lacks H5Dchunk_iter
        for i in range(dsid.get_num_chunks()):
            info = dsid.get_chunk_info(i)
            append((*info.chunk_offset, info.byte_offset, info.size, info.filter_mask))
    if not rows:
        return np.zeros((0, ndim + 3), np.uint64)
    return np.array(rows, dtype=np.uint64)
