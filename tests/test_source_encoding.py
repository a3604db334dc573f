"""SourceEncoding: the CF attributes that travel with a ManifestArray, compared by value."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from vzcore.errors import CombineError
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray
from vzcore.manifests.encoding import SourceEncoding


def enc(**attrs):
    return SourceEncoding.from_attrs({"long_name": "ignored", **attrs}, source="f.nc", variable="v")


def arr(encoding, path="file:///a.nc"):
    meta = ArrayMetadata(shape=(4,), dtype=np.dtype("<i2"), chunk_shape=(2,))
    manifest = ChunkManifest.from_arrays(np.array([path, path], dtype=object), [0, 8], [8, 8])
    return ManifestArray(meta, manifest).with_encoding(encoding)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"scale_factor": np.float64(0.5)}, {"scale_factor": 0.5}),
        ({"_FillValue": np.int16(-1)}, {"_FillValue": -1.0}),
        ({"_FillValue": np.float32("nan")}, {"_FillValue": float("nan")}),
        ({"missing_value": np.array([1, 2], "i2")}, {"missing_value": [1, 2]}),
        ({"units": b"K"}, {"units": "K"}),
        ({"scale_factor": np.float32(0.1)}, {"scale_factor": float(np.float32(0.1))}),
        ({"long_name": "a"}, {}),  # not an encoding attribute
    ],
)
def test_equal_by_value(a, b):
    assert enc(**a).differences(enc(**b)) == []
    assert enc(**a) == enc(**b)
    assert hash(enc(**a)) == hash(enc(**b)) or a != b  # NaN objects may hash differently


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ({"scale_factor": 0.1}, {"scale_factor": 0.01}, [("scale_factor", "0.1", "0.01")]),
        (
            {"scale_factor": np.float32(0.1)},
            {"scale_factor": 0.1},
            [("scale_factor", "np.float32(0.1)", "0.1")],
        ),  # float32 0.1 is not float64 0.1
        ({"add_offset": 1.0}, {}, [("add_offset", "1.0", "absent")]),
        (
            {"units": "days since 2000-01-01"},
            {"units": "hours since 2000-01-01"},
            [("units", "'days since 2000-01-01'", "'hours since 2000-01-01'")],
        ),
        (
            {"calendar": "standard", "_FillValue": 0},
            {"calendar": "noleap", "_FillValue": 1},
            [("_FillValue", "0", "1"), ("calendar", "'standard'", "'noleap'")],
        ),
    ],
)
def test_differences_name_the_attribute_and_both_values(a, b, expected):
    assert enc(**a).differences(enc(**b)) == expected


def test_concatenation_keeps_checks_and_carries_the_first_encoding():
    a, b = arr(enc(scale_factor=0.1)), arr(enc(scale_factor=0.1), "file:///b.nc")
    joined = np.concatenate([a, b])
    assert joined.encoding == a.encoding
    assert joined[2:].encoding == a.encoding
    assert np.stack([a, b]).encoding == a.encoding
    assert pickle.loads(pickle.dumps(joined)).encoding == a.encoding
    odd = arr(
        SourceEncoding.from_attrs({"scale_factor": 0.01}, source="file:///c.nc", variable="v"),
        "file:///c.nc",
    )
    with pytest.raises(
        CombineError,
        match=r"'v' of 'f\.nc' \(\+1 more files\) with 'v' of "
        r"'file:///c\.nc': attribute 'scale_factor' differs \(0\.1 vs 0\.01\)",
    ):
        np.concatenate([joined, odd])
    with pytest.raises(CombineError, match="scale_factor"):
        np.stack([a, odd])


def test_unknown_encodings_are_not_compared():
    plain = arr(None)
    assert np.concatenate([plain, arr(enc(scale_factor=0.1))]).encoding == enc(scale_factor=0.1)
    assert np.concatenate([plain, plain]).encoding is None


def _canonical_by_chain(value):
    """_canonical as its isinstance chain alone defines it (the reference)."""
    import math
    from collections.abc import Mapping

    from vzcore.manifests.encoding import _NAN

    if isinstance(value, np.ndarray):
        if value.size == 1:
            return _canonical_by_chain(value.reshape(()).item())
        return tuple(_canonical_by_chain(v) for v in value.ravel().tolist())
    if isinstance(value, np.generic):
        return _canonical_by_chain(value.item())
    if isinstance(value, list | tuple):
        if len(value) == 1:
            return _canonical_by_chain(value[0])
        return tuple(_canonical_by_chain(v) for v in value)
    if isinstance(value, float) and math.isnan(value):
        return _NAN
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _canonical_by_chain(v)) for k, v in value.items()))
    return value


def test_canonical_short_path_equals_the_chain():
    from vzcore.manifests.encoding import _canonical

    class Sub(str):
        pass

    values = ["K", "", Sub("x"), 1, -5, 2**80, True, 1.5, float("nan"), -0.0, float("inf")]
    values += [np.float32(0.1), np.float64("nan"), np.int16(-3), np.bytes_(b"a"), b"\xff", b"ok"]
    values += [np.array([1.0, np.nan]), np.array(3), [1], (2.0, float("nan")), {"a": 1}, None]
    for value in values:
        got, want = _canonical(value), _canonical_by_chain(value)
        assert type(got) is type(want), value
        assert got is want or got == want, value
