"""Plugin discovery and the façade the rest of vzcore uses to reach readers and writers.

Plugins are found through entry points in the ``vzcore`` group, loaded lazily on first
use and cached; :func:`refresh_plugins` scans again. A plugin that fails to import or to
register is skipped with a :class:`~vzcore.errors.VZPluginLoadWarning` naming it (one
broken plugin never breaks the others); ``VZCORE_STRICT_PLUGINS=1`` turns that into a
:class:`~vzcore.errors.PluginLoadError`.

Environment switches:

``VZCORE_DISABLE_PLUGINS``
    Comma-separated entry-point names to skip, or ``*`` for all.
``VZCORE_PLUGINS``
    Comma-separated allow list: only these plugins load.
``VZCORE_TRACE_PLUGINS``
    When set, log each plugin as it loads (logger ``vzcore.plugins``).

Only this module touches ``pm.hook``.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

import pluggy

from vzcore import hookspecs
from vzcore._known_plugins import suggest_reader, suggest_writer
from vzcore.errors import (
    NoReaderFoundError,
    NoWriterFoundError,
    PluginLoadError,
    VZPluginLoadWarning,
)
from vzcore.registry import ReaderRegistry, ReaderSpec, WriterRegistry, WriterSpec

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = [
    "PluginInfo",
    "find_reader",
    "get_reader",
    "get_writer",
    "list_plugins",
    "readers",
    "refresh_plugins",
    "register_plugin",
    "writers",
]

logger = logging.getLogger("vzcore.plugins")
ENTRY_POINT_GROUP = "vzcore"
_HEAD_CAP = 65536


@dataclass(frozen=True)
class PluginInfo:
    """What :func:`list_plugins` reports for one installed plugin."""

    name: str
    """Entry-point name."""
    distribution: str
    """Distribution that ships it."""
    version: str
    """That distribution's version."""
    readers: tuple[str, ...]
    """Names of the readers it registers."""
    writers: tuple[str, ...]
    """Names of the writers it registers."""


