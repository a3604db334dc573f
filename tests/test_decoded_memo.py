"""A loaded variable decoded for an earlier file gives a later file what its own decoding gives.

``vzcore._decoded_memo`` keeps each loaded variable's last decoding with exactly its inputs
(name, dimensions, stored values, attributes, decode options); a later file whose variable
has the same inputs gets a copy instead of a second run of xarray's decoders. Each case
opens real netCDF4 files one after the other (the later ones served from what the earlier
ones left) and compares every loaded variable with the same file opened alone, nothing
kept (values, dtypes, attributes, encodings with the remembered stored values, indexes and
their sources), and with what ``xr.open_dataset`` decodes from the file.
"""

from __future__ import annotations

import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import pytest
import xarray as xr
from xarray.coding.variables import SerializationWarning

import vzcore
import vzcore._to_xarray as to_xarray
from vzcore import _decoded_memo
from vzcore._raw_values import ENCODING_KEY, RawPiece
from vzcore.errors import CFDecodeError
from vzcore.manifests import ManifestArray
from vzcore.testing.compare import assert_same_indexes

LOADED = ("time", "lat", "lon", "height", "lat_bnds", "label", "step")


def write(
    path: Path,
    *,
    hours: tuple[float, ...] = (0, 6),
    lat_type: str = "f4",
    lat_attrs: dict[str, Any] | None = None,
    lat_fill: Any = None,
) -> str:
    """Write a small CF file: time, lat, lon, a scalar, bounds, characters, a timedelta."""
    with netCDF4.Dataset(path, "w") as d:
        d.title = "memo"
        d.createDimension("time", None)
        d.createDimension("lat", 3)
        d.createDimension("lon", 4)
        d.createDimension("nv", 2)
        d.createDimension("nchar", 5)
        t = d.createVariable("time", "f8", ("time",))
        t.units = "hours since 2000-01-01"
        t.calendar = "standard"
        t[:] = list(hours)
        lat = d.createVariable("lat", lat_type, ("lat",), fill_value=lat_fill)
        lat[:] = [-10, 0, 10]
        lat.units = "degrees_north"
        lat.bounds = "lat_bnds"
        lat.valid_range = np.array([-90, 90], lat_type)
        for k, v in (lat_attrs or {}).items():
            lat.setncattr(k, v)
        d.createVariable("lat_bnds", "f4", ("lat", "nv"))[:] = [[-15, -5], [-5, 5], [5, 15]]
        lon = d.createVariable("lon", "f8", ("lon",))
        lon[:] = [0.0, 90.0, 180.0, 270.0]
        lon.units = "degrees_east"
        d.createVariable("height", "f4", ())[:] = 2.0
        label = d.createVariable("label", "S1", ("nchar",))
        label[:] = netCDF4.stringtochar(np.array(["abcde"], "S5"))[0]
        step = d.createVariable("step", "i4", ())
        step.units = "hours"
        step[...] = 3
        air = d.createVariable("air", "f4", ("time", "lat", "lon"), fill_value=-9.0)
        air.units = "K"
        air[:] = np.ones((len(hours), 3, 4))
    return str(path)


LOAD = {"loadable_variables": list(LOADED)}


