"""Attributes as JSON: what every metadata document (zarr v2, zarr v3, Icechunk) stores."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from vzcore.errors import WriteError

__all__ = ["json_attributes"]


def json_attributes(attrs: Mapping[str, Any], where: str = "attributes") -> dict[str, Any]:
    """Return ``attrs`` with numpy scalars/arrays turned into JSON types.

    Raises
    ------
    vzcore.errors.WriteError
        For values JSON cannot hold (non-UTF-8 bytes, arbitrary objects).
    """

    def safe(value: Any, key: str) -> Any:
        if isinstance(value, np.ndarray):
            return safe(value.tolist(), key)
        if isinstance(value, np.generic):
            return safe(value.item(), key)
        if isinstance(value, bytes):
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError as err:
                raise WriteError(
                    f"Cannot write attribute {key!r} of {where}: bytes {value[:20]!r} are not "
                    "UTF-8 text, and JSON attributes hold text only; decode or drop it first."
                ) from err
        if isinstance(value, Mapping):
            return {str(k): safe(v, key) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [safe(v, key) for v in value]
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise WriteError(
            f"Cannot write attribute {key!r} of {where}: a {type(value).__name__} is not "
            "JSON-serialisable; convert it to a number, string or list first."
        )

    return {str(k): safe(v, str(k)) for k, v in attrs.items()}
