"""Dataset metadata decoded from object headers equals h5py's, case for case.

A differential test: generated files cover dtypes (both byte orders, strings, compound,
vlen, enum, arrays), fill values set and unset and fill times, chunked, contiguous and
compact layouts, filters (gzip, shuffle, fletcher32, lzf, scaleoffset, nbit, szip),
unlimited, scalar and empty datasets, dimension scales with attributes, a user block, and
old and new object headers (``libver="earliest"`` and ``"latest"``). For every dataset that
:func:`header_dataset` decodes, each field must equal what h5py reports; the reader's
whole output must be the same with the decoded metadata and with h5py alone. The same
comparison runs over every HDF5 file of the real-file corpus when its cache is present.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from vz_hdf5._header_attrs import attrs_and_messages
from vz_hdf5._header_dataset import HeaderDataset, header_dataset
from vz_hdf5._reader import HDF5Reader, _ReadOnlyDataset

from .conftest import heap_guard

CORPUS = Path(__file__).resolve().parents[3] / "corpus" / ".cache" / "files"

NUMBERS = ["<i1", "<u1", "<i2", ">i2", "<u2", "<i4", ">i4", "<u4", "<i8", ">u8", "<f2", ">f2",
           "<f4", ">f4", "<f8", ">f8"]  # fmt: skip


def _decode(dset: h5py.Dataset, fd: int) -> HeaderDataset | None:
    guard = heap_guard(dset, fd)
    found = attrs_and_messages(guard, int(h5py.h5g.get_objinfo(dset.id).objno[0]))
    return None if found is None else header_dataset(found[4], guard.o, guard.lsize)


def _same_value(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a.dtype.str == b.dtype.str and a.tobytes() == b.tobytes()


def check_dataset(dset: h5py.Dataset, fd: int) -> bool:
    """Assert every decoded field equals h5py's; return whether the header was decoded."""
    found = _decode(dset, fd)
    if found is None:
        return False
    where = f"{dset.file.filename}:{dset.name}"
    plist = dset.id.get_create_plist()
    assert found.shape == dset.shape, where
    assert found.maxshape == dset.maxshape, where
    assert found.dtype == dset.dtype, where
    assert found.dtype.str == dset.dtype.str, where
    assert dset.dtype.metadata is None, where  # (h5py gives no enum/string metadata)
    assert found.layout == plist.get_layout(), where
    assert found.chunks == dset.chunks, where
    if found.layout == h5py.h5d.CONTIGUOUS:
        base = int(dset.file.id.get_create_plist().get_userblock())
        expect = dset.id.get_offset()
        if expect == base - 1:  # HDF5's undefined address plus the user block (wrapped)
            expect = None
        assert (None if found.address is None else found.address + base) == expect, where
    filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
    assert [f[:3] for f in found.filters] == [
        (int(f[0]), int(f[1]), tuple(int(c) for c in f[2])) for f in filters
    ], where
    if plist.fill_value_defined() == h5py.h5d.FILL_VALUE_USER_DEFINED:
        assert found.fill is not None, where
        assert _same_value(found.fill, dset.fillvalue), where
    else:
        assert found.fill is None, where
    assert found.writes_no_fill == (plist.get_fill_time() == h5py.h5d.FILL_TIME_NEVER), where
    return True


def check_file(path: Path) -> tuple[int, int]:
    """Check every dataset of ``path``; return (datasets, decoded)."""
    datasets: list[h5py.Dataset] = []
    fd = os.open(path, os.O_RDONLY)
    try:
        with h5py.File(path, "r") as f:
            f.visititems(lambda _, o: datasets.append(o) if isinstance(o, h5py.Dataset) else None)
            decoded = sum(check_dataset(d, fd) for d in datasets)
    finally:
        os.close(fd)
    return len(datasets), decoded


# -- generated files ----------------------------------------------------------------------