@pytest.fixture(autouse=True)
def nothing_kept(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # (threads that earlier tests left running, fsspec's I/O loop among them, would keep
    # anything from being kept: test_recording_needs_no_other_thread covers that rule)
    monkeypatch.setattr(_decoded_memo, "recording_is_safe", lambda: True)
    _decoded_memo.clear()
    yield
    _decoded_memo.clear()


def alone(path: str, **options: Any) -> xr.Dataset:
    """Open ``path`` with nothing kept from other files (and keep nothing of it)."""
    _decoded_memo.clear()
    ds = vzcore.open_virtual_dataset(path, **options)
    _decoded_memo.clear()
    return ds


class Served:
    """Counts the variables served from a kept decoding (``Decoded.build`` calls)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        build = _decoded_memo.Decoded.build

        def counted(decoded: Any, name: str, source: str) -> Any:
            self.names.append(name)
            return build(decoded, name, source)

        monkeypatch.setattr(_decoded_memo.Decoded, "build", counted)


def decodings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the name of every variable xarray's decoders are run on (to_xarray's calls)."""
    calls: list[str] = []
    decode_loaded = to_xarray._decode_loaded

    def counted(stored: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(stored.name)
        return decode_loaded(stored, *args, **kwargs)

    monkeypatch.setattr(to_xarray, "_decode_loaded", counted)
    return calls


def plain(attrs: dict[str, Any]) -> dict[str, Any]:
    """Attributes as JSON types (vzcore gives lists where xarray's netcdf4 engine gives arrays)."""
    return {k: np.asarray(v).tolist() for k, v in attrs.items()}


def same_piece(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    if isinstance(a, RawPiece):
        assert (a.name, a.key) == (b.name, b.key)
        for x, y in ((a.raw, b.raw), (a.decoded, b.decoded)):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)
    else:
        assert repr(a) == repr(b)


def same_loaded(a: xr.Dataset, b: xr.Dataset, names: tuple[str, ...] = LOADED) -> None:
    """Loaded variables, indexes and their sources equal in every respect."""
    assert list(a.variables) == list(b.variables)
    assert list(a.coords) == list(b.coords)
    assert_same_indexes(a, b)
    for name, index in a.xindexes.items():
        other = b.xindexes[name]
        assert type(index.index) is type(other.index)  # type: ignore[attr-defined]
        assert index.index.name == other.index.name  # type: ignore[attr-defined]
    for name in names:
        if name not in a.variables:
            continue
        x, y = a.variables[name], b.variables[name]
        assert type(x) is type(y), name
        assert type(x._data) is type(y._data), name
        if isinstance(x.data, ManifestArray):  # (not loaded with these options)
            continue
        assert x.dims == y.dims, name
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x.values, y.values)
        assert np.asarray(x.values).flags.writeable == np.asarray(y.values).flags.writeable
        assert repr(x.attrs) == repr(y.attrs), name
        assert list(x.encoding) == list(y.encoding), name
        for key in x.encoding:
            same_piece(x.encoding[key], y.encoding[key])


def test_later_files_get_what_their_own_decoding_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [write(tmp_path / f"f{i}.nc", hours=(6 * i, 6 * i + 3)) for i in range(3)]
    served = Served(monkeypatch)
    together = [vzcore.open_virtual_dataset(p, **LOAD) for p in paths]
    # everything but the time axis (its values differ) came from the first file
    assert sorted(set(served.names)) == ["height", "label", "lat", "lat_bnds", "lon", "step"]
    assert len(served.names) == 12
    for path, ds in zip(paths, together, strict=True):
        same_loaded(ds, alone(path, **LOAD))
        assert ds.xindexes["lat"].source == f"file://{path}"  # type: ignore[attr-defined]
        with xr.open_dataset(path) as reference:  # xarray's own decoding of the file
            for name in LOADED:
                want = reference.variables[name]
                got = ds.variables[name]
                assert got.dtype == want.dtype, name
                np.testing.assert_array_equal(got.values, want.values)
                assert plain(got.attrs) == plain(want.attrs), name


@pytest.mark.parametrize(
    "options",
    [
        {"mask_and_scale": False},
        {"decode_times": False},
        {"decode_timedelta": False},
        {"decode_timedelta": True},
        {"concat_characters": False},
        {"decode_coords": False},
        {"use_cftime": True},
        {"decode_times": xr.coders.CFDatetimeCoder(time_unit="s")},
    ],
    ids=repr,
)
def test_options_are_part_of_the_inputs(tmp_path: Path, options: dict[str, Any]) -> None:
    first, second = write(tmp_path / "a.nc"), write(tmp_path / "b.nc", hours=(12, 18))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # (use_cftime= is deprecated)
        vzcore.open_virtual_dataset(first, **LOAD)  # kept with the defaults
        got = vzcore.open_virtual_dataset(second, **LOAD, **options)
        same_loaded(got, alone(second, **LOAD, **options))
        vzcore.open_virtual_dataset(first, **LOAD, **options)
        same_loaded(vzcore.open_virtual_dataset(second, **LOAD), alone(second, **LOAD))


@pytest.mark.parametrize(
    ("one", "other"),
    [
        # the packing attribute's type decides the decoded dtype
        ({"lat_attrs": {"scale_factor": np.float32(2)}}, {"lat_attrs": {"scale_factor": 2.0}}),
        ({"lat_attrs": {"add_offset": 1}}, {"lat_attrs": {"add_offset": 1.0}}),
        # equal as numbers, different as stored
        ({"lat_fill": 0.0}, {"lat_fill": -0.0}),
        ({"lat_attrs": {"units": "degrees_north"}}, {"lat_attrs": {"units": "degrees_N"}}),
        # the same bytes read as another type
        ({"lat_type": "f4"}, {"lat_type": "i4"}),
    ],
    ids=["scale-type", "offset-type", "signed-zero-fill", "units", "dtype"],
)
def test_inputs_are_compared_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one: dict[str, Any], other: dict[str, Any]
) -> None:
    first, second = write(tmp_path / "a.nc", **one), write(tmp_path / "b.nc", **other)
    served = Served(monkeypatch)
    vzcore.open_virtual_dataset(first, **LOAD)
    got = vzcore.open_virtual_dataset(second, **LOAD)
    assert "lat" not in served.names
    same_loaded(got, alone(second, **LOAD))
    fill = got["lat"].encoding.get("_FillValue")
    if fill is not None:
        assert np.signbit(fill) == np.signbit(other.get("lat_fill", 0.0))


