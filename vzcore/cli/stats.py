"""Counting what a virtual dataset holds: variables, chunk references, bytes, sources."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from vzcore.group import ManifestGroup

__all__ = ["Stats", "variable_rows"]


@dataclass
class Stats:
    """Totals over a whole tree (every group)."""

    variables: int = 0
    """Variables, virtual and loaded."""
    virtual: int = 0
    """Variables held as chunk references."""
    loaded: int = 0
    """Variables held in memory (written as real data)."""
    chunk_refs: int = 0
    """Chunk references into files."""
    inline_chunks: int = 0
    """Chunks whose bytes are held in the references themselves."""
    missing_chunks: int = 0
    """Chunks not written in the source (read as the fill value)."""
    bytes_referenced: int = 0
    """Sum of the lengths of the chunk references."""
    sources: list[str] = field(default_factory=list)
    """Every referenced file."""
    source_bytes: int | None = None
    """Total size of the referenced files as recorded at scan time (None if unrecorded)."""

    @classmethod
    def of(cls, group: ManifestGroup) -> Stats:
        """Count ``group`` and its descendants."""
        from vzcore.manifests import ManifestArray

        s = cls()
        for _, g in group.walk():
            for var in g.variables.values():
                s.variables += 1
                if not isinstance(var.data, ManifestArray):
                    s.loaded += 1
                    continue
                s.virtual += 1
                m = var.data.manifest
                real = m.path_index < len(m.paths)
                s.chunk_refs += int(np.count_nonzero(real))
                s.inline_chunks += int(np.count_nonzero(m.is_inline()))
                s.missing_chunks += int(np.count_nonzero(m.missing()))
                s.bytes_referenced += int(m.lengths[real].sum(dtype=np.uint64))
        s.sources = group.referenced_paths()
        recorded = group.sources()
        sizes = [recorded[p].size for p in s.sources if p in recorded]
        if s.sources and len(sizes) == len(s.sources) and None not in sizes:
            s.source_bytes = int(sum(int(n) for n in sizes if n is not None))
        return s

    def to_dict(self) -> dict[str, Any]:
        """Return the totals as a JSON-ready dict (sources as a count)."""
        d = asdict(self)
        d["files"] = len(d.pop("sources"))
        return d


def _codec_text(codec: dict[str, Any]) -> str:
    params = ", ".join(f"{k}={v}" for k, v in codec.items() if k not in ("id", "name"))
    return f"{codec.get('id', codec.get('name', '?'))}({params})"


def variable_rows(group: ManifestGroup) -> list[dict[str, Any]]:
    """Describe every variable of the tree: path, dims, shape, dtype, chunks, codecs, state."""
    from vzcore.manifests import ManifestArray

    rows = []
    for path, g in group.walk():
        for name, var in g.variables.items():
            row: dict[str, Any] = {
                "name": f"{path}/{name}" if path else name,
                "dims": list(var.dims),
                "shape": list(var.shape),
                "dtype": str(var.data.dtype),
            }
            if isinstance(var.data, ManifestArray):
                md, m = var.data.metadata, var.data.manifest
                row.update(
                    state="virtual",
                    chunk_shape=list(md.chunk_shape),
                    codecs=[_codec_text(c) for c in md.codecs],
                    chunks=int(m.nchunks),
                    chunk_refs=int(np.count_nonzero(m.path_index < len(m.paths))),
                    missing_chunks=int(np.count_nonzero(m.missing())),
                    inline_chunks=int(np.count_nonzero(m.is_inline())),
                )
            else:
                row.update(state="loaded", chunk_shape=None, codecs=[], chunks=None)
            rows.append(row)
    return rows
