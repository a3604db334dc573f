"""Hostile headers: truncations and mutations of real files raise only CorruptFileError.

Bounded and seeded: every truncation of the header, every 4-byte word of the header set to
a few extreme values, and a fixed number of random byte mutations, each run through the
whole reader (header parse and manifest building) from fsspec's memory filesystem.
"""

from __future__ import annotations

import struct
import uuid

import numpy as np
import pytest

pytest.importorskip("vz_netcdf3")
fsspec = pytest.importorskip("fsspec")

from vzcore.errors import CorruptFileError
from vzcore.group import ManifestGroup

from vz_netcdf3._reader import Netcdf3Reader

FUZZ_WRITERS = ["netcdf4-NETCDF3_CLASSIC", "netcdf4-NETCDF3_64BIT_DATA", "scipy-v2"]
EXTREMES = [0, 1, 2**31 - 1, -1, -(2**31), 10, 11, 12]
RANDOM_MUTATIONS = 300


@pytest.fixture
def memfs():
    fs = fsspec.filesystem("memory")
    root = f"/nc3-fuzz-{uuid.uuid4().hex}"
    yield fs, root
    if fs.exists(root):
        fs.rm(root, recursive=True)


def run(fs, root: str, data: bytes, i: int) -> ManifestGroup | None:
    """Read ``data`` with the reader; return the group, or None after a CorruptFileError."""
    path = f"{root}/f{i}.nc"
    fs.pipe(path, data)
    message = ""
    try:
        group = Netcdf3Reader().read(f"memory://{path}")
    except CorruptFileError as err:
        message = str(err)
    finally:
        fs.rm(path)
    if message:
        assert f"memory://{path}" in message  # the error names the file
        return None
    # Whatever parsed must be self-consistent: chunk grids cover the shapes, bytes in file.
    for var in group.variables.values():
        if var.is_virtual:
            m = var.data.manifest
            if m.nchunks:
                assert int((m.offsets + m.lengths).max()) <= len(data)
    return group


def header_size(group_bytes: bytes) -> int:
    from vz_netcdf3._header import parse_header

    class Src:
        size = len(group_bytes)

        def read(self, a: int, b: int) -> bytes:
            return group_bytes[a:b]

    return parse_header(Src(), "x").header_size


@pytest.fixture(params=FUZZ_WRITERS)
def fuzz_file(request, make_file, nc3) -> tuple[bytes, int]:
    """A real file of each fuzz writer: its bytes and its header size."""
    content = nc3.sample_content(cdf5=request.param.endswith("DATA"), scalar=False)
    data = make_file(request.param, content).read_bytes()
    return data, header_size(data)


def test_truncations(fuzz_file, memfs):
    data, hsize = fuzz_file
    fs, root = memfs
    # Up to 3 bytes of trailing padding after the last record may go; anything more is refused.
    end = len(data) - 3
    cuts = [*range(hsize + 1), *np.linspace(hsize + 1, end - 1, 40).astype(int).tolist()]
    for i, cut in enumerate(cuts):
        assert run(fs, root, data[:cut], i) is None, cut
    assert run(fs, root, data, -1) is not None


def test_word_mutations(fuzz_file, memfs):
    data, hsize = fuzz_file
    fs, root = memfs
    i = 0
    for pos in range(4, hsize - 3, 4):
        for value in EXTREMES:
            mutated = bytearray(data)
            mutated[pos : pos + 4] = struct.pack(">i", value)
            run(fs, root, bytes(mutated), i)
            i += 1


def test_random_mutations(fuzz_file, memfs):
    data, hsize = fuzz_file
    fs, root = memfs
    rng = np.random.default_rng(2024)
    outcomes = {True: 0, False: 0}
    for i in range(RANDOM_MUTATIONS):
        mutated = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            mutated[int(rng.integers(0, hsize))] = int(rng.integers(0, 256))
        if rng.random() < 0.2:  # and sometimes cut the file too
            mutated = mutated[: int(rng.integers(hsize // 2, len(mutated)))]
        outcomes[run(fs, root, bytes(mutated), i) is not None] += 1
    assert outcomes[False] > 0  # the mutations do hit checks


def test_open_virtual_dataset_only_vzerrors(make_file, nc3, tmp_path):
    """The public API (reader, xarray Dataset, loaded coordinates): only VZError subclasses.

    Files from two writers; truncations, mutations of the header and mutations anywhere,
    all in one child process with a per-case time bound (``vzcore.testing.fuzz``).
    """
    from collections import Counter

    from vzcore.testing.fuzz import mutations, open_cases, truncations

    cases = []
    for tag, fuzz_writer in (("nc", "netcdf4-NETCDF3_64BIT_OFFSET"), ("sp", "scipy-v2")):
        data = make_file(fuzz_writer, nc3.sample_content(cdf5=False, scalar=False)).read_bytes()
        hsize = header_size(data)
        cases += [
            (f"{tag}-{name}", case)
            for name, case in (
                *truncations(data, 12),
                *mutations(data, 30, seed=3, stop=hsize),
                *mutations(data, 18, seed=4),
            )
        ]
    outcomes = open_cases(
        cases, tmp_path / "cases", suffix=".nc", reader="netcdf3", case_timeout=20.0
    )
    bad = [o for o in outcomes if o.kind in ("leak", "hang")]
    assert bad == [], "\n\n".join(f"{o.case}: {o.kind} {o.error_type}\n{o.message}" for o in bad)
    for o in outcomes:
        if o.error_type == "CorruptFileError":
            assert repr(o.url) in o.message, o  # the error names the file
        if "-cut-" in o.case:
            assert o.kind == "vzerror", o  # a truncated file never opens as if whole
    kinds = Counter((o.kind, o.error_type) for o in outcomes)
    assert sum(kinds.values()) == 120
    assert kinds[("vzerror", "CorruptFileError")] >= 24
    assert kinds[("ok", "")] > 0
