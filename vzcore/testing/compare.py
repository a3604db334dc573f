"""Assertions that two readings of the same data agree (tests only).

- :func:`assert_same_virtual_array`: two :class:`~vzcore.manifests.ManifestArray` have the
  same metadata (shape, dtype, chunk shape, codecs, and nothing else differs) and the same
  chunk manifest: a reader of references gives back what was written;
- :func:`assert_same_attrs`: the same attribute names, each value of the same Python type
  and equal (arrays element by element);
- :func:`assert_same_indexes`: two datasets' indexes, in the same order, of the same types,
  naming the same source file and equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from vzcore.manifests import ManifestArray

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["assert_same_attrs", "assert_same_indexes", "assert_same_virtual_array"]


def assert_same_virtual_array(got: ManifestArray, want: ManifestArray, where: str) -> None:
    """Assert equal metadata (``differences`` empty) and manifests; ``where`` names the array."""
    meta, wmeta = got.metadata, want.metadata
    assert (meta.shape, meta.dtype, meta.chunk_shape, meta.codecs) == (
        wmeta.shape,
        wmeta.dtype,
        wmeta.chunk_shape,
        wmeta.codecs,
    ), where
    assert meta.differences(wmeta) == [], where
    assert got.manifest == want.manifest, where


def assert_same_attrs(got: Mapping[str, Any], want: Mapping[str, Any], where: str) -> None:
    """Assert the same names, each value of the same type and equal to ``want``'s."""
    assert set(got) == set(want), where
    for key, value in want.items():
        assert type(got[key]) is type(value), (where, key)
        np.testing.assert_array_equal(got[key], value)


def assert_same_indexes(got: xr.Dataset, want: xr.Dataset) -> None:
    """Assert the same indexes in the same order: same types, same ``source``, equal."""
    assert list(got.xindexes) == list(want.xindexes)
    for name, index in got.xindexes.items():
        other = want.xindexes[name]
        assert type(index) is type(other), name
        assert getattr(index, "source", None) == getattr(other, "source", None), name
        assert index.equals(other), name
