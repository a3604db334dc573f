"""vzcore plugin hooks of vz-icechunk: registers the ``icechunk`` writer.

Only cheap descriptors live here; icechunk and zarr are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vzcore.hookspecs import hookimpl
from vzcore.registry import WriterSpec

if TYPE_CHECKING:
    from vzcore.registry import WriterRegistry


@hookimpl
def vz_register_writers(registry: WriterRegistry) -> None:
    """Register the Icechunk writer."""
    registry.add(
        WriterSpec(
            name="icechunk",
            load="vz_icechunk._writer:IcechunkWriter",
            description="Zarr v3 arrays with virtual chunk references in an Icechunk repository",
            url="https://icechunk.io/en/stable/virtual/",
        )
    )
