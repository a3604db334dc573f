"""Fields of the HDF5 superblock the reader needs, read from the file's bytes.

HDF5 has read and checked the superblock when it opened the file (its checksum for
versions 2 and 3); these read the same bytes for what h5py would ask of HDF5 through a
copy of the file creation property list (the base address, the sizes of addresses and
lengths) and for the end of allocation, which no h5py call gives.
"""

from __future__ import annotations

from typing import Any

from vz_hdf5._btree import _uint

__all__ = ["end_of_allocation", "superblock_sizes"]

_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def superblock_sizes(whole: bytes) -> tuple[int, int, int] | None:
    """Return the base address and the sizes of addresses and lengths of a file's bytes.

    The superblock is where HDF5 looks for it (``H5FD_locate_signature``: offset 0, then
    512, 1024, 2048, ...: the first signature found); the base address is that offset
    (the user block's size). None when the superblock is of another version than 0 to 3
    or its base address field says otherwise (HDF5 is then asked).
    """
    base, size = 0, len(whole)
    while base < size and whole[base : base + 8] != _SIGNATURE:
        base = 512 if base == 0 else 2 * base
    head = whole[base : base + 64]
    fields = _fields(head)
    if fields is None:
        return None
    pos, sizeof_addr, sizeof_len = fields
    if sizeof_addr not in (2, 4, 8, 16, 32) or sizeof_len not in (2, 4, 8, 16, 32):
        return None
    if len(head) < pos + sizeof_addr or _uint(head, pos, sizeof_addr) != base:
        return None
    return base, sizeof_addr, sizeof_len


def end_of_allocation(read_at: Any, base: int, sizeof_addr: int) -> int | None:
    """Return the end of allocation of the file (relative to its base address), or None.

    Read from the superblock at ``base`` (versions 0 to 3); None when the superblock is
    not there or its base address is not ``base``.
    """
    head = read_at(base, 64 + 4 * sizeof_addr)
    fields = _fields(head) if head[:8] == _SIGNATURE else None
    if fields is None:
        return None
    pos = fields[0]
    if len(head) < pos + 3 * sizeof_addr:
        return None
    stored_base = _uint(head, pos, sizeof_addr)
    if stored_base != base:
        return None
    return _uint(head, pos + 2 * sizeof_addr, sizeof_addr) - stored_base


def _fields(head: bytes) -> tuple[int, int, int] | None:
    """Return where the base address is and the sizes of addresses and lengths of a superblock.

    ``head`` starts at the superblock's signature; None for a version other than 0 to 3 or
    too few bytes.
    """
    if len(head) < 16:
        return None
    version = head[8]
    if version in (0, 1):
        return 24 if version == 0 else 28, head[13], head[14]
    if version in (2, 3):
        return 12, head[9], head[10]
    return None
