"""Concatenation and fill values: they matter only where chunks are missing."""

import numpy as np
import pytest

from vzcore.errors import CombineError
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray


def arr(fill, missing=False, path="file:///a.nc"):
    meta = ArrayMetadata(shape=(4,), dtype=np.dtype("<i4"), chunk_shape=(2,), fill_value=fill)
    paths = np.array([path, "" if missing else path], dtype=object)
    return ManifestArray(meta, ChunkManifest.from_arrays(paths, [0, 8], [8, 8]))


def test_fully_stored_arrays_join_whatever_their_fill_value():
    # e.g. zarr v2 references without _FillValue lose a netCDF int's default fill value
    c = np.concatenate([arr(None), arr(-2147483647, path="file:///b.nc")])
    assert c.shape == (8,)
    assert c.metadata.fill_value is None


def test_fill_value_of_the_array_with_missing_chunks_is_kept():
    c = np.concatenate([arr(None), arr(-1, missing=True), arr(7)])
    assert c.metadata.fill_value == -1
    assert bool(c.manifest.missing()[3])


def test_missing_chunks_with_different_fill_values_refuse():
    with pytest.raises(CombineError, match="fill value -1 vs 5"):
        np.concatenate([arr(-1, missing=True), arr(0), arr(5, missing=True)])
