"""One benchmark task in a fresh interpreter: ``python _child.py '<json spec>'``.

Only the standard library is imported at module level, so the import time and the memory of
each tool are its own. The last line of stdout is a JSON object with the measurements; a
failure is reported as ``{"error": "..."}`` (exit code 0) so the table can show it.

Tasks
-----
pipeline
    import -> scan every file -> combine -> write kerchunk JSON (the whole-process path),
    then, outside that path, the extra writers (Parquet, Icechunk) each timed alone.
mfdataset
    import -> the tool's own multi-file opener with a given ``parallel`` -> done.
readback
    Plain xarray (no vzcore, no peer) opens an output and reads one variable.
rss
    Peak RSS while scanning many files (and after combining them), above the baseline of
    an interpreter that has imported the tool and scanned one unrelated small file.
import
    Seconds to import the tool's package.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import warnings
from typing import Any

_T_START = time.time()


def vm_kib(field: str) -> int:
    """VmHWM (peak) or VmRSS (current) of this process, in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children (worker pools)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def deep_sizeof(obj: Any) -> int:
    """Bytes held by a tree of dicts/lists/tuples/str/bytes, each object counted once."""
    seen: set[int] = set()
    stack = [obj]
    total = 0
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, list | tuple):
            stack.extend(o)
    return total


COMBINE_KW = {
    "data_vars": "all",
    "coords": "different",
    "compat": "no_conflicts",
    "join": "outer",
    "combine_attrs": "override",
}
"""open_mfdataset's defaults (both vzcore and VirtualiZarr use them), spelled out."""


CONTAINER = "file:///"
"""Icechunk virtual chunk container prefix (the input directory; set from the spec)."""


def _authorize() -> Any:
    import icechunk

    return icechunk.containers_credentials({CONTAINER: icechunk.credentials.LocalFileSystemAccess})


def icechunk_repo(path: str) -> Any:
    """A new local Icechunk repository allowed to read virtual chunks under CONTAINER."""
    import icechunk

    config = icechunk.RepositoryConfig.default()
    config.set_virtual_chunk_container(
        icechunk.VirtualChunkContainer(
            CONTAINER, icechunk.local_filesystem_store(CONTAINER.removeprefix("file://"))
        )
    )
    return icechunk.Repository.create(
        icechunk.local_filesystem_storage(path), config, authorize_virtual_chunk_access=_authorize()
    )


class _Accessor:
    """``nbytes`` and ``write`` through the Dataset accessor (vzcore and VirtualiZarr alike)."""

    accessor: str

    def nbytes(self, ds: Any) -> int:
        return int(getattr(ds, self.accessor).nbytes)

    def write(self, ds: Any, fmt: str, out: str) -> None:
        virtual = getattr(ds, self.accessor)
        if fmt == "icechunk":
            repo = icechunk_repo(out)
            session = repo.writable_session("main")
            virtual.to_icechunk(session.store)
            session.commit("benchmark")
        else:
            virtual.to_kerchunk(out, format=fmt)


class Vzcore(_Accessor):
    """vzcore: ``open_virtual_dataset`` per file, xarray's combine, ``.virtualize`` writers."""

    accessor = "virtualize"

    def import_(self) -> None:
        import xarray

        import vzcore

        self.vz, self.xr = vzcore, xarray

    def writers(self) -> set[str]:
        names = {w for p in self.vz.list_plugins() for w in p.writers}
        out = {"json"} if "kerchunk" in names else set()
        return (
            out
            | ({"parquet"} if "parquet" in names else set())
            | ({"icechunk"} if "icechunk" in names else set())
        )

    def scan(self, path: str) -> Any:
        return self.vz.open_virtual_dataset(path)

    def combine(self, parts: list[Any], how: str) -> Any:
        if how == "none":
            return parts[0]
        if how == "nested":
            return self.xr.combine_nested(parts, concat_dim="time", **COMBINE_KW)
        return self.xr.combine_by_coords(parts, **COMBINE_KW)

    def mfdataset(self, files: list[str], how: str, parallel: str | bool) -> Any:
        kw = {"concat_dim": "time"} if how == "nested" else {}
        if parallel == "fork-executor":  # diagnostic: workers forked from a warm parent
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(os.cpu_count(), mp_context=ctx) as executor:
                return self.vz.open_virtual_mfdataset(
                    files, combine=how, parallel=executor, progress=False, **kw
                )
        return self.vz.open_virtual_mfdataset(
            files, combine=how, parallel=parallel, progress=False, **kw
        )


