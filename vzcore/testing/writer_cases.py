"""Trees for testing writers: every case a writer author needs, over real chunk files.

Each function builds a :class:`~vzcore.group.ManifestGroup` whose virtual variables point
into a :class:`~vzcore.testing.chunk_file.ChunkFile` (chunks encoded by numcodecs) and
returns it with the values every variable must read back as, keyed by its path in the tree
(``"group/sub/var"``). :class:`~vzcore.testing.WriterTests` writes them with the writer under
test and compares what the output format's standard client reads; plugin authors can use
them in their own tests too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vzcore.group import ManifestGroup, Variable
from vzcore.testing.chunk_file import ChunkFile

__all__ = [
    "ATTRIBUTES",
    "CODEC_PIPELINES",
    "DTYPES",
    "NON_FINITE",
    "UNWRITABLE",
    "Case",
    "attributes_case",
    "codecs_case",
    "dtype_case",
    "dtype_values",
    "empty_case",
    "missing_and_inline_case",
    "names_case",
    "nested_case",
    "packed_case",
    "scalar_case",
    "unwritable_case",
]

Case = tuple[ManifestGroup, dict[str, np.ndarray]]
"""A tree and ``{variable path: values it must read back as}``."""

DTYPES = (
    "|i1",
    "<i2",
    ">i2",
    "<i4",
    ">i4",
    "<i8",
    "|u1",
    "<u2",
    "<u4",
    ">u8",
    "<f2",
    "<f4",
    ">f4",
    "<f8",
    ">f8",
    "|b1",
    "<c8",
    ">c16",
    "|S6",
    "<U4",
    "<M8[ns]",
    "<M8[s]",
    "<m8[ms]",
)
"""Every fixed-size dtype a zarr array holds (byte orders, fixed strings, times)."""

CODEC_PIPELINES: dict[str, tuple[dict[str, Any], ...]] = {
    "none": (),
    "zlib": ({"id": "zlib", "level": 5},),
    "shuffle-zlib": ({"id": "shuffle", "elementsize": 4}, {"id": "zlib", "level": 1}),
    "delta-zlib": ({"id": "delta", "dtype": "<i4"}, {"id": "zlib", "level": 9}),
    "fixedscaleoffset-shuffle-bz2": (
        {"id": "fixedscaleoffset", "scale": 10, "offset": 0, "dtype": "<i4", "astype": "<i4"},
        {"id": "shuffle", "elementsize": 4},
        {"id": "bz2", "level": 1},
    ),
    "zstd": ({"id": "zstd", "level": 3},),
}
"""numcodecs pipelines in encoding order; each only decodes right applied in reverse."""

ATTRIBUTES: dict[str, tuple[Any, Any]] = {
    "text": ("plain text", "plain text"),
    "unicode": ("température ☃ 雪", "température ☃ 雪"),
    "empty_text": ("", ""),
    "int": (42, 42),
    "negative": (-7, -7),
    "big_int": (2**53 + 1, 2**53 + 1),
    "float": (0.1, 0.1),
    "true": (True, True),
    "false": (False, False),
    "none": (None, None),
    "list": ([1, 2, 3], [1, 2, 3]),
    "mixed_list": ([1, "a", None, 2.5], [1, "a", None, 2.5]),
    "tuple": ((1.5, 2.5), [1.5, 2.5]),
    "nested": ({"a": {"b": [1, {"c": "d"}]}}, {"a": {"b": [1, {"c": "d"}]}}),
    "np_float32": (np.float32(0.1), float(np.float32(0.1))),
    "np_int16": (np.int16(-3), -3),
    "np_uint64": (np.uint64(2**63), 2**63),
    "np_bool": (np.bool_(True), True),
    "np_array": (np.array([1, 2], dtype="i2"), [1, 2]),
    "np_float_array": (np.array([0.5, -1.0]), [0.5, -1.0]),
    "utf8_bytes": (b"bytes", "bytes"),
    "nan": (float("nan"), float("nan")),
    "inf": (float("inf"), float("inf")),
    "minus_inf": (float("-inf"), float("-inf")),
    "np_nan32": (np.float32("nan"), float("nan")),
    "nan_in_list": ([1.0, float("nan"), float("inf")], [1.0, float("nan"), float("inf")]),
}
"""``{key: (attribute value given to the writer, value its output reads back as)}``."""

NON_FINITE = ("nan", "inf", "minus_inf", "np_nan32", "nan_in_list")
"""Keys of :data:`ATTRIBUTES` whose values are not finite (not strict JSON)."""


def dtype_values(dtype: np.dtype[Any] | str, n: int = 7) -> np.ndarray:
    """Return ``n`` distinct values of ``dtype`` (extremes included where they exist)."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return np.array([True, False, True, True, False, False, True] * n, dtype=dt)[:n]
    if dt.kind in "iu":
        info = np.iinfo(dt)
        core = np.arange(n, dtype=np.int64) * 3 - (3 if dt.kind == "i" else 0)
        out = core.astype(dt)
        out[0], out[-1] = info.min, info.max
        return out
    if dt.kind == "f":
        out = (np.arange(n) * 1.25 - 2).astype(dt)
        out[0] = np.finfo(dt).max
        out[1] = -np.inf
        out[2] = np.nan
        return out
    if dt.kind == "c":
        return (np.arange(n) * (1.5 - 2j) + 1j).astype(dt)
    if dt.kind == "S":
        raw = [b"", b"a", b"bc", b"x\x00y", b"long string", b"\xff\xfe", b"z"]
        return np.array((raw * n)[:n], dtype=dt)
    if dt.kind == "U":
        words = ["", "é", "ab", "雪", "long string", "a b", "z"]
        return np.array((words * n)[:n], dtype=dt)
    if dt.kind in "Mm":
        out = (np.arange(n, dtype=np.int64) * 86_400 - 10).astype(dt)
        out[3] = np.array("NaT", dtype=dt)
        return out
    raise ValueError(f"no sample values for dtype {dt}")


