"""Which packed variables a zarr store would decode to another dtype (vzcore.packed_dtypes)."""

from __future__ import annotations

import numpy as np
import pytest

from vzcore.errors import DecodedDtypeError
from vzcore.group import ManifestGroup, Variable
from vzcore.packed_dtypes import decoded_dtypes
from vzcore.store_plan import plan

I2 = np.dtype("i2")


@pytest.mark.parametrize(
    ("dtype", "attrs", "expected"),
    [
        (I2, {"scale_factor": np.float32(0.1)}, ("float32", "float64")),
        (I2, {"add_offset": np.float32(1.5)}, ("float64", "float64")),  # offset only: f8
        (I2, {"scale_factor": np.float32(2), "add_offset": np.float32(1)}, ("float32", "float64")),
        (I2, {"scale_factor": np.float64(0.1)}, None),  # survives JSON: no xarray needed
        (I2, {"scale_factor": 0.1, "add_offset": 2}, None),
        (
            np.dtype("u1"),
            {"scale_factor": np.float32(0.5), "_Unsigned": "false"},
            ("float32", "float64"),
        ),
        (I2, {"units": "K"}, None),
    ],
)
def test_decoded_dtypes_ask_xarray(dtype, attrs, expected) -> None:
    stored = {k: v.item() if isinstance(v, np.generic) else v for k, v in attrs.items()}
    got = decoded_dtypes(dtype, attrs, stored)
    assert got == (None if expected is None else tuple(np.dtype(e) for e in expected))


def test_every_changed_variable_is_named_in_one_error() -> None:
    raw = np.arange(4, dtype="i2")
    tree = ManifestGroup(
        variables={"a": Variable(("x",), raw, {"scale_factor": np.float32(0.5)})},
        groups={
            "g": ManifestGroup(
                variables={
                    "b": Variable(
                        ("x",), raw, {"add_offset": np.float32(1), "scale_factor": np.float32(2)}
                    ),
                    "c": Variable(("x",), raw, {"add_offset": np.float32(1)}),  # f8 both ways
                }
            )
        },
    )
    with pytest.raises(DecodedDtypeError) as info:
        plan(tree, 3)
    assert info.value.variables == ("a", "g/b")
    assert "float32 from the source, float64 from the store" in str(info.value)
    assert len(plan(tree, 3, allow_float64_decoding=True).arrays) == 3
