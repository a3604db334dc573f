"""``vzcore.io.collection_paused``: collection off for a block, after a running one ends."""

from __future__ import annotations

import gc
import threading
import time

from vzcore.io import collection_paused


def test_collection_paused_waits_for_a_collection_running_on_another_thread() -> None:
    with collection_paused():  # (its first use installs the collection watcher)
        pass
    started, release = threading.Event(), threading.Event()

    class Slow:
        def __del__(self) -> None:  # runs inside the collection, which waits here
            started.set()
            release.wait(10)

    def collect() -> None:
        garbage = Slow()
        garbage.me = garbage  # type: ignore[attr-defined]
        del garbage
        gc.collect()

    collector = threading.Thread(target=collect)
    collector.start()
    assert started.wait(10)
    timer = threading.Timer(0.3, release.set)
    timer.start()
    begun = time.monotonic()
    with collection_paused():
        waited = time.monotonic() - begun
        assert release.is_set()  # the running collection ended first
        assert not gc.isenabled()
    collector.join(10)
    assert waited >= 0.25
    assert gc.isenabled()


def test_collection_paused_nests_and_restores_the_collector_state() -> None:
    assert gc.isenabled()
    with collection_paused():
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()  # a user's own gc.disable() stands
    finally:
        gc.enable()
