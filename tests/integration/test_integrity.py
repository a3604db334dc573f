"""vzcore.verify on real netCDF4 files: modified, truncated, deleted, corrupted, all good.

Files are written by xarray's netCDF4 engine, scanned by vz-hdf5 (which records size and
mtime), then changed on disk; verify reports each problem without raising.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("vz_hdf5")
pytest.importorskip("netCDF4")

import vzcore
from vzcore._urls import to_url
from vzcore.integrity import IntegrityError, VerifyReport, verify
from vzcore.manifests import ChunkManifest, ManifestArray
from vzcore.testing.samples import MINIMAL

from .conftest import write_sample_files


@pytest.fixture
def scanned(tmp_path):
    paths = write_sample_files(tmp_path, n_files=3)
    vds = vzcore.open_virtual_mfdataset(
        [str(p) for p in paths],
        combine="by_coords",
        **MINIMAL,
    )
    return paths, vds


def _temp_refs(vds, url):
    """(offset, length) of every temp chunk in ``url``."""
    m = vds["temp"].data.manifest
    mine = m.path_index == m.paths.index(url)
    return sorted(zip(m.offsets[mine].tolist(), m.lengths[mine].tolist(), strict=True))


def test_all_good(scanned):
    _, vds = scanned
    for deep in (False, True):
        report = verify(vds, deep=deep)
        assert report.ok, str(report)
        assert report.files_checked == 3
        assert report.stale == report.missing == report.out_of_range == report.bad_chunks == []
        assert report.unrecorded == []  # the reader recorded every file
        m = vds["temp"].data.manifest
        assert report.refs_checked >= int((m.path_index < len(m.paths)).sum())
        assert report.chunks_decoded == (report.refs_checked if deep else 0)
        report.raise_if_failed()  # does not raise
        assert str(report).startswith("verify: OK: 3 file(s)")


def test_modified_file(scanned):
    paths, vds = scanned
    before = os.stat(paths[1])
    with open(paths[1], "ab") as f:
        f.write(b"appended")
    os.utime(paths[1], (before.st_atime, before.st_mtime + 10))
    report = verify(vds)
    assert not report.ok
    (stale,) = report.stale
    assert stale.url == to_url(paths[1])
    assert stale.changes[0] == f"size {before.st_size} -> {before.st_size + 8}"
    assert stale.changes[1].startswith("modified ")
    assert report.missing == report.out_of_range == []
    assert repr(to_url(paths[1])) in str(report)
    with pytest.raises(IntegrityError, match="1 stale file"):
        report.raise_if_failed()


def test_touched_file_is_stale(scanned):
    paths, vds = scanned
    st = os.stat(paths[0])
    os.utime(paths[0], (st.st_atime, st.st_mtime + 3600))
    report = verify(vds)
    (stale,) = report.stale
    assert len(stale.changes) == 1
    assert stale.changes[0].startswith("modified ")


def test_truncated_file(scanned):
    paths, vds = scanned
    url = to_url(paths[2])
    refs = _temp_refs(vds, url)
    cut = refs[-2][0] + 1  # the last two temp chunks now end past the end
    with open(paths[2], "r+b") as f:
        f.truncate(cut)
    report = verify(vds)
    assert not report.ok
    assert [s.url for s in report.stale] == [url]
    temp_bad = [r for r in report.out_of_range if r.variable == "temp"]
    assert [(r.offset, r.length) for r in temp_bad] == refs[-2:]
    assert all(r.url == url and r.size == cut for r in report.out_of_range)
    deep = verify(vds, deep=True)
    assert deep.bad_chunks == []  # out-of-range chunks are reported once, not decoded


def test_deleted_file(scanned):
    paths, vds = scanned
    os.remove(paths[0])
    report = verify(vds, deep=True)
    assert [m.url for m in report.missing] == [to_url(paths[0])]
    assert report.stale == report.out_of_range == report.bad_chunks == []
    assert report.files_checked == 3
    assert "1 missing file(s)" in str(report)


def test_corrupted_chunk_found_only_by_deep(scanned):
    paths, vds = scanned
    url = to_url(paths[1])
    offset, length = _temp_refs(vds, url)[3]
    st = os.stat(paths[1])
    raw = bytearray(paths[1].read_bytes())
    raw[offset : offset + 8] = b"\xff" * 8  # the zlib stream header of one chunk
    paths[1].write_bytes(bytes(raw))
    os.utime(paths[1], ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime

    shallow = verify(vds)
    assert shallow.ok, str(shallow)
    deep = verify(vds, deep=True)
    assert not deep.ok
    (bad,) = deep.bad_chunks
    assert (bad.variable, bad.url, bad.offset, bad.length) == ("temp", url, offset, length)
    assert "zlib" in bad.error
    assert deep.chunks_decoded == deep.refs_checked - 1
    assert "1 chunk(s) that fail to fetch or decode" in str(deep)


def test_manifest_group_and_datatree_targets(scanned):
    paths, vds = scanned
    group = vds.virtualize.to_group()
    assert verify(group).ok
    tree = vzcore.open_virtual_datatree(paths[0])
    os.remove(paths[0])
    report = verify(tree)
    assert [m.url for m in report.missing] == [to_url(paths[0])]


def test_unrecorded_sources_still_check_ranges(tmp_path):
    (path,) = write_sample_files(tmp_path, n_files=1)
    group = vzcore.api.read_group(path)
    # Strip the recorded identity: only the byte ranges can be checked.
    bare = group.rename_paths(lambda p: p)
    for _, g in bare.walk():
        for v in g.variables.values():
            if v.is_virtual:
                m = v.data.manifest
                bare_m = ChunkManifest(m.paths, m.path_index, m.offsets, m.lengths, m.inline)
                v.data = ManifestArray(v.data.metadata, bare_m)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 1)
    report = verify(bare)
    assert report.unrecorded == [to_url(path)]
    assert report.stale == []
    assert len(report.out_of_range) >= 1
    assert "no recorded size/mtime/ETag" in str(report)


def test_kerchunk_references_on_disk(scanned, tmp_path):
    pytest.importorskip("vz_kerchunk")
    paths, vds = scanned
    out = tmp_path / "combined.json"
    vds.virtualize.to_kerchunk(str(out), format="json")
    assert verify(out, deep=True).ok
    with open(paths[1], "ab") as f:
        f.write(b"x")
    report = verify(str(out))
    assert [s.url for s in report.stale] == [to_url(paths[1])]


def test_report_is_a_dataclass_with_readable_text():
    assert vzcore.verify is verify  # exported at the top level
    report = VerifyReport()
    assert report.ok
    assert str(report) == "verify: OK: 0 file(s), 0 reference(s) checked"
    with pytest.raises(TypeError, match="verify\\(\\) takes"):
        verify(np.zeros(3))
