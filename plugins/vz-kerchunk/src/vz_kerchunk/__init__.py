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

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    __version__: str
    from vz_kerchunk._reader import KerchunkReader
    from vz_kerchunk._safety import ReferenceNotAllowedError
    from vz_kerchunk._writer import KerchunkWriter

__all__ = ["KerchunkReader", "KerchunkWriter", "ReferenceNotAllowedError", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "__version__":  # read from the installed metadata (= vzcore's version)
        from importlib.metadata import version

        return version("vz-kerchunk")
    if name == "KerchunkWriter":
        from vz_kerchunk._writer import KerchunkWriter

        return KerchunkWriter
    if name == "KerchunkReader":
        from vz_kerchunk._reader import KerchunkReader

        return KerchunkReader
    if name == "ReferenceNotAllowedError":
        from vz_kerchunk._safety import ReferenceNotAllowedError

        return ReferenceNotAllowedError
    raise AttributeError(f"module 'vz_kerchunk' has no attribute {name!r}")
