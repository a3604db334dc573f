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
dataset's header is a function of those bytes, of the file's base address and sizes of
addresses and lengths (the key of the kept walk) and, for a contiguous dataset, of the
file's end of allocation (``H5D__contig_check`` refuses data past it). So when a walk
that HDF5 opened as a dataset is replayed, HDF5 would open the object again as the same
dataset, with the same link count: the reader then leaves it unopened (and opens it only
if something the header does not give is asked of it). Any other walk, a new header or
other bytes, goes through ``H5Oopen`` as before, which judges it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vz_hdf5._btree import _uint
from vz_hdf5._header_attrs import _REPLAY_ENTRIES
from vz_hdf5._header_dataset import CONTIGUOUS, HeaderDataset

__all__ = ["Opened", "end_of_allocation", "mark_opened", "opened_before"]

_SIGNATURE = b"\x89HDF\r\n\x1a\n"

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

    def within(self, eoa: int | None) -> bool:
        """Whether HDF5 opens the dataset in a file whose end of allocation is ``eoa``.

        (Only a contiguous dataset's data is checked against it: ``H5D__contig_check``.)
        """
        header = self.header
        if header.layout != CONTIGUOUS or header.address is None:
            return True
        if eoa is None or self.layout is None:
            return False  # (unknown: HDF5 judges)
        nbytes = header.dtype.itemsize
        for n in header.shape:
            nbytes *= n
        _, _, sizeof_addr, sizeof_len = self.key
        stored = _uint(self.layout, 2 + sizeof_addr, sizeof_len)  # (the size the message gives)
        return header.address + max(nbytes, stored) <= eoa


def mark_opened(
    key: tuple[int, int, int, int],
    walk: Any,
    nlink: int,
    header: HeaderDataset,
    layout: bytes | None,
) -> None:
    """Record that HDF5 opened the header of walk ``walk`` as the dataset ``header``."""
    found = _OPENED.get(key)
    if found is None or found.walk is not walk:
        if len(_OPENED) >= _ENTRIES:
            _OPENED.clear()
        _OPENED[key] = Opened(key, walk, int(nlink), header, layout)


def opened_before(key: tuple[int, int, int, int], walk: Any) -> Opened | None:
    """Return the record of the header of this file's walk ``walk``, when HDF5 opened it.

    ``walk`` is the kept object when this file's walk was replayed from it; any other
    walk has no record. The caller checks :meth:`Opened.within` the file's end of
    allocation.
    """
    found = _OPENED.get(key)
    return found if found is not None and found.walk is walk else None


def end_of_allocation(read_at: Any, base: int, sizeof_addr: int) -> int | None:
    """Return the end of allocation of the file (relative to its base address), or None.

    Read from the superblock at ``base`` (versions 0 to 3); None when the superblock is
    not there or its base address is not ``base``.
    """
    head = read_at(base, 64 + 4 * sizeof_addr)
    if head[:8] != _SIGNATURE:
        return None
    version = head[8]
    if version in (2, 3):
        pos = 12
    elif version in (0, 1):
        pos = 24 if version == 0 else 28
    else:
        return None
    if len(head) < pos + 3 * sizeof_addr:
        return None
    stored_base = _uint(head, pos, sizeof_addr)
    if stored_base != base:
        return None
    return _uint(head, pos + 2 * sizeof_addr, sizeof_addr) - stored_base
