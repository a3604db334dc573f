"""Requests and bytes per file when scanning netCDF4 files on S3: vzcore vs kerchunk vs VirtualiZarr.

Run: ``/work/venv-bench/bin/python benchmarks/remote_scan.py [--files 100]`` (needs moto[server],
s3fs, and for the peers kerchunk, VirtualiZarr 2.x + obstore).

The script writes small netCDF4 files (chunked, zlib, a CF time axis: like an archive of daily
files), uploads them to a moto S3 server on 127.0.0.1 that it starts itself, then lets each
tool scan every file **in its own fresh interpreter**, as its documentation shows:

* ``vzcore``: ``vzcore.open_virtual_dataset("s3://...", storage_options=...)`` per file
  (dimension coordinates loaded, as by default);
* ``vzcore glob``: ``vzcore.open_virtual_mfdataset("s3://bucket/data/*.nc", ...)`` (the
  listing gives sizes and ETags, so no HEAD per file);
* ``kerchunk``: ``SingleHdf5ToZarr(fs.open(url), url).translate()`` on an s3fs file with
  s3fs's default cache (its default ``inline_threshold=500`` reads small chunks to inline them);
* ``virtualizarr``: ``open_virtual_dataset(url, parser=HDFParser(), registry=...)`` with an
  obstore ``S3Store`` in an ``ObjectStoreRegistry`` (dimension coordinates loaded, its default).

Requests and bytes are counted on the server (a WSGI wrapper around moto), per file key;
listing requests (the glob) are counted separately.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TOOLS = ("vzcore", "vzcore glob", "kerchunk", "virtualizarr")

CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
tool, endpoint, bucket, urls = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
so = {"key": "testing", "secret": "testing", "endpoint_url": endpoint,
      "client_kwargs": {"region_name": "us-east-1"}}
if tool == "vzcore":
    import vzcore, vzcore.api
    def scan():
        for u in urls:
            vzcore.open_virtual_dataset(u, storage_options=so)
elif tool == "vzcore glob":
    import vzcore, vzcore.api
    def scan():
        vzcore.open_virtual_mfdataset(f"s3://{bucket}/data/*.nc", storage_options=so,
                                      combine="nested", concat_dim="time")
elif tool == "kerchunk":
    import fsspec
    from kerchunk.hdf import SingleHdf5ToZarr
    fs = fsspec.filesystem("s3", **so)
    def scan():
        for u in urls:
            with fs.open(u, "rb") as f:
                SingleHdf5ToZarr(f, u).translate()
elif tool == "virtualizarr":
    from obspec_utils.registry import ObjectStoreRegistry
    from obstore.store import S3Store
    from virtualizarr import open_virtual_dataset
    from virtualizarr.parsers import HDFParser
    store = S3Store(bucket, endpoint=endpoint, access_key_id="testing",
                    secret_access_key="testing", region="us-east-1", allow_http=True)
    registry = ObjectStoreRegistry({f"s3://{bucket}": store})
    parser = HDFParser()
    def scan():
        for u in urls:
            open_virtual_dataset(u, parser=parser, registry=registry)
t0 = time.perf_counter()
scan()
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


SCENARIOS = {
    # name: (files, time steps, lat, lon, variables, random data?)
    "small": (100, 4, 45, 90, 3, False),  # ~40 KiB each, like an archive of small daily files
    "large": (4, 48, 180, 360, 2, True),  # ~24 MiB each: metadata spread between the chunks
}


def write_files(work: Path, scenario: str, n: int | None) -> list[Path]:
    """Write the scenario's netCDF4 files, split along time (kept between runs)."""
    import netCDF4

    default_n, steps, nlat, nlon, nvars, noisy = SCENARIOS[scenario]
    paths = []
    rng = np.random.default_rng(0)
    for i in range(n or default_n):
        path = work / f"{scenario}_{i:03d}.nc"
        paths.append(path)
        if path.exists():
            continue
        with netCDF4.Dataset(path, "w") as ds:
            ds.createDimension("time", None)
            ds.createDimension("lat", nlat)
            ds.createDimension("lon", nlon)
            t = ds.createVariable("time", "f8", ("time",))
            t.units = "days since 2000-01-01"
            t[:] = np.arange(steps) + steps * i
            for name, size in (("lat", nlat), ("lon", nlon)):
                ds.createVariable(name, "f4", (name,))[:] = np.linspace(-90, 90, size)
            for k, name in enumerate(("tas", "pr", "huss")[:nvars]):
                v = ds.createVariable(
                    name,
                    "f4",
                    ("time", "lat", "lon"),
                    zlib=True,
                    chunksizes=(1, nlat // 2, nlon // 2),
                    fill_value=np.float32(-9999),
                )
                v.units = "1"
                for step in range(steps):  # one step at a time: chunks and metadata interleave
                    if noisy:
                        v[step] = rng.random((nlat, nlon), dtype="f4")
                    else:
                        v[step] = np.round(
                            np.sin(np.arange(nlat * nlon) / 50 + k + step), 2
                        ).reshape(nlat, nlon)
    return paths


def main() -> None:
    """Scan the files with every tool and print the table."""
    from vzcore.testing.servers import s3_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="small")
    parser.add_argument("--files", type=int, default=None, help="default: the scenario's")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--tools", nargs="*", default=list(TOOLS))
    args = parser.parse_args()
    work = args.work or Path(tempfile.gettempdir()) / "vzcore-remote-scan"
    work.mkdir(parents=True, exist_ok=True)
    paths = write_files(work, args.scenario, args.files)
    size = sum(p.stat().st_size for p in paths) / len(paths)

    rows = []
    with s3_server() as s3:
        fs = s3.filesystem()
        urls = []
        for p in paths:
            fs.put_file(str(p), f"{s3.bucket}/data/{p.name}")  # moto holds them in memory
            urls.append(f"s3://{s3.bucket}/data/{p.name}")
        for tool in args.tools:
            s3.reset()
            proc = subprocess.run(
                [sys.executable, "-c", CHILD, tool, s3.endpoint_url, s3.bucket, json.dumps(urls)],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                rows.append((tool, None, proc.stderr.strip().splitlines()[-1:]))
                continue
            seconds = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
            reqs = s3.requests
            per_file = [r for r in reqs if "/data/" in r.path]
            other = [r for r in reqs if "/data/" not in r.path]
            rows.append(
                (
                    tool,
                    {
                        "requests": len(per_file) / len(paths),
                        "gets": sum(r.method == "GET" for r in per_file) / len(paths),
                        "heads": sum(r.method == "HEAD" for r in per_file) / len(paths),
                        "bytes": sum(r.nbytes for r in per_file) / len(paths),
                        "listing": len(other),
                        "seconds": seconds,
                    },
                    None,
                )
            )

    print(
        f"\n{len(paths)} netCDF4 files of {size / 1024:.1f} KiB on a local moto S3 server "
        f"(requests counted server side, per file)"
    )
    print(
        f"{'tool':14s} {'requests':>9s} {'GET':>6s} {'HEAD':>6s} {'KiB fetched':>12s} "
        f"{'listing':>8s} {'s/file':>8s}"
    )
    for tool, m, err in rows:
        if m is None:
            print(f"{tool:14s} failed: {err}")
            continue
        print(
            f"{tool:14s} {m['requests']:9.1f} {m['gets']:6.1f} {m['heads']:6.1f} "
            f"{m['bytes'] / 1024:12.1f} {m['listing']:8d} {m['seconds'] / len(paths):8.3f}"
        )


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"(total {time.perf_counter() - t:.0f} s)")