def dtype_case(chunk_file: ChunkFile, dtype: np.dtype[Any] | str) -> Case:
    """One dtype four ways: virtual (partial last chunk), virtual scalar, loaded, loaded long.

    The long loaded array's inline chunk is compressed for numeric dtypes
    (``vzcore.store_plan.INLINE_CODECS``).
    """
    dt = np.dtype(dtype)
    values = dtype_values(dt, 7)
    scalar = values[1:2].reshape(())
    long = np.tile(values, 64)
    variables = {
        "virtual": Variable(("x",), chunk_file.array(values, (3,)), {}),
        "scalar": Variable((), chunk_file.array(scalar, ()), {}),
        "loaded": Variable(("x",), values.copy(), {}),
        "loaded_long": Variable(("y",), long.copy(), {}),
    }
    expected = {"virtual": values, "scalar": scalar, "loaded": values, "loaded_long": long}
    return ManifestGroup(variables=variables), expected


def scalar_case(chunk_file: ChunkFile) -> Case:
    """0-d arrays: virtual (one chunk, compressed and not, and missing) and loaded."""
    f8 = np.array(-2.5)
    i4 = np.array(7, dtype="<i4")
    variables = {
        "virtual_f8": Variable((), chunk_file.array(f8, ()), {"units": "K"}),
        "virtual_i4_zlib": Variable((), chunk_file.array(i4, (), ({"id": "zlib"},)), {}),
        "virtual_missing": Variable(
            (), chunk_file.array(np.array(-1, "<i2"), (), fill_value=-1, missing=[()]), {}
        ),
        "loaded_f4": Variable((), np.array(3.25, dtype="<f4"), {}),
        "loaded_bool": Variable((), np.array(True), {}),
    }
    expected = {
        "virtual_f8": f8,
        "virtual_i4_zlib": i4,
        "virtual_missing": np.array(-1, "<i2"),
        "loaded_f4": np.array(3.25, dtype="<f4"),
        "loaded_bool": np.array(True),
    }
    return ManifestGroup(variables=variables), expected


