"""Object headers HDF5 has opened as datasets, so that the same bytes need not be opened again.

The reader opens every dataset through HDF5 (``H5Oopen``: HDF5 reads and checks the
object header, its checksums and the dataset's messages) although it decodes everything
it needs from the header itself (:mod:`vz_hdf5._header_attrs`,
:mod:`vz_hdf5._header_dataset`). Opening costs some 15 µs per dataset, a tenth of the
reader's time on a small netCDF4 file.

Files of one product hold the same dataset headers at the same addresses. A walk of a
header is kept with every byte it read (``_header_attrs._REPLAYS``: the first block with
its checksum, continuation blocks, dense attribute storage), and the next file's walk is
replayed from it only when its reads give those very bytes. What ``H5Oopen`` does with a
dataset is a function of:

* the link HDF5 looks up by name in the group: the reader asks for it
  (``H5Lget_info``, the same lookup) and requires a hard link to the header it walked
  (a damaged group can list a name its lookup does not find, or find another link);
* the header's bytes (the kept walk's, checksums included), the file's base address and
  sizes of addresses and lengths (the kept walk's key);
* the file's end of allocation: HDF5 reads no metadata past it, and refuses a contiguous
  dataset whose data lies past it (``H5D__contig_check``); the reader requires the
  header's reads, the data and a chunk index address to lie before it.

So when a walk that HDF5 opened as a dataset is replayed, and the rest holds, HDF5 would
open the object again as the same dataset, with the same link count: the reader then
leaves it unopened (and opens it only if something the header does not give is asked of
it). Any other dataset goes through ``H5Oopen`` as before, which judges it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vz_hdf5._btree import _uint
from vz_hdf5._header_attrs import _REPLAY_ENTRIES
from vz_hdf5._header_dataset import CHUNKED, CONTIGUOUS, HeaderDataset

__all__ = ["Opened", "mark_opened", "opened_before"]

_OPENED: dict[tuple[int, int, int, int], Opened] = {}
"""Header walks HDF5 opened as a dataset, by the kept walk's key (header address, base
address, sizes of addresses and lengths)."""

_ENTRIES = _REPLAY_ENTRIES
"""Records kept before :data:`_OPENED` is emptied: as many as kept walks (a record whose
walk is no longer kept is never used again, and would keep that walk alive)."""


@dataclass(frozen=True, slots=True)
class Opened:
    """A dataset header HDF5 opened: the walk, the link count, the decoded dataset."""

    key: tuple[int, int, int, int]
    """The kept walk's key."""
    walk: Any
    """The walk's result (the very object the kept walk replays)."""
    nlink: int
    """The dataset's link count (``H5Gget_objinfo``'s ``nlink``)."""
    header: HeaderDataset
    """The dataset's metadata decoded from the header (:mod:`vz_hdf5._header_dataset`)."""
    layout: bytes | None
    """The header's Data Layout message."""
    end: int
    """The file offset after the last byte of the walk's reads (the header's blocks)."""

    def within(self, eoa: int | None) -> bool:
        """Whether HDF5 opens the dataset in a file whose end of allocation is ``eoa``.

        ``eoa`` is relative to the base address (:func:`vz_hdf5._superblock.end_of_allocation`; None: unknown,
        and HDF5 judges). HDF5 reads no metadata past it (the header's blocks must end
        before it) and refuses a contiguous dataset whose data does not
        (``H5D__contig_check``). A chunked dataset's index address is asked to lie before
        it too (a version-3 layout; HDF5 judges the others).
        """
        if eoa is None or self.layout is None:
            return False
        _, base, sizeof_addr, sizeof_len = self.key
        if self.end > base + eoa:
            return False
        header, layout = self.header, self.layout
        if header.layout == CHUNKED:
            if layout[0] != 3:
                return False
            return _uint(layout, 3, sizeof_addr) < eoa or layout[3 : 3 + sizeof_addr] == (
                b"\xff" * sizeof_addr
            )  # (undefined: no chunk written)
        if header.layout != CONTIGUOUS or header.address is None:
            return True
        nbytes = header.dtype.itemsize
        for n in header.shape:
            nbytes *= n
        stored = _uint(layout, 2 + sizeof_addr, sizeof_len)  # (the size the message gives)
        return header.address + max(nbytes, stored) <= eoa


def mark_opened(
    key: tuple[int, int, int, int],
    walk: tuple[Any, int | None],
    nlink: int,
    header: HeaderDataset,
    layout: bytes | None,
) -> None:
    """Record that HDF5 opened the header of ``walk`` as the dataset ``header``.

    ``walk``: what :func:`~vz_hdf5._header_attrs.attrs_and_messages` gave for the header
    (its result and the end of its reads; a walk that is not kept is not recorded).
    """
    found = _OPENED.get(key)
    if walk[1] is not None and (found is None or found.walk is not walk[0]):
        if len(_OPENED) >= _ENTRIES:
            _OPENED.clear()
        _OPENED[key] = Opened(key, walk[0], int(nlink), header, layout, walk[1])


def opened_before(key: tuple[int, int, int, int], walk: Any) -> Opened | None:
    """Return the record of the header of this file's walk ``walk``, when HDF5 opened it.

    ``walk`` is the kept object when this file's walk was replayed from it; any other
    walk has no record. The caller checks :meth:`Opened.within` the file's end of
    allocation.
    """
    found = _OPENED.get(key)
    return found if found is not None and found.walk is walk else None
