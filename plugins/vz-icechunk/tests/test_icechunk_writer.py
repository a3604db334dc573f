"""The Icechunk writer end to end: real netCDF4 files, real repositories, read back by xarray."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from vzcore.errors import WriteError

from .conftest import Repo, assert_same, copy_files, icechunk, open_batch, open_originals, xr


def test_sample_dataset_round_trip(tmp_path: Path, sample_files: list[Path]) -> None:
    vds = open_batch(sample_files)
    repo = Repo(tmp_path / "repo", vds)
    session = repo.session()
    before = session.snapshot_id
    vds.virtualize.to_icechunk(session)
    # The writer never commits: the caller does.
    assert session.has_uncommitted_changes
    assert repo.repo.lookup_branch("main") == before
    session.commit("virtual sample dataset")

    got = repo.open_zarr().load()
    expected = open_originals(sample_files)
    assert_same(got, expected)
    # Raw (CF-encoded) values and dtypes too: packed int16 stays int16, zeros stay zeros.
    raw = xr.open_zarr(repo.reopen(), consolidated=False, decode_cf=False)
    assert raw["wind"].dtype == np.int16
    assert raw["counts"].dtype == np.int32
    assert (raw["counts"].values == 0).any()
    assert np.isnan(got["temp"].values).sum() == np.isnan(expected["temp"].values).sum() > 0


def test_store_target_and_group(tmp_path: Path, sample_files: list[Path]) -> None:
    vds = open_batch(sample_files[:2])
    repo = Repo(tmp_path / "repo", vds)
    session = repo.session()
    vds.virtualize.to_icechunk(session.store, group="daily/v1")
    session.commit("into a group")
    got = repo.open_zarr(group="daily/v1").load()
    assert_same(got, open_originals(sample_files[:2]))
    import zarr

    root = zarr.open_group(repo.reopen(), mode="r")
    assert list(root.group_keys()) == ["daily"]


def test_existing_group_needs_mode_w(tmp_path: Path, sample_files: list[Path]) -> None:
    first, second = open_batch(sample_files[:2]), open_batch(sample_files[2:4])
    repo = Repo(tmp_path / "repo", sample_files and open_batch(sample_files))
    session = repo.session()
    first.virtualize.to_icechunk(session)
    with pytest.raises(WriteError, match="already holds data; pass mode='w'"):
        second.virtualize.to_icechunk(session)
    second.virtualize.to_icechunk(session, mode="w")
    session.commit("replaced")
    assert_same(repo.open_zarr().load(), open_originals(sample_files[2:4]))


def test_missing_container_is_a_clear_error_with_the_fix(
    tmp_path: Path, sample_files: list[Path]
) -> None:
    vds = open_batch(sample_files[:2])
    repo = Repo(tmp_path / "repo", containers=False)
    session = repo.session()
    prefix = f"file://{sample_files[0].parent}/"
    with pytest.raises(WriteError) as info:
        vds.virtualize.to_icechunk(session)
    msg = str(info.value)
    assert f"icechunk.VirtualChunkContainer({prefix!r}" in msg
    assert "authorize_virtual_chunk_access" in msg
    assert "vz_icechunk.containers_for" in msg
    assert not session.has_uncommitted_changes  # refused before writing anything

    # The lines in the message are the fix: run them, then the same write works.
    code = msg.split("\n\n")[1]
    namespace = {
        "icechunk": icechunk,
        "storage": icechunk.local_filesystem_storage(str(tmp_path / "repo")),
    }
    exec(code, namespace)  # noqa: S102 - the message's recipe, executed as a user would
    fixed = namespace["repo"].writable_session("main")
    vds.virtualize.to_icechunk(fixed)
    fixed.commit("with containers")
    repo.auth = icechunk.containers_credentials(
        {prefix: icechunk.credentials.LocalFileSystemAccess}
    )
    assert_same(repo.open_zarr().load(), open_originals(sample_files[:2]))


def test_read_only_session_and_wrong_target(tmp_path: Path, sample_files: list[Path]) -> None:
    vds = open_batch(sample_files[:1])
    repo = Repo(tmp_path / "repo", vds)
    with pytest.raises(WriteError, match="read-only"):
        vds.virtualize.to_icechunk(repo.repo.readonly_session("main"))
    with pytest.raises(WriteError, match=r"writable icechunk\.Session"):
        vds.virtualize.to_icechunk(str(tmp_path / "repo"))


def test_exception_mid_write_leaves_the_committed_snapshot(
    tmp_path: Path, sample_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = open_batch(sample_files[:3])
    repo = Repo(tmp_path / "repo", open_batch(sample_files))
    session = repo.session()
    first.virtualize.to_icechunk(session)
    committed = session.commit("first")

    calls = []
    real = icechunk.IcechunkStore.set_virtual_refs_arr

    def flaky(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[0])
        if len(calls) == 2:
            raise OSError("injected failure while writing references")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(icechunk.IcechunkStore, "set_virtual_refs_arr", flaky)
    session = repo.session()
    with pytest.raises(WriteError, match="discard it") as info:
        open_batch(sample_files).virtualize.to_icechunk(session, mode="w")
    assert isinstance(info.value.__cause__, OSError)
    assert session.has_uncommitted_changes  # the partial write is only in this session
    session.discard_changes()
    monkeypatch.undo()

    assert repo.repo.lookup_branch("main") == committed
    assert_same(repo.open_zarr().load(), open_originals(sample_files[:3]))


def _rewrite_same_size(path: Path) -> None:
    """Change a file's bytes (not its size) and move its mtime well past the scan."""
    import netCDF4

    with netCDF4.Dataset(path, "a") as nc:
        nc["counts"][:] = nc["counts"][:] + 7
    st = path.stat()
    os.utime(path, (st.st_atime, st.st_mtime + 10))


