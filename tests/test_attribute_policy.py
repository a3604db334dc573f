"""read_attributes' short path for exact bytes/str/int/float gives what its general rules give.

``_clean`` answers values of exactly ``bytes``, ASCII ``str``, ``int`` and ``float`` before its
``isinstance`` chain; subclasses (numpy's ``bytes_``/``str_``/``float64``, ``bool``, user
subclasses) go through the chain. The reference below is the chain alone (the function as
it was before the short path); both must give equal values of the same types and the same
list of replaced attributes.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from vzcore.manifests.attributes import (
    PACKING_ATTRS,
    _as_bytes,
    _text,
    read_attributes,
)


def _reference(
    attrs: Mapping[Any, Any], replaced: list[tuple[str, bytes]] | None = None
) -> dict[str, Any]:
    def text(raw: bytes, key: str) -> str | bytes:  # (the policy for text, unchanged)
        return _text(raw, key, replaced)

    def clean(value: Any, key: str) -> Any:
        if isinstance(value, str):
            if value.isascii():
                return str(value)
            raw = _as_bytes(value)
            return str(value) if raw is None else text(raw, key)
        if isinstance(value, bytes):
            return text(value, key)
        if isinstance(value, np.ndarray):
            return clean(value.tolist(), key)
        if isinstance(value, np.generic):
            if key in PACKING_ATTRS and value.dtype.kind in "iuf":
                return value.astype(value.dtype.newbyteorder("="))
            return clean(value.item(), key)
        if isinstance(value, Mapping):
            return {str(k): clean(v, key) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v, key) for v in value]
        return value

    return {str(k): clean(v, str(k)) for k, v in attrs.items()}


class _Str(str):
    pass


class _Bytes(bytes):
    pass


class _Int(enum.IntEnum):
    ONE = 1


def _typed(value: Any) -> Any:
    """``value`` with the type of every element, so that 1 and 1.0 and True differ."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, np.generic):
        return (type(value), value.dtype.str, value.item())
    if isinstance(value, float) and math.isnan(value):
        return (type(value), "nan")
    return (type(value), value)


VALUES: dict[Any, Any] = {
    "ascii": b"degrees_north",
    "utf8": "café".encode(),
    "latin1": b"caf\xe9",
    "_FillValue": b"\xe9",
    "missing_value": b"ok",
    "text": "plain",
    "accented": "café",
    "surrogate": "caf\udce9",
    "np_bytes": np.bytes_(b"K"),
    "np_bytes_bad": np.bytes_(b"\xff"),
    "np_str": np.str_("x"),
    "sub_str": _Str("y"),
    "sub_str_accented": _Str("é"),
    "sub_bytes": _Bytes(b"z\xff"),
    "int": 7,
    "big_int": 2**70,
    "bool": True,
    "enum": _Int.ONE,
    "float": 1.5,
    "nan": float("nan"),
    "np_float64": np.float64(2.5),
    "np_int64": np.int64(3),
    "scale_factor": np.float32(0.01),
    "add_offset": np.dtype(">f8").type(1.0),
    "array": np.array([b"a", b"\xfe"]),
    "numbers": np.arange(3, dtype=">i2"),
    "list": [b"x", "y", 1, 2.0, np.float32(3)],
    "tuple": (b"t", 1),
    "dict": {"k": b"v", 1: b"\xfd"},
    "none": None,
    1: b"a key that is not text",
}


@pytest.mark.parametrize("name", list(VALUES), ids=str)
def test_each_value_as_the_general_rules_give_it(name: Any) -> None:
    attrs = {name: VALUES[name]}
    got_replaced: list[tuple[str, bytes]] = []
    want_replaced: list[tuple[str, bytes]] = []
    got = read_attributes(attrs, got_replaced)
    want = _reference(attrs, want_replaced)
    assert list(got) == list(want)
    assert all(type(k) is str for k in got)
    assert _typed(got) == _typed(want)
    assert got_replaced == want_replaced


def test_all_values_together_and_without_a_replaced_list() -> None:
    got_replaced: list[tuple[str, bytes]] = []
    want_replaced: list[tuple[str, bytes]] = []
    assert _typed(read_attributes(VALUES, got_replaced)) == _typed(
        _reference(VALUES, want_replaced)
    )
    assert got_replaced == want_replaced
    assert len(got_replaced) >= 4  # the short path's bytes and the general path's
    assert _typed(read_attributes(VALUES)) == _typed(_reference(VALUES))
