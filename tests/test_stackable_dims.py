"""``_stackable_dims`` (which dimensions xarray joins characters along) against its rule.

The reference is the rule written out plainly, as the function was before its early exit:
the dimensions no variable is named after, minus every dimension of a variable that is not
a byte string and every dimension but the last of one that is. Random groups (variables of
byte-string, unicode, number and object dtypes, virtual and in memory, some named after
their dimensions, any subset of names) must give the same set.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from vzcore._to_xarray import _stackable_dims
from vzcore.group import ManifestGroup, Variable
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray


def _reference(group: ManifestGroup, names: list[str]) -> frozenset[str]:
    out: set[str] = set()
    for name in names:
        for d in group.variables[name].dims:
            out.add(d)
    out -= set(group.variables)
    for name in names:
        v = group.variables[name]
        for i, d in enumerate(v.dims):
            if getattr(v.data, "dtype", np.dtype(object)).kind != "S" or i != len(v.dims) - 1:
                out.discard(d)
    return frozenset(out)


DTYPES = ["S1", "S4", "U2", "f4", "i2", "O"]


def _data(rng: random.Random, ndim: int) -> np.ndarray | ManifestArray:
    dtype = np.dtype(rng.choice(DTYPES))
    shape = (2,) * ndim
    if dtype != object and rng.random() < 0.5:
        meta = ArrayMetadata(shape=shape, dtype=dtype, chunk_shape=shape)
        return ManifestArray(meta, ChunkManifest.empty((1,) * ndim))
    return np.zeros(shape, dtype)


@pytest.mark.parametrize("seed", range(200))
def test_random_groups_follow_the_rule(seed: int) -> None:
    rng = random.Random(seed)
    pool = ["t", "x", "y", "strlen", "nchar", "v0", "v1"]
    variables = {}
    for i in range(rng.randint(0, 6)):
        ndim = rng.randint(0, 3)
        dims = tuple(rng.sample(pool, ndim))
        name = dims[0] if dims and rng.random() < 0.3 else f"v{i}"
        variables[name] = Variable(dims, _data(rng, ndim))
    group = ManifestGroup(variables=variables)
    names = [n for n in variables if rng.random() < 0.8]
    assert _stackable_dims(group, names) == _reference(group, names)


def test_char_dimension_is_stackable_and_a_number_variable_on_it_is_not() -> None:
    chars = Variable(("n", "strlen"), np.zeros((2, 3), "S1"))
    group = ManifestGroup(variables={"names": chars})
    assert _stackable_dims(group, ["names"]) == {"strlen"}
    group.variables["count"] = Variable(("strlen",), np.zeros(3, "i4"))
    assert _stackable_dims(group, ["names", "count"]) == frozenset()
    assert _stackable_dims(group, ["names"]) == {"strlen"}  # (count not among the names)
