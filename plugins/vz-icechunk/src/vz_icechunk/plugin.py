"""vzcore plugin hooks of vz-icechunk: registers the ``icechunk`` writer.

Only cheap descriptors live here; icechunk and zarr are imported on first use.
"""

from __future__ import annotations

from vzcore.registry import WriterSpec, register_writers

vz_register_writers = register_writers(
    WriterSpec(
        name="icechunk",
        load="vz_icechunk._writer:IcechunkWriter",
        description="Zarr v3 arrays with virtual chunk references in an Icechunk repository",
        url="https://icechunk.io/en/stable/virtual/",
    )
)
"""Registers the Icechunk writer."""
