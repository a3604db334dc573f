"""Fixtures for the kerchunk writer: ManifestGroups built by hand over real files.

Chunks are written by the tests themselves (raw, zlib, shuffle+zlib bytes in a plain file)
or by netCDF4/h5py, whose chunk offsets come from h5py's ``DatasetID.chunk_iter``. No reader
plugin is needed.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from vzcore.group import ManifestGroup, Variable
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray
from vzcore.testing.chunk_file import ChunkFile


@pytest.fixture
def chunk_file(tmp_path: Path) -> ChunkFile:
    return ChunkFile(tmp_path / "chunks.bin")


def zlib_raw(data: bytes, level: int = 6) -> bytes:
    return zlib.compress(data, level)


# -- netCDF4 files, referenced through h5py's chunk index ---------------------------------------


def _h5_codecs(ds: Any) -> tuple[dict[str, Any], ...]:
    codecs: list[dict[str, Any]] = []
    if ds.shuffle:
        codecs.append({"id": "shuffle", "elementsize": ds.dtype.itemsize})
    if ds.compression == "gzip":
        codecs.append({"id": "zlib", "level": int(ds.compression_opts)})
    elif ds.compression is not None:  # pragma: no cover - fixtures only use gzip
        raise NotImplementedError(ds.compression)
    return tuple(codecs)


def h5_manifest_array(path: Path, name: str) -> ManifestArray:
    """Reference one HDF5 dataset's chunks (chunk_iter) or its contiguous block."""
    import h5py

    url = "file://" + str(path.absolute())
    with h5py.File(path, "r") as f:
        ds = f[name]
        fill = ds.fillvalue
        fill_value = fill.item() if isinstance(fill, np.generic) else fill
        if ds.chunks is None:
            meta = ArrayMetadata(ds.shape, ds.dtype, ds.shape or (), fill_value=fill_value)
            offset = ds.id.get_offset()
            grid = meta.grid_shape
            if offset is None:
                return ManifestArray(meta, ChunkManifest.empty(grid))
            manifest = ChunkManifest.from_arrays(
                np.full(grid, url, dtype=object),
                np.full(grid, offset, dtype=np.uint64),
                np.full(grid, ds.id.get_storage_size(), dtype=np.uint64),
            )
            return ManifestArray(meta, manifest)
        meta = ArrayMetadata(
            ds.shape, ds.dtype, ds.chunks, fill_value=fill_value, codecs=_h5_codecs(ds)
        )
        grid = meta.grid_shape
        paths = np.full(grid, "", dtype=object)
        offsets = np.zeros(grid, np.uint64)
        lengths = np.zeros(grid, np.uint64)

        def visit(info: Any) -> None:
            idx = tuple(o // c for o, c in zip(info.chunk_offset, ds.chunks, strict=True))
            paths[idx] = url
            offsets[idx] = info.byte_offset
            lengths[idx] = info.size

        ds.id.chunk_iter(visit)
        return ManifestArray(meta, ChunkManifest.from_arrays(paths, offsets, lengths))


def netcdf_group(path: Path, loadable: Sequence[str] = ()) -> ManifestGroup:
    """Build the ManifestGroup a reader would: virtual variables, ``loadable`` in memory.

    Attributes come from xarray without decoding (CF encoding attributes kept as stored);
    loaded variables hold their encoded values.
    """
    import xarray as xr

    with xr.open_dataset(path, engine="netcdf4", decode_cf=False, mask_and_scale=False) as raw:
        variables = {}
        for name, var in raw.variables.items():
            attrs = dict(var.attrs)
            data = var.values if name in loadable else h5_manifest_array(path, str(name))
            variables[str(name)] = Variable(var.dims, data, attrs)
        return ManifestGroup(variables=variables, attrs=dict(raw.attrs))


# -- reopening the references the way users do ---------------------------------------------------


def reopen(target: str | dict[str, Any], **kwargs: Any) -> Iterator[Any]:
    """Yield the references opened through zarr (fsspec mapper) and kerchunk's engine."""
    import fsspec
    import xarray as xr

    m = fsspec.filesystem("reference", fo=target).get_mapper("")
    yield xr.open_dataset(m, engine="zarr", **kwargs)
    if isinstance(target, str):
        yield xr.open_dataset(target, engine="kerchunk", **kwargs)


def assert_same(ds: Any, expected: Any) -> None:
    """Values, dtypes, dims and attributes equal (xarray's assert_identical plus dtypes)."""
    import xarray as xr

    ds = ds.load()
    expected = expected.load()
    xr.testing.assert_identical(ds, expected)
    for name, var in expected.variables.items():
        assert ds[name].dtype == var.dtype, (name, ds[name].dtype, var.dtype)


def write_small_netcdf(
    path: Path, seed: int, time: Any, title: str, encoding: dict[str, Any], **more: Any
) -> Path:
    """Write a small netCDF4 file with xarray: ``temp`` and ``counts`` over (time, lat, lon).

    ``temp`` is float32 with one NaN, zlib + shuffle in (1, 2, 5) chunks with a ``_FillValue``;
    ``counts`` int32; both random from ``seed``, over 3 times, 4 latitudes and 5 longitudes.
    ``time`` is the time coordinate, ``encoding`` the other variables' encodings and
    ``more`` further data variables.
    """
    import xarray as xr

    rng = np.random.default_rng(seed)
    temp = rng.normal(280, 5, (3, 4, 5)).astype("f4")
    temp[1, 1, 1] = np.nan
    ds = xr.Dataset(
        {
            "temp": (("time", "lat", "lon"), temp, {"units": "K"}),
            "counts": (("time", "lat", "lon"), rng.integers(0, 3, (3, 4, 5)).astype("i4")),
            **more,
        },
        coords={"time": time, "lat": np.linspace(-30, 30, 4), "lon": np.linspace(0, 40, 5)},
        attrs={"title": title},
    )
    temp_encoding = {
        "zlib": True,
        "shuffle": True,
        "chunksizes": (1, 2, 5),
        "_FillValue": np.float32(-1e30),
    }
    ds.to_netcdf(path, engine="netcdf4", encoding={"temp": temp_encoding, **encoding})
    return path


def url_of(path: Path | str) -> str:
    return "file://" + str(Path(path).absolute())


def read(path: Path | str, **options: Any) -> ManifestGroup:
    """Read the references at ``path`` with vz-kerchunk's reader."""
    from vz_kerchunk import KerchunkReader

    return KerchunkReader().read(url_of(path), **options)


def zarray(
    shape: list[int],
    chunks: list[int],
    dtype: str = "<i4",
    fill_value: Any = None,
    compressor: dict[str, Any] | None = None,
    filters: list[dict[str, Any]] | None = None,
    sep: str = ".",
) -> str:
    """A zarr format 2 ``.zarray`` document, as JSON text."""
    return json.dumps(
        {
            "zarr_format": 2,
            "shape": shape,
            "chunks": chunks,
            "dtype": dtype,
            "fill_value": fill_value,
            "order": "C",
            "compressor": compressor,
            "filters": filters,
            "dimension_separator": sep,
        }
    )


def fuzz_outcomes(directory: Path, texts: Iterable[str]) -> dict[str, int]:
    """Read each of ``texts`` as a references file; count reads that succeed and VZErrors.

    Any other exception propagates: broken references must raise only vzcore's errors.
    """
    from vzcore.errors import VZError

    outcomes = {"ok": 0, "error": 0}
    for i, text in enumerate(texts):
        p = directory / f"fuzz{i % 5}.json"
        p.write_text(text)
        try:
            read(p)
        except VZError:
            outcomes["error"] += 1
        else:
            outcomes["ok"] += 1
    return outcomes
