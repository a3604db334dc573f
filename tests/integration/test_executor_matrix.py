"""errors= and the progress bar on every executor of ``open_virtual_mfdataset``.

Each executor (serial, threads, a thread pool, processes, dask's local scheduler, clusters
of threads and of worker processes, and the per-file path that ``preprocess=`` takes on a
process pool and on a cluster) is given a corrupt file among good ones, out of order: under
``errors="raise"`` it raises the serial path's error, under ``"warn"`` and ``"skip"`` it
gives the serial result, and its progress bar counts every file once, as it completes.
(Retries on every executor: test_scan_retries.)
"""

from __future__ import annotations

import concurrent.futures as cf

import pytest

import vzcore
from vzcore import _executors

pytest.importorskip("vz_hdf5")
pytest.importorskip("netCDF4")
pytest.importorskip("distributed")

pytestmark = pytest.mark.filterwarnings(
    # parallel="processes" forks when no other Python thread runs, but importing xarray
    # starts threads below Python (pyarrow's jemalloc, BLAS): Python 3.12+ warns at fork.
    # pytest.warns (errors="warn") re-emits it; see the report of this change.
    "ignore:This process .* is multi-threaded, use of fork:DeprecationWarning"
)

from .conftest import keep, serial_and_parallel, truncated_copy, write_sample_files
from .test_tree_combine import assert_same_dataset

EXECUTORS = [
    "threads",
    "thread_pool",
    "processes",
    "processes_per_file",
    "dask",
    "thread_client",
    "process_client",
    "process_client_per_file",
]


@pytest.fixture(params=EXECUTORS)
def options(request):
    """``open_virtual_mfdataset`` keywords that pick the executor."""
    name = request.param
    if name == "thread_pool":
        with cf.ThreadPoolExecutor(2) as pool:
            yield {"parallel": pool}
        return
    preprocess = {"preprocess": keep} if name.endswith("_per_file") else {}
    name = name.removesuffix("_per_file")
    if name.endswith("_client"):
        yield {"parallel": request.getfixturevalue(name), **preprocess}
        return
    yield {"parallel": name, **preprocess}


@pytest.fixture
def paths(tmp_path):
    """Four good files, out of order, and a corrupt one among them."""
    files = write_sample_files(tmp_path, n_files=4, steps=2)
    bad = truncated_copy(files[0], tmp_path)
    return [files[2], files[0], bad, files[3], files[1]]


@pytest.mark.parametrize("errors", ["warn", "skip"])
def test_a_corrupt_file_is_skipped_as_serially(paths, options, errors):
    serial, ds = serial_and_parallel(paths, errors, options["parallel"])
    if "preprocess" in options:  # the serial result, preprocessed
        serial = vzcore.open_virtual_mfdataset(
            paths, errors="skip", preprocess=options["preprocess"]
        )
        ds = vzcore.open_virtual_mfdataset(paths, errors="skip", **options)
    assert ds.encoding["skipped_files"] == [str(paths[2])]
    assert_same_dataset(ds, serial)


def test_a_corrupt_file_raises_as_serially(paths, options):
    with pytest.raises(vzcore.VZError) as serial:
        vzcore.open_virtual_mfdataset(paths)
    with pytest.raises(type(serial.value)) as got:
        vzcore.open_virtual_mfdataset(paths, **options)
    assert str(got.value) == str(serial.value)


class Recorder:
    """A progress bar that records its updates: how many files each one adds."""

    def __init__(self) -> None:
        self.updates: list[int] = []
        self.closed = False

    def update(self, n: int = 1) -> None:
        assert not self.closed
        self.updates.append(n)

    def close(self) -> None:
        self.closed = True


def test_progress_counts_every_file_once(paths, options, monkeypatch):
    bars: list[Recorder] = []

    def recorder(total, enabled):
        assert total == len(paths)
        bars.append(Recorder())
        return bars[-1]

    monkeypatch.setattr(_executors, "_progress", recorder)
    monkeypatch.setattr(vzcore.api, "_progress", recorder)
    vzcore.open_virtual_mfdataset(paths, errors="skip", progress=True, **options)
    (bar,) = bars
    assert sum(bar.updates) == len(paths)  # the corrupt file counted too, and nothing twice
    assert bar.closed


def test_progress_shows_the_files_scanned(paths, options, capfd):
    vzcore.open_virtual_mfdataset(paths, errors="skip", progress=True, **options)
    assert "5/5" in capfd.readouterr().err


def test_dask_progress_follows_completed_files(paths, monkeypatch):
    """dask's local scheduler reports each file as it finishes, not all once compute ends."""
    import dask

    finished: list[int] = []
    seen_at_update: list[int] = []
    scan = vzcore.api._scan_one

    def counting_scan(item):
        result = scan(item)
        finished.append(1)
        return result

    class Bar(Recorder):
        def update(self, n: int = 1) -> None:
            seen_at_update.append(len(finished))
            super().update(n)

    monkeypatch.setattr(vzcore.api, "_scan_one", counting_scan)
    monkeypatch.setattr(_executors, "_progress", lambda total, enabled: Bar())
    with dask.config.set(scheduler="synchronous"):  # one file at a time, in this thread
        vzcore.open_virtual_mfdataset(paths, errors="skip", parallel="dask")
    assert seen_at_update == [1, 2, 3, 4, 5]
