"""vzcore plugin registration for the netCDF classic reader (no format library imported)."""

from __future__ import annotations

from vzcore.registry import Magic, ReaderSpec, register_readers

__all__ = ["vz_register_readers"]

vz_register_readers = register_readers(
    ReaderSpec(
        name="netcdf3",
        load="vz_netcdf3._reader:Netcdf3Reader",
        description="netCDF classic files (CDF-1, 64-bit offset CDF-2, 64-bit data CDF-5)",
        url="https://docs.unidata.ucar.edu/netcdf-c/current/file_format_specifications.html",
        extensions=(".nc", ".nc3", ".cdf", ".netcdf"),
        magic=(Magic(b"CDF\x01"), Magic(b"CDF\x02"), Magic(b"CDF\x05")),
    )
)
"""Registers the ``netcdf3`` reader (netCDF classic: CDF-1, CDF-2, CDF-5)."""