def test_what_is_handed_out_is_never_shared(tmp_path: Path) -> None:
    paths = [write(tmp_path / f"f{i}.nc", hours=(i,)) for i in range(3)]
    first = vzcore.open_virtual_dataset(paths[0], **LOAD)
    second = vzcore.open_virtual_dataset(paths[1], **LOAD)
    for ds in (first, second):  # a user changing one file's dataset in place
        ds["lat"].attrs["units"] = "changed"
        ds["lat"].attrs["valid_range"][0] = 0
        ds["lat"].encoding["dtype"] = np.dtype("i8")
        ds["height"].values[...] = 99
        ds["lat_bnds"].values[0, 0] = 99
        ds["lat_bnds"].attrs["new"] = 1
    third = vzcore.open_virtual_dataset(paths[2], **LOAD)
    same_loaded(third, alone(paths[2], **LOAD))
    assert first["height"].values is not second["height"].values
    assert third["height"].item() == 2.0


def test_a_decoding_that_warns_is_never_kept(tmp_path: Path) -> None:
    paths = [
        write(tmp_path / f"f{i}.nc", lat_attrs={"_Unsigned": "true"}, hours=(i,)) for i in range(3)
    ]
    for path in paths:  # xarray's warning for every file, as xarray issues it
        with pytest.warns(SerializationWarning, match="_Unsigned attribute"):
            vzcore.open_virtual_dataset(path)
    assert _decoded_memo.kept() > 0  # (lon and the rest are kept)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SerializationWarning)
        for path in paths:
            with pytest.raises(SerializationWarning, match="_Unsigned attribute"):
                vzcore.open_virtual_dataset(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SerializationWarning)
        for path in paths:
            same_loaded(vzcore.open_virtual_dataset(path), alone(path))


