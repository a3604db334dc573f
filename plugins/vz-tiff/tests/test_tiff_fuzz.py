"""Damaged TIFF files raise only VZError subclasses: never a bare tifffile error, never a hang.

Seeded and bounded: truncations at evenly spaced fractions plus random byte and word
mutations of real files written by tifffile (a tiled, deflate GeoTIFF with overviews and a
striped RGB image), each opened with ``vzcore.open_virtual_dataset`` in a child process
under a per-case time bound (``vzcore.testing.fuzz``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("vz_tiff")
tifffile = pytest.importorskip("tifffile")

from vzcore.testing.fuzz import mutations, open_cases, truncations

CASE_TIMEOUT = 20.0  # generous: the machine is shared; a real hang never ends
TRUNCATIONS = 25
MUTATIONS = 100


@pytest.fixture
def striped_rgb(tmp_path: Path, rgb_u8: np.ndarray) -> Path:
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, rgb_u8, rowsperstrip=8, compression="zlib", photometric="rgb")
    return path


@pytest.mark.parametrize("sample", ["cog", "striped_rgb"])
def test_truncated_and_mutated(sample: str, request: pytest.FixtureRequest, tmp_path: Path):
    data = request.getfixturevalue(sample).read_bytes()
    cases = [*truncations(data, TRUNCATIONS), *mutations(data, MUTATIONS, seed=11)]
    outcomes = open_cases(
        cases, tmp_path / "cases", suffix=".tif", reader="tiff", case_timeout=CASE_TIMEOUT
    )
    bad = [o for o in outcomes if o.kind in ("leak", "hang")]
    assert bad == [], "\n\n".join(f"{o.case}: {o.kind} {o.error_type}\n{o.message}" for o in bad)
    for o in outcomes:
        if o.error_type == "CorruptFileError":
            assert repr(o.url) in o.message, o  # the error names the file
    kinds = Counter((o.kind, o.error_type) for o in outcomes)
    assert sum(kinds.values()) == TRUNCATIONS + MUTATIONS
    assert kinds[("vzerror", "CorruptFileError")] >= TRUNCATIONS // 2
    assert kinds[("ok", "")] > 0
