"""Per-file summaries kept as columns (``vzcore._summaries``): same answers, no object per file."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from vzcore._summaries import (
    Summary,
    SummaryTable,
    _all_same,
    _sorted_apart,
    _sorted_apart_python,
)
from vzcore.errors import VZError


def _times(hours: list[int | None]) -> np.ndarray:
    base = np.datetime64("2000-01-01T00", "ns")
    return np.array(
        [np.datetime64("NaT", "ns") if h is None else base + np.timedelta64(h, "h") for h in hours]
    )


def _cases(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    cases = []
    for _ in range(400):
        n = int(rng.integers(1, 7))
        starts = rng.permutation(n) * 10 if rng.random() < 0.7 else rng.integers(0, 5, n) * 10
        width = rng.choice([0, 5, 9, 10, 15])  # 10 and 15: touching or overlapping neighbours
        firsts, lasts = starts.astype(float), (starts + width).astype(float)
        if rng.random() < 0.3:
            firsts, lasts = lasts, firsts  # descending files
        if rng.random() < 0.1:
            firsts[int(rng.integers(n))] = np.nan
        kind = rng.choice(["f8", "i8", "M8", "f4"])
        if kind == "M8":
            hours = [None if np.isnan(v) else int(v) for v in firsts]
            cases.append((_times(hours), _times([int(v) for v in lasts])))
        elif kind == "i8":
            cases.append((np.nan_to_num(firsts, nan=-1).astype("i8"), lasts.astype("i8")))
        else:
            cases.append((firsts.astype(kind), lasts.astype(kind)))
    return cases


def test_numpy_order_is_the_python_comparison():
    """Files ordered by numpy give what comparing their scalars in Python gives."""
    answers = set()
    for firsts, lasts in _cases(np.random.default_rng(0)):
        got = _sorted_apart(firsts, lasts)
        assert got == _sorted_apart_python(list(firsts), list(lasts)), (firsts, lasts)
        answers.add(got is None)
    assert answers == {True, False}  # both outcomes were exercised


@pytest.mark.parametrize(
    "values",
    [
        np.array([0.0, -0.0]),
        np.array([np.nan, np.nan, np.nan]),
        np.array([np.nan, 1.0]),
        np.array([1.5, 1.5], np.float32),
        _times([1, 1, None]),
        _times([None, None]),
        np.array([3, 3, 4]),
        np.array(["a", "a"]),
        np.array([b"a", b"b"]),
        np.array([1, 1.0], object),
        np.array([None, None], object),
    ],
)
def test_same_values_are_those_with_the_same_repr(values):
    """What decides the concatenation dimension: equal reprs (NaN is NaN, 0.0 is not -0.0)."""
    assert _all_same(values) == (len({repr(v) for v in values}) == 1)


def _summary(index: int, first, last, length: int = 10, **kwargs) -> Summary:
    return Summary(
        index, f"f{index}.nc", data_vars=("v",), coords={"time": (length, first, last)}, **kwargs
    )


def test_tables_of_batches_order_the_files_given_out_of_order():
    hours = [(30, 39), (0, 9), (20, 29), (10, 19)]
    times = [(_times([a])[0], _times([b])[0]) for a, b in hours]
    one = SummaryTable.of([_summary(0, *times[0]), _summary(1, *times[1])])
    two = SummaryTable.of([_summary(2, *times[2]), _summary(3, *times[3])])
    table = SummaryTable.join([one, two])
    assert table.coords["time"].first.dtype == np.dtype("M8[ns]")  # typed, not objects
    assert table.order("by_coords") == [1, 3, 2, 0]
    assert table.order("nested") == [0, 1, 2, 3]


def test_values_of_different_types_are_compared_as_they_were():
    """Batches whose coordinate dtypes differ join as objects: no conversion, same order."""
    ints = SummaryTable.of([_summary(0, np.int64(5), np.int64(9))])
    floats = SummaryTable.of([_summary(1, np.float64(0.5), np.float64(4.5))])
    table = SummaryTable.join([ints, floats])
    col = table.coords["time"]
    assert col.first.dtype == object
    assert [type(v) for v in col.first] == [np.int64, np.float64]  # the scalars as they were
    assert table.order("by_coords") == [1, 0]


def test_objects_numpy_cannot_order_fall_back_to_python():
    cftime = pytest.importorskip("cftime")
    days = [cftime.DatetimeNoLeap(2000, 1, d) for d in (11, 1, 21)]
    table = SummaryTable.of([_summary(k, d, d) for k, d in enumerate(days)])
    assert table.coords["time"].first.dtype == object
    assert table.order("by_coords") == [1, 0, 2]


def test_layouts_that_are_combined_at_once():
    t = [_times([h])[0] for h in (0, 9, 10, 19)]
    apart = [_summary(0, t[0], t[1]), _summary(1, t[2], t[3])]
    assert SummaryTable.of(apart).order("by_coords") == [0, 1]
    other_vars = Summary(1, "b", data_vars=("w",), coords={"time": (10, t[2], t[3])})
    assert SummaryTable.of([apart[0], other_vars]).order("by_coords") is None
    no_coord = Summary(1, "b", data_vars=("v",))
    assert SummaryTable.of([apart[0], no_coord]).order("by_coords") is None
    same = [_summary(0, t[0], t[1]), _summary(1, t[0], t[1])]
    assert SummaryTable.of(same).order("by_coords") is None  # nothing varies
    tied = [_summary(0, t[0], t[1]), _summary(1, t[1], t[3])]
    assert SummaryTable.of(tied).order("by_coords") is None  # the files share a time


def test_failures_notes_and_virtual_coordinates_stay_with_their_files():
    from vzcore._tree_combine import check_virtual, scanned_files
    from vzcore._worker_warnings import Note
    from vzcore.errors import VZWarning

    t = _times([0, 9])
    note = Note(VZWarning, "odd attribute")
    rows = [
        _summary(0, t[0], t[1], notes=(note,)),
        Summary(1, "bad.nc", failed=OSError("gone")),
        _summary(2, t[0], t[1], virtual=("x",)),
    ]
    table = SummaryTable.join([SummaryTable.of(rows[:2]), SummaryTable.of(rows[2:])])
    assert table.all_notes() == [note]
    with pytest.raises(OSError, match="gone"):
        scanned_files(table, "raise")
    kept, failed = scanned_files(table, "ignore")
    assert kept.index.tolist() == [0, 2]
    assert [p for p, _ in failed] == ["bad.nc"]
    with pytest.raises(VZError, match=r"\['x'\] in 'f2.nc' are virtual"):
        check_virtual(kept)
    with pytest.raises(VZError, match="none of the files"):
        scanned_files(SummaryTable.of([rows[1]]), "ignore")


def test_the_calling_process_holds_tens_of_bytes_per_file():
    """10^4 files' summaries travel and stay as a few columns (a Summary each was ~680 B)."""
    times = _times(list(range(0, 100_000, 10)))
    rows = [_summary(k, times[k], times[k] + np.timedelta64(9, "h")) for k in range(10_000)]
    table = SummaryTable.join(
        [SummaryTable.of(rows[i : i + 128]) for i in range(0, len(rows), 128)]
    )
    assert len(pickle.dumps(table, protocol=5)) < 48 * len(rows)
    arrays = [table.index, table.variables_code] + [
        a for c in table.coords.values() for a in (c.present, c.length, c.first, c.last)
    ]
    assert sum(a.nbytes for a in arrays) < 48 * len(rows)
    assert table.order("by_coords") == list(range(len(rows)))
