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

from typing import Any

from vz_hdf5._btree import _uint
from vz_hdf5._header_dataset import CONTIGUOUS, HeaderDataset
from vz_hdf5._kept import make_room

__all__ = ["end_of_allocation", "mark_opened", "opened_before"]

_SIGNATURE = b"\x89HDF\r\n\x1a\n"

_OPENED: dict[tuple[int, int, int, int], tuple[Any, int]] = {}
"""Header walks HDF5 opened as a dataset, by the kept walk's key (header address, base
address, sizes of addresses and lengths): the walk's result (the very object the kept
walk replays) and the dataset's link count (``H5Gget_objinfo``'s ``nlink``)."""


def mark_opened(key: tuple[int, int, int, int], walk: Any, nlink: int) -> None:
    """Record that HDF5 opened the header of walk ``walk`` as a dataset of ``nlink`` links."""
    if _OPENED.get(key, (None,))[0] is not walk:
        make_room(_OPENED)
        _OPENED[key] = (walk, int(nlink))


def opened_before(
    key: tuple[int, int, int, int],
    walk: Any,
    header: HeaderDataset,
    layout: bytes | None,
    eoa: int | None,
) -> int | None:
    """Return the link count of a dataset whose header HDF5 opened before, else None.

    ``walk`` is this file's walk of the header (the kept object when it was replayed),
    ``header`` and ``layout`` its decoded dataset and Data Layout message, ``eoa`` the file's
    end of allocation relative to its base address (:func:`end_of_allocation`; None when
    unknown, which leaves an allocated contiguous dataset to HDF5).
    """
    found = _OPENED.get(key)
    if found is None or found[0] is not walk:
        return None
    if header.layout == CONTIGUOUS and header.address is not None:
        if eoa is None or layout is None:
            return None
        nbytes = header.dtype.itemsize
        for n in header.shape:
            nbytes *= n
        sizeof_addr, sizeof_len = key[2], key[3]
        stored = _uint(layout, 2 + sizeof_addr, sizeof_len)  # (the size the message gives)
        if header.address + max(nbytes, stored) > eoa:
            return None  # (HDF5 refuses data past the end of allocation)
    return found[1]


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
