"""Appending along a fully virtual time coordinate checks it against the committed one.

Issue 12, item 5: with ``loadable_variables`` that leave the append coordinate virtual,
the batch's coordinate was not compared with the repository's, so appending the same files
twice committed a repeated time axis. The writer now reads the committed coordinate's first
and last values through the Icechunk session (its virtual chunks) and the batch's from its
files, and refuses an overlapping or backwards batch before writing anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from vzcore.errors import CombineError, WriteError
from vzcore.testing.samples import MINIMAL

from .conftest import OVERLAPPING, Repo, open_originals


def _virtual_batch(paths: Sequence[Path]) -> Any:
    """Every variable virtual, the time coordinate included (combined in the given order)."""
    import vzcore

    vds = vzcore.open_virtual_mfdataset(
        [str(p) for p in paths],
        combine="nested",
        concat_dim="time",
        loadable_variables=[],
        **MINIMAL,
        combine_attrs="override",
    )
    assert "time" not in vds.xindexes  # the coordinate really is virtual
    return vds


def _committed(repo: Repo, paths: Sequence[Path]) -> None:
    repo.commit(_virtual_batch(paths), "first batch")


def _assert_values(got: xr.Dataset, paths: Sequence[Path]) -> None:
    expected = open_originals(paths)
    for name in ("time", "temp", "counts", "wind"):
        np.testing.assert_array_equal(got[name].values, expected[name].values)
        assert got[name].dtype == expected[name].dtype


@pytest.mark.parametrize(("batch", "message"), OVERLAPPING)
def test_overlapping_virtual_batch_is_refused_and_nothing_is_written(
    tmp_path: Path, sample_files: list[Path], batch: slice, message: str
) -> None:
    repo = Repo(tmp_path / "repo", sample_files)
    _committed(repo, sample_files[:4])
    before = repo.open_zarr().load()
    session = repo.session()
    with pytest.raises(CombineError, match=message):
        _virtual_batch(sample_files[batch]).virtualize.to_icechunk(session, append_dim="time")
    assert not session.has_uncommitted_changes
    xr.testing.assert_identical(repo.open_zarr().load(), before)
    _assert_values(before, sample_files[:4])


def test_virtual_batch_running_backwards_is_refused(
    tmp_path: Path, sample_files: list[Path]
) -> None:
    repo = Repo(tmp_path / "repo", sample_files)
    _committed(repo, sample_files[:4])
    session = repo.session()
    batch = [sample_files[5], sample_files[4]]
    with pytest.raises(CombineError, match=r"its own 'time' values are not strictly increasing"):
        _virtual_batch(batch).virtualize.to_icechunk(session, append_dim="time")
    assert not session.has_uncommitted_changes


def test_virtual_batch_before_the_committed_axis_is_refused(
    tmp_path: Path, sample_files: list[Path]
) -> None:
    repo = Repo(tmp_path / "repo", sample_files)
    _committed(repo, sample_files[4:8])
    session = repo.session()
    with pytest.raises(CombineError, match=r"so 16 of its 16 steps overlap or go back"):
        _virtual_batch(sample_files[:4]).virtualize.to_icechunk(session, append_dim="time")
    assert not session.has_uncommitted_changes


def test_good_virtual_append_reads_back_like_the_originals(
    tmp_path: Path, sample_files: list[Path]
) -> None:
    repo = Repo(tmp_path / "repo", sample_files)
    _committed(repo, sample_files[:4])
    for batch in (sample_files[4:6], sample_files[6:8]):
        session = repo.session()
        _virtual_batch(batch).virtualize.to_icechunk(session, append_dim="time")
        session.commit("append")
    got = repo.open_zarr().load()
    _assert_values(got, sample_files[:8])
    assert (np.diff(got["time"].values) > np.timedelta64(0, "D")).all()


def test_unreadable_committed_coordinate_is_an_error_not_a_skipped_check(
    tmp_path: Path, sample_files: list[Path]
) -> None:
    """Without access to the committed virtual chunks the order cannot be checked: say so."""
    import icechunk

    repo = Repo(tmp_path / "repo", sample_files)
    _committed(repo, sample_files[:4])
    unauthorized = icechunk.Repository.open(icechunk.local_filesystem_storage(str(repo.path)))
    session = unauthorized.writable_session("main")
    with pytest.raises(WriteError, match=r"reading the repository's 'time' values .* failed"):
        _virtual_batch(sample_files[4:6]).virtualize.to_icechunk(session, append_dim="time")
    assert not session.has_uncommitted_changes