def _write_cases(f: h5py.File) -> dict[str, bool]:
    """Write one dataset per case; return, per name, whether it must decode natively."""
    expect: dict[str, bool] = {}
    data = np.arange(60).reshape(6, 10)
    for code in NUMBERS:
        dt = np.dtype(code)
        name = code.replace("<", "le_").replace(">", "be_")
        f.create_dataset(f"chunked_{name}", data=data.astype(dt), chunks=(4, 3),
                         fillvalue=dt.type(7))  # fmt: skip
        f.create_dataset(f"contig_{name}", data=data.astype(dt))
        f.create_dataset(f"compact_{name}", data=data.astype(dt), dcpl=_compact())
        expect.update(dict.fromkeys((f"chunked_{name}", f"contig_{name}", f"compact_{name}"), True))
    f.create_dataset("nan_fill", data=np.ones(5, "f4"), chunks=(2,), fillvalue=np.nan)
    f.create_dataset("gzip", data=data, chunks=(3, 5), compression="gzip", compression_opts=6)
    f.create_dataset("shuffle_gzip_f32", data=data.astype("f4"), chunks=(3, 5), shuffle=True,
                     compression="gzip", fletcher32=True)  # fmt: skip
    f.create_dataset("lzf", data=data, chunks=(3, 5), compression="lzf")
    f.create_dataset("scaleoffset", data=data.astype("i4"), chunks=(3, 5), scaleoffset=0)
    f.create_dataset("scaleoffset_f", data=data.astype("f8"), chunks=(3, 5), scaleoffset=2)
    f.create_dataset("unlimited", data=data, chunks=(2, 10), maxshape=(None, 10))
    f.create_dataset("unlimited_both", data=data, chunks=(2, 2), maxshape=(None, None))
    f.create_dataset("bounded", data=data, chunks=(2, 10), maxshape=(12, 10))
    f.create_dataset("empty_chunked", shape=(0, 4), dtype="f4", chunks=(1, 4), maxshape=(None, 4))
    f.create_dataset("unallocated", shape=(5,), dtype="i2", fillvalue=-1)
    f.create_dataset("scalar", data=np.float64(3.5))
    f.create_dataset("scalar_fill", shape=(), dtype="i4", fillvalue=9)
    f.create_dataset("no_fill_time", shape=(8,), dtype="i4", chunks=(4,), fill_time="never")
    f.create_dataset("fill_time_alloc", shape=(8,), dtype="i4", chunks=(4,), fill_time="alloc",
                     fillvalue=3)  # fmt: skip
    f.create_dataset("null", data=h5py.Empty("f4"))
    f.create_dataset("fixed_str", data=np.array([b"ab", b"c"], "S2"))
    f.create_dataset("vlen_str", data=["a", "bc"], dtype=h5py.string_dtype())
    f.create_dataset("compound", data=np.zeros(3, [("a", "<i4"), ("b", ">f8")]))
    f.create_dataset("vlen_int", shape=(2,), dtype=h5py.vlen_dtype("i4"))
    f.create_dataset("enum", data=np.arange(3, dtype="i1"),
                     dtype=h5py.enum_dtype({"a": 0, "b": 1, "c": 2}, basetype="i1"))  # fmt: skip
    f.create_dataset("array_type", shape=(3,), dtype=np.dtype(("<f4", (2,))))
    f.create_dataset("bool", data=np.array([True, False]))
    f.create_dataset("complex", data=np.ones(3, "c8"))
    f["committed_t"] = np.dtype("<i4")
    f.create_dataset("committed", shape=(3,), dtype=f["committed_t"])
    f.create_dataset("external", shape=(4,), dtype="i4", external=[("ext.bin", 0, 16)])
    f.create_dataset("nbit", data=data.astype("i4"), chunks=(3, 5),
                     compression=h5py.h5z.FILTER_NBIT)  # fmt: skip
    if h5py.h5z.filter_avail(h5py.h5z.FILTER_SZIP):
        with contextlib.suppress(ValueError, OSError):  # (an HDF5 with decode-only szip)
            f.create_dataset("szip", data=data.astype("i4"), chunks=(3, 5), compression="szip")
    scale = f.create_dataset("x", data=np.arange(10.0, dtype=">f8"))
    scale.make_scale("x")
    scale.attrs["units"] = "m"
    f["gzip"].dims[1].attach_scale(scale)
    for name in ("gzip", "shuffle_gzip_f32", "lzf", "scaleoffset", "unlimited", "empty_chunked",
                 "unallocated", "scalar", "scalar_fill", "no_fill_time", "x", "nan_fill"):  # fmt: skip
        expect[name] = True
    for name in ("null", "fixed_str", "vlen_str", "compound", "vlen_int", "enum", "array_type",
                 "committed", "external", "bool", "complex"):  # fmt: skip
        expect[name] = False
    return expect


def _compact() -> h5py.h5p.PropDCID:
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    return dcpl


@pytest.fixture(
    scope="module",
    params=[("earliest", 0), ("latest", 0), ("earliest", 512), ("v110", 0)],
    ids=["earliest", "latest", "userblock", "v110"],
)
def case_file(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, bool]]:
    libver, userblock = request.param
    path = tmp_path_factory.mktemp("hdr") / f"cases_{libver}_{userblock}.h5"
    kwargs: dict[str, Any] = {"userblock_size": userblock} if userblock else {}
    with h5py.File(path, "w", libver=(libver, "latest"), **kwargs) as f:
        expect = _write_cases(f)
    return path, expect


