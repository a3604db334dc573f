"""open_virtual_mfdataset on a dask.distributed cluster: the tree-reduced combine.

The result must equal the serial combine (same manifests, same loaded coordinates, same
attributes), with files out of order, with ``errors=`` and with several levels of the tree.
"""

from __future__ import annotations

import numpy as np
import pytest

import vzcore
from vzcore import _tree_combine
from vzcore.errors import CombineError

pytest.importorskip("vz_hdf5")
pytest.importorskip("netCDF4")
distributed = pytest.importorskip("distributed")

from .conftest import (
    serial_and_parallel,
    truncated_copy,
    uniform_starts,
    write_annotated_files,
    write_sample_files,
)


@pytest.fixture(scope="module")
def client(thread_client):
    return thread_client


@pytest.fixture
def files(tmp_path):
    return write_annotated_files(tmp_path)


@pytest.fixture
def small_fan_in(monkeypatch):
    monkeypatch.setattr(_tree_combine, "FAN_IN", 2)  # 9 files: four levels of combining


def assert_same_dataset(ds, serial):
    assert list(ds.variables) == list(serial.variables)  # in the same order
    assert list(ds.attrs.items()) == list(serial.attrs.items())  # in the same order
    assert ds.encoding.get("skipped_files") == serial.encoding.get("skipped_files")
    assert set(ds.xindexes) == set(serial.xindexes)
    for name, var in serial.variables.items():
        got = ds.variables[name]
        assert got.dims == var.dims, name
        assert list(got.attrs.items()) == list(var.attrs.items()), name
        assert repr(got.encoding) == repr(var.encoding), name  # NaN fill values
        if hasattr(var.data, "manifest"):
            assert got.data.metadata == var.data.metadata, name
            assert got.data.manifest == var.data.manifest, name
        else:
            np.testing.assert_array_equal(got.values, var.values)
            assert got.dtype == var.dtype


def test_tree_combine_equals_serial(files, client, small_fan_in):
    serial = vzcore.open_virtual_mfdataset(files)
    assert "history" not in serial.attrs
    assert serial.attrs["note"] == "only in file 7"
    ds = vzcore.open_virtual_mfdataset(files, parallel=client)
    assert_same_dataset(ds, serial)


def test_files_out_of_order(files, client, small_fan_in):
    shuffled = [files[i] for i in (3, 0, 8, 5, 1, 7, 4, 2, 6)]
    serial = vzcore.open_virtual_mfdataset(files)
    ds = vzcore.open_virtual_mfdataset(shuffled, parallel=client)
    assert_same_dataset(ds, serial)
    column = ds["temp"].data.manifest.path_array()[:, 0, 0]
    names = list(dict.fromkeys(p.rsplit("/", 1)[1] for p in column))
    assert names == [f"sample_{i:03d}.nc" for i in range(9)]


@pytest.mark.parametrize("batch", [2, 4])
def test_batched_scans_out_of_order_with_a_bad_file(files, tmp_path, client, monkeypatch, batch):
    monkeypatch.setattr(_tree_combine, "FAN_IN", 3)
    monkeypatch.setattr(
        _tree_combine, "_batch_starts", lambda n, workers, largest: uniform_starts(n, batch)
    )
    bad = truncated_copy(files[0], tmp_path)
    shuffled = [files[i] for i in (3, 0, 8, 5)] + [bad] + [files[i] for i in (1, 7, 4, 2, 6)]
    serial = vzcore.open_virtual_mfdataset(shuffled, errors="skip")
    ds = vzcore.open_virtual_mfdataset(shuffled, errors="skip", parallel=client)
    assert_same_dataset(ds, serial)


@pytest.mark.parametrize("order", ["given", "shuffled"])
def test_batches_of_shrinking_sizes_with_a_bad_file(files, tmp_path, client, monkeypatch, order):
    """Batches of uneven sizes (as _batch_starts makes them: smaller at the end)."""
    monkeypatch.setattr(_tree_combine, "FAN_IN", 3)
    monkeypatch.setattr(
        _tree_combine, "_batch_starts", lambda n, workers, largest: [0, 4, 6, 8, 9, n]
    )
    bad = truncated_copy(files[0], tmp_path)
    listed = [*files[:5], bad, *files[5:]]
    if order == "shuffled":
        listed = [listed[i] for i in (3, 0, 9, 5, 1, 7, 4, 2, 6, 8)]
    serial = vzcore.open_virtual_mfdataset(listed, errors="skip")
    ds = vzcore.open_virtual_mfdataset(listed, errors="skip", parallel=client)
    assert_same_dataset(ds, serial)


