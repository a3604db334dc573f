"""Manifest memory per chunk: vzcore vs VirtualiZarr vs kerchunk, side by side.

Each tool runs in its own subprocess (VirtualiZarr and vzcore both register a
``.virtualize`` accessor), builds the chunk index of one array of N chunks whose path is
long (an object-store URL), and reports the bytes it allocates, measured with tracemalloc.
Tools that are not installed are reported as such.

    python benchmarks/manifest_memory.py [--chunks 100000] [--path-length 120]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

SETUP = """
import gc, json, tracemalloc, numpy as np
n, plen = {n}, {plen}
path = "s3://archive-bucket/" + "p" * (plen - 32) + "/file_0001.nc"
grid = (n // 100, 100)
offsets = np.arange(n, dtype=np.uint64).reshape(grid) * 4096
lengths = np.full(grid, 4000, dtype=np.uint64)
"""

START = """
gc.collect()
tracemalloc.start()
base = tracemalloc.get_traced_memory()[0]
"""

# (import statement, build statement): imports happen before measuring.
TOOLS = {
    "vzcore": (
        "from vzcore.manifests import ChunkManifest",
        """
m = ChunkManifest([path], np.zeros(grid, np.uint8), offsets.copy(), lengths.copy())
""",
    ),
    "virtualizarr": (
        "from virtualizarr.manifests import ChunkManifest",
        """
m = ChunkManifest.from_arrays(paths=np.full(grid, path, dtype=np.dtypes.StringDType()),
                              offsets=offsets.copy(), lengths=lengths.copy())
""",
    ),
    "kerchunk": (
        "import kerchunk",
        """
m = {f"var/{i}.{j}": [path, int(offsets[i, j]), int(lengths[i, j])]
     for i in range(grid[0]) for j in range(grid[1])}
""",
    ),
}

REPORT = """
gc.collect()
used = tracemalloc.get_traced_memory()[0] - base
print(json.dumps({"bytes": used}))
"""


def measure(tool: str, n: int, plen: int) -> float | None:
    imports, build = TOOLS[tool]
    code = imports + "\n" + SETUP.format(n=n, plen=plen) + START + build + REPORT
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        if "ModuleNotFoundError" in proc.stderr:
            return None
        raise RuntimeError(f"{tool} failed:\n{proc.stderr}")
    return int(json.loads(proc.stdout)["bytes"]) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--path-length", type=int, default=120)
    args = parser.parse_args()
    results = {t: measure(t, args.chunks, args.path_length) for t in TOOLS}
    ours = results["vzcore"]
    print(f"manifest memory, {args.chunks:,} chunks, {args.path_length}-character path")
    print(f"{'tool':<14}{'bytes/chunk':>12}{'ratio to vzcore':>18}")
    for tool, value in results.items():
        if value is None:
            print(f"{tool:<14}{'not installed':>12}")
            continue
        ratio = f"{value / ours:>17.1f}x" if ours else ""
        print(f"{tool:<14}{value:>12.1f}{ratio}")


if __name__ == "__main__":
    main()