def test_changed_source_fails_loudly(tmp_path: Path, sample_files: list[Path]) -> None:
    sample_files = copy_files(sample_files[:2], tmp_path / "files")
    vds = open_batch(sample_files[:2])
    repo = Repo(tmp_path / "repo", vds)
    session = repo.session()
    vds.virtualize.to_icechunk(session)  # record_sources=True by default
    session.commit("with checksums")
    assert_same(repo.open_zarr().load(), open_originals(sample_files[:2]))

    _rewrite_same_size(sample_files[1])
    ds = repo.open_zarr()
    with pytest.raises(Exception, match="checksum of the object owning the virtual chunk"):
        ds["counts"].load()
    # Chunks of the unchanged file still read.
    np.testing.assert_array_equal(
        ds["counts"].isel(time=slice(0, 4)).values,
        open_originals(sample_files[:1])["counts"].values,
    )


def test_without_record_sources_stale_chunks_read_silently(
    tmp_path: Path, sample_files: list[Path]
) -> None:
    # The contrast that shows the checksums above are what catches the change.
    sample_files = copy_files(sample_files[:2], tmp_path / "files")
    vds = open_batch(sample_files[:2])
    repo = Repo(tmp_path / "repo", vds)
    session = repo.session()
    vds.virtualize.to_icechunk(session, record_sources=False)
    session.commit("no checksums")
    before = repo.open_zarr()["counts"].values
    _rewrite_same_size(sample_files[1])
    after = repo.open_zarr()["counts"].values
    np.testing.assert_array_equal(after[4:], before[4:] + 7)


@pytest.mark.parametrize(
    ("variable", "group", "problem"),
    [
        ("..", None, "'.' and '..' are path steps"),
        ("a/b", None, "must not contain '/'"),
        ("a\\b", None, "must not contain '\\\\'"),
        ("bad\x00", None, "control characters"),
        ("zarr.json", None, "Zarr v3's metadata document"),
        ("ok", "..", "'.' and '..' are path steps"),
        ("ok", "zarr.json", "Zarr v3's metadata document"),
    ],
)
def test_unsafe_names_refused_before_writing(
    tmp_path: Path, variable: str, group: str | None, problem: str
) -> None:
    """Names are checked with vzcore.names (plus Zarr v3's own) and nothing is written."""
    from vzcore.group import ManifestGroup, Variable

    from vz_icechunk._writer import IcechunkWriter

    leaf = ManifestGroup(variables={variable: Variable(("x",), np.arange(3, dtype="i4"), {})})
    tree = ManifestGroup(groups={group: leaf}) if group else leaf
    repo = Repo(tmp_path / "repo")
    session = repo.session()
    with pytest.raises(WriteError, match=problem):
        IcechunkWriter().write(tree, session)
    assert not session.has_uncommitted_changes


def test_location_icechunk_parses_elsewhere_is_refused(tmp_path: Path) -> None:
    """A ``..`` segment passes the writer's prefix check but not Icechunk's: a WriteError."""
    from vzcore.group import ManifestGroup, Variable
    from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray

    from vz_icechunk._writer import IcechunkWriter

    (tmp_path / "sub").mkdir()
    (tmp_path / "f.bin").write_bytes(b"\x01\x02")
    url = f"file://{tmp_path}/sub/../f.bin"  # under the prefix .../sub/../ as written
    manifest = ChunkManifest([url], np.zeros(2, np.uint8), np.arange(2), np.ones(2, np.uint64))
    arr = ManifestArray(ArrayMetadata((2,), np.dtype("u1"), (1,)), manifest)
    group = ManifestGroup(variables={"v": Variable(("x",), arr, {})})
    repo = Repo(tmp_path / "repo", group)
    with pytest.raises(WriteError, match=r"Icechunk refused 2 chunk references of variable 'v'"):
        IcechunkWriter().write(group, repo.session(), record_sources=False)