def test_errors_are_raised_for_every_file(tmp_path: Path) -> None:
    paths = []
    for i in range(2):
        path = tmp_path / f"f{i}.nc"
        with netCDF4.Dataset(path, "w") as d:
            d.createDimension("time", 2)
            t = d.createVariable("time", "f8", ("time",))
            t.units = "days since 2000-01-01"
            t.calendar = "not_a_calendar"
            t[:] = [0, 1e300]
        paths.append(str(path))
    for path in paths:
        with pytest.raises(CFDecodeError, match="time"):
            vzcore.open_virtual_dataset(path)
    assert _decoded_memo.kept() == 0


def test_recording_needs_no_other_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # (the real rule)
    if getattr(sys.flags, "context_aware_warnings", 0):  # catch_warnings is per context
        assert _decoded_memo.recording_is_safe()
        return
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not _decoded_memo.recording_is_safe()
    finally:
        stop.set()
        other.join()
    assert _decoded_memo.recording_is_safe() is (threading.active_count() == 1)


def test_no_new_result_is_kept_while_recording_is_not_safe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [write(tmp_path / f"f{i}.nc", hours=(i,)) for i in range(3)]
    monkeypatch.setattr(_decoded_memo, "recording_is_safe", lambda: False)
    monkeypatch.setattr(_decoded_memo, "watching_is_possible", lambda: False)
    vzcore.open_virtual_dataset(paths[0], **LOAD)
    assert _decoded_memo.kept() == 0  # (its warnings could be another thread's)
    monkeypatch.setattr(_decoded_memo, "recording_is_safe", lambda: True)
    vzcore.open_virtual_dataset(paths[0], **LOAD)
    assert _decoded_memo.kept() == len(LOADED)
    served = Served(monkeypatch)
    monkeypatch.setattr(_decoded_memo, "recording_is_safe", lambda: False)
    got = vzcore.open_virtual_dataset(paths[1], **LOAD)  # what is kept is still used
    assert len(served.names) == len(LOADED) - 1  # (all but the time axis)
    same_loaded(got, alone(paths[1], **LOAD))


