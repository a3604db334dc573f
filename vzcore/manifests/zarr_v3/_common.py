"""Private helpers shared by the ``vzcore.manifests.zarr_v3`` modules.

How error messages name a variable (:func:`_where`), and building (:func:`_named`) and
parsing (:func:`_config`) the ``{"name": ..., "configuration": {...}}`` objects that zarr v3
uses for codecs, data types, chunk grids and chunk key encodings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _where(name: str | None) -> str:
    return f"variable {name!r}" if name else "an array"


def _named(name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": name, "configuration": dict(config)}


def _config(obj: Any, what: str) -> tuple[str, dict[str, Any]]:
    """Return ``(name, configuration)`` of a named configuration (a name alone, or an object)."""
    if isinstance(obj, str):
        return obj, {}
    if not isinstance(obj, Mapping) or not isinstance(obj.get("name"), str):
        raise TypeError(f"{what} {obj!r} must be a name or an object with a 'name'")
    conf = obj.get("configuration", {})
    if conf is None:
        conf = {}
    if not isinstance(conf, Mapping):
        raise TypeError(f"{what} {obj['name']!r} has a configuration that is not an object")
    return obj["name"], dict(conf)
