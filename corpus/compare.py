"""What the reference libraries read from a file, and value-by-value comparison.

Pure functions used by ``check.py`` (and unit-tested in ``tests/test_corpus_tools.py``):
h5py, scipy.io.netcdf_file and tifffile give the raw values of every array of the
original; :func:`output_arrays` walks the zarr hierarchy of the written references;
:func:`compare_values` says whether two arrays hold the same values bit for bit (NaN-aware,
strings compared as text, compound types field by field); :func:`classify` turns the
outcome of one mode into exact / error / wrong / crash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np

NETCDF_DIM_ONLY = b"This is a netCDF dimension but not a netCDF variable"

EXACT = "exact"
ERROR = "error"
WRONG = "wrong"
CRASH = "crash"
CLASSES = (EXACT, ERROR, WRONG, CRASH)


@dataclass
class Reference:
    """The arrays of an original file as its reference library reads them.

    ``arrays`` maps a slash-separated path (no leading slash) to a loader returning the
    raw values; ``skipped`` maps paths the comparison leaves out to the reason (e.g. a
    netCDF dimension without a variable, an empty dataspace).
    """

    arrays: dict[str, Callable[[], np.ndarray]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    padded: set[str] = field(default_factory=set)
    has_groups: bool = False
    close: Callable[[], None] = lambda: None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def hdf5_reference(path: str) -> Reference:
    """Every dataset of an HDF5 file, read by h5py (raw values, no conversion)."""
    import h5py

    f = h5py.File(path, "r")
    ref = Reference(close=f.close)

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Group):
            ref.has_groups = True
            return
        if not isinstance(obj, h5py.Dataset):
            return
        try:
            dim_name = obj.attrs.get("NAME") if "NAME" in obj.attrs else None
        except Exception:  # noqa: BLE001 - an attribute h5py cannot decode: keep the dataset
            dim_name = None
        if isinstance(dim_name, str):
            dim_name = dim_name.encode("utf-8", "surrogateescape")
        if isinstance(dim_name, bytes | np.bytes_) and bytes(dim_name).startswith(NETCDF_DIM_ONLY):
            ref.skipped[name] = "netCDF dimension without a variable"
            return
        if obj.shape is None:
            ref.skipped[name] = "empty (null) dataspace"
            return
        shape = _netcdf_shape(f, obj, dim_lengths)
        if shape != obj.shape:
            ref.padded.add(name)
        ref.arrays[name] = lambda obj=obj, shape=shape: _h5_values(obj, shape)

    dim_lengths: dict[str, int] = {}
    f.visititems(visit)
    return ref


def _netcdf_shape(f: Any, ds: Any, cache: dict[str, int]) -> tuple[int, ...]:
    """Return the shape netCDF-C gives a dataset: unlimited axes at their dimension's length.

    In a netCDF-4 file a variable may hold fewer records than its unlimited dimension
    (whose length is the largest of its variables'); netCDF-C, netCDF4-python and
    h5netcdf read it at the dimension's length, the missing records as the HDF5 fill value.
    """
    maxshape = ds.maxshape or ()
    if None not in maxshape:
        return tuple(ds.shape)
    try:
        if "REFERENCE_LIST" in ds.attrs and len(maxshape) == 1:  # a coordinate variable
            if ds.name not in cache:
                cache[ds.name] = _dimension_length(f, ds)
            return (cache[ds.name],)
        if "DIMENSION_LIST" not in ds.attrs:
            return tuple(ds.shape)
        dimension_list = ds.attrs["DIMENSION_LIST"]
        shape = list(ds.shape)
        for axis, refs in enumerate(dimension_list):
            if maxshape[axis] is not None or len(refs) == 0:
                continue
            scale = f[refs[-1]]
            if scale.name not in cache:
                cache[scale.name] = _dimension_length(f, scale)
            shape[axis] = max(shape[axis], cache[scale.name])
    except Exception:  # noqa: BLE001 - a file that is not quite netCDF: h5py's shape
        return tuple(ds.shape)
    return tuple(shape)


def _dimension_length(f: Any, scale: Any) -> int:
    """Return a netCDF dimension's length: the largest extent of the datasets attached to it."""
    length = int(scale.shape[0]) if scale.shape else 0
    if "REFERENCE_LIST" not in scale.attrs:
        return length
    for ref, axis in scale.attrs["REFERENCE_LIST"]:
        length = max(length, int(f[ref].shape[int(axis)]))
    return length


def _h5_values(ds: Any, shape: tuple[int, ...] | None = None) -> np.ndarray:
    value = ds[()]
    if not isinstance(value, np.ndarray):  # scalar vlen strings come back as str/bytes
        arr = np.empty((), dtype=object)
        arr[()] = value
        return arr
    if shape is not None and shape != value.shape:  # records beyond the dataset: fill value
        padded = np.full(shape, ds.fillvalue, dtype=value.dtype)
        padded[tuple(slice(0, n) for n in value.shape)] = value
        return padded
    return value


def netcdf3_reference(path: str) -> Reference:
    """Every variable of a netCDF classic file, read by scipy.io.netcdf_file (raw values)."""
    from scipy.io import netcdf_file

    f = netcdf_file(path, "r", mmap=False, maskandscale=False)
    ref = Reference(close=f.close)
    for name, var in f.variables.items():
        ref.arrays[name] = lambda var=var: np.asarray(var.data)
    return ref


def tiff_reference(path: str) -> Reference:
    """Every series and resolution level of a TIFF file, read by tifffile.

    Paths follow vz-tiff's layout: ``band_data`` for level 0 of series 0,
    ``overview_<n>/band_data`` for its levels, ``series_<i>/...`` for further series.
    """
    import tifffile

    tif = tifffile.TiffFile(path)
    ref = Reference(close=tif.close)
    for i, series in enumerate(tif.series):
        for level_index, level in enumerate(series.levels):
            parts = [f"series_{i}"] if i else []
            if level_index:
                parts.append(f"overview_{level_index}")
            if parts:
                ref.has_groups = True
            ref.arrays["/".join([*parts, "band_data"])] = lambda level=level: level.asarray()
    return ref


REFERENCES: dict[str, Callable[[str], Reference]] = {
    "hdf5": hdf5_reference,
    "netcdf3": netcdf3_reference,
    "tiff": tiff_reference,
}


def output_arrays(store: Any) -> dict[str, Any]:
    """Every array of a zarr (v2) hierarchy, by slash-separated path."""
    import zarr

    group = zarr.open_group(store, mode="r", zarr_format=2)
    found: dict[str, Any] = {}

    def walk(g: Any, prefix: str) -> None:
        for name, member in g.members():
            path = f"{prefix}{name}"
            if isinstance(member, zarr.Array):
                found[path] = member
            else:
                walk(member, path + "/")

    walk(group, "")
    return found


def _as_text(value: Any) -> Any:
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", "surrogateescape")
    if isinstance(value, np.str_):
        return str(value)
    return value


def _flat_objects(a: np.ndarray) -> Iterator[Any]:
    for v in a.reshape(-1).tolist() if a.dtype.kind != "O" else a.reshape(-1):
        yield _as_text(v)


def _same_object(x: Any, y: Any) -> bool:
    if isinstance(x, np.void) and isinstance(y, tuple):  # a 0-d compound read as an object
        y = np.array(y, dtype=x.dtype)
    if isinstance(y, np.void) and isinstance(x, tuple):
        x = np.array(x, dtype=y.dtype)
    if isinstance(x, np.ndarray | np.void) or isinstance(y, np.ndarray | np.void):
        return compare_values(np.asarray(x), np.asarray(y)) is None
    if isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y):
        return True
    return bool(x == y)


