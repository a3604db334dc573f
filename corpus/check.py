r"""Check one corpus file in both modes; print the result as one JSON line.

Run by ``run.py`` in a subprocess per file (so a hang or a segfault costs one file)::

    python corpus/check.py FILE FORMAT   # one file
    python corpus/check.py --serve       # "FILE\tFORMAT" lines on stdin, one result each

Results are printed as ``@@RESULT <json>`` lines, so that anything else a library prints
does not confuse ``run.py``.
"""

from __future__ import annotations

import contextlib
import json
import sys
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

MODES = {"virtual": {"loadable_variables": []}, "default": {}}


def _netcdf_engine(path: str, fmt: str) -> str | None:
    """Return the xarray engine that reads the original as netCDF (None: not netCDF)."""
    if fmt == "netcdf3":
        return "scipy"
    if fmt != "hdf5":
        return None
    import h5py

    with h5py.File(path, "r") as f:
        if "_NCProperties" in f.attrs or path.endswith((".nc", ".nc4", ".cdf")):
            return "netcdf4"
    return None


def _where(exc: BaseException) -> str:
    """Name the vzcore frames behind an exception: ``file.py:line in function``.

    The innermost frame in vzcore or a vz plugin, preceded by the last vzcore frame that
    called into another library when the exception passed through one (e.g. xarray calling
    back into ``ManifestArray.__array__``).
    """
    import traceback

    def ours(frame: traceback.FrameSummary) -> bool:
        return "/vzcore/" in frame.filename or "/vz_" in frame.filename

    def name(frame: traceback.FrameSummary) -> str:
        parts = Path(frame.filename).parts
        return f"{'/'.join(parts[-2:])}:{frame.lineno} in {frame.name}"

    frames = traceback.extract_tb(exc.__traceback__)
    mine = [i for i, f in enumerate(frames) if ours(f)]
    if not mine:
        return name(frames[-1]) if frames else ""
    last = mine[-1]
    callers = [i for i in mine if i < last and "site-packages" in frames[i + 1].filename]
    if callers:
        return f"{name(frames[callers[-1]])} -> {name(frames[last])}"
    return name(frames[last])


def _refs_store(refs: dict[str, Any]) -> Any:
    import fsspec

    return fsspec.filesystem("reference", fo=refs).get_mapper("")


def check_mode(path: str, fmt: str, mode: str, reference: Any, engine: str | None) -> Any:
    """Open, write and read back one file in one mode; return a ModeResult."""
    from compare import classify, compare_values, output_arrays

    import vzcore
    from vzcore.errors import DecodedDtypeError, VZError

    kwargs = MODES[mode]
    refused: DecodedDtypeError | None = None
    try:
        if reference.has_groups:
            obj = vzcore.open_virtual_datatree(path, **kwargs)
        else:
            obj = vzcore.open_virtual_dataset(path, **kwargs)
        try:
            refs = obj.virtualize.to_kerchunk(format="dict")
        except DecodedDtypeError as exc:
            # zarr cannot keep float32 packing attributes: a clear error, and the remedy it
            # names must work, so every array is still checked, written with it.
            refused = exc
            refs = obj.virtualize.to_kerchunk(format="dict", allow_float64_decoding=True)
    except Exception as exc:  # noqa: BLE001 - every exception is classified
        return classify(
            exception=exc,
            is_vz_error=isinstance(exc, VZError),
            compared=0,
            dropped=[],
            mismatches={},
            where=_where(exc),
        )
    dropped: list[str] = []
    mismatches: dict[str, str] = {}
    compared = 0
    try:
        out = output_arrays(_refs_store(refs))
    except Exception as exc:  # noqa: BLE001
        return classify(
            exception=None,
            is_vz_error=False,
            compared=0,
            dropped=[],
            mismatches={"/": f"read: opening the group: {type(exc).__name__}: {exc}"},
        )
    for name, load in reference.arrays.items():
        try:
            expected = load()
        except Exception as exc:  # noqa: BLE001 - the reference library cannot read it
            reference.skipped[name] = f"reference library fails: {type(exc).__name__}: {exc}"
            continue
        if name not in out:
            dropped.append(name)
            continue
        try:
            actual = out[name][...]
        except Exception as exc:  # noqa: BLE001
            mismatches[name] = f"read: {type(exc).__name__}: {' '.join(str(exc).split())}"
            continue
        compared += 1
        why = compare_values(expected, actual)
        if why:
            mismatches[name] = why
    decoded = _decoded(path, _decoding_engines(fmt, engine), refs, reference.padded)
    if refused is not None:  # the refused variables decode to float64 by request
        named = set(refused.variables) | {v.rsplit("/", 1)[-1] for v in refused.variables}
        decoded = {k: v for k, v in decoded.items() if k.split(" (engine ")[0] not in named}
    result = classify(
        exception=None,
        is_vz_error=False,
        compared=compared,
        dropped=dropped,
        mismatches=mismatches,
        decoded=decoded,
    )
    if refused is not None and result.status == "exact":
        return classify(exception=refused, is_vz_error=True, compared=0, dropped=[], mismatches={})
    return result


