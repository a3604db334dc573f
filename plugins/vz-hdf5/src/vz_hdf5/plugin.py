"""Entry point of the ``hdf5`` plugin: registers the HDF5/netCDF4 reader descriptor.

Only cheap descriptors live here; h5py is imported when the reader is first used.
"""

from __future__ import annotations

from vzcore.registry import Magic, ReaderSpec, register_readers

__all__ = ["HDF5_MAGIC", "vz_register_readers"]

HDF5_MAGIC = Magic(b"\x89HDF\r\n\x1a\n", (0, 512), doubling=True)
"""The HDF5 superblock signature, at 0 or after a user block of 512 * 2**n bytes."""

vz_register_readers = register_readers(
    ReaderSpec(
        name="hdf5",
        load="vz_hdf5._reader:HDF5Reader",
        description="HDF5 and netCDF4 files (h5py)",
        url="https://github.com/vzcore/vzcore/tree/main/plugins/vz-hdf5",
        extensions=(".nc", ".nc4", ".h5", ".hdf5", ".he5", ".hdf", ".mat"),
        magic=(HDF5_MAGIC,),
    )
)
"""Registers the ``hdf5`` reader (HDF5 and netCDF4 files)."""
