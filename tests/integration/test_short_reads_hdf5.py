"""A netCDF4 file truncated after it was scanned: loading through vzcore raises ShortReadError."""

from __future__ import annotations

import pytest

pytest.importorskip("vz_hdf5")
pytest.importorskip("netCDF4")

import numpy as np

import vzcore
from vzcore._to_xarray import DecodeOptions, group_to_dataset
from vzcore.api import read_group
from vzcore.errors import ShortReadError
from vzcore.manifests.loading import load_values

from .conftest import write_sample_files


def test_truncated_netcdf4_after_scan(tmp_path):
    (path,) = write_sample_files(tmp_path, n_files=1)
    vds = vzcore.open_virtual_dataset(path)
    temp = vds["temp"].data
    before = load_values(temp)
    assert before.shape == (4, 6, 8)

    m = temp.manifest
    end = (m.offsets + m.lengths).max()
    last = int(np.argmax((m.offsets + m.lengths).ravel()))
    off, length = int(m.offsets.ravel()[last]), int(m.lengths.ravel()[last])
    assert off + length == int(end)
    with open(path, "r+b") as f:
        f.truncate(off + 3)
    with pytest.raises(ShortReadError) as info:
        load_values(temp)
    assert (info.value.offset, info.value.expected, info.value.actual) == (off, length, 3)
    assert str(path) in str(info.value)


def test_truncated_before_coordinates_are_loaded(tmp_path):
    # Scan, then the file shrinks, then the core loads the coordinates: the error says so.
    (path,) = write_sample_files(tmp_path, n_files=1)
    group = read_group(path)
    lat = group.variables["lat"].data
    ref = lat.manifest[(0,)]
    assert isinstance(ref, tuple)
    _, off, length = ref
    with open(path, "r+b") as f:
        f.truncate(off + length - 1)
    with pytest.raises(ShortReadError) as info:
        group_to_dataset(
            group,
            loadable_variables=None,
            drop_variables=None,
            decode=DecodeOptions(),
            source=str(path),
        )
    assert info.value.offset == off
    assert info.value.actual == length - 1