def compare_values(expected: np.ndarray, actual: np.ndarray) -> str | None:
    """Return None when both arrays hold the same values, else why not.

    Numbers are compared bit for bit in native byte order (any NaN equals any NaN);
    strings (fixed bytes, vlen bytes/str, numpy text) are compared as text, a char array
    ``S1 (..., n)`` also against strings ``Sn (...)``; compound types field by field (void
    padding fields of the output ignored); object arrays element by element.

    Field order of compound types: zarr's structured data types (v2 and v3) are lists of
    fields packed in order, with no offsets, so a compound type whose fields are declared
    in another order than their byte offsets (PyTables' ``out_of_order_types.h5``) can only
    be written in storage order. The output's fields count as the same when they are the
    original's fields sorted by the original's offsets, exactly; any other difference in
    names or order is a difference, and every field's values are still compared.
    """
    expected = np.asarray(expected)
    actual = np.asarray(actual)
    if (
        expected.dtype == np.dtype("S1")
        and actual.dtype.kind == "S"
        and expected.ndim
        and actual.shape == expected.shape[:-1]
        and actual.dtype.itemsize <= expected.shape[-1]  # a 0-d read drops trailing NULs
    ):  # a netCDF3 char array whose last dimension became the string length
        joined = np.dtype(f"S{expected.shape[-1]}")
        expected = np.ascontiguousarray(expected).view(joined).reshape(actual.shape)
    if expected.shape != actual.shape:
        return f"shape {actual.shape} instead of {expected.shape}"
    e_kind, a_kind = expected.dtype.kind, actual.dtype.kind
    if expected.dtype.names:
        if not actual.dtype.names:
            return f"dtype {actual.dtype} instead of compound {expected.dtype}"
        # explicit padding (unnamed void fields) stands in for HDF5's gaps between fields
        named = [
            n
            for n in actual.dtype.names
            if actual.dtype[n].kind != "V" or n in expected.dtype.names
        ]
        fields = expected.dtype.fields or {}
        by_offset = sorted(expected.dtype.names, key=lambda n: fields[n][1])
        if named not in (list(expected.dtype.names), by_offset):  # storage order: zarr's only
            return f"fields {actual.dtype.names} instead of {expected.dtype.names}"
        for name in expected.dtype.names:
            why = compare_values(expected[name], actual[name])
            if why:
                return f"field {name!r}: {why}"
        return None
    text_kinds = "OSUT"
    if e_kind in text_kinds or a_kind in text_kinds:
        if (e_kind in text_kinds) != (a_kind in text_kinds) and "O" not in (e_kind, a_kind):
            return f"dtype {actual.dtype} instead of {expected.dtype}"
        for n, (x, y) in enumerate(
            zip(_flat_objects(expected), _flat_objects(actual), strict=True)
        ):
            if not _same_object(x, y):
                return f"element {n}: {y!r:.60} instead of {x!r:.60}"
        return None
    if e_kind != a_kind or expected.dtype.itemsize != actual.dtype.itemsize:
        return f"dtype {actual.dtype} instead of {expected.dtype}"
    e = expected.astype(expected.dtype.newbyteorder("="), copy=False)
    a = actual.astype(actual.dtype.newbyteorder("="), copy=False)
    if e_kind in "fc":
        floats_e = e.view(e.real.dtype) if e_kind == "c" else e
        floats_a = a.view(a.real.dtype) if a_kind == "c" else a
        uint = np.dtype(f"u{floats_e.dtype.itemsize}")
        same = (floats_e.view(uint) == floats_a.view(uint)) | (
            np.isnan(floats_e) & np.isnan(floats_a)
        )
    elif e_kind in "biuMmV":
        same = np.frombuffer(e.tobytes(), np.uint8) == np.frombuffer(a.tobytes(), np.uint8)
    else:
        same = e == a
    same = np.asarray(same)
    if not same.all():
        bad = np.argwhere(
            ~same.reshape(expected.shape) if same.shape == expected.shape else ~same.reshape(-1)
        )
        where = tuple(int(i) for i in bad[0])
        if same.shape == expected.shape:
            return f"{int((~same).sum())} values differ, first at {where}: {a[where]!r} instead of {e[where]!r}"
        return f"{int((~same).sum())} bytes differ"
    return None


