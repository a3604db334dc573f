"""The benchmark suite's vzcore path works in the test environment (no peers needed).

Runs the suite's own task functions in-process on three tiny generated files: the
pipeline (scan -> combine -> kerchunk JSON) and the plain-xarray read-back, whose values
must equal what netCDF4 reads from the originals.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    unique = f"vzbench{name}"
    spec = importlib.util.spec_from_file_location(unique, BENCH / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_vzcore_pipeline_and_readback(tmp_path: Path) -> None:
    inputs, child = _load("_inputs"), _load("_child")
    ds = inputs.make_small(tmp_path / "in", 3)
    assert ds.chunks == 3 * 8
    out = tmp_path / "vzcore"
    res = child.task_pipeline(
        {"tool": "vzcore", "files": ds.files, "combine": ds.combine, "out": str(out), "extra": []}
    )
    assert res["scan"] > 0
    assert res["hwm_kib"] > 0
    assert "json" in res["writers"]
    refs = json.loads((tmp_path / "vzcore.json").read_text())
    chunk_keys = [k for k in refs["refs"] if k.startswith("air/") and not k.startswith("air/.")]
    assert len(chunk_keys) == 3 * 4
    assert 0 < res["manifest_bytes"] / ds.chunks < 200

    spec = {
        "path": str(tmp_path / "vzcore.json"),
        "format": "json",
        "variable": "air",
        "files": ds.files,
    }
    got = child.task_readback(spec)
    expected = child.task_readback_source(spec)
    assert got["shape"] == expected["shape"] == [12, 10, 20]
    assert got["dtype"] == expected["dtype"] == "float32"
    assert got["checksum"] == expected["checksum"]
    assert got["time_last"].startswith("2000-01-12")


def test_output_digest_tells_equal_and_different_outputs(tmp_path: Path, capsys) -> None:
    """benchmarks/output_digest.py: same tree -> equal digests; changed values -> differ."""
    import netCDF4

    inputs, digest = _load("_inputs"), _load("output_digest")
    ds = inputs.make_small(tmp_path / "in", 2)
    missing = str(tmp_path / "missing.nc")
    listing = tmp_path / "files.txt"
    listing.write_text("\n".join([*ds.files, missing]) + "\n")
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert digest.main([str(listing), str(first)]) == 0
    assert "3 files digested: 2 opened, 1 refused" in capsys.readouterr().out
    assert digest.main([str(listing), str(second), "--compare", str(first)]) == 0
    assert "3 equal, 0 differ" in capsys.readouterr().out
    roots = digest._tree_roots()
    refused = digest.describe(missing, roots)
    assert refused["error"][0] == "SourceNotFoundError"
    assert "<vzcore>" not in refused["error"][1]  # (the data file's path is not the tree's)

    with netCDF4.Dataset(ds.files[0], "a") as nc:  # a loaded coordinate's value changes
        name = next(n for n, v in nc.variables.items() if v.dimensions == (n,))
        nc.variables[name][0] = nc.variables[name][0] - 1
    third = tmp_path / "c.json"
    assert digest.main([str(listing), str(third), "--compare", str(first)]) == 1
    out = capsys.readouterr().out
    assert "2 equal, 1 differ" in out
    assert ds.files[0] in out
