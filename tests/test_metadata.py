"""ArrayMetadata: comparing the metadata of arrays that are to be combined."""

from __future__ import annotations

import numpy as np
import pytest

from vzcore.manifests import ArrayMetadata


def meta(dtype: str, fill: object) -> ArrayMetadata:
    return ArrayMetadata(shape=(4,), dtype=np.dtype(dtype), chunk_shape=(2,), fill_value=fill)


@pytest.mark.parametrize(
    ("dtype", "a", "b", "same"),
    [
        ("f4", np.float32("nan"), float("nan"), True),
        ("M8[ns]", np.datetime64("NaT", "ns"), np.datetime64("NaT", "ns"), True),
        ("M8[ns]", np.datetime64("NaT", "ns"), np.datetime64(0, "ns"), False),
        ("m8[s]", np.timedelta64("NaT", "s"), np.timedelta64("NaT", "s"), True),
        ("i4", 0, None, False),
        ("i4", -5, -5, True),
        ("S2", b"ab", b"ab", True),
    ],
)
def test_fill_values_compare_like_missing_values(dtype, a, b, same) -> None:
    assert (meta(dtype, a).differences(meta(dtype, b)) == []) is same
