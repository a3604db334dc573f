"""vzcore: virtual Zarr stores from archival files, with xarray's combine semantics.

Scan each file once, record where every chunk lives, combine with xarray, and write the
result as kerchunk references or an Icechunk repository that plain xarray/zarr/fsspec open
instantly. Formats come from plugins (``pip install vz-hdf5``); see :func:`list_plugins`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vzcore import _accessor_hook
from vzcore._file_access import stat_source
from vzcore.errors import (
    CombineError,
    CorruptFileError,
    UnsupportedFeatureError,
    UnsupportedFormatError,
    VZError,
    WriteError,
)
from vzcore.group import ManifestGroup, Variable
from vzcore.hookspecs import hookimpl
from vzcore.integrity import VerifyReport, verify
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray, SourceInfo
from vzcore.plugins import list_plugins, refresh_plugins, register_plugin
from vzcore.registry import Magic, ReaderSpec, WriterSpec

__all__ = [
    "ArrayMetadata",
    "ChunkManifest",
    "CombineError",
    "CorruptFileError",
    "Magic",
    "ManifestArray",
    "ManifestGroup",
    "ReaderSpec",
    "SourceInfo",
    "UnsupportedFeatureError",
    "UnsupportedFormatError",
    "VZError",
    "Variable",
    "VerifyReport",
    "WriteError",
    "WriterSpec",
    "hookimpl",
    "list_plugins",
    "open_virtual_dataset",
    "open_virtual_datatree",
    "open_virtual_mfdataset",
    "refresh_plugins",
    "register_plugin",
    "stat_source",
    "verify",
]

__version__ = "0.1.0"

# xarray (with pandas) costs ~0.4 s to import, so the functions that return xarray objects
# load on first use, and ``.virtualize`` is registered as soon as xarray is imported.
_LAZY = {
    "open_virtual_dataset": "vzcore.api",
    "open_virtual_datatree": "vzcore.api",
    "open_virtual_mfdataset": "vzcore.api",
}

if TYPE_CHECKING:
    from vzcore.api import open_virtual_dataset, open_virtual_datatree, open_virtual_mfdataset


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vzcore' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


_accessor_hook.install()
