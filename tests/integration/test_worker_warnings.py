"""vzcore warnings raised in worker processes reach the caller, once per file.

Files whose attribute bytes are not valid UTF-8 make the reader warn
(``VZAttributeTextWarning``, one per file, naming it). Scanned in worker processes
(``parallel="processes"``, a dask.distributed cluster of worker processes) that warning
used to be printed on the worker's stderr or log only: the caller's filters and
``pytest.warns`` never saw it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import vzcore
from vzcore.errors import VZAttributeTextWarning

h5py = pytest.importorskip("h5py")
pytest.importorskip("vz_hdf5")

N = 3
NESTED = {"combine": "nested", "concat_dim": "phony_dim_0"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("latin1")
    paths = []
    for i in range(N):
        path = root / f"f{i}.h5"
        with h5py.File(path, "w") as f:
            f.attrs.create("title", np.bytes_(b"caf\xe9"))  # Latin-1, not UTF-8
            f.create_dataset("v", data=np.arange(4.0) + 10 * i, chunks=(2,))
        paths.append(str(path))
    return paths


def _keep(ds):  # a module-level preprocess: the per-file path, scanned in the workers
    return ds


def _warned(files, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = vzcore.open_virtual_mfdataset(files, **NESTED, **kwargs)
    assert ds["v"].shape == (4 * N,)  # every file combined
    return [str(w.message) for w in caught if issubclass(w.category, VZAttributeTextWarning)]


def _assert_once_per_file(texts, files):
    assert len(texts) == len(files), texts
    for path in files:
        (text,) = [t for t in texts if t.startswith(f"file://{path}:")]
        assert "'title' of group '/'" in text


@pytest.mark.parametrize("preprocess", [None, _keep], ids=["batches", "per file"])
@pytest.mark.parametrize("parallel", [False, "threads", "processes"])
def test_warnings_of_worker_processes_reach_the_caller(files, parallel, preprocess):
    _assert_once_per_file(_warned(files, parallel=parallel, preprocess=preprocess), files)


def test_warnings_of_dask_worker_processes_reach_the_caller(files):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=True,
            dashboard_address=":0",
            host="127.0.0.1",
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        _assert_once_per_file(_warned(files, parallel=client), files)  # the tree combine
        _assert_once_per_file(_warned(files, parallel=client, preprocess=_keep), files)


def test_a_filter_in_the_caller_decides(files):
    with warnings.catch_warnings():
        warnings.simplefilter("error", VZAttributeTextWarning)
        with pytest.raises(VZAttributeTextWarning, match="caf"):
            vzcore.open_virtual_mfdataset(files, **NESTED, parallel="processes")
