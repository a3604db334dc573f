"""Docs kept honest: every hook is documented with its signature."""

import inspect
import re
from pathlib import Path

from vzcore import hookspecs

DOCS = Path(__file__).parents[1] / "docs" / "plugins" / "hooks.md"


def _hooks():
    return [
        name
        for name, obj in vars(hookspecs).items()
        if name.startswith("vz_") and inspect.isfunction(obj)
    ]


def test_every_hook_has_a_heading_and_signature():
    text = DOCS.read_text()
    headings = set(re.findall(r"^## (\w+)$", text, flags=re.MULTILINE))
    assert set(_hooks()) == headings
    for name in _hooks():
        params = ", ".join(
            f"{p.name}: {p.annotation}"
            for p in inspect.signature(getattr(hookspecs, name)).parameters.values()
        )
        assert f"def {name}({params}) -> None" in text, name