def test_decoded_fields_equal_h5py(case_file: tuple[Path, dict[str, bool]]) -> None:
    path, expect = case_file
    fd = os.open(path, os.O_RDONLY)
    try:
        with h5py.File(path, "r") as f:
            for name, native in expect.items():
                decoded = check_dataset(f[name], fd)
                if not native:
                    assert not decoded, f"{name} must be left to h5py"
                elif not decoded:  # (layout messages of version 5, HDF5 2.0, are left)
                    assert _layout_version(f[name]) > 4, f"{name} not decoded"
    finally:
        os.close(fd)


def test_decoded_fields_equal_h5py_when_cached(case_file: tuple[Path, dict[str, bool]]) -> None:
    """A message set decoded before (another file's alike dataset) gives h5py's fields too.

    The cache is emptied and filled by a first pass; the second pass takes every result
    from it (the very objects of the first pass) and each field still equals h5py's.
    """
    from vz_hdf5 import _header_dataset

    path, expect = case_file
    fd = os.open(path, os.O_RDONLY)
    try:
        with h5py.File(path, "r") as f:
            _header_dataset._DECODED.clear()
            first = {name: _decode(f[name], fd) for name in expect}
            assert _header_dataset._DECODED
            for name, native in expect.items():
                again = _decode(f[name], fd)
                assert again is first[name], name  # (from the cache)
                decoded = check_dataset(f[name], fd)
                assert decoded == (again is not None), name
                if not native:
                    assert not decoded, f"{name} must be left to h5py"
    finally:
        os.close(fd)


def _layout_version(dset: h5py.Dataset) -> int:
    from vz_hdf5._btree import read_layout_message

    fcpl = dset.file.id.get_create_plist()
    sizeof_addr, sizeof_len = fcpl.get_sizes()
    with open(dset.file.filename, "rb") as fh:
        layout = read_layout_message(
            lambda off, n: os.pread(fh.fileno(), n, off),
            int(h5py.h5g.get_objinfo(dset.id).objno[0]),
            base=int(fcpl.get_userblock()),
            sizeof_addr=sizeof_addr,
            sizeof_len=sizeof_len,
        )
    assert layout is not None
    return layout[0]


def _reader_output(path: Path, monkeypatch: pytest.MonkeyPatch, native: bool) -> Any:
    with monkeypatch.context() as m:
        if not native:
            m.setattr(_ReadOnlyDataset, "set_header", lambda self, header, layout=None: None)
        return HDF5Reader().read(
            "file://" + str(path), drop_variables=["external"], skip_unsupported=True
        )


def test_reader_output_same_with_and_without_header_metadata(
    case_file: tuple[Path, dict[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = case_file
    from vzcore.errors import VZSkippedPartsWarning

    with pytest.warns(VZSkippedPartsWarning):
        native = _reader_output(path, monkeypatch, True)
    with pytest.warns(VZSkippedPartsWarning):
        plain = _reader_output(path, monkeypatch, False)
    assert list(native.variables) == list(plain.variables)
    assert len(native.variables) > 40
    for name, var in native.variables.items():
        other = plain.variables[name]
        assert var.dims == other.dims, name
        assert var.attrs.keys() == other.attrs.keys(), name
        a, b = var.data, other.data
        if isinstance(a, np.ndarray):
            assert isinstance(b, np.ndarray), name
            assert a.tobytes() == b.tobytes(), name
            continue
        ma, mb = a.metadata, b.metadata
        assert (ma.shape, ma.dtype.str, ma.chunk_shape, ma.codecs, ma.dimension_names, ma.extra) == (
            mb.shape, mb.dtype.str, mb.chunk_shape, mb.codecs, mb.dimension_names, mb.extra
        ), name  # fmt: skip
        assert repr(ma.fill_value) == repr(mb.fill_value), name
        assert type(ma.fill_value) is type(mb.fill_value), name
        for field in ("path_index", "offsets", "lengths"):
            assert np.array_equal(getattr(a.manifest, field), getattr(b.manifest, field)), name
        assert a.manifest.inline == b.manifest.inline, name


@pytest.mark.slow
@pytest.mark.skipif(
    not CORPUS.is_dir() or not os.environ.get("VZCORE_CORPUS_TESTS"),
    reason="real-file corpus cache absent or VZCORE_CORPUS_TESTS unset",
)
def test_corpus_files_decode_as_h5py_reads_them() -> None:
    """Every dataset of every HDF5 file in the corpus: decoded fields equal h5py's."""
    checked = decoded = 0
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file() and h5py.is_hdf5(p)):
        try:
            n, d = check_file(path)
        except (OSError, KeyError, ValueError, RuntimeError):
            continue  # files h5py itself cannot walk (the corpus holds damaged files)
        checked += n
        decoded += d
    print(f"{checked} datasets, {decoded} decoded from their headers")
    assert decoded > 0
