"""What kind of codec a numcodecs id names: the one table every zarr document builder uses.

Zarr v2 (``filters`` + ``compressor``) and zarr v3 (array-to-array, array-to-bytes,
bytes-to-bytes) both need to know which codecs turn arrays into arrays or objects into bytes;
:mod:`vzcore.manifests.zarr_v2` and :mod:`vzcore.manifests.zarr_v3` read these sets.
"""

from __future__ import annotations

__all__ = ["ARRAY_FILTERS", "OBJECT_CODECS", "WITHOUT_V3_CODEC"]

OBJECT_CODECS = frozenset(
    {"vlen-utf8", "vlen-bytes", "vlen-array", "json2", "msgpack2", "json", "msgpack", "pickle"}
)
"""numcodecs ids that turn object arrays into bytes: zarr v2 needs them in ``filters``."""

ARRAY_FILTERS = frozenset(
    {"delta", "fixedscaleoffset", "quantize", "astype", "categorize", "packbits", "bitround"}
)
"""numcodecs ids of array-to-array filters (never a zarr v2 ``compressor``)."""

WITHOUT_V3_CODEC = frozenset({"categorize"})
"""Array filters of :data:`ARRAY_FILTERS` that zarr-python 3 has no ``numcodecs.<id>`` for."""