# -- with other threads running: decodings watched, not caught ---------------------------


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recording as in a process with other threads (a Jupyter kernel, a dask worker)."""
    if not _decoded_memo.watching_is_possible():
        pytest.skip(f"warnings cannot be watched per context on Python {sys.version_info[:2]}")
    monkeypatch.setattr(_decoded_memo, "recording_is_safe", lambda: False)


def test_watching_is_possible_on_python_3_12_and_3_13() -> None:
    expected = sys.version_info[:2] in ((3, 12), (3, 13))
    assert _decoded_memo.watching_is_possible() is expected
    if expected:  # installed around the module's own function, shown warnings unchanged
        assert warnings._showwarnmsg is _decoded_memo._shown  # type: ignore[attr-defined]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.warn("still shown", UserWarning, stacklevel=1)
        assert [str(w.message) for w in caught] == ["still shown"]


def test_watched_decodings_are_kept_and_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, watched: None
) -> None:
    paths = [write(tmp_path / f"f{i}.nc", hours=(i,)) for i in range(3)]
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)  # (as in a Jupyter kernel)
    other.start()
    try:
        first = vzcore.open_virtual_dataset(paths[0], **LOAD)
        assert _decoded_memo.kept() == len(LOADED)
        served = Served(monkeypatch)
        later = [vzcore.open_virtual_dataset(p, **LOAD) for p in paths[1:]]
    finally:
        stop.set()
        other.join()
    assert len(served.names) == 2 * (len(LOADED) - 1)  # (all but the time axis)
    for path, ds in zip(paths, [first, *later], strict=True):
        same_loaded(ds, alone(path, **LOAD))


def test_another_threads_warnings_are_neither_taken_nor_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, watched: None
) -> None:
    """Warnings another thread issues while decodings are watched reach it, each once."""

    class Elsewhere(UserWarning):
        pass

    paths = [write(tmp_path / f"f{i}.nc", hours=(i,)) for i in range(20)]
    stop = threading.Event()
    issued = []

    def warn_meanwhile() -> None:
        while not stop.wait(0.0001):  # (a few thousand, throughout the decodings)
            warnings.warn(f"from the other thread {len(issued)}", Elsewhere, stacklevel=1)
            issued.append(1)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        other = threading.Thread(target=warn_meanwhile)
        other.start()
        try:
            for path in paths:
                _decoded_memo.clear()  # (every file decoded, and watched)
                vzcore.open_virtual_dataset(path, **LOAD)
        finally:
            stop.set()
            other.join()
    theirs = [w for w in caught if w.category is Elsewhere]
    assert len(issued) > 0
    assert len(theirs) == len(issued)  # none recorded as a decoding's, none lost
    assert not [w for w in caught if w.category is not Elsewhere]
    assert _decoded_memo.kept() == len(LOADED)  # (their warnings were not the decoding's)


def test_a_watched_decoding_that_warns_warns_once_and_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, watched: None
) -> None:
    paths = [
        write(tmp_path / f"f{i}.nc", lat_attrs={"_Unsigned": "true"}, hours=(i,)) for i in range(3)
    ]
    calls = decodings(monkeypatch)
    for path in paths:
        calls.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            vzcore.open_virtual_dataset(path)
        unsigned = [w for w in caught if "_Unsigned attribute" in str(w.message)]
        assert len(unsigned) == 1  # as xarray issues it: decoded once, not twice
        assert calls.count("lat") == 1
    assert _decoded_memo._kept[("lat", ("lat",))].result is None


def test_a_watched_result_is_served_only_under_its_filters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, watched: None
) -> None:
    """A warning the filters ignored when it was kept still comes once they no longer do."""
    paths = [
        write(tmp_path / f"f{i}.nc", lat_attrs={"_Unsigned": "true"}, hours=(i,)) for i in range(3)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SerializationWarning)
        expected = alone(paths[1])
        vzcore.open_virtual_dataset(paths[0])  # lat's warning ignored: kept
        served = Served(monkeypatch)
        same_loaded(vzcore.open_virtual_dataset(paths[1]), expected)
        assert "lat" in served.names
    assert _decoded_memo._kept[("lat", ("lat",))].result is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error", SerializationWarning)
        with pytest.raises(SerializationWarning, match="_Unsigned attribute"):
            vzcore.open_virtual_dataset(paths[2])


def test_values_that_change_from_file_to_file_stop_being_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [write(tmp_path / f"f{i}.nc", hours=(i,)) for i in range(_decoded_memo.RETRY_EVERY + 2)]
    kept: list[tuple[str, ...]] = []
    keepable = to_xarray.keepable

    def counted(variable: Any, index: Any) -> Any:
        kept.append(variable.dims)
        return keepable(variable, index)

    monkeypatch.setattr(to_xarray, "keepable", counted)
    for path in paths:
        vzcore.open_virtual_dataset(path)
    # the time axis: the first file, its first miss, then the RETRY_EVERY-th miss in a row
    assert kept.count(("time",)) == 3
    assert kept.count(("lat",)) == 1
    assert kept.count(("lon",)) == 1


def test_large_or_object_values_are_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "f.nc"
    n = _decoded_memo.MAX_VALUE_BYTES // 8 + 1
    with netCDF4.Dataset(path, "w") as d:
        d.createDimension("x", n)
        d.createVariable("x", "f8", ("x",))[:] = np.arange(n)
        d.createDimension("t", 2)
        t = d.createVariable("t", "f8", ("t",))
        t.units = "days since 1000-01-01"  # cftime objects
        t.calendar = "noleap"
        t[:] = [0, 1]
    vzcore.open_virtual_dataset(str(path))
    assert _decoded_memo.kept() == 0


def test_the_remembered_stored_values_stay_registered(tmp_path: Path) -> None:
    from vzcore import _raw_values

    paths = [write(tmp_path / f"f{i}.nc", hours=(i,)) for i in range(2)]
    vzcore.open_virtual_dataset(paths[0])
    _raw_values.clear()  # (the registry dropped every piece meanwhile)
    ds = vzcore.open_virtual_dataset(paths[1])
    piece = ds["lat"].encoding[ENCODING_KEY]
    assert _raw_values.raw_values_for("lat", ds["lat"].encoding, ds["lat"].values) is piece.raw


def test_each_file_is_decoded_once_when_nothing_can_be_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = decodings(monkeypatch)
    warned, cftime, opened = [], [], []
    for i in range(5):
        path = tmp_path / f"f{i}.nc"
        with netCDF4.Dataset(path, "w") as d:
            d.createDimension("t", 2)
            t = d.createVariable("t", "f8", ("t",))  # cftime objects: not kept
            t.units = "days since 2000-01-01"
            t.calendar = "noleap"
            t[:] = [0, 1]
            d.createDimension("x", 2)
            x = d.createVariable("x", "f4", ("x",))  # xarray warns: not kept
            x._Unsigned = "true"
            x[:] = [1, 2]
        calls.clear()
        with pytest.warns(SerializationWarning):
            ds = vzcore.open_virtual_dataset(str(path))
        warned.append(calls.count("x"))
        cftime.append(calls.count("t"))
        opened.append((str(path), ds))
    for path, ds in opened:
        with pytest.warns(SerializationWarning):
            same_loaded(ds, alone(path), ("t", "x"))
    assert cftime == [1, 1, 1, 1, 1]
    # recorded (a warning: decoded again to issue it) until the second miss in a row
    assert warned == [2, 2, 1, 1, 1]


@pytest.mark.parametrize(("names", "nbytes"), [(3, 2**20), (256, 100)], ids=["names", "bytes"])
def test_what_is_kept_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names: int, nbytes: int
) -> None:
    monkeypatch.setattr(_decoded_memo, "MAX_NAMES", names)
    monkeypatch.setattr(_decoded_memo, "MAX_BYTES", nbytes)
    paths = [write(tmp_path / f"f{i}.nc", hours=(i,)) for i in range(3)]
    got = []
    for path in paths:
        got.append(vzcore.open_virtual_dataset(path, **LOAD))
        assert _decoded_memo.kept() <= names
        assert _decoded_memo._held <= nbytes
    for path, ds in zip(paths, got, strict=True):
        same_loaded(ds, alone(path, **LOAD))


PAIRS = [
    ("1", 1),
    (1, True),
    (1, 1.0),
    (0.0, -0.0),
    (float("nan"), -float("nan")),
    (np.float32(1), 1.0),
    (np.float32(1), np.float64(1)),
    (np.int32(1), np.array(1, "i4")),
    ([1], (1,)),
    (["a"], "a"),
    (["a", "b"], "a b"),
    ({"a": 1}, [("a", 1)]),
    (b"a", "a"),
    (np.array([1], "i4"), np.array([1], "i8")),
    (np.array([1], "<i4"), np.array([1], ">i4")),
    (np.array([1, 2]), np.array([[1, 2]])),
    (None, "None"),
]


@pytest.mark.parametrize(("one", "other"), PAIRS, ids=[repr(p) for p in PAIRS])
def test_attribute_values_that_differ_have_different_keys(one: Any, other: Any) -> None:
    assert _decoded_memo._key({"x": one}) != _decoded_memo._key({"x": other})
    assert _decoded_memo._key({"x": one}) == _decoded_memo._key({"x": one})
    for value in (one, other):  # (NaN too: compared by its bytes)
        copied = {"x": _decoded_memo._fresh(value)}
        assert _decoded_memo._key(copied) == _decoded_memo._key({"x": value})


def test_objects_are_not_keyed() -> None:
    for value in (object(), np.array([object()]), {1, 2}, np.zeros(1, "f4,i4")):
        with pytest.raises(_decoded_memo._UnkeyableError):
            _decoded_memo._key({"x": value})
