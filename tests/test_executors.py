"""map_files: order kept, batches for process pools, fork only when it is safe."""

from __future__ import annotations

import os
import threading

import pytest

from vzcore._executors import map_files


def _square_with_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


@pytest.mark.parametrize("n", [1, 7, 250])
def test_process_pool_keeps_order_across_batches(n: int) -> None:
    out = map_files(_square_with_pid, list(range(n)), parallel="processes", progress=False)
    assert [v for v, _ in out] == [i * i for i in range(n)]
    if n > 1:
        assert os.getpid() not in {pid for _, pid in out}  # the work ran in workers


def test_processes_with_threads_running_use_the_fork_server() -> None:
    """fork() with another thread alive could deadlock: a fork server starts the workers."""
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        out = map_files(
            _square_with_pid,
            list(range(40)),
            parallel="processes",
            progress=False,
            preload=["vzcore.manifests"],
        )
    finally:
        stop.set()
        worker.join()
    assert [v for v, _ in out] == [i * i for i in range(40)]
