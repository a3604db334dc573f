"""``_without_concat`` gives ``replace(opts, concat_characters=False)``, cached or not."""

from __future__ import annotations

from dataclasses import replace

import pytest
from xarray.coders import CFDatetimeCoder, CFTimedeltaCoder

from vzcore._to_xarray import DecodeOptions, _without_concat


class _Unhashable:
    __hash__ = None  # type: ignore[assignment]


@pytest.mark.parametrize(
    "opts",
    [
        DecodeOptions(),
        DecodeOptions(mask_and_scale=False, decode_coords="all"),
        DecodeOptions(decode_times=CFDatetimeCoder(time_unit="s")),
        DecodeOptions(decode_timedelta=CFTimedeltaCoder(), use_cftime=True),
        DecodeOptions(decode_times=_Unhashable()),  # (made each time)
    ],
)
def test_same_as_replace(opts: DecodeOptions) -> None:
    got = _without_concat(opts)
    want = replace(opts, concat_characters=False)
    assert got == want
    assert got.concat_characters is False
    # the very coder objects of opts, not equal-looking others
    assert got.decode_times is opts.decode_times
    assert got.decode_timedelta is opts.decode_timedelta
    assert _without_concat(opts) == want  # (again: from the cache where there is one)
    assert opts.concat_characters is True  # the given options are unchanged
