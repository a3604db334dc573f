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

from .conftest import child_outcomes

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


_DIFFERENTIAL_CHILD = r"""
import faulthandler, json, sys
from pathlib import Path
import fsspec, h5py, numpy as np, zarr
import vzcore
from vzcore.errors import VZError

directory, limit = Path(sys.argv[1]), float(sys.argv[2])
for path in sorted(directory.iterdir()):
    faulthandler.dump_traceback_later(limit, exit=True)
    out = {"case": path.stem, "compared": 0, "wrong": []}
    try:
        ds = vzcore.open_virtual_dataset(path, loadable_variables=[])
        # (raw values are compared: float32 packing attributes are allowed to widen)
        refs = ds.virtualize.to_kerchunk(format="dict", allow_float64_decoding=True)
    except VZError:
        out["kind"] = "vzerror"
    else:
        out["kind"] = "ok"
        group = zarr.open_group(
            fsspec.filesystem("reference", fo=refs).get_mapper(""), mode="r", zarr_format=2
        )
        with h5py.File(path, "r") as f:
            for name in ds.variables:
                try:
                    expected = np.asarray(f[name][()])
                except Exception:  # h5py cannot read it either: nothing to compare
                    continue
                try:
                    actual = np.asarray(group[name][...])
                except Exception as err:
                    out["wrong"].append(f"{name}: h5py reads it, the references fail: {err!r}")
                    continue
                out["compared"] += 1
                if "O" in (expected.dtype.kind, actual.dtype.kind):  # variable-length text:
                    # h5py gives bytes objects, zarr str (the writer decodes them as UTF-8)
                    expected, actual = (
                        np.array([x.decode() if isinstance(x, bytes) else x for x in a.flat])
                        .reshape(a.shape)
                        .astype(str)
                        for a in (expected, actual.astype(object))
                    )
                same = actual.shape == expected.shape and (
                    actual.tobytes() == expected.tobytes()
                    if actual.dtype == expected.dtype
                    else bool(np.array_equal(actual, expected))
                )
                if not same:
                    out["wrong"].append(f"{name}: {actual!r} where h5py reads {expected!r}")
    faulthandler.cancel_dump_traceback_later()
    print(json.dumps(out), flush=True)
"""


@pytest.mark.parametrize("sample", ["nc4_file", "h5_file"])
def test_mutated_files_that_open_read_back_what_h5py_reads(
    sample: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # Damage in the metadata (the first 4 KiB) that vz-hdf5 does not notice must not change
    # a value: whatever opens reads back, through the written references, exactly what h5py
    # reads from the same damaged file (or fails where h5py fails too).
    data = request.getfixturevalue(sample).read_bytes()
    cases = tmp_path / "cases"
    cases.mkdir()
    for name, buf in [("original", data), *mutations(data, 40, seed=21, stop=4096)]:
        (cases / f"{name}.h5").write_bytes(buf)
    args = [str(cases), str(CASE_TIMEOUT)]
    outcomes = child_outcomes(_DIFFERENTIAL_CHILD, args, 41, timeout=CASE_TIMEOUT * 41 + 60)
    wrong = {o["case"]: o["wrong"] for o in outcomes if o["wrong"]}
    assert wrong == {}
    original = next(o for o in outcomes if o["case"] == "original")
    assert original["kind"] == "ok"
    assert original["compared"] >= 5
    # (most mutations of the headers make the file unreadable to h5py: nothing to compare)
    assert sum(o["compared"] for o in outcomes) >= 3 * original["compared"]