def _env_list(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return {p.strip() for p in raw.split(",") if p.strip()}


def _dist_of(ep: EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:  # pragma: no cover - entry points built by hand
        return "", ""
    return dist.metadata["Name"] or dist.name, dist.version


class _Manager:
    """Owns the pluggy manager, the registries and the loading policy."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._loaded = False
        self._extra: list[tuple[str, object]] = []
        self._reset()

    def _reset(self) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._readers = ReaderRegistry()
        self._writers = WriterRegistry()
        self._info: dict[str, tuple[str, str]] = {}

    # -- loading -------------------------------------------------------------------------

    def _ensure(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                # another thread loaded while this one waited (mypy cannot see threads)
                return  # type: ignore[unreachable]
            self._reset()
            for ep in self._entry_points():
                self._load_entry_point(ep)
            for name, obj in self._extra:
                self._register(obj, name, "", "")
            self._call_registration_hooks()
            self._pm.check_pending()
            self._loaded = True

    @staticmethod
    def _entry_points() -> Iterable[EntryPoint]:
        blocked = _env_list("VZCORE_DISABLE_PLUGINS") or set()
        allowed = _env_list("VZCORE_PLUGINS")
        seen: set[str] = set()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if "*" in blocked or ep.name in blocked:
                logger.debug("plugin %r blocked by VZCORE_DISABLE_PLUGINS", ep.name)
                continue
            if allowed is not None and ep.name not in allowed:
                continue
            if ep.name in seen:
                _warn(ep.name, _dist_of(ep), "another installed plugin already uses this name")
                continue
            seen.add(ep.name)
            yield ep

    def _load_entry_point(self, ep: EntryPoint) -> None:
        dist = _dist_of(ep)
        if os.environ.get("VZCORE_TRACE_PLUGINS"):
            logger.info("loading plugin %r from %s %s", ep.name, *dist)
        try:
            module = ep.load()
        except Exception as err:  # noqa: BLE001  # plugin boundary: one broken plugin must not break the others
            _warn(ep.name, dist, f"import failed: {type(err).__name__}: {err}", err)
            return
        self._register(module, ep.name, *dist)

    def _register(self, obj: object, name: str, distribution: str, version: str) -> None:
        try:
            self._pm.register(obj, name=name)
        except Exception as err:  # noqa: BLE001  # plugin boundary: invalid hook implementations
            _warn(name, (distribution, version), f"registration failed: {err}", err)
            return
        self._info[name] = (distribution, version)

    def _call_registration_hooks(self) -> None:
        calls: list[tuple[str, Any]] = [
            ("vz_register_readers", self._readers),
            ("vz_register_writers", self._writers),
        ]
        for hook_name, registry in calls:
            self.call_registration_hook(hook_name, registry)

    def call_registration_hook(self, hook_name: str, registry: Any) -> None:
        """Call ``hook_name(registry)`` on every plugin, each on its own (failures warn)."""
        caller = getattr(self._pm.hook, hook_name)
        # Each implementation is called on its own so one failure stays contained.
        for impl in reversed(caller.get_hookimpls()):
            dist, version = self._info.get(impl.plugin_name, ("", ""))
            registry._begin(impl.plugin_name, dist, version)
            try:
                impl.function(**dict.fromkeys(impl.argnames, registry))
            except Exception as err:  # noqa: BLE001  # plugin boundary: the plugin's code failed
                registry._drop_plugin(impl.plugin_name)
                _warn(impl.plugin_name, (dist, version), f"{hook_name} failed: {err}", err)
        registry._begin("", "", "")

    # -- queries -------------------------------------------------------------------------

    def refresh(self) -> None:
        with self._lock:
            self._loaded = False

    def register(self, obj: object, name: str) -> None:
        with self._lock:
            self._extra = [(n, o) for n, o in self._extra if n != name] + [(name, obj)]
            self._loaded = False

    def unregister(self, name: str) -> None:
        with self._lock:
            self._extra = [(n, o) for n, o in self._extra if n != name]
            self._loaded = False

    @property
    def readers(self) -> ReaderRegistry:
        self._ensure()
        return self._readers

    @property
    def writers(self) -> WriterRegistry:
        self._ensure()
        return self._writers

    def plugins(self) -> list[PluginInfo]:
        self._ensure()
        out = []
        for name, (dist, version) in self._info.items():
            out.append(
                PluginInfo(
                    name=name,
                    distribution=dist,
                    version=version,
                    readers=tuple(s.name for s in self._readers.values() if s.plugin == name),
                    writers=tuple(s.name for s in self._writers.values() if s.plugin == name),
                )
            )
        return out


def _warn(name: str, dist: tuple[str, str], cause: str, err: BaseException | None = None) -> None:
    distribution, version = dist
    where = f" ({distribution} {version})" if distribution else ""
    msg = (
        f"vzcore plugin {name!r}{where} was skipped: {cause}. Reinstall or upgrade it, or "
        f"set VZCORE_DISABLE_PLUGINS={name} to silence this."
    )
    if os.environ.get("VZCORE_STRICT_PLUGINS", "") not in ("", "0"):
        raise PluginLoadError(msg) from err
    warnings.warn(msg, VZPluginLoadWarning, stacklevel=4)


_manager = _Manager()


def refresh_plugins() -> None:
    """Forget the discovered plugins; the next lookup scans the entry points again."""
    _manager.refresh()


def register_plugin(plugin: object, name: str) -> None:
    """Register an in-process plugin object (a module or instance with hook implementations).

    Useful in tests and notebooks; installed plugins are found through entry points.
    """
    _manager.register(plugin, name)


def unregister_plugin(name: str) -> None:
    """Remove a plugin added with :func:`register_plugin`."""
    _manager.unregister(name)


def register_commands(registry: Any) -> None:
    """Fill ``registry`` (a :class:`vzcore.cli.CommandRegistry`) from ``vz_register_commands``.

    Called by the ``vz`` command line only, so that plugins' subcommands cost nothing to
    ``import vzcore``.
    """
    _manager._ensure()
    with _manager._lock:
        _manager.call_registration_hook("vz_register_commands", registry)


def list_plugins() -> list[PluginInfo]:
    """Return the installed plugins with their versions, readers and writers."""
    return _manager.plugins()


def readers() -> list[ReaderSpec]:
    """Return the descriptors of every installed reader."""
    return _manager.readers.values()


def writers() -> list[WriterSpec]:
    """Return the descriptors of every installed writer."""
    return _manager.writers.values()


def get_reader(name: str) -> ReaderSpec:
    """Return the reader registered as ``name``, or raise NoReaderFoundError with a hint."""
    registry = _manager.readers
    if name in registry:
        return registry[name]
    from vzcore._known_plugins import KNOWN_READERS

    hint = KNOWN_READERS[name][0] if name in KNOWN_READERS else None
    raise NoReaderFoundError(f"<reader={name!r}>", list(registry), hint)


def get_writer(name: str) -> WriterSpec:
    """Return the writer registered as ``name``, or raise NoWriterFoundError with a hint."""
    registry = _manager.writers
    if name in registry:
        return registry[name]
    raise NoWriterFoundError(name, list(registry), suggest_writer(name))


def head_size() -> int:
    """Return how many leading bytes are needed to test every registered signature."""
    size: int = _manager.readers.derived("head_size", _head_size)  # (once per registry state)
    return size


def _head_size(specs: list[ReaderSpec]) -> int:
    from vzcore._known_plugins import KNOWN_READERS

    spans = [m.span for s in specs for m in s.magic]
    # ... and the signatures of known readers that are not installed, so that the
    # "install vz-..." hint sees them whichever readers are installed
    spans += [m.span for _, _, magics in KNOWN_READERS.values() for m in magics]
    return min(max(spans, default=16), _HEAD_CAP)


def find_reader(
    url: str,
    head: bytes,
    *,
    directory: bool = False,
    size: int | None = None,
    read_at: Callable[[int, int], bytes] | None = None,
) -> ReaderSpec:
    """Pick the reader for a file from its first bytes, then its name.

    Readers whose magic signature matches come first (highest ``priority`` wins); when
    several match, each class's ``sniff(head, url)`` (:class:`vzcore.types.Reader`) refines
    the choice. When no signature
    matches, readers without signatures are tried by extension. When none of them takes
    the file either, signatures that may start past the head (an HDF5 superblock after a
    large user block, :attr:`Magic.doubling <vzcore.registry.Magic.doubling>`) are looked
    for with ``read_at``: one small read per candidate offset, about log2(size) at most.

    Parameters
    ----------
    url
        The file (for extensions and messages).
    head
        Its first :func:`head_size` bytes (fewer for a short file, none for a directory).
    directory
        True when ``url`` names a directory (``head`` is then empty).
    size, read_at
        The file's size and a function ``read_at(offset, length) -> bytes`` reading it;
        without both, only ``head`` is looked at.

    Raises
    ------
    NoReaderFoundError
        Saying what is true: the reader to install, a directory, an empty file, or a
        format no installed reader recognises (with the file's first bytes).
    """
    registry = _manager.readers
    specs = registry.values()
    lowered = url.lower().rstrip("/")
    by_magic = _found_by_magic(head, registry)
    found = _pick(by_magic, lowered, head, url)
    if found is None:  # (extensions only when no signature decides)
        by_ext = [
            s for s in specs if not s.magic and any(lowered.endswith(e) for e in s.extensions)
        ]
        found = _pick(by_ext, lowered, head, url)
    if found is not None:
        return found
    installed = [s.name for s in specs]
    hint = suggest_reader(url, head, installed)
    if size is not None and read_at is not None and len(head) < size:
        from vzcore._known_plugins import KNOWN_READERS

        for spec in specs:
            if any(m.found_past(head, size, read_at) for m in spec.magic):
                return spec
        hint = hint or next(
            (
                known.distribution
                for name, known in KNOWN_READERS.items()
                if name not in installed
                and any(m.found_past(head, size, read_at) for m in known.magic)
            ),
            None,
        )
    raise NoReaderFoundError(
        url, installed, hint, None if hint else _why_unread(url, head, directory)
    )


_Candidates = tuple[tuple[int, bytes], ...]
"""Where a reader's signatures may start in a head: ``(offset, signature)`` pairs."""


def _magic_candidates(
    specs: list[ReaderSpec],
) -> tuple[int, list[tuple[ReaderSpec, _Candidates]] | None]:
    """Return the head size and every reader's ``(offset, signature)`` candidates in such a head.

    The candidates of each signature (:meth:`Magic.candidates
    <vzcore.registry.Magic.candidates>`) in a head of :func:`head_size` bytes. Those past
    the end of a shorter head cannot match there (``bytes.startswith`` at such an offset is
    False), so testing them all finds the signatures of a head of any length up to that
    size. None instead of the table when a signature has no offset or a negative one:
    :meth:`Magic.found_in <vzcore.registry.Magic.found_in>` then judges every head.
    """
    size = _head_size(specs)
    if any(not m.offsets or min(m.offsets) < 0 for s in specs for m in s.magic):
        return size, None
    table = [
        (s, tuple(sorted({(o, m.signature) for m in s.magic for o in m.candidates(size)})))
        for s in specs
    ]
    return size, table


def _found_by_magic(head: bytes, registry: ReaderRegistry) -> list[ReaderSpec]:
    """Return the readers (in registration order) with a signature found in ``head``.

    ``[s for s in specs if any(m.found_in(head) for m in s.magic)]``, with each reader's
    candidate offsets worked out once per registry state (:func:`_magic_candidates`): on
    every file opened, one ``startswith`` per candidate instead of a walk per signature.
    """
    size, table = registry.derived("magic_candidates", _magic_candidates)
    if table is None or len(head) > size:  # (unusual signatures, a longer head)
        return [s for s in registry.values() if any(m.found_in(head) for m in s.magic)]
    found: list[ReaderSpec] = []
    for spec, candidates in table:
        for offset, signature in candidates:
            if head.startswith(signature, offset):
                found.append(spec)
                break
    return found


def _pick(group: list[ReaderSpec], lowered: str, head: bytes, url: str) -> ReaderSpec | None:
    """Return the one reader of ``group``, or the first by priority whose ``sniff`` takes it."""
    if len(group) == 1:
        return group[0]
    group.sort(key=lambda s: (-s.priority, not any(lowered.endswith(e) for e in s.extensions)))
    for spec in group:
        if spec.load_class().sniff(head, url):
            return spec
    return None


def _why_unread(url: str, head: bytes, directory: bool) -> str:
    """Say what is true of a file that no installed reader takes, and what to do."""
    from vzcore._file_access import EMPTY_FILE
    from vzcore._urls import local_path

    local = local_path(url)
    if directory or (not head and local is not None and os.path.isdir(local)):
        return (
            "it is a directory, not a file; pass the path of a file (readers of directories, "
            "such as 'kerchunk' for Parquet references, are picked by the directory's "
            "extension, or with reader=<name>)"
        )
    if not head:
        return EMPTY_FILE
    names = ", ".join(s.name for s in _manager.readers.values()) or "none"
    return (
        f"not a recognised format (it starts with {head[:16]!r}); no installed reader "
        f"({names}) knows these bytes: check what the file really is, pass reader=<name> "
        "to force one, or install a plugin for this format"
    )
