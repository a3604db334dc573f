"""What a plugin's modules import: for tests that keep plugin modules light (tests only).

A plugin's ``plugin.py`` must import no format library (the registry loads it for every
``import vzcore`` user), and readers and writers import no xarray. Two views:

- :func:`modules_imported_by`: run statements in a fresh interpreter after ``import
  vzcore`` and return which of the given modules they imported;
- :func:`import_statements`: the module names each ``import`` statement of a source file
  names, read from its syntax tree without running it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["import_statements", "modules_imported_by"]


def modules_imported_by(statements: str, heavy: Iterable[str]) -> list[str]:
    """Return the modules of ``heavy`` that ``statements`` import, sorted.

    ``statements`` run in a new Python process after ``import sys, vzcore``; only what they
    add to ``sys.modules`` counts (vzcore's own imports do not).
    """
    code = (
        "import sys, vzcore\n"
        "before = set(sys.modules)\n"
        f"{statements}\n"
        f"heavy = {sorted(set(heavy))!r}\n"
        "print(sorted(set(heavy) & (set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(ast.literal_eval(out.stdout.strip()))


def import_statements(source: Path) -> list[list[str]]:
    """Return, for each ``import`` / ``from ... import`` in ``source``, the modules it names.

    ``import a.b, c`` gives ``["a.b", "c"]``; ``from a.b import c`` gives ``["a.b"]``
    (a relative ``from . import x`` gives ``[""]``).
    """
    found: list[list[str]] = []
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.append([a.name for a in node.names])
        elif isinstance(node, ast.ImportFrom):
            found.append([node.module or ""])
    return found
