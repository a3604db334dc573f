"""Writing VZTOY files: b"VZTOY\\0", uint32 header length, JSON header, chunk bytes."""

from __future__ import annotations

import itertools
import json
import math
import struct
import zlib
from typing import Any

import numpy as np

MAGIC = b"VZTOY\x00"


def write_toy(
    path: str,
    variables: dict[str, tuple[tuple[str, ...], np.ndarray, dict[str, Any]]],
    attrs: dict[str, Any] | None = None,
    chunks: dict[str, tuple[int, ...]] | None = None,
    compress: bool = True,
) -> None:
    """Write ``{name: (dims, values, attrs)}`` as a VZTOY file."""
    chunks = chunks or {}
    header: dict[str, Any] = {"attrs": attrs or {}, "variables": {}}
    blobs: list[bytes] = []
    for name, (dims, values, vattrs) in variables.items():
        values = np.ascontiguousarray(values)
        cshape = chunks.get(name, values.shape)
        grid = [math.ceil(s / c) for s, c in zip(values.shape, cshape, strict=True)]
        refs = []
        for idx in itertools.product(*(range(g) for g in grid)):
            block = np.zeros(cshape, values.dtype)
            src = tuple(
                slice(i * c, min((i + 1) * c, s))
                for i, c, s in zip(idx, cshape, values.shape, strict=True)
            )
            block[tuple(slice(0, s.stop - s.start) for s in src)] = values[src]
            raw = block.tobytes()
            data = zlib.compress(raw) if compress else raw
            refs.append([list(idx), sum(len(b) for b in blobs), len(data)])
            blobs.append(data)
        header["variables"][name] = {
            "dims": list(dims),
            "shape": list(values.shape),
            "dtype": values.dtype.str,
            "chunks": list(cshape),
            "attrs": vattrs,
            "compressed": compress,
            "refs": refs,
        }
    head = json.dumps(header).encode()
    # Offsets in the header are relative to the data section; the reader rebases them.
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<I", len(head)) + head)
        f.writelines(blobs)
