"""The plugin contract: pluggy hook specifications of the ``vzcore`` project.

A plugin is a module named by an entry point in the ``vzcore`` group, e.g. in its
``pyproject.toml``::

    [project.entry-points.vzcore]
    hdf5 = "vz_hdf5.plugin"

It implements some of the hooks below with :data:`vzcore.hookimpl`. Hooks return ``None``
and call ``registry.add(...)`` with cheap descriptors; they must not import format
libraries (the import happens when a descriptor's class is first used). The hook surface
only grows: new arguments may be added, and implementations may accept fewer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from vzcore.cli import CommandRegistry
    from vzcore.registry import ReaderRegistry, WriterRegistry

__all__ = ["hookimpl", "hookspec"]

PROJECT = "vzcore"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -- registration phase: called once when plugins are first needed ----------------------


@hookspec
def vz_register_readers(registry: ReaderRegistry) -> None:
    """Register the readers this plugin provides.

    Parameters
    ----------
    registry
        Call ``registry.add(ReaderSpec(name=..., load="pkg.module:Reader", magic=...,
        extensions=...))`` once per reader.
    """


@hookspec
def vz_register_writers(registry: WriterRegistry) -> None:
    """Register the writers this plugin provides.

    Parameters
    ----------
    registry
        Call ``registry.add(WriterSpec(name=..., load="pkg.module:Writer"))`` once per writer.
    """


# -- command line: called when the ``vz`` command starts, never by ``import vzcore`` -------


@hookspec
def vz_register_commands(registry: CommandRegistry) -> None:
    """Register subcommands of the ``vz`` command line.

    Parameters
    ----------
    registry
        Call ``registry.add(CommandSpec(name=..., help=..., load="pkg.module:command"))``
        once per subcommand. ``load`` names an object (a module works) with
        ``add_arguments(parser: argparse.ArgumentParser) -> None`` and
        ``run(args: argparse.Namespace) -> int | None``; it is imported when ``vz`` builds
        its parser, so keep heavy imports inside ``run``. ``run`` returns the exit code
        (None means 0) and may raise :class:`~vzcore.errors.VZError`, which ``vz`` prints
        as one line with exit code 2.
    """
