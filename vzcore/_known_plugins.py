"""First-party plugins vzcore can suggest installing when no installed plugin fits.

This is a catalogue of names only (no parsing): it lets the "No reader for 'x.tif':
install vz-tiff" message name the right distribution for a format that is not installed.
It holds what that message needs and nothing more: each reader's distribution and magic
bytes, and file name extensions only for a format without magic bytes (a name alone
never suggests a format that has them). The plugins' own descriptors are the reference;
``tests/test_known_plugins.py`` fails when this catalogue drifts from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from vzcore.registry import Magic

__all__ = ["KNOWN_READERS", "KNOWN_WRITERS", "KnownReader", "suggest_reader", "suggest_writer"]


class KnownReader(NamedTuple):
    """What the install hint knows of a first-party reader that may not be installed."""

    distribution: str
    """The distribution to install (``vz-<format>``)."""
    extensions: tuple[str, ...]
    """File name extensions, only for a format without magic bytes (empty otherwise)."""
    magic: tuple[Magic, ...]
    """The signatures of the reader's descriptor."""


KNOWN_READERS: dict[str, KnownReader] = {
    "hdf5": KnownReader(
        "vz-hdf5",
        (),
        (Magic(b"\x89HDF\r\n\x1a\n", (0, 512), doubling=True),),
    ),
    "netcdf3": KnownReader(
        "vz-netcdf3", (), (Magic(b"CDF\x01"), Magic(b"CDF\x02"), Magic(b"CDF\x05"))
    ),
    "tiff": KnownReader(
        "vz-tiff",
        (),
        (Magic(b"II*\x00"), Magic(b"MM\x00*"), Magic(b"II+\x00"), Magic(b"MM\x00+")),
    ),
    "kerchunk": KnownReader("vz-kerchunk", (".json", ".parq", ".parquet"), ()),
}

KNOWN_WRITERS: dict[str, str] = {
    "kerchunk": "vz-kerchunk",
    "parquet": "vz-parquet",
    "icechunk": "vz-icechunk",
}


def suggest_reader(url: str, head: bytes, installed: Iterable[str] = ()) -> str | None:
    """Return the distribution to install for this file, or None.

    A known format is recognised by its magic bytes; formats without magic bytes (kerchunk
    references) by the file's name. A reader that is already ``installed`` is never
    suggested, and a name alone never suggests a format that has magic bytes: an empty or
    foreign file called ``x.nc`` is not a netCDF file whatever its name.
    """
    have = set(installed)
    for name, (dist, _, magics) in KNOWN_READERS.items():
        if any(m.found_in(head) for m in magics):
            return None if name in have else dist
    lowered = url.lower().rstrip("/")
    for name, (dist, exts, magics) in KNOWN_READERS.items():
        if not magics and name not in have and any(lowered.endswith(e) for e in exts):
            return dist
    return None


def suggest_writer(name: str) -> str | None:
    """Return the distribution that provides writer ``name``."""
    return KNOWN_WRITERS.get(name)
