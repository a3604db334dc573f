"""The chunk references of one array as columns: what the JSON and Parquet loaders return.

Both loaders turn their container's chunk entries into a :class:`ChunkColumns` (flat, C
order over the chunk grid); the reader then resolves and checks the small table of URLs
once and builds the :class:`~vzcore.manifests.ChunkManifest` with numpy, so nothing here
depends on where the references came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["INLINE", "MISSING", "WHOLE_FILE", "ChunkColumns", "ChunkKeys", "RefStore"]

MISSING = -1
"""``codes`` value of a chunk that is not stored."""
INLINE = -2
"""``codes`` value of a chunk whose bytes are in ``inline``."""
WHOLE_FILE = -1
"""``lengths`` value of a reference to a whole file (``[url]``): its size is looked up."""

META_NAMES = frozenset({".zgroup", ".zarray", ".zattrs", ".zmetadata", "zarr.json"})
"""Last key segments that name metadata documents rather than chunks."""


@dataclass
class ChunkColumns:
    """Per-chunk references of one array, flat in C order over its chunk grid."""

    urls: list[str]
    """Raw URLs as written in the references (templates unexpanded, maybe relative)."""
    codes: NDArray[np.int64]
    """Index into :attr:`urls`, or :data:`MISSING` / :data:`INLINE`."""
    offsets: NDArray[np.int64]
    """Byte offsets (0 for missing and inline chunks)."""
    lengths: NDArray[np.int64]
    """Byte lengths, or :data:`WHOLE_FILE`."""
    inline: dict[int, bytes] = field(default_factory=dict)
    """Bytes of inline chunks by flat index."""


@dataclass(frozen=True)
class ChunkKeys:
    """How the keys of an array's chunks are spelled.

    Zarr format 2 (and the v3 ``v2`` chunk key encoding): ``i<sep>j``, ``0`` for a scalar.
    The v3 ``default`` encoding: ``c<sep>i<sep>j``, ``c`` for a scalar (``prefix="c"``).
    """

    separator: str = "."
    """Between the grid coordinates (``"."`` or ``"/"``)."""
    prefix: str = ""
    """Before the coordinates: ``"c"`` for the v3 ``default`` encoding."""

    def table(self, path: str, grid_shape: tuple[int, ...]) -> NDArray[Any]:
        """Return the keys of every chunk of the array at ``path``, flat in C order.

        Examples
        --------
        >>> ChunkKeys("/", "c").table("g/v", (1, 2)).tolist()
        ['g/v/c/0/0', 'g/v/c/0/1']
        >>> ChunkKeys().table("s", ()).tolist(), ChunkKeys("/", "c").table("s", ()).tolist()
        (['s/0'], ['s/c'])
        """
        import numpy as np
        from numpy.dtypes import StringDType
        from vzcore.manifests.chunk_keys import chunk_key_table

        base = f"{path}/" if path else ""
        if not self.prefix:
            return chunk_key_table(grid_shape, base, self.separator)
        if not grid_shape:
            return np.array([base + self.prefix], dtype=StringDType())
        return chunk_key_table(grid_shape, f"{base}{self.prefix}{self.separator}", self.separator)


class RefStore(Protocol):
    """What the reader needs from a loaded reference container."""

    url: str
    """The reference file (or directory) URL, for messages and relative paths."""
    docs: dict[str, Any]
    """Metadata documents by key (``var/.zarray``, ``var/zarr.json`` ...), raw (JSON text or
    dict), in order."""
    templates: Mapping[str, str]
    """URL templates (``{{name}}``) of JSON spec version 1; empty otherwise."""
    sources: Any
    """The ``"vzcore": {"sources": ...}`` entry, or None."""

    def array_columns(
        self, path: str, grid_shape: tuple[int, ...], keys: ChunkKeys
    ) -> ChunkColumns:
        """Return the chunk references of the array at ``path``."""
        ...

    def count_chunk_keys(self, prefix: str) -> int | None:
        """Return how many chunk keys lie under ``prefix`` (None: not applicable)."""
        ...

    def unclaimed_keys(self, prefix: str, claimed_keys: set[str]) -> list[str]:
        """Return chunk keys under ``prefix`` that are not in ``claimed_keys``."""
        ...
