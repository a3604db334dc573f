"""Descriptors of readers and writers, and the registries that plugins fill.

Plugins describe what they offer with cheap, frozen descriptors (:class:`ReaderSpec`,
:class:`WriterSpec`) that name the class to import as ``"module:Class"``. Nothing is
imported until a file of that format is opened or that output is written, so listing
plugins and sniffing files never pays for a format library.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from vzcore.errors import PluginLoadError, UnknownOptionError
from vzcore.hookspecs import hookimpl

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from vzcore.types import Reader, Writer

__all__ = [
    "Magic",
    "ReaderRegistry",
    "ReaderSpec",
    "WriterRegistry",
    "WriterSpec",
    "load_plugin_object",
    "package_getattr",
    "register_readers",
    "register_writers",
]


@dataclass(frozen=True)
class Magic:
    """A signature that identifies a format when found at one of ``offsets``."""

    signature: bytes
    """The bytes to look for."""
    offsets: tuple[int, ...] = (0,)
    """Byte offsets at which the signature may start (e.g. after an HDF5 user block)."""
    doubling: bool = False
    """When true, the signature may also start at every doubling of the last offset (2x,
    4x, ...) up to the end of the file: an HDF5 superblock, after a user block of any power
    of two from 512 bytes, is ``Magic(signature, (0, 512), doubling=True)``."""

    @property
    def span(self) -> int:
        """How many leading bytes must be read to test ``offsets`` (the head sniffed)."""
        return max(self.offsets) + len(self.signature)

    def candidates(self, size: int) -> Iterator[int]:
        """Yield, in increasing order, every offset the signature may start at in ``size`` bytes."""
        n = len(self.signature)
        yield from (o for o in sorted(self.offsets) if o + n <= size)
        o = 2 * max(self.offsets)
        while self.doubling and o > 0 and o + n <= size:
            yield o
            o *= 2

    def found_in(self, head: bytes) -> bool:
        """Return True when ``head`` holds the signature at one of its candidate offsets."""
        signature = self.signature
        n = len(signature)
        if self.doubling or not self.offsets or min(self.offsets) < 0:  # (the general walk)
            return any(head[o : o + n] == signature for o in self.candidates(len(head)))
        # the candidates of fixed offsets are those whose signature fits in the head
        size = len(head)
        return any(o + n <= size and head.startswith(signature, o) for o in self.offsets)

    def found_past(self, head: bytes, size: int, read_at: Callable[[int, int], bytes]) -> bool:
        """Return True when the signature starts at a candidate offset past ``head``.

        ``size`` is the file's size, ``read_at(offset, length)`` reads it: one read of the
        signature's length per candidate offset that ``head`` does not hold, in increasing
        order, until one matches (at most about log2(size) reads with ``doubling``).
        """
        n = len(self.signature)
        return any(
            read_at(o, n) == self.signature for o in self.candidates(size) if o + n > len(head)
        )


def _import_object(target: str, *, module_allowed: bool = False) -> Any:
    module, _, attr = target.partition(":")
    if not attr and not module_allowed:
        raise ValueError(f"load target {target!r} must look like 'package.module:Object'")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def load_plugin_object(target: str, what: str, *, module_allowed: bool = False) -> Any:
    """Import a plugin's ``"package.module:Object"`` (or, if allowed, ``"package.module"``).

    Parameters
    ----------
    target
        The descriptor's ``load`` string.
    what
        The thing being loaded, for the message (``"reader 'hdf5' from vz-hdf5"``).
    module_allowed
        Accept a bare module as the target.

    Raises
    ------
    PluginLoadError
        Whatever the import raised (the plugin boundary: any failure is the plugin's).
    """
    try:
        return _import_object(target, module_allowed=module_allowed)
    except Exception as err:  # plugin boundary: any import failure is the plugin's
        raise PluginLoadError(
            f"{what} failed to import {target!r}: {type(err).__name__}: {err}. Reinstall that "
            "plugin or block it with VZCORE_DISABLE_PLUGINS."
        ) from err


@functools.cache
def option_names(cls: type, method: str) -> tuple[str, ...] | None:
    """Return the keyword-only parameters of ``cls.<method>`` in order (cached per class).

    None when the method also takes ``**kwargs``: it then checks its own options.
    """
    params = inspect.signature(getattr(cls, method)).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return tuple(p.name for p in params if p.kind is p.KEYWORD_ONLY)


@dataclass(frozen=True)
class _Spec:
    _entry: ClassVar[str]  # the method that takes the options: "read" or "write"
    _core_keywords: ClassVar[frozenset[str]] = frozenset()  # passed by vzcore, not by users

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

    @property
    def _source(self) -> str:
        return self.distribution or self.plugin or "an unknown distribution"

    def load_class(self) -> Any:
        """Import and return the implementation class."""
        kind = type(self).__name__[:-4].lower()
        return load_plugin_object(self.load, f"{kind} {self.name!r} from {self._source}")

    def check_options(self, cls: type, options: Mapping[str, Any]) -> None:
        """Refuse the ``options`` that ``cls``'s entry method does not take, before calling it.

        Raises
        ------
        vzcore.errors.UnknownOptionError
            Naming this reader or writer (and its distribution), the unknown options, the
            closest valid name and every valid one.
        """
        names = option_names(cls, self._entry)
        if names is None:
            return
        valid = [n for n in names if n not in self._core_keywords]
        unknown = set(options) - set(valid)
        if unknown:
            kind = type(self).__name__[:-4].lower()
            owner = f"{kind} {self.name!r}" + (
                f" ({self.distribution})" if self.distribution else ""
            )
            raise UnknownOptionError(owner, unknown, valid)


@dataclass(frozen=True)
class ReaderSpec(_Spec):
    """Describes a reader: how to recognise its files and where its class lives."""

    _entry: ClassVar[str] = "read"
    _core_keywords: ClassVar[frozenset[str]] = frozenset({"group", "storage_options", "subgroups"})

    extensions: tuple[str, ...] = ()
    """File name extensions, lower case with the dot (``".nc"``): a hint after magic bytes."""
    magic: tuple[Magic, ...] = ()
    """Signatures that identify the format from a file's first bytes."""
    priority: int = 0
    """Higher wins when several readers recognise a file."""

    def load_class(self) -> type[Reader]:
        """Import and return the reader class (it must implement :class:`vzcore.types.Reader`).

        Raises
        ------
        vzcore.errors.PluginLoadError
            The import fails, or the class lacks a member of the protocol (subclassing
            :class:`~vzcore.types.Reader` gives ``sniff`` and ``scans_sources`` defaults).
        """
        cls: type[Reader] = super().load_class()
        missing = [m for m in ("name", "read", "sniff", "scans_sources") if not hasattr(cls, m)]
        if missing:
            raise PluginLoadError(
                f"reader {self.name!r} from {self._source}: {self.load!r} lacks "
                f"{', '.join(missing)} of the reader protocol; its class should subclass "
                "vzcore.types.Reader, which defines sniff and scans_sources with their defaults."
            )
        return cls


@dataclass(frozen=True)
class WriterSpec(_Spec):
    """Describes a writer: the output format it produces and where its class lives."""

    _entry: ClassVar[str] = "write"

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
        self._derived: dict[str, Any] = {}  # (see derived(); cleared on every change)

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
        self._derived.clear()

    def _drop_plugin(self, plugin: str) -> None:
        self._specs = {k: v for k, v in self._specs.items() if v.plugin != plugin}
        self._derived.clear()

    def derived(self, key: str, compute: Callable[[list[S]], Any]) -> Any:
        """Return ``compute(self.values())``, kept until the registered specs change.

        For what the core derives from every spec on each file (the head size to sniff).
        Specs are frozen; the registry changes only through :meth:`add` and
        ``_drop_plugin``, which forget what was kept.
        """
        if key not in self._derived:
            self._derived[key] = compute(self.values())
        return self._derived[key]

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


# -- for plugin modules whose hooks only add descriptors ---------------------------------


def register_readers(*specs: ReaderSpec) -> Callable[[ReaderRegistry], None]:
    """Return a ``vz_register_readers`` hook implementation that adds ``specs``.

    Assign it to that name in the plugin module (the entry point), in place of writing the
    hook function::

        vz_register_readers = register_readers(ReaderSpec(name="toy", load="vz_toy._r:Toy"))
    """

    @hookimpl
    def vz_register_readers(registry: ReaderRegistry) -> None:
        for spec in specs:
            registry.add(spec)

    return vz_register_readers


def register_writers(*specs: WriterSpec) -> Callable[[WriterRegistry], None]:
    """Return a ``vz_register_writers`` hook implementation that adds ``specs``.

    The writers' counterpart of :func:`register_readers`.
    """

    @hookimpl
    def vz_register_writers(registry: WriterRegistry) -> None:
        for spec in specs:
            registry.add(spec)

    return vz_register_writers


def package_getattr(
    package: str, distribution: str, lazy: Mapping[str, str] | None = None
) -> Callable[[str], Any]:
    """Return the module ``__getattr__`` of a plugin package (PEP 562).

    It gives ``__version__`` from the installed metadata of ``distribution``, and imports
    each name of ``lazy`` (``{"Writer": "package.module:Writer"}``) when it is first used,
    so that importing the package never imports a format library.

    Examples
    --------
    >>> __getattr__ = package_getattr(__name__, "vz-toy")  # doctest: +SKIP
    """
    objects = dict(lazy or {})

    def module_getattr(name: str) -> Any:
        if name == "__version__":
            from importlib.metadata import version

            return version(distribution)
        if name in objects:
            return _import_object(objects[name])
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return module_getattr