def missing_and_inline_case(chunk_file: ChunkFile) -> Case:
    """Chunks left missing (read as the fill value) and chunks held inline in the manifest."""
    rng = np.random.default_rng(0)
    variables: dict[str, Variable] = {}
    expected: dict[str, np.ndarray] = {}

    def add(name: str, values: np.ndarray, chunks: tuple[int, ...], fill: Any, **kw: Any) -> None:
        arr = chunk_file.array(values, chunks, kw.pop("codecs", ()), fill_value=fill, **kw)
        want = values.copy()
        for idx in kw.get("missing", ()):
            sel = tuple(slice(i * c, (i + 1) * c) for i, c in zip(idx, chunks, strict=True))
            want[sel] = 0 if fill is None else fill
        variables[name] = Variable(tuple(f"{name}_{i}" for i in range(values.ndim)), arr, {})
        expected[name] = want

    ints = rng.integers(-100, 100, (7, 10)).astype("<i4")
    add("int_fill", ints, (3, 4), -1, missing=[(0, 1), (2, 2)])
    add("int_fill_zero", ints, (3, 4), 0, missing=[(1, 1)])
    add("int_no_fill", ints, (3, 4), None, missing=[(1, 0)])
    floats = rng.normal(size=(7, 10)).astype("<f4")
    add(
        "float_nan",
        floats,
        (3, 4),
        float("nan"),
        missing=[(0, 0), (2, 1)],
        codecs=({"id": "zlib"},),
    )
    add("float_big", floats.astype(">f8"), (3, 4), -9999.5, missing=[(1, 2)])
    add("uint8_max", rng.integers(0, 200, (9,)).astype("u1"), (4,), 255, missing=[(2,)])
    add("all_missing", ints, (3, 4), 17, missing=list(np.ndindex(3, 3)))
    add("inline", floats, (3, 4), None, inline=[(0, 0), (2, 2)], codecs=({"id": "zlib"},))
    add("inline_and_missing", ints, (3, 4), -5, inline=[(1, 1)], missing=[(0, 2)])
    add("bool_fill_true", np.array([False, True] * 5), (4,), True, missing=[(1,)])
    return ManifestGroup(variables=variables), expected


def codecs_case(chunk_file: ChunkFile) -> Case:
    """Return the same int32 values under several codec pipelines (order matters in each)."""
    values = (np.arange(7 * 10, dtype="<i4").reshape(7, 10) * 7) % 1000 - 300
    variables = {
        name.replace("-", "_"): Variable(("y", "x"), chunk_file.array(values, (3, 4), codecs), {})
        for name, codecs in CODEC_PIPELINES.items()
    }
    return ManifestGroup(variables=variables), dict.fromkeys(variables, values)


def attributes_case(
    chunk_file: ChunkFile, non_finite: bool = True
) -> tuple[ManifestGroup, dict[str, Any]]:
    """Return every JSON type (and the numpy and non-finite values readers give) as attributes.

    CF encoding attributes (``_FillValue``) are not plain attributes in every format (zarr
    v2 keeps ``_FillValue`` in ``.zarray``); the real-file round trips cover them.

    Returns the tree and ``{"": expected root attributes, "v": expected attributes of v}``.
    ``non_finite=False`` leaves out the NaN and infinite values (:data:`NON_FINITE`).
    """
    keep = [k for k in ATTRIBUTES if non_finite or k not in NON_FINITE]
    given = {k: ATTRIBUTES[k][0] for k in keep}
    want = {k: ATTRIBUTES[k][1] for k in keep}
    arr = chunk_file.array(np.arange(4, dtype="<f4"), (2,))
    group = ManifestGroup(variables={"v": Variable(("x",), arr, dict(given))}, attrs=given)
    return group, {"": want, "v": want}


def nested_case(chunk_file: ChunkFile) -> tuple[ManifestGroup, dict[str, np.ndarray]]:
    """Three levels of groups, each with arrays and attributes, plus an empty group."""
    a = np.arange(12, dtype="<f8").reshape(3, 4)
    b = np.arange(5, dtype=">i2")
    c = np.array([1.5, 2.5], dtype="<f4")
    deep = ManifestGroup(
        variables={"c": Variable(("z",), chunk_file.array(c, (1,)), {"level": 3})},
        attrs={"depth": 3},
    )
    mid = ManifestGroup(
        variables={"b": Variable(("k",), chunk_file.array(b, (2,), ({"id": "zlib"},)), {})},
        attrs={"depth": 2},
        groups={"deep": deep, "empty": ManifestGroup(attrs={"empty": True})},
    )
    root = ManifestGroup(
        variables={
            "a": Variable(("y", "x"), chunk_file.array(a, (2, 2)), {"level": 1}),
            "t": Variable(("y",), np.array([10, 20, 30], dtype="<i8"), {}),
        },
        attrs={"depth": 1},
        groups={"mid": mid},
    )
    return root, {"a": a, "t": np.array([10, 20, 30], dtype="<i8"), "mid/b": b, "mid/deep/c": c}


