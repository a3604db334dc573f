"""Appending along time refuses a batch that overlaps or reverses the committed axis.

Issue 12, item 5: appending the same files twice committed a repeated, non-monotonic time
axis. The batch's coordinate is checked against the repository's before anything is
written; the repository and the session stay as they were.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from vzcore.errors import CombineError
from vzcore.group import Variable

from .conftest import OVERLAPPING, Repo, assert_same, open_batch, open_originals


def _committed(repo: Repo, sample_files: list[Path], n: int) -> None:
    repo.commit(open_batch(sample_files[:n]), "first batch")


@pytest.mark.parametrize(("batch", "message"), OVERLAPPING)
def test_overlapping_batch_is_refused_and_nothing_is_written(
    tmp_path: Path, sample_files: list[Path], batch: slice, message: str
) -> None:
    repo = Repo(tmp_path / "repo", sample_files)
    _committed(repo, sample_files, 4)
    before = repo.open_zarr().load()
    session = repo.session()
    with pytest.raises(CombineError, match=message):
        open_batch(sample_files[batch]).virtualize.to_icechunk(session, append_dim="time")
    assert not session.has_uncommitted_changes
    assert_same(repo.open_zarr().load(), before)
    # The right batch still appends, and the axis is the originals'.
    open_batch(sample_files[4:]).virtualize.to_icechunk(session, append_dim="time")
    session.commit("rest")
    got = repo.open_zarr().load()
    assert_same(got, open_originals(sample_files))
    assert (np.diff(got["time"].values) > np.timedelta64(0, "D")).all()


def test_batch_running_backwards_is_refused(tmp_path: Path, sample_files: list[Path]) -> None:
    repo = Repo(tmp_path / "repo", sample_files)
    _committed(repo, sample_files, 4)
    from vz_icechunk import IcechunkWriter

    group = open_batch(sample_files[4:6]).virtualize.to_group()
    time = group.variables["time"]
    group.variables["time"] = Variable(time.dims, time.data[::-1].copy(), time.attrs)
    session = repo.session()
    with pytest.raises(CombineError, match=r"its own 'time' values are not strictly increasing"):
        IcechunkWriter().write(group, session, append_dim="time")
    assert not session.has_uncommitted_changes


def test_batch_before_the_committed_axis_is_refused(
    tmp_path: Path, sample_files: list[Path]
) -> None:
    repo = Repo(tmp_path / "repo", sample_files)
    repo.commit(open_batch(sample_files[4:]), "later days first")
    session = repo.session()
    with pytest.raises(
        CombineError,
        match=r"it starts at 2000-01-01 00:00:00 .* up to "
        r"2000-02-09 00:00:00 .* so 16 of its 16 steps overlap or go back",
    ):
        open_batch(sample_files[:4]).virtualize.to_icechunk(session, append_dim="time")
    assert not session.has_uncommitted_changes
