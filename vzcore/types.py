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

    Reader classes subclass this protocol, as xarray's backends subclass
    ``BackendEntrypoint``: it gives :attr:`scans_sources` and :meth:`sniff` their defaults,
    which vzcore's core reads without probing. The reader's options are keyword-only
    parameters of :meth:`read` with defaults (no ``**options``): the core checks the options
    a user gives against that signature before calling, and refuses unknown ones with one
    :class:`~vzcore.errors.UnknownOptionError` naming the reader and its options.
    """

    name: ClassVar[str]
    """The reader's canonical name, equal to its ReaderSpec name."""

    scans_sources: ClassVar[bool] = True
    """When true (the default), vzcore records the size, mtime and ETag of every file the
    returned manifests point into, as they are now; a reader of existing references sets it
    to False and attaches what was recorded when those files were scanned."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    @classmethod
    def sniff(cls, head: bytes, url: str) -> bool:
        """Return True when this reader takes the file that starts with ``head``.

        Called only when several readers match a file (the same magic bytes, or the same
        extension); the default takes every file its descriptor matched. Override it for
        checks deeper than the :class:`~vzcore.registry.ReaderSpec` magic bytes.
        """
        return True

    def read(
        self,
        url: str,
        *,
        group: str | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> ManifestGroup:
        """Return the group at ``group`` (the root when None) with all its descendants.

        Reader options follow as more keyword-only parameters with defaults. Paths inside
        the returned manifests must be absolute URLs. Anything that cannot be represented
        virtually raises :class:`~vzcore.errors.UnsupportedFeatureError`; a broken file
        raises :class:`~vzcore.errors.CorruptFileError`; an option value the reader cannot
        use raises :class:`~vzcore.errors.OptionError`.
        """
        ...


@runtime_checkable
class Writer(Protocol):
    """Persists a virtual dataset tree in one output format.

    The writer's options are keyword-only parameters of :meth:`write` with defaults (no
    ``**options``): vzcore checks the options a user gives against that signature before
    calling, as it does for readers. Writer classes subclass this protocol, as reader
    classes subclass :class:`Reader`.
    """

    name: ClassVar[str]
    """The writer's canonical name, equal to its WriterSpec name."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def write(
        self,
        group: ManifestGroup,
        target: Any,  # a path, URL, store or session: each writer documents what it takes
        /,
    ) -> Any:  # e.g. the reference dict for in-memory outputs, else None
        """Write ``group`` (and its descendants) to ``target``.

        Writer options follow as keyword-only parameters with defaults; an option value the
        writer cannot use raises :class:`~vzcore.errors.OptionError`. A writer never leaves
        a half-written target: it writes to a temporary location and moves it into place,
        or raises :class:`~vzcore.errors.WriteError`.
        """
        ...
