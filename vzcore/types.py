"""The Protocols that readers and writers satisfy.

A reader turns one file (or URL) into a :class:`~vzcore.group.ManifestGroup`; a writer
persists a ManifestGroup. Neither imports xarray: the conversions to and from xarray
objects belong to vzcore's core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from vzcore.group import ManifestGroup

__all__ = ["Reader", "Writer"]


@runtime_checkable
class Reader(Protocol):
    """Reads the metadata and chunk locations of one file.

    A reader may also define ``sniff(head: bytes, url: str) -> bool`` as a classmethod for
    checks deeper than its :class:`~vzcore.registry.ReaderSpec` magic bytes.
    """

    name: ClassVar[str]
    """The reader's canonical name, equal to its ReaderSpec name."""

    # Optional: ``scans_sources: ClassVar[bool]`` (default True). When true, vzcore records
    # the size, mtime and ETag of every file the returned manifests point into, as they are
    # now; a reader of existing references sets it to False and attaches what was recorded.

    def read(
        self,
        url: str,
        *,
        group: str | None = None,
        storage_options: dict[str, Any] | None = None,
        **options: Any,  # reader-specific options, validated by the reader
    ) -> ManifestGroup:
        """Return the group at ``group`` (the root when None) with all its descendants.

        Paths inside the returned manifests must be absolute URLs. Anything that cannot be
        represented virtually raises :class:`~vzcore.errors.UnsupportedFeatureError`; a
        broken file raises :class:`~vzcore.errors.CorruptFileError`.
        """
        ...


@runtime_checkable
class Writer(Protocol):
    """Persists a virtual dataset tree in one output format."""

    name: ClassVar[str]
    """The writer's canonical name, equal to its WriterSpec name."""

    def write(
        self,
        group: ManifestGroup,
        target: Any,  # a path, URL, store or session: each writer documents what it takes
        **options: Any,  # writer-specific options, validated by the writer
    ) -> Any:  # e.g. the reference dict for in-memory outputs, else None
        """Write ``group`` (and its descendants) to ``target``.

        A writer never leaves a half-written target: it writes to a temporary location and
        moves it into place, or raises :class:`~vzcore.errors.WriteError`.
        """
        ...
