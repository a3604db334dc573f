"""The parallel combines equal the serial one down to the order of variables and attributes.

Files hold their variables and attributes in different orders, some files hold another
variable (xarray merges the two groups), one file is corrupt, and the files come out of
order. The serial combine is the reference; the process pool, a cluster of threads and a
cluster of worker processes must give the same dataset, ``list(ds.variables)`` and every
``list(attrs)`` included, under ``errors="warn"`` and ``"skip"``.
"""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest

import vzcore
from vzcore import _pool_combine, _tree_combine

pytest.importorskip("vz_hdf5")
pytest.importorskip("distributed")

from .conftest import serial_and_parallel, truncated_copy, uniform_starts
from .test_tree_combine import assert_same_dataset

ORDER = (4, 1, 5, 0, 3, 2)
"""The order the six files of each group are given in."""


def _write(path, day, name, first, attrs):
    """One file: days ``day``, ``day + 1`` of ``name`` and ``name_max``, created in an order
    that depends on the day, after ``first``."""
    with netCDF4.Dataset(path, "w") as nc:
        for key, value in attrs:
            nc.setncattr(key, value)
        nc.createDimension("time", 2)
        nc.createDimension("x", 3)
        data = (name, f"{name}_max") if day % 4 else (f"{name}_max", name)
        for var in (first, *[v for v in ("time", *data, "x") if v != first]):
            if var == "time":
                t = nc.createVariable("time", "i4", ("time",))
                t.units = "days since 2000-01-01"
                t[:] = [day, day + 1]
            elif var == "x":
                nc.createVariable("x", "f4", ("x",))[:] = [0.5, 1.5, 2.5]
            else:
                v = nc.createVariable(var, "f4", ("time", "x"), chunksizes=(1, 3))
                pairs = [("units", "K"), ("long_name", var), ("comment", f"file {day}")]
                for key, value in pairs if day % 4 else pairs[::-1]:
                    v.setncattr(key, value)
                v[:] = np.arange(6, dtype="f4").reshape(2, 3) + day


def _group(directory, name):
    directory.mkdir()
    paths = []
    for i in range(len(ORDER)):
        attrs = [("title", "t"), ("history", f"run {i}"), ("source", "model")]
        if i % 3 == 1:
            attrs = attrs[::-1]  # the same attributes, in another order
        if i == 4:
            attrs.insert(0, ("note", "only in file 4"))
        path = directory / f"{name}_{i}.nc"
        _write(path, 2 * i, name, ("time", name, "x")[i % 3], attrs)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def groups(tmp_path_factory):
    root = tmp_path_factory.mktemp("order")
    temp, rain = _group(root / "temp", "temp"), _group(root / "rain", "rain")
    return [temp[i] for i in ORDER], [rain[i] for i in ORDER[::-1]], root


@pytest.fixture(params=["pool", "thread_client", "process_client"])
def executor(request, monkeypatch):
    monkeypatch.setattr(_pool_combine, "batch_starts", lambda n, workers: uniform_starts(n, 3))
    monkeypatch.setattr(
        _tree_combine, "_batch_starts", lambda n, workers, largest: uniform_starts(n, 3)
    )
    monkeypatch.setattr(_tree_combine, "FAN_IN", 2)  # several levels of combine tasks
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("errors", ["warn", "skip"])
def test_one_group_staged_in_another_order(groups, executor, errors):
    """The same variables in files that order them differently: combined in stages."""
    temp, _, root = groups
    bad = truncated_copy(temp[0], root)
    serial, ds = serial_and_parallel([*temp[:3], bad, *temp[3:]], errors, executor)
    assert {tuple(vzcore.open_virtual_dataset(p).variables) for p in temp} == {
        ("temp", "temp_max", "time", "x"),
        ("temp_max", "temp", "time", "x"),
        ("temp", "temp_max", "x", "time"),
        ("temp_max", "temp", "x", "time"),
    }
    assert serial.attrs["note"] == "only in file 4"
    assert ds.encoding["skipped_files"] == [str(bad)]
    assert_same_dataset(ds, serial)  # the order of variables and attributes included


@pytest.mark.parametrize("errors", ["warn", "skip"])
def test_merged_groups_given_out_of_order(groups, executor, errors):
    """Two groups of variables that xarray merges, interleaved, with a corrupt file."""
    temp, rain, root = groups
    bad = truncated_copy(temp[0], root)
    paths = [rain[0], *temp[:2], *rain[1:3], bad, *temp[2:5], *rain[3:], temp[5]]
    serial, ds = serial_and_parallel(paths, errors, executor)
    variables = list(serial.variables)  # the merged variable after the first's coordinates
    assert variables.index("temp") > variables.index("time") > variables.index("rain")
    assert ds.encoding["skipped_files"] == [str(bad)]
    assert_same_dataset(ds, serial)  # the order of variables and attributes included
