"""Transient remote failures are retried (``retries=``), on every executor; VZErrors never."""

from __future__ import annotations

import concurrent.futures as cf
import threading

import numpy as np
import pytest

import vzcore
from vzcore.errors import VZSkippedFilesWarning
from vzcore.testing import servers

pytest.importorskip("vz_hdf5")
pytest.importorskip("netCDF4")
pytest.importorskip("aiohttp")

from .conftest import keep as _keep
from .conftest import write_sample_files


class Flaky:
    """Make the test HTTP server answer 503 to its next ``n`` GET requests."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.left = 0
        self.failed = 0
        self.lock = threading.Lock()
        original = servers._Handler.do_GET
        flaky = self

        def do_get(handler: servers._Handler) -> None:
            with flaky.lock:
                fail = flaky.left > 0
                flaky.left -= fail
                flaky.failed += fail
            if fail:
                handler._send_status(503)
            else:
                original(handler)

        monkeypatch.setattr(servers._Handler, "do_GET", do_get)

    def fail_next(self, n: int) -> None:
        with self.lock:
            self.left, self.failed = n, 0


@pytest.fixture
def served(tmp_path, monkeypatch):
    files = write_sample_files(tmp_path, n_files=3, steps=2)
    flaky = Flaky(monkeypatch)
    with servers.http_server(tmp_path) as http:
        yield [f"{http.url}/{f.name}" for f in files], flaky


@pytest.mark.parametrize("preprocess", [None, _keep], ids=["batches", "per file"])
@pytest.mark.parametrize("parallel", [False, "threads", "thread_pool", "processes", "dask"])
def test_transient_failures_are_retried(served, parallel, preprocess):
    urls, flaky = served
    expected = vzcore.open_virtual_mfdataset(urls)
    flaky.fail_next(2)
    if parallel == "thread_pool":
        with cf.ThreadPoolExecutor(2) as pool:
            ds = vzcore.open_virtual_mfdataset(
                urls, parallel=pool, retries=2, preprocess=preprocess
            )
    else:
        ds = vzcore.open_virtual_mfdataset(
            urls, parallel=parallel, retries=2, preprocess=preprocess
        )
    assert flaky.failed == 2
    for name in ("temp", "counts"):
        assert ds[name].data.manifest == expected[name].data.manifest
    np.testing.assert_array_equal(ds["time"].values, expected["time"].values)


def test_retries_zero_gives_the_failure_to_errors(served):
    urls, flaky = served
    flaky.fail_next(1)
    with pytest.warns(VZSkippedFilesWarning, match="503"):
        ds = vzcore.open_virtual_mfdataset(urls, retries=0, errors="warn")
    assert len(ds.encoding["skipped_files"]) == 1
    flaky.fail_next(1)
    with pytest.raises(Exception, match="503"):
        vzcore.open_virtual_mfdataset(urls, retries=0)


@pytest.mark.parametrize(
    ("processes", "preprocess"),
    [(False, None), (True, None), (False, _keep)],
    ids=["threads", "worker process", "threads, per file"],
)
def test_retries_on_a_cluster(served, processes, preprocess):
    distributed = pytest.importorskip("distributed")
    urls, flaky = served
    expected = vzcore.open_virtual_mfdataset(urls)
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=":0",
            **({"host": "127.0.0.1"} if processes else {}),
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        flaky.fail_next(2)
        ds = vzcore.open_virtual_mfdataset(urls, parallel=client, preprocess=preprocess)
    assert flaky.failed == 2
    assert ds["temp"].data.manifest == expected["temp"].data.manifest


def test_a_vzerror_is_not_retried(tmp_path, monkeypatch):
    from vzcore import _tree_combine

    calls = []

    def opener(path, **kwargs):
        calls.append(path)
        raise vzcore.errors.CorruptFileError(path, "broken")

    result = _tree_combine.scan_file(("x.nc", {}), 3, opener)
    assert isinstance(result, _tree_combine.Failed)
    assert len(calls) == 1
    assert not _tree_combine.is_transient(FileNotFoundError("gone"))
    assert _tree_combine.is_transient(ConnectionResetError("reset"))


def test_retries_must_be_a_whole_number(tmp_path):
    with pytest.raises(vzcore.VZError, match="retries"):
        vzcore.open_virtual_mfdataset(["a.nc"], retries=-1)
