"""Existing references plus new files: ``open_virtual_mfdataset(["first.json", "s_03.nc", ...])``.

References written earlier (by vzcore as kerchunk JSON or Parquet, zarr format 2 or 3, or by
kerchunk itself, JSON or Parquet) and newly scanned netCDF files combine into one virtual
dataset, and every output format reads back equal to the originals (xarray's netcdf4 engine
for decoded values, netCDF4-python for stored ones), missing chunks included.

What makes it work: a manifest's fill value only says what *missing* chunks read as (zarr v2
``fill_value: null`` reads them as zero; an HDF5 dataset's fill value, which netCDF-C sets to
the netCDF default fill even without a ``_FillValue`` attribute, reads them as that), so it is
compared only between sources that both have missing chunks; zarr v2 references of arrays
whose source fill differs from zero store the missing chunks as encoded fill chunks.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import vzcore
from vzcore.errors import CombineError, VZError
from vzcore.testing.samples import COMBINE

from ._roundtrip import FORMATS, assert_values_equal, raw_netcdf, reopen, write
from .conftest import write_sample_files

pytest.importorskip("vz_hdf5")
pytest.importorskip("vz_kerchunk")
pytest.importorskip("vz_parquet")
pytest.importorskip("vz_icechunk")
nc4 = pytest.importorskip("netCDF4")
pytestmark = pytest.mark.filterwarnings("ignore:The .fastparquet. engine is deprecated")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    files = write_sample_files(data, n_files=5)
    expected = xr.open_mfdataset(files, engine="netcdf4", combine="by_coords", **COMBINE).load()
    return files, expected


def _allow(files):
    """The kerchunk reader's option to follow references into the data directory."""
    return {"kerchunk": {"allowed_prefixes": [files[0].parent.as_uri() + "/"]}}


def _kerchunk_refs(files, where, parquet: bool):
    from kerchunk.combine import MultiZarrToZarr
    from kerchunk.hdf import SingleHdf5ToZarr

    singles = [SingleHdf5ToZarr(str(f), inline_threshold=0).translate() for f in files]
    refs = MultiZarrToZarr(
        singles,
        concat_dims=["time"],
        identical_dims=["lat", "lon", "elevation"],
        remote_protocol="file",
    ).translate()
    if parquet:
        from kerchunk.df import refs_to_dataframe

        out = where / "kerchunk.parq"
        refs_to_dataframe(refs, str(out))
        return out
    out = where / "kerchunk.json"
    out.write_text(json.dumps(refs))
    return out


def _first_refs(kind, files, where):
    """References of the first three files, as ``kind`` writes them."""
    if kind == "kerchunk-single":  # SingleHdf5ToZarr of the first file only
        from kerchunk.hdf import SingleHdf5ToZarr

        out = where / "single.json"
        out.write_text(json.dumps(SingleHdf5ToZarr(str(files[0]), inline_threshold=0).translate()))
        return out
    if kind.startswith("kerchunk-"):
        return _kerchunk_refs(files, where, parquet=kind == "kerchunk-parquet")
    vds = vzcore.open_virtual_mfdataset(files, combine="by_coords", **COMBINE)
    fmt, zarr_format = kind.split("-")
    out = where / ("first.json" if fmt == "json" else "first.parq")
    vds.virtualize.to_kerchunk(out, format=fmt, zarr_format=int(zarr_format[1]))
    return out


REFS = [
    "json-v2",
    "json-v3",
    "parquet-v2",
    "parquet-v3",
    "kerchunk-json",
    "kerchunk-parquet",
    "kerchunk-single",
]


@pytest.mark.parametrize("kind", REFS)
def test_references_plus_new_files_equal_the_originals(archive, tmp_path, kind) -> None:
    files, expected = archive
    first = _first_refs(kind, files[:3], tmp_path)
    new = files[1:] if kind == "kerchunk-single" else files[3:]
    vds = vzcore.open_virtual_mfdataset([first, *new], reader_options=_allow(files), **COMBINE)
    assert vds.sizes["time"] == expected.sizes["time"]
    for fmt in FORMATS:
        where = tmp_path / fmt
        where.mkdir()
        written = write(vds, fmt, where)
        assert_values_equal(reopen(fmt, written), expected)


def test_refs_in_another_directory_need_keyed_reader_options(archive, tmp_path) -> None:
    files, expected = archive
    first = _first_refs("json-v2", files[:3], tmp_path)  # tmp_path is not the data directory
    allowed = [files[0].parent.as_uri() + "/"]
    paths = [first, files[3], files[4]]
    with pytest.raises(VZError, match=r"reader_options=\{'hdf5': \{\.\.\.\}, 'kerchunk'"):
        vzcore.open_virtual_mfdataset(paths, reader_options={"allowed_prefixes": allowed})
    vds = vzcore.open_virtual_mfdataset(
        paths, reader_options={"kerchunk": {"allowed_prefixes": allowed}}, **COMBINE
    )
    assert_values_equal(reopen("json2", write(vds, "json2", tmp_path)), expected)
    # One reader involved: the flat form is fine.
    only = vzcore.open_virtual_dataset(first, reader_options={"allowed_prefixes": allowed})
    assert only.sizes["time"] == 12


# -- missing chunks ------------------------------------------------------------------------


def _holed(path, start: int, fill: bool = True):
    """A netCDF4 file whose int16 ``count`` (no _FillValue) has chunks never written."""
    with nc4.Dataset(path, "w") as nc:
        nc.createDimension("time", 4)
        nc.createDimension("x", 6)
        t = nc.createVariable("time", "i4", ("time",))
        t.units = "days since 2000-01-01"
        t[:] = np.arange(start, start + 4)
        v = nc.createVariable("count", "i2", ("time", "x"), chunksizes=(2, 3))
        v[:2, :3] = np.arange(6, dtype="i2").reshape(2, 3) + start  # 3 of 4 chunks missing
    return path


def test_missing_chunks_read_as_the_source_fill_whoever_wrote_the_references(tmp_path) -> None:
    files = [_holed(tmp_path / f"h_{i}.nc", 4 * i) for i in range(3)]
    raw = np.concatenate([raw_netcdf(f, "count") for f in files])
    assert (raw == -32767).sum() == 3 * 18  # netCDF's default short fill, not zero
    manifest = vzcore.open_virtual_dataset(files[0])["count"].data.manifest
    assert int(manifest.missing().sum()) == 3  # the chunks are really not stored
    expected = xr.open_mfdataset(files, engine="netcdf4", combine="by_coords").load()
    for kind in ("json-v2", "json-v3", "parquet-v2", "parquet-v3"):
        where = tmp_path / kind
        where.mkdir()
        first = _first_refs(kind, files[:2], where)
        vds = vzcore.open_virtual_mfdataset([first, files[2]], reader_options=_allow(files))
        for fmt in FORMATS:
            (where / fmt).mkdir()
            written = write(vds, fmt, where / fmt)
            assert_values_equal(reopen(fmt, written), expected)
            stored = reopen(fmt, written, decode=False)["count"].values
            assert np.array_equal(stored, raw), (kind, fmt)


def test_missing_chunks_that_read_differently_are_refused(tmp_path) -> None:
    files = [_holed(tmp_path / f"h_{i}.nc", 4 * i) for i in range(3)]
    # kerchunk's own references say a netCDF variable's missing chunks read as zero.
    first = _kerchunk_refs(files[:2], tmp_path, parquet=False)
    with pytest.raises(CombineError, match="'count': fill values differ"):
        vzcore.open_virtual_mfdataset([first, files[2]], reader_options=_allow(files))
