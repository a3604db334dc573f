"""Reading VZTOY files into vzcore ManifestGroups."""

from __future__ import annotations

import json
import struct
from typing import Any, ClassVar

import fsspec

from vzcore import ArrayMetadata, ChunkManifest, ManifestArray, ManifestGroup, Variable
from vzcore.errors import CorruptFileError
from vzcore.types import Reader


class ToyReader(Reader):
    """Reader of the VZTOY demo format."""

    name: ClassVar[str] = "toy"

    def read(
        self,
        url: str,
        *,
        group: str | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> ManifestGroup:
        """Read the header of ``url``."""
        with fsspec.open(url, "rb", **(storage_options or {})) as f:
            head = f.read(10)
            if len(head) < 10 or head[:6] != b"VZTOY\x00":
                raise CorruptFileError(url, "not a VZTOY file")
            (n,) = struct.unpack("<I", head[6:10])
            header = json.loads(f.read(n))
        base = 10 + n
        out = ManifestGroup(attrs=header["attrs"])
        for name, v in header["variables"].items():
            meta = ArrayMetadata(
                shape=tuple(v["shape"]),
                dtype=v["dtype"],
                chunk_shape=tuple(v["chunks"]),
                codecs=({"id": "zlib", "level": 6},) if v["compressed"] else (),
                dimension_names=tuple(v["dims"]),
            )
            refs = {tuple(idx): (url, base + off, ln) for idx, off, ln in v["refs"]}
            manifest = ChunkManifest.from_refs(refs, meta.grid_shape)
            out.variables[name] = Variable(v["dims"], ManifestArray(meta, manifest), v["attrs"])
        return out
