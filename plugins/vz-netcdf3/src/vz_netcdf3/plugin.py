"""vzcore plugin registration for the netCDF classic reader (no format library imported)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import vzcore

if TYPE_CHECKING:
    from vzcore.registry import ReaderRegistry

__all__ = ["vz_register_readers"]


@vzcore.hookimpl
def vz_register_readers(registry: ReaderRegistry) -> None:
    """Register the ``netcdf3`` reader (netCDF classic: CDF-1, CDF-2, CDF-5)."""
    registry.add(
        vzcore.ReaderSpec(
            name="netcdf3",
            load="vz_netcdf3._reader:Netcdf3Reader",
            description="netCDF classic files (CDF-1, 64-bit offset CDF-2, 64-bit data CDF-5)",
            url="https://docs.unidata.ucar.edu/netcdf-c/current/file_format_specifications.html",
            extensions=(".nc", ".nc3", ".cdf", ".netcdf"),
            magic=(
                vzcore.Magic(b"CDF\x01"),
                vzcore.Magic(b"CDF\x02"),
                vzcore.Magic(b"CDF\x05"),
            ),
        )
    )
