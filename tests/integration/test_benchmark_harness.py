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
