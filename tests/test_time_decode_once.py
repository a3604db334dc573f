"""Loaded CF time coordinates are decoded once, to exactly what xarray's own decoder gives.

``vzcore._to_xarray`` decodes a loaded time coordinate with ``_LoadedDatetimeCoder``, which
calls xarray's ``decode_cf_datetime`` once on all the values instead of xarray's lazy path
(first and last values for the dtype, then all of them). The result must be the same
Variable as ``xr.conventions.decode_cf_variable(...).load()`` with the same options:
values, dtype, attributes, encoding, and the same error when decoding fails.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import xarray as xr
from xarray.coding import times

from vzcore._to_xarray import DecodeOptions, _decode

CASES: dict[str, tuple[Any, dict[str, Any]]] = {
    "hours, standard": (np.array([0.0, 6, 12, 18]), {"units": "hours since 2000-01-01"}),
    "int days, calendar, extra attrs": (
        np.array([1, 2, 3], np.int32),
        {"units": "days since 1990-01-01 00:00:00", "calendar": "standard", "axis": "T"},
    ),
    "noleap (cftime)": (
        np.array([0.0, 59, 365]),
        {"units": "days since 2001-01-01", "calendar": "noleap"},
    ),
    "360_day": (np.arange(5.0), {"units": "days since 2000-01-01", "calendar": "360_day"}),
    "beyond datetime64[ns] (cftime fallback)": (
        np.array([0.0, 1e6]),
        {"units": "days since 1000-01-01"},
    ),
    "with _FillValue": (
        np.array([0.0, -1.0, 2.0]),
        {"units": "seconds since 2020-01-01T00:00:00", "_FillValue": -1.0},
    ),
    "packed": (
        np.array([0, 10, 20], np.int16),
        {"units": "days since 2000-01-01", "scale_factor": 0.5, "add_offset": 1.0},
    ),
    "big-endian": (np.array([1.0, 2.0], ">f8"), {"units": "days since 2000-01-01"}),
    "empty": (np.array([], np.float64), {"units": "days since 2000-01-01"}),
    "not a time": (np.array([1.0, 2.0]), {"units": "m"}),
    "timedelta": (np.array([1.0, 2.0]), {"units": "days"}),
}

OPTIONS = {
    "defaults": DecodeOptions(),
    "coder, time_unit s": DecodeOptions(decode_times=times.CFDatetimeCoder(time_unit="s")),
    "coder, use_cftime": DecodeOptions(decode_times=times.CFDatetimeCoder(use_cftime=True)),
    "decode_timedelta": DecodeOptions(decode_timedelta=True),
}


def xarray_decoded(var: xr.Variable, opts: DecodeOptions) -> xr.Variable:
    """What xarray's decode_cf_variable gives (vzcore's call before decoding once)."""
    return xr.conventions.decode_cf_variable(
        "time",
        var,
        mask_and_scale=opts.mask_and_scale,
        decode_times=opts.decode_times,
        concat_characters=opts.concat_characters,
        decode_timedelta=opts.decode_timedelta,
    ).load()


def same(a: xr.Variable, b: xr.Variable) -> None:
    assert a.dims == b.dims
    assert a.dtype == b.dtype
    assert type(a.values) is type(b.values)
    if a.dtype.kind == "O":
        assert a.values.tolist() == b.values.tolist()
        assert [type(x) for x in a.values.ravel()] == [type(x) for x in b.values.ravel()]
    else:
        np.testing.assert_array_equal(a.values, b.values)
        assert a.values.tobytes() == b.values.tobytes()
    assert a.attrs == b.attrs
    assert a.encoding.keys() == b.encoding.keys()
    for key, value in a.encoding.items():
        other = b.encoding[key]
        assert type(value) is type(other), key
        assert str(value) == str(other), key


@pytest.mark.parametrize("opts_name", list(OPTIONS))
@pytest.mark.parametrize("case", list(CASES))
def test_decoded_once_equals_xarray(case: str, opts_name: str) -> None:
    values, attrs = CASES[case]
    opts = OPTIONS[opts_name]
    var = xr.Variable(("time",), values, dict(attrs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (xarray's SerializationWarnings on cftime)
        expected = xarray_decoded(var.copy(), opts)
        got = _decode("time", var.copy(), opts)
    same(got, expected)


def test_time_values_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The values go through decode_cf_datetime once (xarray's lazy path: twice)."""
    import vzcore._to_xarray as to_xarray

    calls: list[int] = []
    real = times.decode_cf_datetime

    def counting(num_dates: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(np.asarray(num_dates).size)
        return real(num_dates, *args, **kwargs)

    monkeypatch.setattr(times, "decode_cf_datetime", counting)
    monkeypatch.setattr(to_xarray, "decode_cf_datetime", counting)
    var = xr.Variable(("time",), np.arange(4.0), {"units": "hours since 2000-01-01"})
    xarray_decoded(var.copy(), DecodeOptions())
    assert calls == [2, 4]  # first and last, then all of them
    calls.clear()
    _decode("time", var.copy(), DecodeOptions())
    assert calls == [4]


def test_undecodable_time_raises_xarrays_error() -> None:
    var = xr.Variable(("time",), np.full(3, 9.97e36, "f4"), {"units": "days since 2000-01-01"})
    with pytest.raises(ValueError, match="unable to decode time units") as expected:
        xarray_decoded(var.copy(), DecodeOptions())
    with pytest.raises(ValueError, match="unable to decode time units") as got:
        _decode("time", var.copy(), DecodeOptions())
    assert str(got.value) == str(expected.value)
