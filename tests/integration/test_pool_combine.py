"""open_virtual_mfdataset on a process pool: batches scanned and combined in the workers.

The result must equal the serial combine (same manifests, loaded coordinates, attributes and
skipped files) whether the workers' combined batches are used as they are, arrive as single
files (given out of order) or must be scanned again file by file (batches that interleave,
files with different variables); with ``errors=``, and on a real process pool.
"""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest

import vzcore
from vzcore import _pool_combine
from vzcore.errors import CombineError

pytest.importorskip("vz_hdf5")

from .conftest import (
    serial_and_parallel,
    truncated_copy,
    uniform_starts,
    write_annotated_files,
    write_sample_files,
)
from .test_coordinate_exactness import _stored
from .test_tree_combine import assert_same_dataset


@pytest.fixture
def files(tmp_path):
    return write_annotated_files(tmp_path)


class Spy:
    """Record what the calling process did with the workers' batches."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, batch: int) -> None:
        self.plans: list[int | None] = []
        self.rescans = 0
        monkeypatch.setattr(
            _pool_combine, "batch_starts", lambda n, workers: uniform_starts(n, batch)
        )
        plan, rescan = _pool_combine._plan, _pool_combine._rescan

        def spy_plan(*args):
            pieces = plan(*args)
            self.plans.append(None if pieces is None else len(pieces))
            return pieces

        def spy_rescan(*args):
            self.rescans += 1
            return rescan(*args)

        monkeypatch.setattr(_pool_combine, "_plan", spy_plan)
        monkeypatch.setattr(_pool_combine, "_rescan", spy_rescan)


def test_batches_combined_in_the_workers_equal_serial(files, pool, monkeypatch):
    spy = Spy(monkeypatch, batch=3)
    serial = vzcore.open_virtual_mfdataset(files)
    assert "history" not in serial.attrs
    assert serial.attrs["note"] == "only in file 7"
    ds = vzcore.open_virtual_mfdataset(files, parallel=pool)
    assert_same_dataset(ds, serial)
    assert (spy.plans, spy.rescans) == ([3], 0)  # three combined batches, used as they are


def test_parallel_processes_makes_its_own_pool(files, monkeypatch):
    spy = Spy(monkeypatch, batch=4)
    ds = vzcore.open_virtual_mfdataset(files, parallel="processes")
    assert_same_dataset(ds, vzcore.open_virtual_mfdataset(files))
    assert (spy.plans, spy.rescans) == ([3], 0)  # batches of 4, 4 and 1 file


@pytest.mark.parametrize(
    ("order", "plans", "rescans"),
    [
        ((3, 0, 8, 5, 1, 7, 4, 2, 6), [9], 0),  # no batch in order: single files come back
        ((6, 7, 8, 0, 1, 2, 3, 4, 5), [3], 0),  # sorted batches, given in another order
        ((0, 2, 4, 1, 3, 5, 6, 7, 8), [None], 1),  # sorted batches that interleave: rescanned
        ((8, 7, 6, 5, 4, 3, 2, 1, 0), [9], 0),  # reversed
    ],
)
def test_files_out_of_order(files, pool, monkeypatch, order, plans, rescans):
    spy = Spy(monkeypatch, batch=3)
    serial = vzcore.open_virtual_mfdataset(files)
    ds = vzcore.open_virtual_mfdataset([files[i] for i in order], parallel=pool)
    assert_same_dataset(ds, serial)
    column = ds["temp"].data.manifest.path_array()[:, 0, 0]
    names = list(dict.fromkeys(p.rsplit("/", 1)[1] for p in column))
    assert names == [f"sample_{i:03d}.nc" for i in range(9)]
    assert (spy.plans, spy.rescans) == (plans, rescans)


@pytest.mark.parametrize("errors", ["skip", "warn"])
def test_errors_skip_and_warn_with_a_bad_file_in_a_batch(
    files, tmp_path, pool, monkeypatch, errors
):
    spy = Spy(monkeypatch, batch=3)
    bad = truncated_copy(files[0], tmp_path)
    serial, ds = serial_and_parallel([files[0], bad, *files[1:]], errors, pool)
    assert ds.encoding["skipped_files"] == [str(bad)]
    assert_same_dataset(ds, serial)
    assert (spy.plans, spy.rescans) == ([4], 0)  # the bad file's batch combined without it


def test_errors_raise_raises_the_first_scan_error(files, tmp_path, pool, monkeypatch):
    Spy(monkeypatch, batch=3)
    bad = truncated_copy(files[0], tmp_path)
    paths = [*files[:4], bad, *files[4:]]
    with pytest.raises(vzcore.VZError) as serial:
        vzcore.open_virtual_mfdataset(paths)
    with pytest.raises(type(serial.value)) as pooled:
        vzcore.open_virtual_mfdataset(paths, parallel=pool)
    assert str(pooled.value) == str(serial.value)


def test_combine_errors_are_the_serial_ones(files, tmp_path, pool, monkeypatch):
    Spy(monkeypatch, batch=3)
    (tmp_path / "other").mkdir()
    other = write_sample_files(tmp_path / "other", n_files=5, steps=3)[1]  # days 4-6
    overlapping = [*files[:3], other, *files[3:]]  # the overlap is inside one batch
    with pytest.raises(CombineError, match="overlap") as serial:
        vzcore.open_virtual_mfdataset(overlapping)
    with pytest.raises(CombineError) as pooled:
        vzcore.open_virtual_mfdataset(overlapping, parallel=pool)
    assert str(pooled.value) == str(serial.value)


def test_nested_along_an_existing_dimension(files, pool, monkeypatch):
    spy = Spy(monkeypatch, batch=3)
    serial = vzcore.open_virtual_mfdataset(files, combine="nested", concat_dim="time")
    ds = vzcore.open_virtual_mfdataset(files, combine="nested", concat_dim="time", parallel=pool)
    assert_same_dataset(ds, serial)
    assert spy.plans == [3]


def test_files_with_different_variables_are_combined_at_once(tmp_path, pool, monkeypatch):
    spy = Spy(monkeypatch, batch=3)
    paths = []
    for name in ("a", "b"):
        for i in range(3):
            path = tmp_path / f"{name}_{i}.nc"
            with netCDF4.Dataset(path, "w") as nc:
                nc.createDimension("time", 2)
                t = nc.createVariable("time", "i4", ("time",))
                t[:] = [2 * i, 2 * i + 1]
                v = nc.createVariable(name, "f4", ("time",), chunksizes=(1,))
                v[:] = np.arange(2, dtype="f4") + i
            paths.append(path)
    serial = vzcore.open_virtual_mfdataset(paths)
    ds = vzcore.open_virtual_mfdataset(paths, parallel=pool)
    assert_same_dataset(ds, serial)
    assert spy.rescans == 1  # the two combined batches are scanned again, file by file


def test_virtual_dimension_coordinates_are_refused_as_serially(files, pool):
    with pytest.raises(vzcore.VZError, match="virtual") as serial:
        vzcore.open_virtual_mfdataset(files, loadable_variables=[])
    with pytest.raises(vzcore.VZError) as pooled:
        vzcore.open_virtual_mfdataset(files, loadable_variables=[], parallel=pool)
    assert str(pooled.value) == str(serial.value)


def test_progress_bar_counts_files(files, pool, monkeypatch, capfd):
    Spy(monkeypatch, batch=3)
    vzcore.open_virtual_mfdataset(files, parallel=pool, progress=True)
    err = capfd.readouterr().err
    assert "9/9" in err


@pytest.mark.parametrize(
    "order",
    [(3, 0, 8, 5, 1, 7, 4, 2, 6), (0, 2, 4, 1, 3, 5, 6, 7, 8)],  # singles; interleaved batches
)
def test_errors_skip_with_files_out_of_order(files, tmp_path, pool, monkeypatch, order):
    """errors= and out-of-order files together, on both the singles and the rescan paths."""
    Spy(monkeypatch, batch=3)
    bad = truncated_copy(files[0], tmp_path)
    paths = [files[i] for i in order]
    paths.insert(4, bad)
    serial = vzcore.open_virtual_mfdataset(paths, errors="skip")
    ds = vzcore.open_virtual_mfdataset(paths, errors="skip", parallel=pool)
    assert ds.encoding["skipped_files"] == [str(bad)]
    assert_same_dataset(ds, serial)


def test_stored_values_of_loaded_coordinates_reach_the_calling_process(files, pool, monkeypatch):
    """The batches bring `time`'s stored values joined, so the writer need not re-encode.

    Serially every file's stored values are remembered in this process; here the files are
    opened in the workers, and without the joined pieces the writer would re-encode `time`
    (and import dask.array to check that the encoding decodes back).
    """
    from vzcore import _raw_values

    Spy(monkeypatch, batch=3)
    _raw_values.clear()
    ds = vzcore.open_virtual_mfdataset(files, parallel=pool)
    got = _raw_values.raw_values_for("time", ds["time"].encoding, ds["time"].values)
    assert got is not None
    assert got.tobytes() == _stored(files).tobytes()


def test_a_combine_attrs_lambda_works_on_a_process_pool(files, pool):
    """The workers never apply a callable combine_attrs: it is not sent (pickle cannot)."""
    serial, parallel = (
        vzcore.open_virtual_mfdataset(
            files, parallel=p, combine_attrs=lambda attrs, context=None: {"n": len(attrs)}
        )
        for p in (False, pool)
    )
    assert_same_dataset(parallel, serial)
    assert set(parallel.attrs) == {"n"}  # (applied: equal to the serial ones above)


def test_options_a_process_pool_cannot_send_are_refused_up_front(files, pool):
    """A clear vzcore error before any task runs, not pickle's from a feeder thread."""
    import threading

    from vzcore.errors import VZError

    with pytest.raises(VZError, match=r"cannot be pickled: .*lock.* or use parallel=False"):
        vzcore.open_virtual_mfdataset(
            files, parallel=pool, storage_options={"lock": threading.Lock()}
        )
