"""Chunk manifests and the virtual arrays built on them."""

from vzcore.manifests.array import ManifestArray
from vzcore.manifests.manifest import ChunkManifest, ChunkRef
from vzcore.manifests.metadata import ArrayMetadata, CodecConfig
from vzcore.manifests.sources import SourceInfo

__all__ = [
    "ArrayMetadata",
    "ChunkManifest",
    "ChunkRef",
    "CodecConfig",
    "ManifestArray",
    "SourceInfo",
]