def names_case(chunk_file: ChunkFile) -> Case:
    """Non-ASCII and punctuated names of variables, dimensions, groups and attributes."""
    v = np.arange(6, dtype="<i4")
    w = np.arange(4, dtype="<f4")
    child = ManifestGroup(
        variables={"données": Variable(("βeta",), chunk_file.array(w, (3,)), {"clé": "é"})},
        attrs={"名前": "グループ"},
    )
    root = ManifestGroup(
        variables={
            "température": Variable(("x axis",), chunk_file.array(v, (4,)), {"ünits": "°C"}),
            "with.dot-and space": Variable(("x axis",), v.copy(), {}),
        },
        groups={"Gruppe_ü": child},
    )
    return root, {"température": v, "with.dot-and space": v, "Gruppe_ü/données": w}


def empty_case(chunk_file: ChunkFile) -> Case:
    """Arrays with a zero-length axis, virtual (no chunks at all) and loaded."""
    e1 = np.zeros((0,), "<f8")
    e2 = np.zeros((3, 0), "<i4")
    variables = {
        "virtual_1d": Variable(("n",), chunk_file.array(e1, (4,)), {}),
        "virtual_2d": Variable(("m", "k"), chunk_file.array(e2, (2, 2)), {}),
        "loaded_1d": Variable(("n",), e1.copy(), {}),
    }
    return ManifestGroup(variables=variables), {"virtual_1d": e1, "virtual_2d": e2, "loaded_1d": e1}


def packed_case(chunk_file: ChunkFile) -> Case:
    """Packed int16 arrays, with float32 and with float64 packing attributes.

    The float32 ones (virtual and loaded) would decode to float64 from a store (refused
    unless ``allow_float64_decoding``); the float64 one decodes alike and is always written.
    """
    raw = np.array([-3, 0, 7, 12, 300, -32767, 5], "<i2")
    f4 = {"scale_factor": np.float32(0.1), "add_offset": np.float32(273.15)}
    variables = {
        "packed_f4": Variable(("x",), chunk_file.array(raw, (3,)), dict(f4)),
        "loaded_packed_f4": Variable(("x",), raw.copy(), {"scale_factor": np.float32(0.5)}),
        "packed_f8": Variable(
            ("x",), chunk_file.array(raw, (3,)), {"scale_factor": np.float64(0.1)}
        ),
    }
    expected = {"packed_f4": raw, "loaded_packed_f4": raw, "packed_f8": raw}
    return ManifestGroup(variables=variables), expected


UNWRITABLE = (
    "attribute-not-json",
    "attribute-not-utf8",
    "variable-name-with-slash",
    "variable-name-dotdot",
    "group-name-empty",
    "variable-and-group-clash",
    "dimension-with-two-lengths",
    "object-array",
    "bad-attribute-deep-in-the-tree",
)
"""Trees a writer must refuse with a VZError (see :func:`unwritable_case`)."""


def unwritable_case(chunk_file: ChunkFile, what: str) -> ManifestGroup:
    """Return the tree of :data:`UNWRITABLE` named ``what``."""
    good = chunk_file.array(np.arange(4.0), (2,))

    def tree(**kw: Any) -> ManifestGroup:
        return ManifestGroup(variables={"ok": Variable(("x",), good, {})}, **kw)

    def one(name: str) -> ManifestGroup:
        return ManifestGroup(variables={name: Variable(("x",), good, {})})

    if what == "attribute-not-json":
        return tree(attrs={"bad": object()})
    if what == "attribute-not-utf8":
        return tree(attrs={"b": b"\xff\xfe"})
    if what == "variable-name-with-slash":
        return one("a/b")
    if what == "variable-name-dotdot":
        return one("..")
    if what == "group-name-empty":
        return tree(groups={"": ManifestGroup()})
    if what == "variable-and-group-clash":
        return tree(groups={"ok": ManifestGroup()})
    if what == "dimension-with-two-lengths":
        return ManifestGroup(
            variables={
                "ok": Variable(("x",), good, {}),
                "other": Variable(("x",), np.arange(3.0), {}),
            }
        )
    if what == "object-array":
        obj = np.empty(2, dtype=object)
        obj[:] = [object(), object()]
        return tree(groups={"g": ManifestGroup(variables={"o": Variable(("y",), obj, {})})})
    if what == "bad-attribute-deep-in-the-tree":
        leaf = ManifestGroup(variables={"v": Variable(("x",), good, {"bad": {1, 2}})})
        return tree(groups={"g": ManifestGroup(groups={"h": leaf})})
    raise ValueError(f"unknown case {what!r}; choose from {UNWRITABLE}")