class VirtualiZarr(_Accessor):
    """VirtualiZarr 2.x: HDFParser + obstore LocalStore registry, xarray's combine, ``.vz``."""

    accessor = "vz"

    def import_(self) -> None:
        import xarray
        from obspec_utils.registry import ObjectStoreRegistry
        from obstore.store import LocalStore
        from virtualizarr import open_virtual_dataset, open_virtual_mfdataset
        from virtualizarr.parsers import HDFParser

        self.xr = xarray
        self.registry = ObjectStoreRegistry({"file:///": LocalStore()})
        self.parser = HDFParser()
        self.ovd, self.ovmf = open_virtual_dataset, open_virtual_mfdataset

    def writers(self) -> set[str]:
        out = {"json", "parquet"}
        try:
            import icechunk  # noqa: F401
        except ImportError:
            return out
        return out | {"icechunk"}

    def scan(self, path: str) -> Any:
        return self.ovd("file://" + path, registry=self.registry, parser=self.parser)

    combine = Vzcore.combine

    def mfdataset(self, files: list[str], how: str, parallel: str | bool) -> Any:
        from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

        executor: Any = parallel
        if parallel == "processes":
            executor = ProcessPoolExecutor(os.cpu_count())
        elif parallel == "threads":
            executor = ThreadPoolExecutor(os.cpu_count())
        kw = {"concat_dim": "time"} if how == "nested" else {}
        try:
            return self.ovmf(
                ["file://" + f for f in files],
                registry=self.registry,
                parser=self.parser,
                combine=how,
                parallel=executor,
                **kw,
            )
        finally:
            if executor is not parallel:
                executor.shutdown()


class Kerchunk:
    """kerchunk: SingleHdf5ToZarr per file, MultiZarrToZarr, ujson / refs_to_dataframe."""

    def import_(self) -> None:
        import ujson
        from kerchunk.combine import MultiZarrToZarr
        from kerchunk.hdf import SingleHdf5ToZarr

        self.ujson, self.single, self.multi = ujson, SingleHdf5ToZarr, MultiZarrToZarr

    def writers(self) -> set[str]:
        return {"json", "parquet"}

    def scan(self, path: str) -> Any:
        # inline_threshold=0: references only, like the other tools (the default, 500,
        # would read and base64-inline every chunk under 500 bytes).
        return self.single("file://" + path, inline_threshold=0).translate()

    def combine(self, parts: list[Any], how: str) -> Any:
        if how == "none":
            return parts[0]
        if how == "nested":
            # The inputs repeat one file's time values: number the steps file after file
            # so MultiZarrToZarr concatenates instead of merging equal coordinates.
            def shifted(index: int, z: Any, var: str, fn: Any) -> Any:
                values = z[var][...]
                return values + index * len(values)

            return self.multi(
                parts, concat_dims=["time"], coo_map={"time": shifted}, identical_dims=["y", "x"]
            ).translate()
        return self.multi(parts, concat_dims=["time"], identical_dims=["lat", "lon"]).translate()

    def mfdataset(self, files: list[str], how: str, parallel: str | bool) -> Any:
        if parallel:
            raise NotImplementedError("kerchunk has no parallel scanner (use dask yourself)")
        return self.combine([self.scan(f) for f in files], how)

    def nbytes(self, refs: Any) -> int:
        return deep_sizeof(refs)

    def write(self, refs: Any, fmt: str, out: str) -> None:
        if fmt == "json":
            with open(out, "wb") as f:
                f.write(self.ujson.dumps(refs).encode())
        elif fmt == "parquet":
            from kerchunk.df import refs_to_dataframe

            refs_to_dataframe(refs, out)
        else:
            raise NotImplementedError(f"kerchunk has no {fmt} writer")


TOOLS = {"vzcore": Vzcore, "virtualizarr": VirtualiZarr, "kerchunk": Kerchunk}
IMPORTS = {
    "vzcore": ["vzcore"],
    "virtualizarr": ["virtualizarr"],
    "kerchunk": ["kerchunk.hdf", "kerchunk.combine"],
}


def task_pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    tool = TOOLS[spec["tool"]]()
    res: dict[str, Any] = {"t_start": _T_START}
    t = time.perf_counter()
    tool.import_()
    res["import"] = time.perf_counter() - t
    t = time.perf_counter()
    parts = [tool.scan(f) for f in spec["files"]]
    res["scan"] = time.perf_counter() - t
    t = time.perf_counter()
    combined = tool.combine(parts, spec["combine"])
    res["combine"] = time.perf_counter() - t
    del parts
    out = spec["out"]
    t = time.perf_counter()
    tool.write(combined, "json", out + ".json")
    res["write_json"] = time.perf_counter() - t
    res["t_json_done"] = time.time()
    res["cpu"] = cpu_seconds()
    res["hwm_kib"] = vm_kib("VmHWM")
    res["manifest_bytes"] = tool.nbytes(combined)
    res["writers"] = sorted(tool.writers())
    for fmt in spec.get("extra", []):
        if fmt not in res["writers"]:
            res[f"write_{fmt}"] = "not installed"
            continue
        if fmt == "icechunk":
            # The user's own `import icechunk` (which imports zarr: VirtualiZarr has already
            # imported it with itself, vzcore has not) is timed apart from the write.
            t = time.perf_counter()
            import icechunk  # noqa: F401

            res["import_icechunk"] = time.perf_counter() - t
        t = time.perf_counter()
        try:
            tool.write(combined, fmt, f"{out}.{fmt}")
        except Exception as err:  # noqa: BLE001 - a failing writer is a result, not a crash
            res[f"write_{fmt}"] = f"error: {type(err).__name__}: {err}"[:300]
        else:
            res[f"write_{fmt}"] = time.perf_counter() - t
    return res


