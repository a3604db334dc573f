"""Damaged netCDF4/HDF5 files raise only VZError subclasses: never a bare h5py error, never a hang.

Seeded and bounded: truncations at evenly spaced fractions plus random byte and word
mutations of two real files (netCDF4 written by netCDF4-python, plain HDF5 by h5py), each
opened with ``vzcore.open_virtual_dataset`` in a child process under a per-case time bound
(``vzcore.testing.fuzz``).
"""

from __future__ import annotations

import struct
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("vz_hdf5")

from vzcore.testing.fuzz import mutations, open_cases, truncations

CASE_TIMEOUT = 20.0  # generous: the machine is shared; a real hang never ends
TRUNCATIONS = 25
MUTATIONS = 100


def _check(outcomes):
    bad = [o for o in outcomes if o.kind in ("leak", "hang")]
    assert bad == [], "\n\n".join(f"{o.case}: {o.kind} {o.error_type}\n{o.message}" for o in bad)
    for o in outcomes:
        if o.error_type == "CorruptFileError":
            assert repr(o.url) in o.message, o  # the error names the file
        if o.case.startswith("cut-"):
            assert o.kind == "vzerror", o  # a truncated file never opens as if whole
    return Counter((o.kind, o.error_type) for o in outcomes)


@pytest.mark.parametrize("sample", ["nc4_file", "h5_file"])
def test_truncated_and_mutated(sample: str, request: pytest.FixtureRequest, tmp_path: Path):
    data = request.getfixturevalue(sample).read_bytes()
    cases = [*truncations(data, TRUNCATIONS), *mutations(data, MUTATIONS, seed=8)]
    kinds = _check(
        open_cases(
            cases, tmp_path / "cases", suffix=".nc", reader="hdf5", case_timeout=CASE_TIMEOUT
        )
    )
    assert sum(kinds.values()) == TRUNCATIONS + MUTATIONS
    assert kinds[("vzerror", "CorruptFileError")] >= TRUNCATIONS  # the mutations hit checks too
    assert kinds[("ok", "")] > 0


def _corrupt_global_heap_object(data: bytes) -> bytes:
    """Set the size of the first object of the first global heap collection to 251 bytes."""
    buf = bytearray(data)
    pos = buf.find(b"GCOL") + 16  # signature, version, reserved, collection size
    assert struct.unpack_from("<Q", buf, pos + 8)[0] == 8  # a 16-byte-aligned small object
    struct.pack_into("<Q", buf, pos + 8, 0xFB)
    return bytes(buf)


def test_corrupt_global_heap_does_not_hang(nc4_file: Path, tmp_path: Path) -> None:
    bad = _corrupt_global_heap_object(nc4_file.read_bytes())
    (outcome,) = open_cases([("gcol", bad)], tmp_path / "cases", suffix=".nc", case_timeout=5)
    # libhdf5 2.0 loops forever loading this collection; vz-hdf5 walks it first.
    assert (outcome.kind, outcome.error_type) == ("vzerror", "CorruptFileError"), outcome
    assert "global heap collection" in outcome.message
