"""vz-kerchunk: kerchunk reference output for vzcore.

Installing this distribution registers the ``kerchunk`` writer with vzcore (entry point
``kerchunk`` in the ``vzcore`` group). Use it through ``ds.virtualize.to_kerchunk(...)`` or
directly::

    from vz_kerchunk import KerchunkWriter
    KerchunkWriter().write(manifest_group, "combined.json")

Nothing heavy is imported until :class:`KerchunkWriter` is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vz_kerchunk._writer import KerchunkWriter

__all__ = ["KerchunkWriter", "__version__"]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "KerchunkWriter":
        from vz_kerchunk._writer import KerchunkWriter

        return KerchunkWriter
    raise AttributeError(f"module 'vz_kerchunk' has no attribute {name!r}")