def _decoding_engines(fmt: str, engine: str | None) -> list[str]:
    """Return the xarray engines whose decoding of the original the output must match.

    netCDF classic files are compared against both engines that open them (scipy and
    netcdf4), as the issue asks: open whatever either engine opens, the same way.
    """
    if engine is None:
        return []
    if fmt == "netcdf3":
        return [engine, *(["netcdf4"] if engine != "netcdf4" else [])]
    return [engine]


def _decoded(
    path: str, engines: list[str], refs: dict[str, Any], padded: set[str] = frozenset()
) -> dict[str, str]:
    """Compare xarray's decoding of the original (each engine) with that of the output.

    Differences found with the first engine are keyed by variable name, those of further
    engines get `` (engine NAME)`` appended. The output is opened and read once.

    ``padded`` names the variables that hold fewer records than their unlimited dimension.
    netCDF-C reads their missing records as the fill value when they are read alone, but a
    read that spans the dataset's end returns uninitialised memory for part of them (it
    differs from run to run); for those variables the netcdf4 engine's values are replaced
    by the h5netcdf engine's, which pads with the HDF5 fill value as netCDF-C intends.
    """
    import xarray as xr
    from compare import compare_decoded

    problems: dict[str, str] = {}
    ours: Any = None
    for n, engine in enumerate(engines):
        try:
            original = xr.open_dataset(path, engine=engine)
            original.load()
            if engine == "netcdf4" and padded:
                _replace_padded(original, path, padded)
        except Exception:  # noqa: BLE001, S112 - this engine cannot open the original
            continue
        if ours is None:
            try:
                ours = xr.open_dataset(
                    _refs_store(refs), engine="zarr", zarr_format=2, consolidated=False
                )
            except Exception as exc:  # noqa: BLE001
                return {"/": f"xarray cannot open the references: {type(exc).__name__}: {exc}"}
            # when loading fails, compare_decoded reports each variable that cannot be read
            with contextlib.suppress(Exception):
                ours = ours.load()
        suffix = f" (engine {engine})" if n else ""
        for name, why in compare_decoded(original, ours).items():
            problems[name + suffix] = why
    return problems


def _replace_padded(original: Any, path: str, padded: set[str]) -> None:
    """Replace, in place, the netcdf4 engine's values of ``padded`` root variables."""
    import xarray as xr

    names = [n for n in padded if n in original.variables and n not in original.indexes]
    if not names:
        return
    with xr.open_dataset(path, engine="h5netcdf") as other:
        for name in names:
            original[name].values = other[name].values


def check_file(path: str, fmt: str) -> dict[str, Any]:
    """Both modes of one file, as a JSON-ready dict."""
    from compare import REFERENCES

    result: dict[str, Any] = {"path": path, "format": fmt}
    try:
        engine = _netcdf_engine(path, fmt)
    except Exception:  # noqa: BLE001
        engine = None
    result["netcdf_engine"] = engine
    for mode in MODES:
        try:
            reference = REFERENCES[fmt](path)
        except Exception as exc:  # noqa: BLE001
            result[mode] = {
                "status": "unreadable",
                "reason": f"reference library fails: {type(exc).__name__}: {exc}",
            }
            continue
        with reference, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome = check_mode(path, fmt, mode, reference, engine)
        result[mode] = asdict(outcome)
        result[mode]["skipped"] = dict(reference.skipped)
        result[mode]["expected"] = len(reference.arrays)
    return result


RESULT = "@@RESULT "


def main() -> None:
    """Command-line entry point: ``check.py FILE FORMAT`` or ``check.py --serve``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if sys.argv[1:] == ["--serve"]:
        for line in sys.stdin:
            path, fmt = line.rstrip("\n").split("\t")
            print(RESULT + json.dumps(check_file(path, fmt), default=str), flush=True)
    else:
        print(RESULT + json.dumps(check_file(sys.argv[1], sys.argv[2]), default=str))


if __name__ == "__main__":
    main()
