"""Re-encoding CF time values into another ``units``/``calendar`` (for appends).

An appended batch of files usually carries its own time encoding (``days since`` the first
day of the batch, or another dtype). The repository's time axis must keep one encoding, so
the batch's values are converted into the existing array's units, calendar and dtype with
cftime, exactly, or the append is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from vzcore.errors import WriteError

__all__ = ["is_time", "reencode_times"]

_STANDARD = {"standard", "gregorian", "proleptic_gregorian"}


def is_time(attrs: Mapping[str, Any]) -> bool:
    """Return True when ``attrs`` describe CF-encoded times (``units = "<unit> since ..."``)."""
    units = attrs.get("units")
    return isinstance(units, str) and " since " in units


def _calendar(attrs: Mapping[str, Any]) -> str:
    cal = str(attrs.get("calendar", "standard")).lower()
    return "standard" if cal in _STANDARD else cal


def reencode_times(
    values: np.ndarray,
    new_attrs: Mapping[str, Any],
    old_attrs: Mapping[str, Any],
    old_dtype: np.dtype[Any],
    where: str,
) -> np.ndarray:
    """Return ``values`` (encoded with ``new_attrs``) encoded as ``old_attrs`` and ``old_dtype``.

    Raises
    ------
    vzcore.errors.WriteError
        The calendars differ, or a value cannot be represented exactly in the existing
        units and dtype (e.g. hourly steps appended to an integer ``days since`` axis).
    """
    old_cal, new_cal = _calendar(old_attrs), _calendar(new_attrs)
    if old_cal != new_cal:
        raise WriteError(
            f"Cannot append {where}: the batch's calendar is {new_attrs.get('calendar')!r} but "
            f"the repository's is {old_attrs.get('calendar')!r}; open the batch with the same "
            "calendar."
        )
    out: np.ndarray
    if new_attrs.get("units") == old_attrs.get("units"):
        out = np.asarray(values)
    else:
        import cftime

        dates = cftime.num2date(
            np.asarray(values), str(new_attrs["units"]), new_cal, only_use_cftime_datetimes=True
        )
        out = np.asarray(cftime.date2num(dates, str(old_attrs["units"]), old_cal))
    if old_dtype.kind in "iu":
        as_float = out.astype(np.float64)
        rounded = np.round(as_float)
        if not np.all(np.abs(as_float - rounded) <= 1e-6 * np.maximum(1.0, np.abs(rounded))):
            raise WriteError(
                f"Cannot append {where}: its times are not whole multiples of the repository's "
                f"units {old_attrs.get('units')!r} (dtype {old_dtype}); the axis would be "
                "rounded. Rewrite the repository with finer units, or append matching times."
            )
        info = np.iinfo(old_dtype)
        if rounded.size and (rounded.min() < info.min or rounded.max() > info.max):
            raise WriteError(
                f"Cannot append {where}: its times do not fit the repository's dtype {old_dtype} "
                f"in units {old_attrs.get('units')!r}."
            )
        return rounded.astype(old_dtype)
    cast = out.astype(old_dtype)
    if not np.array_equal(cast.astype(np.float64), out.astype(np.float64)):
        raise WriteError(
            f"Cannot append {where}: its times lose precision as {old_dtype} in units "
            f"{old_attrs.get('units')!r}."
        )
    return cast
