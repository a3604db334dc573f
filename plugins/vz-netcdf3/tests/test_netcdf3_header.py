"""The header parser on hand-built headers: every field checked, every failure a CorruptFileError."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
import pytest

pytest.importorskip("vz_netcdf3")

from vzcore.errors import CorruptFileError

from vz_netcdf3._header import NC_TYPES, parse_header

URL = "memory://hand-built.nc"


class Source:
    def __init__(self, data: bytes, known_size: bool = True) -> None:
        self.data = data
        self.known_size = known_size

    @property
    def size(self) -> int | None:
        return len(self.data) if self.known_size else None

    def read(self, start: int, stop: int) -> bytes:
        return self.data[start:stop]


@dataclass
class Build:
    """Assemble a header field by field, as the specification spells it."""

    version: int = 1
    numrecs: int = 0
    dims: list[tuple[str, int]] = field(default_factory=list)
    gatts: list[tuple[str, int, bytes, int]] = field(default_factory=list)
    # (name, dim ids, attributes, nc_type, vsize, begin or None for "next free")
    variables: list[tuple[str, list[int], list, int, int, int | None]] = field(default_factory=list)
    data: bytes = b""
    raw_tags: dict[str, int] = field(default_factory=dict)

    def nn(self, x: int) -> bytes:
        if self.version == 5:
            return struct.pack(">q", x)
        return struct.pack(">I" if x >= 0 else ">i", x)  # unsigned; negatives for hostility

    def off(self, x: int) -> bytes:
        return struct.pack(">i" if self.version == 1 else ">q", x)

    def name(self, s: str | bytes) -> bytes:
        b = s.encode() if isinstance(s, str) else s
        return self.nn(len(b)) + b + b"\x00" * (-len(b) % 4)

    def atts(self, atts: list[tuple[str, int, bytes, int]]) -> bytes:
        if not atts:
            return b"\x00\x00\x00\x00" + self.nn(0)
        out = struct.pack(">i", 12) + self.nn(len(atts))
        for name, t, raw, n in atts:
            out += self.name(name) + struct.pack(">i", t) + self.nn(n) + raw
            out += b"\x00" * (-len(raw) % 4)
        return out

    def header(self, begins: list[int]) -> bytes:
        magic = {1: b"CDF\x01", 2: b"CDF\x02", 5: b"CDF\x05"}[self.version]
        out = magic + self.nn(self.numrecs)
        if self.dims:
            out += struct.pack(">i", self.raw_tags.get("dim", 10)) + self.nn(len(self.dims))
            for n, length in self.dims:
                out += self.name(n) + self.nn(length)
        else:
            out += b"\x00\x00\x00\x00" + self.nn(0)
        out += self.atts(self.gatts)
        if self.variables:
            out += struct.pack(">i", self.raw_tags.get("var", 11)) + self.nn(len(self.variables))
            for (n, ids, atts, t, vsize, _), begin in zip(self.variables, begins, strict=True):
                out += self.name(n) + self.nn(len(ids)) + b"".join(self.nn(i) for i in ids)
                out += self.atts(atts) + struct.pack(">i", t) + self.nn(vsize) + self.off(begin)
        else:
            out += b"\x00\x00\x00\x00" + self.nn(0)
        return out

    def bytes(self) -> bytes:
        # First pass to learn the header size, then lay the data right after it.
        size = len(self.header([0] * len(self.variables)))
        begins = [size if v[5] is None else v[5] for v in self.variables]
        return self.header(begins) + self.data


def parse(data: bytes, **kw):
    return parse_header(Source(data), URL, **kw)


def corrupt(data: bytes, match: str) -> None:
    with pytest.raises(CorruptFileError, match=match) as info:
        parse(data)
    assert URL in str(info.value)


def f4_var(name: str = "v", ids: list[int] | None = None, begin: int | None = None, **kw):
    return (name, [0] if ids is None else ids, kw.get("atts", []), 5, 8, begin)


@pytest.mark.parametrize("version", [1, 2, 5])
def test_hand_built_header(version):
    b = Build(
        version=version,
        numrecs=2,
        dims=[("t", 0), ("x", 2)],
        gatts=[("title", 2, b"hi", 2), ("n", 3, struct.pack(">hh", 1, -2), 2)],
        variables=[("r", [0, 1], [("_FillValue", 5, struct.pack(">f", -1), 1)], 5, 8, None)],
        data=struct.pack(">4f", 1, 2, 3, 4),
    )
    h = parse(b.bytes())
    assert h.version == version
    assert h.numrecs == 2
    assert [d.name for d in h.dimensions] == ["t", "x"]
    assert h.attributes[0].raw == b"hi"
    np.testing.assert_array_equal(h.attributes[1].values, [1, -2])
    (v,) = h.variables
    assert v.shape == (2, 2)
    assert v.is_record
    assert h.recsize == 8  # lone record variable
    assert v.begin == h.header_size
    assert v.attribute("_FillValue").values[0] == -1


def test_absent_lists():
    h = parse(Build().bytes())
    assert h.dimensions == h.attributes == h.variables == ()
    assert h.recsize == 0


def test_types_per_version():
    for code in range(7, 12):
        t = NC_TYPES[code]
        raw = b"\x00" * t.size
        assert parse(Build(version=5, gatts=[("a", code, raw, 1)]).bytes()).attributes
        corrupt(Build(version=1, gatts=[("a", code, raw, 1)]).bytes(), "type code")
    for bad in (0, 12, -1, 2**31 - 1):
        corrupt(Build(version=5, gatts=[("a", bad, b"", 0)]).bytes(), "type code")


def test_bad_magic():
    corrupt(b"CDF\x03" + b"\x00" * 28, "starts with")
    corrupt(b"\x89HDF\r\n\x1a\n", "starts with")
    corrupt(b"", "the file ends")
    corrupt(b"CD", "the file ends")


def test_record_count():
    corrupt(Build(version=5, numrecs=-2).bytes(), "record count is negative")
    # CDF-1/CDF-2 counts are unsigned: 0xFFFFFFFE records (none stored: no record variable).
    assert parse(Build(version=2, numrecs=-2).bytes()).numrecs == 2**32 - 2
    b = Build(version=2, numrecs=-2, dims=[("t", 0)], variables=[f4_var(ids=[0])])
    b.data = b"\0" * 16
    corrupt(b.bytes(), "file has only")


def test_streaming_without_records():
    assert parse(Build(numrecs=-1).bytes()).numrecs == 0


@pytest.mark.parametrize("known_size", [True, False])
def test_truncated_everywhere(known_size):
    b = Build(
        dims=[("x", 2)],
        gatts=[("title", 2, b"hello", 5)],
        variables=[f4_var(atts=[("units", 2, b"m", 1)])],
        data=b"\x00" * 8,
    )
    data = b.bytes()
    header_size = parse(data).header_size
    # Without a known size only the header can be checked; with it, the data too.
    for cut in range(len(data) if known_size else header_size):
        with pytest.raises(CorruptFileError):
            parse_header(Source(data[:cut], known_size), URL)
    assert header_size < len(data)


def test_bad_list_tags():
    b = Build(dims=[("x", 1)], raw_tags={"dim": 11})
    corrupt(b.bytes(), "dimension list starts with tag 11")
    b = Build(dims=[("x", 1)], variables=[f4_var(ids=[0])], raw_tags={"var": 12})
    corrupt(b.bytes(), "variable list starts with tag 12")
    data = bytearray(Build(version=2).bytes())
    data[12:16] = struct.pack(">i", 3)  # ABSENT tag with a non-zero count
    corrupt(bytes(data), "marked absent but claims 3")


def test_huge_counts_are_refused_before_allocating():
    data = bytearray(Build(version=5, dims=[("x", 1)]).bytes())
    data[16:24] = struct.pack(">q", 2**62)  # dimension count
    corrupt(bytes(data), "claims 4611686018427387904 entries")
    b = Build(gatts=[("a", 6, b"", 0)])
    data = bytearray(b.bytes())
    data[-12:-8] = struct.pack(">i", 2**31 - 1)  # value count of attribute "a" (doubles)
    corrupt(bytes(data), "more than the")


def test_names():
    corrupt(Build(dims=[("", 1)]).bytes(), "empty name")
    corrupt(Build(dims=[("a/b", 1)]).bytes(), "contains '/'")
    corrupt(Build(dims=[("x", 1), ("x", 2)]).bytes(), "defined twice")
    corrupt(Build(gatts=[("a", 2, b"x", 1), ("a", 2, b"y", 1)]).bytes(), "appears twice")
    data = bytearray(Build(dims=[("x", 1)]).bytes())
    data[16:20] = struct.pack(">i", -4)  # name length, unsigned: 4294967292
    corrupt(bytes(data), "more than the")
    data = bytearray(Build(version=5, dims=[("x", 1)]).bytes())
    data[24:32] = struct.pack(">q", -4)  # CDF-5 name length: signed 64-bit
    corrupt(bytes(data), "negative")
    b = Build(dims=[("x", 1)], variables=[f4_var("v", [0]), f4_var("v", [0])], data=b"\0" * 8)
    corrupt(b.bytes(), "'v' is defined twice")
    assert parse(Build(dims=[("température", 1)]).bytes()).dimensions[0].name == "température"
    # not UTF-8: a valid file all the same, its names read as Latin-1 (as scipy.io.netcdf does)
    assert parse(Build(dims=[(b"\xb5m", 1)]).bytes()).dimensions[0].name == "\xb5m"


def test_dimensions():
    corrupt(Build(dims=[("t", 0), ("u", 0)]).bytes(), "several dimensions are unlimited")
    b = Build(dims=[("x", 2)], variables=[f4_var(ids=[3])], data=b"\0" * 8)
    corrupt(b.bytes(), "dimension id 3 but only 1")
    b = Build(dims=[("t", 0), ("x", 2)], variables=[f4_var(ids=[1, 0])], data=b"\0" * 8)
    corrupt(b.bytes(), "record dimension 't' on axis 1")
    b = Build(dims=[("x", 1)], variables=[("v", [0] * 1025, [], 5, 4, None)], data=b"\0" * 4)
    corrupt(b.bytes(), "1025 dimensions")


def test_offsets_and_sizes():
    b = Build(dims=[("x", 2)], variables=[f4_var(ids=[0], begin=8)], data=b"\0" * 8)
    corrupt(b.bytes(), "inside the header")
    b = Build(dims=[("x", 2)], variables=[f4_var(ids=[0])], data=b"\0" * 7)
    corrupt(b.bytes(), "file has only")
    b = Build(dims=[("x", 2**30)], variables=[f4_var(ids=[0])], data=b"\0" * 8)
    corrupt(b.bytes(), "file has only")
    data = bytearray(Build(dims=[("x", 2)], variables=[f4_var(ids=[0])], data=b"\0" * 8).bytes())
    data[-12:-8] = struct.pack(">i", -1)  # begin (CDF-1: signed 32-bit)
    corrupt(bytes(data), "negative")
    # Two fixed-size variables sharing bytes.
    b0 = Build(dims=[("x", 2)], variables=[f4_var("a"), f4_var("b")])
    size = len(b0.bytes())
    b = Build(
        dims=[("x", 2)],
        variables=[f4_var("a", begin=size), f4_var("b", begin=size + 4)],
        data=b"\0" * 12,
    )
    corrupt(b.bytes(), "'a' overlaps that of variable 'b'")
    b = Build(
        dims=[("x", 2)],
        variables=[f4_var("a", begin=size), f4_var("b", begin=size + 8)],
        data=b"\0" * 16,
    )
    assert len(parse(b.bytes()).variables) == 2


def test_record_layout_checks():
    dims = [("t", 0), ("x", 1)]
    b0 = Build(numrecs=2, dims=dims, variables=[f4_var("a", [0, 1]), f4_var("b", [0, 1])])
    size = len(b0.bytes())

    def two(begin_b: int, fixed_begin: int | None = None) -> Build:
        variables = [f4_var("a", [0, 1], begin=size), f4_var("b", [0, 1], begin=begin_b)]
        return Build(numrecs=2, dims=dims, variables=variables, data=b"\0" * 64)

    h = parse(two(size + 4).bytes())
    assert h.recsize == 8
    assert [v.begin for v in h.variables] == [size, size + 4]
    corrupt(two(size + 2).bytes(), "record slabs of variables 'a' and 'b' overlap")
    corrupt(two(size + 8).bytes(), "does not fit in the 8-byte record")
    # Zero records: record variables hold no byte, any offsets are accepted (scipy: vsize 0).
    b = Build(
        numrecs=0,
        dims=dims,
        variables=[f4_var("a", [0, 1], begin=size), f4_var("b", [0, 1], begin=size)],
    )
    assert parse(b.bytes()).numrecs == 0


def test_lone_record_variable_is_not_padded():
    dims = [("t", 0), ("x", 3)]
    b = Build(numrecs=3, dims=dims, variables=[("c", [0, 1], [], 1, 3, None)], data=b"abcdefghi")
    assert parse(b.bytes()).recsize == 3
    # Two record variables: each 3-byte slab is padded to 4.
    b = Build(numrecs=2, dims=dims, data=b"abc\0ABC\0def\0DEF\0")
    b.variables = [("c", [0, 1], [], 1, 4, 0), ("d", [0, 1], [], 1, 4, 0)]
    size = len(b.header([0, 0]))
    b.variables = [("c", [0, 1], [], 1, 4, size), ("d", [0, 1], [], 1, 4, size + 4)]
    h = parse(b.bytes())
    assert h.recsize == 8
    assert h.header_size == size


def test_streaming_counts_complete_records():
    dims = [("t", 0), ("x", 3)]
    b = Build(numrecs=-1, dims=dims, variables=[("c", [0, 1], [], 1, 3, None)], data=b"abcdefgh")
    h = parse(b.bytes())
    assert h.streaming
    assert h.numrecs == 2  # the third record is incomplete
    with pytest.raises(CorruptFileError, match="STREAMING and the file size is unknown"):
        parse_header(Source(b.bytes(), known_size=False), URL)


def test_unknown_size_reads_on_until_the_end():
    b = Build(
        dims=[("x", 2)], gatts=[("h", 2, b"x" * 1000, 1000)], variables=[f4_var()], data=b"\0" * 8
    )
    h = parse_header(Source(b.bytes(), known_size=False), URL, block_size=64)
    assert h.file_size is None
    assert h.variables[0].shape == (2,)


@pytest.mark.parametrize("version", [2, 5])
def test_offsets_beyond_4_gib(tmp_path, version):
    # A sparse file: a 5 GiB fixed-size variable, then a record variable past 4 GiB.
    from vz_netcdf3._reader import Netcdf3Reader

    rows, cols = 1280, 2**19  # float64: 4 MiB per row, 5 GiB in all
    dims = [("t", 0), ("y", rows), ("x", cols)]
    b = Build(version=version, numrecs=3, dims=dims)
    b.variables = [("big", [1, 2], [], 6, 0, 0), ("r", [0], [], 4, 4, 0)]
    size = len(b.header([0, 0]))
    big_end = size + rows * cols * 8
    b.variables = [("big", [1, 2], [], 6, 2**32 - 1, size), ("r", [0], [], 4, 4, big_end)]
    path = tmp_path / "sparse.nc"
    with open(path, "wb") as f:
        f.write(b.bytes())
        f.truncate(big_end + 3 * 4)
    group = Netcdf3Reader().read(path.as_uri())
    big = group.variables["big"].data
    assert big.metadata.chunk_shape == (8, cols)  # split at 32 MiB
    offsets = big.manifest.offsets.ravel()
    assert offsets.dtype == np.uint64
    assert int(offsets[-1]) == size + (rows - 8) * cols * 8 > 2**32
    r = group.variables["r"].data.manifest.offsets.ravel().tolist()
    assert r == [big_end, big_end + 4, big_end + 8]


def test_classic_offsets_are_32_bit():
    # CDF-1 stores begin as a signed 32-bit int: a variable cannot start past 2 GiB.
    b = Build(version=1, dims=[("x", 2)], variables=[f4_var(ids=[0], begin=0)])
    data = bytearray(b.bytes())
    data[-4:] = struct.pack(">I", 2**31)  # read back as negative
    corrupt(bytes(data), "negative")
