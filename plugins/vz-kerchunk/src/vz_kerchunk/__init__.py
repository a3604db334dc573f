"""vz-kerchunk: kerchunk references for vzcore, written and read back.

Installing this distribution registers the ``kerchunk`` writer and the ``kerchunk`` reader
with vzcore (entry point ``kerchunk`` in the ``vzcore`` group). Use them through
``ds.virtualize.to_kerchunk(...)`` and ``vzcore.open_virtual_dataset("refs.json")``, or
directly::

    from vz_kerchunk import KerchunkReader, KerchunkWriter
    KerchunkWriter().write(manifest_group, "combined.json")
    group = KerchunkReader().read("file:///abs/combined.json")

Nothing heavy is imported until one of them is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vzcore.registry import package_getattr

if TYPE_CHECKING:
    __version__: str
    from vz_kerchunk._reader import KerchunkReader
    from vz_kerchunk._safety import ReferenceNotAllowedError
    from vz_kerchunk._writer import KerchunkWriter

__all__ = ["KerchunkReader", "KerchunkWriter", "ReferenceNotAllowedError", "__version__"]


__getattr__ = package_getattr(
    __name__,
    "vz-kerchunk",
    {
        "KerchunkWriter": "vz_kerchunk._writer:KerchunkWriter",
        "KerchunkReader": "vz_kerchunk._reader:KerchunkReader",
        "ReferenceNotAllowedError": "vz_kerchunk._safety:ReferenceNotAllowedError",
    },
)
