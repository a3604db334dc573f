"""Trees and less common variables: DataTree groups, inline chunks, scalars, loaded strings."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
from vzcore.group import ManifestGroup, Variable
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray

from .conftest import Repo, xr


def _grouped_file(path: Path) -> Path:
    import netCDF4

    with netCDF4.Dataset(path, "w") as nc:
        nc.title = "grouped"
        nc.createDimension("x", 6)
        x = nc.createVariable("x", "f8", ("x",))
        x[:] = np.arange(6) * 0.5
        v = nc.createVariable("v", "i2", ("x",), zlib=True, chunksizes=(2,), fill_value=-1)
        v[:] = [1, 2, -1, 0, 5, 6]
        g = nc.createGroup("obs")
        g.createDimension("station", 3)
        s = g.createVariable("pressure", "f4", ("station",), fill_value=np.float32(-999))
        s[:] = np.ma.masked_array([1000.5, 0.0, 990.0], mask=[False, False, True])
        inner = g.createGroup("deep")
        inner.createDimension("k", 2)
        k = inner.createVariable("counts", "u4", ("k",))
        k[:] = [0, 4000000000]
    return path


def test_datatree_round_trip(tmp_path: Path) -> None:
    import vzcore

    path = _grouped_file(tmp_path / "grouped.nc")
    vdt = vzcore.open_virtual_datatree(str(path))
    repo = Repo(tmp_path / "repo", [f"file://{path}"])
    session = repo.session()
    vdt.virtualize.to_icechunk(session)
    session.commit("tree")
    got = xr.open_datatree(repo.reopen(), engine="zarr", consolidated=False).load()
    expected = xr.open_datatree(path, engine="netcdf4").load()
    xr.testing.assert_identical(got, expected)
    assert got["obs/deep/counts"].dtype == np.uint32
    assert got["v"].dtype == np.float32  # masked with _FillValue, as netCDF4 decodes it
    raw = xr.open_datatree(repo.reopen(), engine="zarr", consolidated=False, decode_cf=False)
    assert raw["v"].dtype == np.int16


def test_inline_chunks_scalars_and_loaded_strings(tmp_path: Path) -> None:
    from vz_icechunk import IcechunkWriter

    data = tmp_path / "chunks.bin"
    values = np.arange(12, dtype=">i4").reshape(3, 4)
    first = zlib.compress(values[:2].tobytes())
    data.write_bytes(b"HEAD" + first)
    url = f"file://{data}"
    # Chunk 0 in the file, chunk 1 inline (bytes held by the manifest, zlib-encoded too).
    second = np.zeros((2, 4), ">i4")
    second[:1] = values[2:]
    manifest = ChunkManifest.from_refs(
        {(0, 0): (url, 4, len(first)), (1, 0): zlib.compress(second.tobytes())}, (2, 1)
    )
    meta = ArrayMetadata((3, 4), np.dtype(">i4"), (2, 4), codecs=({"id": "zlib", "level": 6},))
    scalar_bytes = np.array(2.5, "<f8").tobytes()
    with data.open("ab") as f:
        f.write(scalar_bytes)
    scalar = ManifestArray(
        ArrayMetadata((), np.dtype("<f8"), ()),
        ChunkManifest.from_refs({(): (url, 4 + len(first), 8)}, ()),
    )
    group = ManifestGroup(
        variables={
            "grid": Variable(("y", "x"), ManifestArray(meta, manifest), {"units": "m"}),
            "scale": Variable((), scalar),
            "name": Variable(("y",), np.array(["a", "bb", "ccc"], dtype=object)),
            "flag": Variable(("y",), np.array([True, False, True])),
        },
        attrs={"history": "built by hand", "version": np.int64(3)},
    )
    repo = Repo(tmp_path / "repo", [url])
    session = repo.session()
    IcechunkWriter().write(group, session)
    session.commit("hand-built")
    ds = xr.open_zarr(repo.reopen(), consolidated=False).load()
    np.testing.assert_array_equal(ds["grid"].values, values)
    assert ds["grid"].dtype == np.dtype(">i4").newbyteorder("=")
    assert float(ds["scale"]) == 2.5
    assert ds["name"].values.tolist() == ["a", "bb", "ccc"]
    assert ds["flag"].dtype == bool
    assert ds.attrs == {"history": "built by hand", "version": 3}


def test_nan_attribute_is_refused_before_writing(tmp_path: Path) -> None:
    from vzcore.errors import WriteError

    from vz_icechunk import IcechunkWriter

    group = ManifestGroup(
        variables={"x": Variable(("x",), np.arange(3.0), {"valid_max": float("nan")})}
    )
    repo = Repo(tmp_path / "repo")
    session = repo.session()
    with pytest.raises(WriteError, match="NaN or infinite"):
        IcechunkWriter().write(group, session)
    assert not session.has_uncommitted_changes


@pytest.mark.parametrize("dirname", ["sp ace", "pct%25", "hash#", "query?", "é"])
def test_paths_with_characters_urls_escape(tmp_path: Path, dirname: str) -> None:
    from vz_icechunk import IcechunkWriter, containers_for

    d = tmp_path / dirname
    d.mkdir()
    path = d / "x y#%.bin"
    values = np.arange(8, dtype="<i4")
    path.write_bytes(values.tobytes())
    url = f"file://{path}"  # as readers write them: the raw path, not percent-encoded
    manifest = ChunkManifest.from_refs({(0,): (url, 0, 16), (1,): (url, 16, 16)}, (2,))
    group = ManifestGroup(
        variables={"a": Variable(("x",), ManifestArray(ArrayMetadata((8,), "<i4", (4,)), manifest))}
    )
    # The container stops above the first directory whose name needs escaping.
    assert [c.url_prefix for c in containers_for(group)] == [f"file://{tmp_path}/"]
    repo = Repo(tmp_path / "repo", group)
    session = repo.session()
    IcechunkWriter().write(group, session)
    session.commit("escaped")
    np.testing.assert_array_equal(repo.open_zarr()["a"].values, values)
