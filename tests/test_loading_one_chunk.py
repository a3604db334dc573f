"""``load_values``' path for an array of one chunk of its own shape equals the general path.

A loaded coordinate of a small file is usually one contiguous chunk: ``load_values`` reads
it with ``_one_chunk`` instead of walking the chunk grid (``_load_chunks``). Both must give
the same array (dtype with its byte order, shape, values, C order, writable, not a view of
the chunk's bytes) and the same errors, for chunks in a real file, inline and missing, with
and without codecs, for numbers, compound, byte-string, datetime, variable-length string
and 0-d arrays; arrays of several chunks, partial chunks or rectilinear grids take the
general path.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest

from vzcore.errors import CorruptFileError, ShortReadError
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray, loading

ZLIB = ({"id": "zlib", "level": 1},)
SHUFFLE_ZLIB = ({"id": "shuffle", "elementsize": 4}, {"id": "zlib", "level": 1})


def _encode(values: np.ndarray, codecs: tuple[dict[str, Any], ...]) -> bytes:
    if values.dtype == object:
        return bytes(numcodecs.VLenUTF8().encode(values))
    data: Any = values.tobytes()
    for config in codecs:  # (the metadata lists them in encoding order)
        data = numcodecs.get_codec(dict(config)).encode(data)
    return bytes(data)


CASES: dict[str, tuple[np.ndarray, tuple[dict[str, Any], ...], Any]] = {
    "float32": (np.linspace(0, 1, 10, dtype="<f4"), (), np.float32(9.96921e36)),
    "int16_be": (np.arange(-3, 4, dtype=">i2"), (), None),
    "uint8": (np.arange(5, dtype="u1"), (), 255),
    "float64_zlib": (np.arange(6, dtype="<f8") / 7, ZLIB, np.nan),
    "int32_shuffle_zlib": (np.arange(8, dtype="<i4") * 1000, SHUFFLE_ZLIB, 0),
    "2d": (np.arange(12, dtype="<f4").reshape(3, 4), (), None),
    "scalar": (np.array(2.5, dtype="<f8"), (), None),
    "compound": (
        np.array([(1, 2.0), (3, 4.0)], dtype=[("a", "<i4"), ("b", ">f8")]),
        (),
        None,
    ),
    "bytes": (np.array([b"ab", b"c", b""], dtype="S2"), (), b""),
    "datetime": (np.array([0, 86400], dtype="M8[s]"), (), None),
    "vlen": (np.array(["a", "bc", ""], dtype=object), ({"id": "vlen-utf8"},), ""),
}


def _array(
    tmp_path: Path, values: np.ndarray, codecs: tuple[dict[str, Any], ...], fill: Any, where: str
) -> ManifestArray:
    meta = ArrayMetadata(
        shape=values.shape,
        dtype=values.dtype,
        chunk_shape=values.shape,
        codecs=codecs,
        fill_value=fill,
    )
    payload = _encode(values, codecs)
    grid = (1,) * values.ndim
    index = (0,) * values.ndim
    if where == "inline":
        refs: dict[tuple[int, ...], Any] = {index: payload}
    elif where == "missing":
        refs = {}
    else:
        path = tmp_path / "chunks.bin"
        path.write_bytes(b"\x00" * 7 + payload + b"\x00" * 3)
        length = len(payload) + (100 if where == "short" else 0)
        refs = {index: (path.as_uri(), 7, length)}
    return ManifestArray(meta, ChunkManifest.from_refs(refs, grid))


def _outcome(fn: Any, array: ManifestArray) -> tuple[str, Any]:
    handles: dict[str, Any] = {}
    try:
        if fn is loading._one_chunk:  # (it takes the chunk reader load_values gives it)
            fetch = functools.partial(loading._chunk_bytes, storage_options=None, handles=handles)
            out = fn(array, fetch, "v")
        else:
            out = fn(array, None, handles, "v")
    except Exception as err:  # noqa: BLE001  # the errors must match too
        return "error", (type(err), str(err))
    finally:
        for f in handles.values():
            f.close()
    assert isinstance(out, np.ndarray)
    assert out.flags.c_contiguous
    assert out.flags.writeable
    payload = out.tolist() if out.dtype.hasobject else out.tobytes()
    return "ok", (out.dtype.str, out.dtype.descr, out.shape, payload, out.base is None)


@pytest.mark.parametrize("where", ["file", "inline", "missing"])
@pytest.mark.parametrize("case", list(CASES))
def test_one_chunk_equals_general_path(tmp_path: Path, case: str, where: str) -> None:
    values, codecs, fill = CASES[case]
    if where == "missing" and case == "datetime":
        fill = None  # (no datetime fill value to compare)
    array = _array(tmp_path, values, codecs, fill, where)
    got = _outcome(loading._one_chunk, array)
    want = _outcome(loading._load_chunks, array)
    assert got == want
    assert got[0] == "ok"
    if where != "missing":
        assert loading.load_values(array).tolist() == values.tolist()


@pytest.mark.parametrize(
    ("fill", "damage", "error"),
    [
        (300, None, OverflowError),  # a fill value uint8 cannot hold: the output's fill fails
        (None, "short", ShortReadError),
        (None, "corrupt", CorruptFileError),
        (None, "size", CorruptFileError),
    ],
)
def test_same_errors(tmp_path: Path, fill: Any, damage: str | None, error: type) -> None:
    values = np.arange(6, dtype="u1")
    codecs: tuple[dict[str, Any], ...] = ZLIB if damage == "corrupt" else ()
    array = _array(tmp_path, values, codecs, fill, "short" if damage == "short" else "file")
    if damage == "corrupt":
        path = Path(array.manifest.paths[0].removeprefix("file://"))
        path.write_bytes(b"\x00" * 7 + b"not zlib" + b"\x00" * 100)
    if damage == "size":
        meta = array.metadata.replace(shape=(5,), chunk_shape=(5,))
        array = ManifestArray(meta, array.manifest)
    got = _outcome(loading._one_chunk, array)
    assert got == _outcome(loading._load_chunks, array)
    assert got[0] == "error"
    assert got[1][0] is error
    with pytest.raises(error):
        loading.load_values(array)


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    taken: list[str] = []
    for name in ("_one_chunk", "_load_chunks"):
        real = getattr(loading, name)

        def spy(*args: Any, _real: Any = real, _name: str = name) -> Any:
            taken.append(_name)
            return _real(*args)

        monkeypatch.setattr(loading, name, spy)
    return taken


def test_which_arrays_take_the_short_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = _spy(monkeypatch)
    values = np.arange(10, dtype="<f4")
    loading.load_values(_array(tmp_path, values, (), None, "file"))
    assert taken == ["_one_chunk"]

    # two chunks, a chunk larger than the array, a rectilinear grid: the general path
    path = tmp_path / "two.bin"
    path.write_bytes(values.tobytes())
    two = ManifestArray(
        ArrayMetadata(shape=(10,), dtype=values.dtype, chunk_shape=(5,)),
        ChunkManifest.from_refs(
            {(0,): (path.as_uri(), 0, 20), (1,): (path.as_uri(), 20, 20)}, (2,)
        ),
    )
    partial = ManifestArray(
        ArrayMetadata(shape=(3,), dtype=values.dtype, chunk_shape=(4,)),
        ChunkManifest.from_refs({(0,): (path.as_uri(), 0, 16)}, (1,)),
    )
    for array, want in ((two, values), (partial, values[:3])):
        taken.clear()
        assert loading.load_values(array).tobytes() == want.tobytes()
        assert taken == ["_load_chunks"]


def test_file_handles_closed_or_left_to_the_caller(tmp_path: Path) -> None:
    array = _array(tmp_path, np.arange(4, dtype="<i8"), (), None, "file")
    handles: dict[str, Any] = {}
    loading.load_values(array, None, handles)
    assert len(handles) == 1
    assert not next(iter(handles.values())).closed
    next(iter(handles.values())).close()