def task_mfdataset(spec: dict[str, Any]) -> dict[str, Any]:
    tool = TOOLS[spec["tool"]]()
    t = time.perf_counter()
    tool.import_()
    res: dict[str, Any] = {"import": time.perf_counter() - t}
    t = time.perf_counter()
    tool.mfdataset(spec["files"], spec["combine"], spec["parallel"])
    res["mfdataset"] = time.perf_counter() - t
    res["cpu"] = cpu_seconds()
    return res


def task_rss(spec: dict[str, Any]) -> dict[str, Any]:
    import gc

    tool = TOOLS[spec["tool"]]()
    tool.import_()
    tool.scan(spec["warmup"])
    gc.collect()
    base = vm_kib("VmRSS")
    t = time.perf_counter()
    parts = [tool.scan(f) for f in spec["files"]]
    res: dict[str, Any] = {"baseline_kib": base, "scan": time.perf_counter() - t}
    res["hwm_scan_kib"] = vm_kib("VmHWM")
    t = time.perf_counter()
    combined = tool.combine(parts, spec["combine"])
    res["combine"] = time.perf_counter() - t
    del parts
    gc.collect()
    res["hwm_combine_kib"] = vm_kib("VmHWM")
    res["rss_combined_kib"] = vm_kib("VmRSS")
    res["manifest_bytes"] = tool.nbytes(combined)
    return res


def task_readback(spec: dict[str, Any]) -> dict[str, Any]:
    t = time.perf_counter()
    import numpy as np
    import xarray as xr

    res: dict[str, Any] = {"import": time.perf_counter() - t}
    path, fmt = spec["path"], spec["format"]
    t = time.perf_counter()
    if fmt == "icechunk":
        import icechunk

        repo = icechunk.Repository.open(
            icechunk.local_filesystem_storage(path), authorize_virtual_chunk_access=_authorize()
        )
        store = repo.readonly_session("main").store
        ds = xr.open_dataset(store, engine="zarr", consolidated=False, zarr_format=3, chunks=None)
    else:
        import fsspec

        fs = fsspec.filesystem("reference", fo=path, remote_protocol="file")
        ds = xr.open_dataset(
            fs.get_mapper(""), engine="zarr", consolidated=False, zarr_format=2, chunks=None
        )
    res["open"] = time.perf_counter() - t
    t = time.perf_counter()
    var = ds[spec["variable"]]
    if spec.get("steps"):
        var = var.isel(time=slice(0, spec["steps"]))
    values = var.values
    res["read"] = time.perf_counter() - t
    res["shape"] = list(values.shape)
    res["dtype"] = str(values.dtype)
    res["checksum"] = float(np.nansum(values, dtype="f8"))
    res["time_last"] = str(ds["time"].values[-1])
    return res


def task_readback_source(spec: dict[str, Any]) -> dict[str, Any]:
    """The same variable read from the original files with netCDF4 (the expected values)."""
    import netCDF4
    import numpy as np

    t = time.perf_counter()
    arrays = []
    for path in spec["files"]:
        with netCDF4.Dataset(path) as ds:
            var = ds[spec["variable"]]
            data = var[: spec["steps"]] if spec.get("steps") else var[:]
            arrays.append(np.ma.filled(data.astype(var.dtype), np.nan))
    values = np.concatenate(arrays)
    return {
        "read": time.perf_counter() - t,
        "shape": list(values.shape),
        "dtype": str(values.dtype),
        "checksum": float(np.nansum(values, dtype="f8")),
    }


def task_import(spec: dict[str, Any]) -> dict[str, Any]:
    import importlib

    t = time.perf_counter()
    for name in IMPORTS[spec["tool"]]:
        importlib.import_module(name)
    return {"import": time.perf_counter() - t}


def main() -> None:
    global CONTAINER
    spec = json.loads(sys.argv[1])
    CONTAINER = spec.get("container", CONTAINER)
    warnings.simplefilter("ignore")
    try:
        res = globals()["task_" + spec["task"]](spec)
    except Exception as err:  # noqa: BLE001 - any failure is reported in the table
        tb = traceback.format_exc(limit=-3)
        res = {"error": f"{type(err).__name__}: {err}"[:500], "traceback": tb}
    print(json.dumps(res))


if __name__ == "__main__":
    main()
