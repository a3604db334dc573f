"""The distributions build and install as real wheels (not just editable checkouts)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import pip_install

ROOT = Path(__file__).parents[1]

CHECK = """
import importlib, importlib.metadata, sys, vzcore
target = sys.argv[1]
assert vzcore.__file__.startswith(target), vzcore.__file__
assert importlib.metadata.version("vzcore") == vzcore.__version__
names = {p.name: p.distribution for p in vzcore.list_plugins()}
for dist in sys.argv[2:]:
    module = importlib.import_module(dist.replace("-", "_"))
    assert module.__file__.startswith(target), module.__file__
    assert module.__version__ == vzcore.__version__, (dist, module.__version__)
    assert names.get(dist.removeprefix("vz-")) == dist, (dist, names)
import xarray as xr
assert "virtualizarr" in xr.backends.list_engines()
print("ok")
"""


@pytest.mark.slow
def test_pip_install_core_and_plugins_as_wheels(tmp_path):
    pytest.importorskip("hatchling")
    target = tmp_path / "site"
    plugins = sorted(p for p in (ROOT / "plugins").glob("vz-*") if (p / "pyproject.toml").exists())
    dists = [ROOT, *plugins]
    pip_install(target, *dists)
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", CHECK, str(target), *(p.name for p in plugins)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    # Each wheel ships its own package only, typed.
    assert (target / "vzcore" / "py.typed").exists()
    for plugin in plugins:
        assert (target / plugin.name.replace("-", "_") / "py.typed").exists(), plugin.name
    for stray in ("plugins", "tests", "examples", "benchmarks"):
        assert not (target / stray).exists(), stray
