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


def test_canonical_values_of_every_kind():
    """Exact str/int/float take a short path; every kind gives what numpy comparison needs."""
    from vzcore.manifests.encoding import _NAN, _canonical

    class Sub(str):
        pass

    nan = float("nan")
    cases = [
        ("K", "K"),
        ("", ""),
        (Sub("x"), Sub("x")),
        (1, 1),
        (-5, -5),
        (2**80, 2**80),
        (True, True),
        (1.5, 1.5),
        (-0.0, -0.0),
        (float("inf"), float("inf")),
        (nan, _NAN),
        (np.float32(0.1), float(np.float32(0.1))),
        (np.float64("nan"), _NAN),
        (np.int16(-3), -3),
        (np.bytes_(b"a"), "a"),
        (b"\xff", b"\xff"),
        (b"ok", "ok"),
        (np.array([1.0, np.nan]), (1.0, _NAN)),
        (np.array(3), 3),
        ([1], 1),
        ((2.0, nan), (2.0, _NAN)),
        ({"a": 1}, (("a", 1),)),
        (None, None),
    ]
    for value, want in cases:
        got = _canonical(value)
        assert type(got) is type(want), value
        assert got is want or got == want, value
