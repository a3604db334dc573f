"""Large offsets read back exactly, from every writer, through fsspec.

* A ``ChunkManifest`` stores offsets and lengths as ``uint32`` when every value fits and as
  ``uint64`` otherwise; a concatenation of both promotes to ``uint64``.
* fastparquet, which fsspec's ``LazyReferenceMapper`` reads record files with, decodes
  ``DELTA_BINARY_PACKED`` blocks of 29 bits or more per value wrongly: a record whose
  offsets jump from one large file to the next, or from a chunk past 256 MiB to a missing
  chunk's 0, would send readers to the wrong bytes (an error, or silently wrong values
  where the wrong offset still lies inside a file). vz-parquet writes such columns
  ``PLAIN``.

The large files are HDF5 files behind a 512 MiB or 4 GiB user block, written sparse (a few
KiB on disk).
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow.parquet as pq
import pytest
import xarray as xr

import vzcore
from vzcore.manifests import ChunkManifest

h5py = pytest.importorskip("h5py")
fsspec = pytest.importorskip("fsspec")
pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
pytest.importorskip("vz_parquet")
pytest.importorskip("fastparquet")

# fsspec reads Parquet references through fastparquet, which pandas 3 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:The .fastparquet. engine is deprecated")

DATA = np.arange(20, dtype="f4").reshape(4, 5)
DATA8 = np.arange(40, dtype="f4").reshape(8, 5)


def _write(path, data=DATA, userblock=0, shift=0.0, missing_rows=False):
    """Write ``data + shift`` in chunks of 2 rows behind a ``userblock``-byte user block.

    With ``missing_rows``, chunks 1 and 3 are never written: missing, offset 0 between
    large ones. Skips the test where the file system does not keep the user block sparse.
    """
    with h5py.File(path, "w", userblock_size=userblock) as f:
        v = f.create_dataset("v", shape=data.shape, dtype="f4", chunks=(2, 5), fillvalue=-1)
        if missing_rows:
            v[0:2], v[4:6] = data[0:2] + shift, data[4:6] + shift
        else:
            v[...] = data + shift
    if os.stat(path).st_blocks * 512 > 2**28:  # pragma: no cover - no sparse files here
        pytest.skip("the file system does not keep sparse files")
    return str(path)


def test_small_manifests_keep_four_byte_positions():
    m = ChunkManifest(["file:///a.nc"], np.zeros(3, np.uint8), [0, 8, 16], [8, 8, 8])
    assert m.offsets.dtype == m.lengths.dtype == np.uint32
    big = ChunkManifest(["file:///b.nc"], np.zeros(2, np.uint8), [2**32, 2**33], [8, 8])
    assert big.offsets.dtype == np.uint64
    assert big.lengths.dtype == np.uint32
    both = ChunkManifest.concatenate([m, big], axis=0)
    assert both.offsets.dtype == np.uint64
    assert both.offsets.tolist() == [0, 8, 16, 2**32, 2**33]
    assert both.paths == ("file:///a.nc", "file:///b.nc")


def test_a_file_past_four_gib_combines_with_a_small_one(tmp_path):
    big = _write(tmp_path / "big.h5", userblock=2**32)
    small = _write(tmp_path / "small.h5", shift=100.0)
    parts = [vzcore.open_virtual_dataset(p, reader="hdf5") for p in (big, small)]
    assert parts[0]["v"].data.manifest.offsets.dtype == np.uint64
    assert parts[1]["v"].data.manifest.offsets.dtype == np.uint32
    combined = xr.concat(parts, dim="phony_dim_0")
    assert combined["v"].data.manifest.offsets.min() > 0
    assert int(combined["v"].data.manifest.offsets.max()) > 2**32
    for fmt in ("json", "parquet"):
        out = str(tmp_path / f"refs.{fmt}")
        combined.virtualize.to_kerchunk(out, format=fmt)
        fs = fsspec.filesystem("reference", fo=out, remote_protocol="file")
        back = xr.open_dataset(fs.get_mapper(""), engine="zarr", consolidated=False)
        np.testing.assert_array_equal(back["v"].values, np.concatenate([DATA, DATA + 100.0]))


def _read_back(target, zarr_format=2):
    fs = fsspec.filesystem("reference", fo=target, remote_protocol="file")
    return xr.open_zarr(fs.get_mapper(""), zarr_format=zarr_format)["v"].values


def _jumping_files(tmp_path):
    """Four files, every other one behind a 512 MiB user block, combined; and their values."""
    files = [
        _write(tmp_path / f"f{i}.h5", DATA8, 2**29 * (i % 2 == 0), 100.0 * i) for i in range(4)
    ]
    combined = xr.concat(
        [vzcore.open_virtual_dataset(p, reader="hdf5") for p in files], dim="phony_dim_0"
    )
    return combined, np.concatenate([DATA8 + 100.0 * i for i in range(4)])


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_offsets_jumping_between_large_files_read_back_exactly(tmp_path, zarr_format):
    combined, expected = _jumping_files(tmp_path)
    target = str(tmp_path / "refs.parquet")
    combined.virtualize.to_kerchunk(target, format="parquet", zarr_format=zarr_format)
    encodings = pq.read_metadata(f"{target}/v/refs.0.parq").row_group(0).column(1).encodings
    assert "DELTA_BINARY_PACKED" not in encodings  # the jump forces PLAIN
    np.testing.assert_array_equal(_read_back(target, zarr_format), expected)


def test_missing_chunks_between_chunks_past_256_mib_read_back_exactly(tmp_path):
    path = _write(tmp_path / "holes.h5", DATA8, 2**29, missing_rows=True)
    target = str(tmp_path / "refs.parquet")
    vzcore.open_virtual_dataset(path, reader="hdf5").virtualize.to_kerchunk(
        target, format="parquet"
    )
    expected = np.full(DATA8.shape, -1, "f4")
    expected[0:2], expected[4:6] = DATA8[0:2], DATA8[4:6]
    np.testing.assert_array_equal(_read_back(target), expected)


def test_wide_deltas_are_never_delta_encoded():
    """Where delta encoding would be smaller, a 2^28 span of deltas still forces PLAIN."""
    from vz_parquet._writer import _int_encoding

    near = np.arange(0, 2000, 10, dtype=np.int64)
    assert _int_encoding(np.concatenate([near, near + 2**20])) == "DELTA_BINARY_PACKED"
    assert _int_encoding(np.concatenate([near, near + 2**33])) == "PLAIN"
    assert _int_encoding(np.concatenate([near + 2**29, near])) == "PLAIN"


def test_references_fastparquet_would_misread_are_reported_and_rewritten(tmp_path):
    """Parquet references as vz-parquet wrote them before: delta-encoded wide jumps.

    vzcore (pyarrow) reads them right and warns; verify fails; writing them again fixes them.
    """
    from fsspec.implementations.reference import ReferenceNotReachable

    from vzcore.errors import VZOtherReadersWarning

    combined, expected = _jumping_files(tmp_path)
    old = tmp_path / "old.parquet"
    combined.virtualize.to_kerchunk(str(old), format="parquet")
    record = old / "v" / "refs.0.parq"
    pq.write_table(  # the record as the writer wrote it before: offsets always delta-encoded
        pq.read_table(record),
        record,
        compression="zstd",
        use_dictionary=["path"],
        column_encoding={"offset": "DELTA_BINARY_PACKED", "size": "DELTA_BINARY_PACKED"},
        write_statistics=["offset", "size"],
        store_schema=False,
    )
    try:  # the premise: fsspec reads these references wrong
        misread = _read_back(str(old))
    except ReferenceNotReachable:  # a wrong offset past the end of a file
        misread = None
    assert misread is None or not np.array_equal(misread, expected)

    with pytest.warns(VZOtherReadersWarning, match=r"refs\.0\.parq.*'offset'.*fastparquet"):
        reopened = vzcore.open_virtual_dataset(str(old), reader="kerchunk")
    report = vzcore.verify(str(old))
    assert not report.ok
    assert "fastparquet" in report.misread_elsewhere[0]
    assert "other clients would misread" in str(report)

    new = tmp_path / "new.parquet"
    reopened.virtualize.to_kerchunk(str(new), format="parquet")
    np.testing.assert_array_equal(_read_back(str(new)), expected)
    assert vzcore.verify(str(new)).ok


@pytest.mark.parametrize("userblock", [1024, 2**16, 2**20, 2**32])
def test_a_file_behind_any_user_block_is_recognised_as_hdf5(tmp_path, userblock):
    """The superblock may follow a user block of any power of two from 512 bytes."""
    path = _write(tmp_path / "ub.h5", userblock=userblock)
    vds = vzcore.open_virtual_dataset(path)  # no reader=: sniffed
    assert int(vds["v"].data.manifest.offsets.min()) > userblock
    target = str(tmp_path / "refs.json")
    vds.virtualize.to_kerchunk(target)
    np.testing.assert_array_equal(_read_back(target), DATA)


def test_a_remote_file_behind_a_large_user_block_is_sniffed_with_small_reads(tmp_path):
    from vzcore.testing.servers import http_server

    _write(tmp_path / "ub.h5", userblock=2**32)
    with http_server(tmp_path) as http:
        vds = vzcore.open_virtual_dataset(f"{http.url}/ub.h5")
        probes = [r.range for r in http.reads("ub.h5") if r.nbytes == 8]
        # one 8-byte ranged read per power of two past the head, up to 4 GiB, and no block
        # of the cache (h5py's own search for the superblock reads blocks afterwards)
        assert probes == [f"bytes={2**k}-{2**k + 7}" for k in range(10, 33)]
    local = vzcore.open_virtual_dataset(str(tmp_path / "ub.h5"))["v"].data.manifest
    remote = vds["v"].data.manifest
    assert remote.paths == (f"{http.url}/ub.h5",)
    np.testing.assert_array_equal(remote.offsets, local.offsets)  # read back above
    np.testing.assert_array_equal(remote.lengths, local.lengths)


def test_a_large_file_no_reader_takes_is_probed_at_most_log2_times(tmp_path):
    """A sparse 8 GiB file of zeros: no reader, few probes, the usual message."""
    from vzcore import plugins
    from vzcore.errors import NoReaderFoundError

    path = tmp_path / "zeros.bin"
    with open(path, "wb") as f:
        f.truncate(2**33)
    reads = []

    def read_at(offset, length):
        reads.append(offset)
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(length)

    head = bytes(plugins.head_size())
    with pytest.raises(NoReaderFoundError, match="not a recognised format"):
        plugins.find_reader(str(path), head, size=2**33, read_at=read_at)
    assert reads == [2**k for k in range(10, 33)]
    with pytest.raises(NoReaderFoundError, match="not a recognised format"):
        vzcore.open_virtual_dataset(str(path))
