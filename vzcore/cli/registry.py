"""Subcommands of ``vz``: the descriptors plugins register through ``vz_register_commands``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from vzcore.registry import load_plugin_object

__all__ = ["CommandRegistry", "CommandSpec"]


@dataclass(frozen=True)
class CommandSpec:
    """Describes one ``vz`` subcommand and where its implementation lives."""

    name: str
    """The subcommand (``vz NAME ...``)."""
    load: str
    """``"package.module"`` or ``"package.module:object"``: something with
    ``add_arguments(parser)`` and ``run(args) -> int | None``."""
    help: str = ""
    """One line shown by ``vz --help``."""
    plugin: str = field(default="", compare=False)
    """Entry-point name of the plugin that registered it (set by vzcore)."""
    distribution: str = field(default="", compare=False)
    """Distribution that provides it (set by vzcore)."""
    version: str = field(default="", compare=False)
    """Version of that distribution (set by vzcore)."""

    def load_command(self) -> Any:
        """Import and return the object with ``add_arguments`` and ``run``."""
        source = self.distribution or self.plugin or "vzcore"
        return load_plugin_object(
            self.load, f"command {self.name!r} from {source}", module_allowed=True
        )


class CommandRegistry:
    """Where plugins register subcommands (passed to ``vz_register_commands``)."""

    def __init__(self) -> None:
        self._specs: dict[str, CommandSpec] = {}
        self._current: dict[str, str] = {}

    def _begin(self, plugin: str, distribution: str, version: str) -> None:
        self._current = {"plugin": plugin, "distribution": distribution, "version": version}

    def add(self, spec: CommandSpec) -> None:
        """Register ``spec``; a second command of the same name is refused."""
        spec = replace(spec, **self._current) if self._current else spec
        if spec.name in self._specs:
            first = self._specs[spec.name]
            raise ValueError(
                f"command {spec.name!r} is already registered by "
                f"{first.distribution or first.plugin or 'vzcore'!r}"
            )
        self._specs[spec.name] = spec

    def _drop_plugin(self, plugin: str) -> None:
        self._specs = {k: v for k, v in self._specs.items() if v.plugin != plugin}

    def values(self) -> list[CommandSpec]:
        """Return the registered commands, in registration order."""
        return list(self._specs.values())
