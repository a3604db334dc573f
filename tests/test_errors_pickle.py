"""vzcore's errors cross process boundaries (``parallel="processes"``) intact."""

from __future__ import annotations

import pickle

import pytest

from vzcore.errors import (
    CFDecodeError,
    CorruptFileError,
    GroupNotFoundError,
    NoReaderFoundError,
    ShortReadError,
    UnsafeCodecError,
    UnsupportedFeatureError,
    UnsupportedPartsError,
    VirtualArrayValuesError,
    VZError,
)

_ONE = UnsupportedFeatureError("file:///a.h5", "/v", "long double", "drop it")

ERRORS = [
    _ONE,
    UnsupportedPartsError(
        "file:///a.h5", [_ONE, UnsupportedFeatureError("file:///a.h5", "/w", "x")], ["v", "w"]
    ),
    UnsupportedFeatureError("file:///a.h5", "/g", "attribute 'a'", kind="group"),
    UnsafeCodecError("file:///refs.json", "x", "pickle", "allow_pickle=True if you trust it"),
    CorruptFileError("file:///a.h5", "truncated"),
    ShortReadError("file:///a.h5", 10, 20, 5),
    GroupNotFoundError("file:///a.h5", "g", ["h"]),
    NoReaderFoundError("file:///a.xyz", ["hdf5"]),
    CFDecodeError("file:///a.nc", "time", "bad units"),
    VirtualArrayValuesError("np.asarray"),
    VZError("plain"),
]


@pytest.mark.parametrize("err", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_pickle_with_message_and_fields(err: VZError) -> None:
    # Their __init__ takes structured fields, not the message: the default pickling
    # (cls(*args)) would fail in the parent and break a process pool.
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert str(back) == str(err)
    assert back.__dict__.keys() == err.__dict__.keys()
    if isinstance(err, UnsupportedPartsError):
        assert [p.variable for p in back.parts] == ["/v", "/w"]
