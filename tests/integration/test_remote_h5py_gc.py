"""A remote HDF5 scan must not deadlock when cyclic garbage holds h5py objects.

h5py reads a remote file through vzcore's file object while holding h5py's lock; the bytes
come from fsspec's event-loop thread. A garbage collection on that thread that frees an
h5py object needs the same lock: one that starts during a read (stopped by the pause around
each read) or one already running when the scan takes the lock (vz-hdf5 waits for it to end
before opening the file: ``vzcore.io.collection_paused``; without that wait one child in
eight hung within 100 scans here). The scan runs in a child process with a time limit, with
collections forced as often as Python allows, so a deadlock fails the test instead of
hanging the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SERVE = textwrap.dedent(
    """
    import sys
    from vzcore.testing.servers import http_server

    with http_server(sys.argv[1]) as server:
        print(server.url, flush=True)
        sys.stdin.read()  # until the scanning process closes it
    """
)

CHILD = (
    "SERVE = "
    + repr(SERVE)
    + "\n"
    + textwrap.dedent(
        """
    import gc, subprocess, sys, time
    from pathlib import Path
    import h5py, numpy as np
    import vzcore

    root = Path(sys.argv[1])
    with h5py.File(root / "remote.h5", "w") as f:
        for i in range(20):
            f.create_dataset(f"v{i}", data=np.arange(1000.0) + i, chunks=(100,))
    h5py.File(root / "other.h5", "w").close()

    import threading

    class Cycle:
        pass

    stop = threading.Event()

    def litter():  # garbage only the cyclic collector frees, holding h5py objects
        while not stop.is_set():
            c = Cycle()
            c.me = c
            c.file = h5py.File(root / "other.h5", "r")
            c.group = c.file["/"]
            del c
            time.sleep(0.001)  # lets the scan run: a thread that never waits starves the rest

    # The server runs in a process of its own, as a real one would: a server thread in this
    # process would be one more thread the scan waits on, whose own collections (started
    # before vzcore's pause) free h5py objects and deadlock with the scan through it.
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    base = server.stdout.readline().decode().strip()
    url = f"{base}/remote.h5"
    # one scan first: the modules it imports load before the collector runs at every
    # allocation, and freezing them keeps each collection to the new objects
    vzcore.open_virtual_dataset(url, loadable_variables=[])
    gc.freeze()
    gc.set_threshold(1, 50, 1000)
    littering = threading.Thread(target=litter, daemon=True)
    littering.start()
    for _ in range(int(sys.argv[2])):
        vds = vzcore.open_virtual_dataset(url, loadable_variables=[])
    server.stdin.close()
    server.wait()
    # (joined: a daemon thread frozen at exit while it holds h5py's lock would hang the
    # interpreter's last collection, which is this test's harness, not the scan)
    stop.set()
    littering.join()
    print(len(vds.data_vars))
    """
    )
)


def test_remote_hdf5_scan_does_not_deadlock_with_cyclic_garbage(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), "20"],
        check=False,
        capture_output=True,
        env={**os.environ, "VZCORE_BLOCK_SIZE": "512"},  # h5py's own reads fetch
        text=True,
        timeout=60,  # 3 s here; without the pause in vzcore._file_access it hangs
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "20"
