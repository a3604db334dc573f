"""``encoding_key`` (the registry key of a loaded variable's stored values) against its rule.

The short paths (a ``str`` value as it is, a dtype's ``.str`` directly) must give the key
the rule gives: each present decoding key as ``name=repr(value)``, dtypes and types as
their dtype string, numpy scalars and arrays as ``(dtype string, values)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from vzcore._raw_values import _KEYS, encoding_key


def _reference(name: str, encoding: dict[str, Any]) -> tuple[str, str]:
    parts = []
    for k in _KEYS:
        if k in encoding:
            v = encoding[k]
            if isinstance(v, np.dtype | type):
                v = np.dtype(v).str
            elif isinstance(v, np.generic | np.ndarray):
                v = (np.asarray(v).dtype.str, np.asarray(v).tolist())
            parts.append(f"{k}={v!r}")
    return name, ";".join(parts)


class _Units(str):
    pass


ENCODINGS: list[dict[str, Any]] = [
    {},
    {"units": "hours since 2000-01-01", "calendar": "standard", "dtype": np.dtype("<f8")},
    {"dtype": np.dtype(">i2"), "scale_factor": np.float32(0.01), "add_offset": 0.0},
    {"dtype": np.float32, "_FillValue": np.int16(-32767), "missing_value": np.array([1, 2])},
    {"dtype": float, "_Unsigned": "true", "units": _Units("m"), "other": "ignored"},
    {"dtype": np.dtype("M8[ns]"), "units": "days since 1-1-1", "_FillValue": np.nan},
    {"_FillValue": b"\xff", "units": None, "calendar": 360, "dtype": "S1"},
    {"dtype": np.dtype([("a", "<i4"), ("b", ">f8")]), "missing_value": [1, 2]},
]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_key_equals_the_rule(encoding: dict[str, Any]) -> None:
    assert encoding_key("v", encoding) == _reference("v", encoding)
