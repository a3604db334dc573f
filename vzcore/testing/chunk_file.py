"""Hand-made chunks for writer tests: encode values chunk by chunk into one real file.

Writers can be tested without any reader plugin: :class:`ChunkFile` appends each chunk,
encoded with numcodecs, to a binary file and returns a :class:`~vzcore.manifests.ManifestArray`
over it, with chunks left missing or held inline on request. What a writer's output reads
back can then be compared with ``values``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray

__all__ = ["ChunkFile"]


class ChunkFile:
    """Appends encoded chunks to one binary file and builds ManifestArrays over them.

    Parameters
    ----------
    path
        The file to create; it starts with an 8-byte header, so no chunk lies at offset 0.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        # fsspec-style URL: fsspec does not undo percent-encoding (Path.as_uri() would add it).
        self.url = "file://" + str(path.absolute())
        path.write_bytes(b"HEADER--")

    def array(
        self,
        values: np.ndarray,
        chunk_shape: Sequence[int],
        codecs: Sequence[dict[str, Any]] = (),
        *,
        fill_value: Any = None,
        missing: Sequence[tuple[int, ...]] = (),
        inline: Sequence[tuple[int, ...]] = (),
    ) -> ManifestArray:
        """Store ``values`` chunk by chunk and return the virtual array over them.

        Edge chunks are padded with ``fill_value`` (zero when None); ``missing`` chunks are
        not stored, ``inline`` ones are held in the manifest instead of the file.
        """
        import numcodecs

        meta = ArrayMetadata(
            values.shape,
            values.dtype,
            tuple(chunk_shape),
            fill_value=fill_value,
            codecs=tuple(codecs),
        )
        grid = meta.grid_shape
        index = np.full(grid, ChunkManifest.MISSING, dtype=np.int8)
        offsets = np.zeros(grid, np.uint64)
        lengths = np.zeros(grid, np.uint64)
        held: dict[int, bytes] = {}
        with self.path.open("ab") as f:
            for idx in np.ndindex(*grid):
                if idx in missing:
                    continue
                sel = tuple(
                    slice(i * c, (i + 1) * c) for i, c in zip(idx, chunk_shape, strict=True)
                )
                block = values[sel]
                pad = np.full(
                    meta.chunk_shape, 0 if fill_value is None else fill_value, values.dtype
                )
                pad[tuple(slice(0, s) for s in block.shape)] = block
                buf: Any = pad
                for cfg in codecs:
                    buf = numcodecs.get_codec(dict(cfg)).encode(buf)
                raw = buf.tobytes() if isinstance(buf, np.ndarray) else bytes(buf)
                if idx in inline:
                    index[idx] = ChunkManifest.INLINE
                    held[int(np.ravel_multi_index(idx, grid)) if grid else 0] = raw
                    continue
                index[idx], offsets[idx], lengths[idx] = 0, f.tell(), len(raw)
                f.write(raw)
        return ManifestArray(
            meta, ChunkManifest.from_codes([self.url], index, offsets, lengths, held)
        )