def compare_decoded(expected: Any, actual: Any) -> dict[str, str]:
    """Compare two xarray Datasets variable by variable (decoded values and dims).

    Returns ``{variable: reason}`` for every variable of ``expected`` that is missing from
    ``actual`` or differs from it.
    """
    problems: dict[str, str] = {}
    for name, var in expected.variables.items():
        if name not in actual.variables:
            problems[str(name)] = "missing from the references"
            continue
        other = actual.variables[name]
        if var.dims != other.dims:
            problems[str(name)] = f"dims {other.dims} instead of {var.dims}"
            continue
        try:
            why = _compare_decoded_values(np.asarray(var.values), np.asarray(other.values))
        except Exception as exc:  # noqa: BLE001 - reading the decoded values failed
            why = f"reading decoded values: {type(exc).__name__}: {exc}"
        if why:
            problems[str(name)] = why
    return problems


def _compare_decoded_values(e: np.ndarray, a: np.ndarray) -> str | None:
    if e.shape != a.shape:
        return f"shape {a.shape} instead of {e.shape}"
    if e.dtype != a.dtype and not (e.dtype.kind in "OSUT" and a.dtype.kind in "OSUT"):
        return f"decoded dtype {a.dtype} instead of {e.dtype}"
    return compare_values(e, a)