def test_batch_starts_shrink_towards_the_end():
    from vzcore._tree_combine import _batch_starts

    for n, workers in [(10_000, 2), (10_000, 7), (1_000_000, 64), (300, 2), (9, 2), (1, 1)]:
        starts = _batch_starts(n, workers, 256)
        sizes = np.diff(starts)
        assert starts[0] == 0
        assert starts[-1] == n
        assert (sizes > 0).all()
        assert (np.diff(sizes) <= 0).all()  # never larger than the one before
        first = max(1, min(256, n // (8 * workers)))  # as before: 8 tasks per worker at least
        assert sizes[0] == first
        assert sizes[-1] <= -(-first // 8) or len(sizes) == 1 or first == 1
    assert np.diff(_batch_starts(10_000, 2, 256))[-2:].tolist() == [32, 16]  # not 256 files
    assert _batch_starts(9, 2, 256) == list(range(10))  # small inputs: one file per task


def test_plan_follows_uneven_batches():
    from vzcore._tree_combine import _plan

    starts = [0, 4, 6, 7, 9]
    combined = [True, True, False, True]
    assert _plan(list(range(9)), set(), combined, starts) == [
        (0, None), (1, None), (2, 6), (3, None),
    ]  # fmt: skip
    assert _plan([0, 1, 2, 3, 5, 6, 7, 8], {4}, combined, starts) == [
        (0, None), (1, None), (2, 6), (3, None),
    ]  # fmt: skip
    assert _plan([4, 5, 0, 1, 2, 3, 6, 7, 8], set(), combined, starts) == [
        (1, None), (0, None), (2, 6), (3, None),
    ]  # fmt: skip
    assert _plan([0, 1, 2, 4, 3, 5, 6, 7, 8], set(), combined, starts) is None  # interleave


def test_nested_along_an_existing_dimension(files, client, small_fan_in):
    serial = vzcore.open_virtual_mfdataset(files, combine="nested", concat_dim="time")
    ds = vzcore.open_virtual_mfdataset(files, combine="nested", concat_dim="time", parallel=client)
    assert_same_dataset(ds, serial)


@pytest.mark.parametrize("errors", ["skip", "warn"])
def test_errors_skip_and_warn(files, tmp_path, client, small_fan_in, errors):
    bad = truncated_copy(files[0], tmp_path)
    serial, ds = serial_and_parallel([files[2], bad, *files[:2], *files[3:]], errors, client)
    assert ds.encoding["skipped_files"] == [str(bad)]
    assert_same_dataset(ds, serial)


def test_errors_raise_raises_the_scan_error(files, tmp_path, client):
    bad = truncated_copy(files[0], tmp_path)
    with pytest.raises(vzcore.VZError) as serial:
        vzcore.open_virtual_mfdataset([*files, bad])
    with pytest.raises(type(serial.value), match=r"sample_100\.nc"):
        vzcore.open_virtual_mfdataset([*files, bad], parallel=client)


def test_combine_errors_are_raised_from_the_workers(files, tmp_path, client, small_fan_in):
    (tmp_path / "other").mkdir()
    other = write_sample_files(tmp_path / "other", n_files=5, steps=3)[1]  # days 4-6
    overlapping = [*files, other]
    with pytest.raises(CombineError, match="overlap"):
        vzcore.open_virtual_mfdataset(overlapping)
    with pytest.raises(CombineError, match="overlap"):
        vzcore.open_virtual_mfdataset(overlapping, parallel=client)


def test_active_client_is_used_for_dask(files, client):
    serial = vzcore.open_virtual_mfdataset(files)

    def transitions(dask_scheduler):
        return dask_scheduler.transition_counter

    with client.as_current():
        before = client.run_on_scheduler(transitions)
        ds = vzcore.open_virtual_mfdataset(files, parallel="dask")
        after = client.run_on_scheduler(transitions)
    assert after - before >= 2 * len(files)  # a scan and a summary task per file, at least
    assert_same_dataset(ds, serial)


def test_client_with_preprocess_uses_the_executor_path(files, client):
    def keep_temp(ds):
        return ds[["temp"]]

    serial = vzcore.open_virtual_mfdataset(files, preprocess=keep_temp)
    ds = vzcore.open_virtual_mfdataset(files, preprocess=keep_temp, parallel=client)
    assert_same_dataset(ds, serial)


def test_progress_bar_follows_the_cluster(files, client, capfd):
    vzcore.open_virtual_mfdataset(files, parallel=client, progress=True)
    err = capfd.readouterr().err
    assert "9/9" in err


def test_parts_travel_in_compact_form(files):
    import pickle

    from vzcore._compact import CompactDataset

    part = _tree_combine.Part(vzcore.open_virtual_dataset(files[0]), str(files[0]), str(files[0]))
    travelled = pickle.loads(pickle.dumps(part, protocol=5))
    assert isinstance(travelled.data, CompactDataset)
    assert_same_dataset(travelled.dataset(), vzcore.open_virtual_dataset(files[0]))


@pytest.mark.parametrize("ahead", [1, 3])
def test_result_fetched_in_slices_equals_serial(files, client, monkeypatch, small_fan_in, ahead):
    """The client gets the root result in slices (bounded memory), equal to the serial one.

    The root leaves its concatenations unjoined: the slices are cut from its parts' arrays.

    ``ahead``: slices asked for beyond the one being copied (across the three fields).
    """
    from vzcore import _fetch_result

    calls: list[tuple] = []
    monkeypatch.setattr(_fetch_result, "_seen", calls, raising=False)
    real = _fetch_result._slice

    def counting(part, name, field, start, stop):
        # the task runs in this process (processes=False) but as a copy of this function:
        # record through the module
        import sys

        from vzcore._dask_graph import unwrap_duck_array
        from vzcore.manifests.joined import JoinedManifest

        manifest = unwrap_duck_array(part.dataset().variables[name]._data).manifest
        later = isinstance(manifest, JoinedManifest) and not manifest.is_joined
        sys.modules["vzcore._fetch_result"]._seen.append((name, field, start, stop, later))
        return real(part, name, field, start, stop)

    monkeypatch.setattr(_fetch_result, "SLICE_BYTES", 40)  # a few chunks per slice
    monkeypatch.setattr(_fetch_result, "AHEAD", ahead)
    monkeypatch.setattr(_fetch_result, "_slice", counting)
    serial = vzcore.open_virtual_mfdataset(files)
    ds = vzcore.open_virtual_mfdataset(files, parallel=client)
    assert_same_dataset(ds, serial)
    n = serial["temp"].data.manifest.nchunks
    offsets = sorted((s, e) for name, f, s, e, _ in calls if name == "temp" and f == "offsets")
    assert len(offsets) > 1  # several slices (run in any order on the worker's threads),
    assert [s for s, _ in offsets] == [0, *(e for _, e in offsets[:-1])]  # tiling
    assert offsets[-1][1] == n  # every chunk,
    # cut from the root's parts, never joined there (elevation, not concatenated: whole)
    assert all(later for name, *_, later in calls if name == "temp")
    assert ds["temp"].data.manifest.offsets.flags.writeable is False


def test_slices_are_placed_on_the_worker_holding_the_result(client):
    """Slice tasks ask for the worker that holds the result (else one may copy all of it)."""
    from vzcore._fetch_result import holder_placement

    for address in client.scheduler_info()["workers"]:
        held = client.submit(lambda: list(range(1000)), workers=[address], pure=False)
        assert holder_placement(client, held) == {
            "workers": [address],
            "allow_other_workers": True,  # never waits for a worker that is gone
        }


def _recording_scans(monkeypatch):
    """Record (file numbers, combined in the worker?) of every batch scan task."""
    import sys

    from vzcore import _pool_combine

    seen: list[tuple[list[int], bool]] = []
    monkeypatch.setattr(_pool_combine, "_seen", seen, raising=False)
    real = _pool_combine.scan_and_combine_batch

    def recording(indexes, paths, opener, kwargs, retries, options, combine_batch):
        # runs in this process (processes=False) as a copy: record through the module
        sys.modules["vzcore._pool_combine"]._seen.append((list(indexes), combine_batch))
        return real(indexes, paths, opener, kwargs, retries, options, combine_batch)

    monkeypatch.setattr(_pool_combine, "scan_and_combine_batch", recording)
    return seen


def test_batches_are_combined_where_they_are_scanned(files, client, monkeypatch):
    """Files in order: each scan task combines its batch, and no file is scanned twice."""
    monkeypatch.setattr(_tree_combine, "FAN_IN", 2)
    monkeypatch.setattr(
        _tree_combine, "_batch_starts", lambda n, workers, largest: uniform_starts(n, 3)
    )
    seen = _recording_scans(monkeypatch)
    serial = vzcore.open_virtual_mfdataset(files)
    ds = vzcore.open_virtual_mfdataset(files, parallel=client)
    assert_same_dataset(ds, serial)
    assert sorted(seen) == [([0, 1, 2], True), ([3, 4, 5], True), ([6, 7, 8], True)]


def test_combined_batches_that_interleave_are_scanned_again(files, client, monkeypatch):
    """Batches each in order but interleaved in the combined order: combined file by file."""
    monkeypatch.setattr(_tree_combine, "FAN_IN", 2)
    monkeypatch.setattr(
        _tree_combine, "_batch_starts", lambda n, workers, largest: uniform_starts(n, 2)
    )
    seen = _recording_scans(monkeypatch)
    interleaved = [files[i] for i in (0, 2, 4, 6, 8, 1, 3, 5, 7)]
    serial = vzcore.open_virtual_mfdataset(files)
    ds = vzcore.open_virtual_mfdataset(interleaved, parallel=client)
    assert_same_dataset(ds, serial)
    again = sorted(numbers for numbers, combined in seen if not combined)
    # the batches combined in order: files 0,2 / 4,6 / 3,5 (8,1 is out of order, 7 alone)
    assert again == [[0, 1], [2, 3], [6, 7]]


def test_files_with_different_variables_are_combined_at_once(files, tmp_path, client, monkeypatch):
    """Two groups of variables (xarray merges them): one combine over every file, as serially."""
    import xarray as xr

    monkeypatch.setattr(
        _tree_combine, "_batch_starts", lambda n, workers, largest: uniform_starts(n, 3)
    )
    extra = []
    for i, p in enumerate(files[:3]):  # the same days as files 0-2, another variable
        q = tmp_path / f"extra_{i}.nc"
        with xr.open_dataset(p) as src:
            src[["temp"]].rename(temp="rain").to_netcdf(q)
        extra.append(q)
    paths = [*files[:3], *extra]
    seen = _recording_scans(monkeypatch)
    serial = vzcore.open_virtual_mfdataset(paths)
    ds = vzcore.open_virtual_mfdataset(paths, parallel=client)
    assert_same_dataset(ds, serial)  # the merged variable after the coordinates, as serially
    assert {"rain", "temp"} <= set(ds.data_vars)
    assert sorted(seen) == [  # each group combined in its batch, then scanned again
        ([0, 1, 2], False),
        ([0, 1, 2], True),
        ([3, 4, 5], False),
        ([3, 4, 5], True),
    ]


def test_joined_stored_values_travel_with_a_part(files):
    """A combined part carries its loaded coordinates' stored values as one piece, registered
    again where it is unpickled (the client of a cluster), for the writer."""
    import inspect
    import pickle

    from vzcore import _raw_values

    from .test_coordinate_exactness import _stored

    defaults = inspect.signature(vzcore.open_virtual_mfdataset).parameters
    names = ("combine", "concat_dim", "data_vars", "coords", "compat", "join", "combine_attrs")
    options = {k: defaults[k].default for k in names}
    parts = [_tree_combine.Part(vzcore.open_virtual_dataset(f), str(f), str(f)) for f in files]
    combined = _tree_combine._combine_parts(
        [_tree_combine._combine_parts(parts[i : i + 3], options) for i in (0, 3, 6)], options
    )
    _raw_values.clear()  # as in a client that never opened a file
    travelled = pickle.loads(pickle.dumps(combined, protocol=5))
    ds = travelled.dataset()
    got = _raw_values.raw_values_for("time", ds["time"].encoding, ds["time"].values)
    assert got is not None
    assert got.tobytes() == _stored(files).tobytes()


def test_options_the_cluster_cannot_be_sent_are_refused_up_front(files, client):
    """A vzcore error naming the remedy, not dask's "Could not serialize object"."""
    import threading

    from vzcore.errors import VZError

    with pytest.raises(VZError, match=r"a dask Client sends .*cannot be pickled: .*lock"):
        vzcore.open_virtual_mfdataset(
            files, parallel=client, storage_options={"lock": threading.Lock()}
        )


def _keep_temp(ds):
    return ds[["temp"]]


@pytest.mark.parametrize("on", ["client", "processes"])
def test_preprocess_path_refuses_options_it_cannot_send(files, client, on):
    """The executor path (preprocess=) checks too, on a Client and on a process pool."""
    import threading

    from vzcore.errors import VZError

    with pytest.raises(VZError, match=r"cannot be pickled: .*lock"):
        vzcore.open_virtual_mfdataset(
            files,
            parallel=client if on == "client" else "processes",
            preprocess=_keep_temp,
            storage_options={"lock": threading.Lock()},
        )
