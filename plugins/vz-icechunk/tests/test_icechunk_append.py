"""Appending a batch of files along time to an existing repository (the daily update)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from vzcore.errors import WriteError
from vzcore.group import ManifestGroup, Variable
from vzcore.manifests import ManifestArray

from .conftest import Repo, assert_same, open_batch, open_originals, write_sample_files


@pytest.fixture(scope="module")
def per_file_units(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    # Every file has its own "days since <first day>" units: batches disagree on encoding.
    return write_sample_files(tmp_path_factory.mktemp("units"), n_files=10, per_file_units=True)


def test_two_batches_make_one_time_axis(tmp_path: Path, per_file_units: list[Path]) -> None:
    first, second = open_batch(per_file_units[:5]), open_batch(per_file_units[5:])
    assert first["time"].encoding.get("units") != second["time"].encoding.get("units")
    repo = Repo(tmp_path / "repo", per_file_units)
    repo.commit(first, "days 1-20")

    session = repo.session()  # the next day's job
    second.virtualize.to_icechunk(session, append_dim="time")
    assert session.has_uncommitted_changes
    session.commit("days 21-40")

    got = repo.open_zarr().load()
    expected = open_originals(per_file_units)
    xr_time = got["time"].values
    assert np.all(np.diff(xr_time) == np.timedelta64(1, "D"))
    # Equal values and dtypes; the time axis keeps the repository's encoding.
    import xarray as xr

    xr.testing.assert_equal(got, expected)
    for name, var in expected.data_vars.items():
        assert got[name].dtype == var.dtype, name
    raw = xr.open_zarr(repo.reopen(), consolidated=False, decode_cf=False)
    assert raw["time"].dtype == np.int32
    assert raw["time"].attrs["units"] == first["time"].encoding["units"]
    np.testing.assert_array_equal(raw["time"].values, np.arange(40, dtype=np.int32))


def test_append_in_the_same_session_inside_a_group(
    tmp_path: Path, sample_files: list[Path]
) -> None:
    repo = Repo(tmp_path / "repo", sample_files)
    session = repo.session()
    for batch in (sample_files[:4], sample_files[4:6], sample_files[6:]):
        open_batch(batch).virtualize.to_icechunk(
            session, group="obs/daily", append_dim=None if batch[0] == sample_files[0] else "time"
        )
    session.commit("three batches")
    assert_same(repo.open_zarr(group="obs/daily").load(), open_originals(sample_files))


def _with_metadata(vds, name: str, **changes):  # type: ignore[no-untyped-def]
    group = vds.virtualize.to_group()
    var = group.variables[name]
    data = var.data
    assert isinstance(data, ManifestArray)
    group.variables[name] = Variable(
        var.dims, ManifestArray(data.metadata.replace(**changes), data.manifest), var.attrs
    )
    return group


def test_mismatched_batches_are_refused_before_writing(
    tmp_path: Path, sample_files: list[Path]
) -> None:
    from vz_icechunk import IcechunkWriter

    repo = Repo(tmp_path / "repo", sample_files)
    repo.commit(open_batch(sample_files[:5]), "first")
    session = repo.session()
    second = open_batch(sample_files[5:])
    writer = IcechunkWriter()

    codecs = _with_metadata(second, "temp", codecs=({"id": "zlib", "level": 1},))
    with pytest.raises(WriteError, match=r"variable 'temp'.*encoding differs.*codecs"):
        writer.write(codecs, session, append_dim="time")

    rechunked = second.virtualize.to_group()
    temp, counts = rechunked.variables["temp"], rechunked.variables["counts"].data
    rechunked.variables["temp"] = Variable(
        temp.dims,
        ManifestArray(temp.data.metadata.replace(chunk_shape=(4, 6, 8)), counts.manifest),
        temp.attrs,
    )
    with pytest.raises(WriteError, match=r"variable 'temp'.*encoding differs.*chunk_grid"):
        writer.write(rechunked, session, append_dim="time")

    dtype = _with_metadata(second, "counts", dtype=np.dtype("<i8"))
    with pytest.raises(WriteError, match=r"variable 'counts'.*encoding differs.*data_type"):
        writer.write(dtype, session, append_dim="time")

    fewer = second.virtualize.to_group()
    del fewer.variables["counts"]
    with pytest.raises(WriteError, match="'counts' has that dimension but the batch lacks it"):
        writer.write(fewer, session, append_dim="time")

    more = second.virtualize.to_group()
    more.variables["extra"] = Variable(("time",), np.zeros(20, "i4"))
    with pytest.raises(WriteError, match="'extra': the repository has no such array"):
        writer.write(more, session, append_dim="time")

    shifted = second.assign_coords(lat=second["lat"] + 1.0)
    with pytest.raises(WriteError, match="'lat': it does not have the append dimension"):
        shifted.virtualize.to_icechunk(session, append_dim="time")

    with pytest.raises(WriteError, match="no variable of the batch has that dimension"):
        second.virtualize.to_icechunk(session, append_dim="depth")

    assert not session.has_uncommitted_changes
    # After all those refusals the good batch still appends.
    second.virtualize.to_icechunk(session, append_dim="time")
    session.commit("second")
    assert_same(repo.open_zarr().load(), open_originals(sample_files))


def test_chunk_grid_that_would_not_tile_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "files"
    d.mkdir()
    # 3 steps per file, and temp is chunked by 2 along time: 3 is not a multiple of 2.
    files = write_sample_files(d, n_files=2, steps=3)
    repo = Repo(tmp_path / "repo", files)
    repo.commit(open_batch(files[:1]), "first")
    session = repo.session()
    with pytest.raises(
        WriteError,
        match=r"'temp' along 'time'.*3 steps, not a multiple of the "
        r"chunk size 2",
    ):
        open_batch(files[1:]).virtualize.to_icechunk(session, append_dim="time")
    assert not session.has_uncommitted_changes


def test_append_to_missing_group_is_refused(tmp_path: Path, sample_files: list[Path]) -> None:
    repo = Repo(tmp_path / "repo", sample_files)
    with pytest.raises(WriteError, match="write the first batch without append_dim"):
        open_batch(sample_files[:2]).virtualize.to_icechunk(
            repo.session(), group="nothing/here", append_dim="time"
        )


def test_append_with_virtual_time_in_other_units_is_refused(
    tmp_path: Path, per_file_units: list[Path]
) -> None:
    from vzcore import plugins
    from vzcore.manifests.attributes import clean_tree_attributes

    def virtual_time(paths):  # type: ignore[no-untyped-def]
        # The reader's own group: time is still virtual there, with its CF units (decoded
        # as vzcore decodes every reader's attributes).
        read = plugins.get_reader("hdf5").load_class()().read(f"file://{paths[0]}")
        clean_tree_attributes(read, f"file://{paths[0]}")
        t = read.variables["time"]
        assert isinstance(t.data, ManifestArray)
        return ManifestGroup(variables={"time": t})

    repo = Repo(tmp_path / "repo", per_file_units)
    session = repo.session()
    from vz_icechunk import IcechunkWriter

    IcechunkWriter().write(virtual_time(per_file_units[:1]), session)
    with pytest.raises(WriteError, match="virtual chunks cannot be re-encoded"):
        IcechunkWriter().write(virtual_time(per_file_units[1:2]), session, append_dim="time")