@dataclass
class ModeResult:
    """What happened to one file in one mode (fully virtual or defaults)."""

    status: str
    reason: str = ""
    compared: int = 0
    dropped: list[str] = field(default_factory=list)
    mismatches: dict[str, str] = field(default_factory=dict)
    decoded: dict[str, str] = field(default_factory=dict)


def classify(
    *,
    exception: BaseException | None,
    is_vz_error: bool,
    compared: int,
    dropped: list[str],
    mismatches: Mapping[str, str],
    decoded: Mapping[str, str] | None = None,
    where: str = "",
) -> ModeResult:
    """Turn the outcome of one file and mode into a :class:`ModeResult`.

    An exception while opening or writing is a clear error when it is a VZError, a crash
    otherwise (``where`` names the innermost vzcore frame); a read-back failure (mismatch text starting ``read:``) is a crash; values
    that differ, decoded values that differ, or arrays missing from the output are wrong.
    """
    decoded = dict(decoded or {})
    if exception is not None:
        status = ERROR if is_vz_error else CRASH
        msg = " ".join(str(exception).split())
        at = f" [at {where}]" if where else ""
        return ModeResult(status, f"{type(exception).__name__}: {msg[:300]}{at}")
    crashes = {k: v for k, v in mismatches.items() if v.startswith("read:")}
    if crashes:
        name, why = next(iter(crashes.items()))
        return ModeResult(
            CRASH,
            f"reading back {name!r}: {why[5:].strip()[:300]}",
            compared,
            list(dropped),
            dict(mismatches),
            decoded,
        )
    if mismatches or dropped or decoded:
        parts = []
        if dropped:
            parts.append(f"{len(dropped)} array(s) silently dropped: {', '.join(dropped[:5])}")
        if mismatches:
            name, why = next(iter(mismatches.items()))
            parts.append(f"{len(mismatches)} array(s) differ, e.g. {name!r}: {why[:200]}")
        if decoded:
            name, why = next(iter(decoded.items()))
            parts.append(f"xarray-decoded differs in {len(decoded)}, e.g. {name!r}: {why[:200]}")
        return ModeResult(
            WRONG, "; ".join(parts), compared, list(dropped), dict(mismatches), decoded
        )
    return ModeResult(EXACT, "", compared)
