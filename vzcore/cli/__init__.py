"""The ``vz`` command line: scan, inspect, verify, convert, append to and re-point references.

Installed as the console script ``vz`` and as ``python -m vzcore``. Each built-in command
lives in its own module of this package (``scan``, ``info``, ``verify``, ``convert``,
``append``, ``rename``, ``plugin_list``) with ``add_arguments(parser)`` and ``run(args)``;
plugins add commands of the same shape through the ``vz_register_commands`` hook.
``import vzcore`` never imports this package.
"""

from __future__ import annotations

from vzcore.cli.main import main
from vzcore.cli.registry import CommandRegistry, CommandSpec

__all__ = ["CommandRegistry", "CommandSpec", "main"]
