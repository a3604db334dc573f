"""Descriptors of readers and writers, and the registries that plugins fill.

Plugins describe what they offer with cheap, frozen descriptors (:class:`ReaderSpec`,
:class:`WriterSpec`) that name the class to import as ``"module:Class"``. Nothing is
imported until a file of that format is opened or that output is written, so listing
plugins and sniffing files never pays for a format library.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from vzcore.errors import PluginLoadError

if TYPE_CHECKING:
    from vzcore.types import Reader, Writer

__all__ = ["Magic", "ReaderRegistry", "ReaderSpec", "WriterRegistry", "WriterSpec"]


@dataclass(frozen=True)
class Magic:
    """A signature that identifies a format when found at one of ``offsets``."""

    signature: bytes
    """The bytes to look for."""
    offsets: tuple[int, ...] = (0,)
    """Byte offsets at which the signature may start (e.g. after an HDF5 user block)."""

    @property
    def span(self) -> int:
        """How many leading bytes must be read to test every offset."""
        return max(self.offsets) + len(self.signature)

    def found_in(self, head: bytes) -> bool:
        """Return True when ``head`` holds the signature at one of the offsets."""
        n = len(self.signature)
        return any(head[o : o + n] == self.signature for o in self.offsets)


def _import_object(target: str) -> Any:
    module, _, attr = target.partition(":")
    if not attr:
        raise ValueError(f"load target {target!r} must look like 'package.module:Object'")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class _Spec:
    name: str
    """Canonical name, used as ``reader=`` / ``format=`` and in block lists."""
    load: str
    """Where the implementation lives, as ``"package.module:Class"``."""
    description: str = ""
    """One line shown by :func:`vzcore.list_plugins`."""
    url: str = ""
    """Documentation or project URL."""
    plugin: str = field(default="", compare=False)
    """Entry-point name of the plugin that registered it (set by vzcore)."""
    distribution: str = field(default="", compare=False)
    """Distribution that provides it (set by vzcore)."""
    version: str = field(default="", compare=False)
    """Version of that distribution (set by vzcore)."""

    def load_class(self) -> Any:
        """Import and return the implementation class."""
        try:
            return _import_object(self.load)
        except Exception as err:  # plugin boundary: any import failure is the plugin's
            raise PluginLoadError(
                f"{type(self).__name__[:-4].lower()} {self.name!r} from "
                f"{self.distribution or self.plugin or 'an unknown distribution'} failed to "
                f"import {self.load!r}: {type(err).__name__}: {err}. Reinstall that plugin "
                "or block it with VZCORE_DISABLE_PLUGINS."
            ) from err


@dataclass(frozen=True)
class ReaderSpec(_Spec):
    """Describes a reader: how to recognise its files and where its class lives."""

    extensions: tuple[str, ...] = ()
    """File name extensions, lower case with the dot (``".nc"``): a hint after magic bytes."""
    magic: tuple[Magic, ...] = ()
    """Signatures that identify the format from a file's first bytes."""
    priority: int = 0
    """Higher wins when several readers recognise a file."""

    def load_class(self) -> type[Reader]:
        """Import and return the reader class."""
        cls: type[Reader] = super().load_class()
        return cls


@dataclass(frozen=True)
class WriterSpec(_Spec):
    """Describes a writer: the output format it produces and where its class lives."""

    extensions: tuple[str, ...] = ()
    """Typical target extensions (informational)."""

    def load_class(self) -> type[Writer]:
        """Import and return the writer class."""
        cls: type[Writer] = super().load_class()
        return cls


class _Registry[S: (ReaderSpec, WriterSpec)]:
    """Collects descriptors from plugins; plugins only call :meth:`add`."""

    def __init__(self) -> None:
        self._specs: dict[str, S] = {}
        self._current: tuple[str, str, str] | None = None

    def _begin(self, plugin: str, distribution: str, version: str) -> None:
        self._current = (plugin, distribution, version)

    def add(self, spec: S) -> None:
        """Register ``spec`` under its name; a second spec of the same name is refused."""
        if self._current is not None:
            plugin, distribution, version = self._current
            spec = replace(spec, plugin=plugin, distribution=distribution, version=version)
        if spec.name in self._specs:
            first = self._specs[spec.name]
            raise ValueError(
                f"{spec.name!r} is already registered by {first.distribution or first.plugin!r}"
            )
        self._specs[spec.name] = spec

    def _drop_plugin(self, plugin: str) -> None:
        self._specs = {k: v for k, v in self._specs.items() if v.plugin != plugin}

    def __getitem__(self, name: str) -> S:
        return self._specs[name]

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self):  # type: ignore[no-untyped-def]  # iterator of names
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def values(self) -> list[S]:
        """Return the registered descriptors, in registration order."""
        return list(self._specs.values())


class ReaderRegistry(_Registry[ReaderSpec]):
    """Where plugins register their readers (passed to ``vz_register_readers``)."""


class WriterRegistry(_Registry[WriterSpec]):
    """Where plugins register their writers (passed to ``vz_register_writers``)."""
