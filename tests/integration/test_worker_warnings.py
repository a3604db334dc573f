"""vzcore warnings raised in worker processes reach the caller, once per file.

Files whose attribute bytes are not valid UTF-8 make the reader warn
(``VZAttributeTextWarning``, one per file, naming it). Scanned in worker processes
(``parallel="processes"``, a dask.distributed cluster of worker processes) that warning
used to be printed on the worker's stderr or log only: the caller's filters and
``pytest.warns`` never saw it. Every executor must give each file's warning once: not lost,
and not repeated when a batch is scanned again file by file.

Under ``warnings.simplefilter("error")`` in the caller, the warning is raised from
``open_virtual_mfdataset`` on every executor, whatever ``errors=`` says (a warning turned
into an error is not a file that failed to scan): serially and in threads it is raised
where the reader warns; worker processes warn freely and the caller raises it when the
scans are done.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import vzcore
from vzcore import _pool_combine, _tree_combine
from vzcore.errors import VZAttributeTextWarning

from .conftest import keep as _keep
from .conftest import uniform_starts

h5py = pytest.importorskip("h5py")
nc4 = pytest.importorskip("netCDF4")
pytest.importorskip("vz_hdf5")
pytest.importorskip("distributed")

N = 3
NESTED = {"combine": "nested", "concat_dim": "phony_dim_0"}
INTERLEAVED = (0, 2, 4, 1, 3, 5)
"""Six files given so that batches of two are each in order but interleave: the batches
combined where they were scanned are scanned again, file by file."""


def _latin1_title(path):
    with h5py.File(path, "a") as f:
        f.attrs.create("title", np.bytes_(b"caf\xe9"))  # Latin-1, not UTF-8


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("latin1")
    paths = []
    for i in range(N):
        path = root / f"f{i}.h5"
        with h5py.File(path, "w") as f:
            f.create_dataset("v", data=np.arange(4.0) + 10 * i, chunks=(2,))
        _latin1_title(path)
        paths.append(str(path))
    return paths


@pytest.fixture(scope="module")
def timed_files(tmp_path_factory):
    """Six netCDF4 files of two days each (a time coordinate: ``combine="by_coords"``)."""
    root = tmp_path_factory.mktemp("latin1_time")
    paths = []
    for i in range(6):
        path = root / f"t{i}.nc"
        with nc4.Dataset(path, "w") as nc:
            nc.createDimension("time", 2)
            nc.createVariable("time", "i4", ("time",))[:] = [2 * i, 2 * i + 1]
            nc.createVariable("v", "f4", ("time",), chunksizes=(1,))[:] = [i, i]
        _latin1_title(path)
        paths.append(str(path))
    return paths


def _warned(files, length=4 * N, **kwargs):
    kwargs = {**NESTED, **kwargs}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = vzcore.open_virtual_mfdataset(files, **kwargs)
    assert ds["v"].shape == (length,)  # every file combined
    return [str(w.message) for w in caught if issubclass(w.category, VZAttributeTextWarning)]


def _assert_once_per_file(texts, files):
    assert len(texts) == len(files), texts
    for path in files:
        (text,) = [t for t in texts if t.startswith(f"file://{path}:")]
        assert "'title' of group '/'" in text


@pytest.mark.parametrize("preprocess", [None, _keep], ids=["batches", "per file"])
@pytest.mark.parametrize("parallel", [False, "threads", "processes", "dask"])
def test_warnings_of_worker_processes_reach_the_caller(files, parallel, preprocess):
    _assert_once_per_file(_warned(files, parallel=parallel, preprocess=preprocess), files)


@pytest.mark.parametrize("cluster", ["process_client", "thread_client"])
def test_warnings_of_dask_workers_reach_the_caller(files, cluster, request):
    client = request.getfixturevalue(cluster)
    _assert_once_per_file(_warned(files, parallel=client), files)  # the tree combine
    _assert_once_per_file(_warned(files, parallel=client, preprocess=_keep), files)


@pytest.mark.parametrize("parallel", ["processes", "process_client", "thread_client"])
def test_batches_scanned_again_warn_once(timed_files, parallel, request, monkeypatch):
    """Batches combined in the workers, then scanned again file by file: one warning a file."""
    monkeypatch.setattr(_pool_combine, "batch_starts", lambda n, workers: uniform_starts(n, 2))
    monkeypatch.setattr(
        _tree_combine, "_batch_starts", lambda n, workers, largest: uniform_starts(n, 2)
    )
    rescans = []
    rescan = _pool_combine._rescan

    def counting_rescan(*args):
        rescans.append(True)
        return rescan(*args)

    monkeypatch.setattr(_pool_combine, "_rescan", counting_rescan)
    if parallel != "processes":
        parallel = request.getfixturevalue(parallel)
    paths = [timed_files[i] for i in INTERLEAVED]
    texts = _warned(paths, length=12, combine="by_coords", parallel=parallel)
    _assert_once_per_file(texts, paths)
    if parallel == "processes":
        assert rescans == [True]  # the layout did make the workers scan again


@pytest.mark.parametrize("errors", ["raise", "skip"])
@pytest.mark.parametrize(
    "parallel", [False, "threads", "processes", "dask", "process_client", "thread_client"]
)
def test_a_filter_in_the_caller_decides(files, parallel, errors, request):
    if isinstance(parallel, str) and parallel.endswith("_client"):
        parallel = request.getfixturevalue(parallel)
    with warnings.catch_warnings():
        warnings.simplefilter("error", VZAttributeTextWarning)
        with pytest.raises(VZAttributeTextWarning, match="caf"):
            vzcore.open_virtual_mfdataset(files, **NESTED, parallel=parallel, errors=errors)


def test_held_back_warnings_in_the_calling_process():
    """A block scanning again in the calling process drops its vzcore warnings only."""
    from vzcore._worker_warnings import noting

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shown = warnings.showwarning
        with noting(repeated=True) as notes:
            assert warnings.showwarning is not shown  # the hook, while the block runs
            warnings.warn("again", VZAttributeTextWarning, stacklevel=1)
            warnings.warn("someone else's", UserWarning, stacklevel=1)
        assert warnings.showwarning is shown  # restored
        warnings.warn("after", VZAttributeTextWarning, stacklevel=1)
    assert notes == []  # nothing to carry: the first scan warned here already
    assert [str(w.message) for w in caught] == ["someone else's", "after"]
