"""vz-icechunk: virtual Zarr v3 stores in Icechunk repositories, for vzcore.

Installing this distribution registers the ``icechunk`` writer with vzcore (entry point
``icechunk`` in the ``vzcore`` group). Use it through ``ds.virtualize.to_icechunk(session)``
or directly::

    from vz_icechunk import IcechunkWriter, containers_for
    IcechunkWriter().write(manifest_group, session)

Nothing heavy (icechunk, zarr) is imported until one of these names is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vzcore.registry import package_getattr

if TYPE_CHECKING:
    __version__: str
    from vz_icechunk._writer import IcechunkWriter
    from vz_icechunk.containers import authorize_for, containers_for

__all__ = ["IcechunkWriter", "__version__", "authorize_for", "containers_for"]


__getattr__ = package_getattr(
    __name__,
    "vz-icechunk",
    {
        "IcechunkWriter": "vz_icechunk._writer:IcechunkWriter",
        "containers_for": "vz_icechunk.containers:containers_for",
        "authorize_for": "vz_icechunk.containers:authorize_for",
    },
)
