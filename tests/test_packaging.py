"""The distributions build and install as real wheels (not just editable checkouts)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

CHECK = """
import sys, vzcore, vz_hdf5, vz_kerchunk
target = sys.argv[1]
assert vzcore.__file__.startswith(target), vzcore.__file__
assert vz_hdf5.__file__.startswith(target), vz_hdf5.__file__
names = {p.name: p.distribution for p in vzcore.list_plugins()}
assert names.get("hdf5") == "vz-hdf5", names
assert names.get("kerchunk") == "vz-kerchunk", names
import xarray as xr
assert "virtualizarr" in xr.backends.list_engines()
print("ok")
"""


@pytest.mark.slow
def test_pip_install_core_and_plugins_as_wheels(tmp_path):
    pytest.importorskip("hatchling")
    target = tmp_path / "site"
    dists = [ROOT, ROOT / "plugins" / "vz-hdf5", ROOT / "plugins" / "vz-kerchunk"]
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-build-isolation", "--target", str(target), *map(str, dists)],
        check=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-c", CHECK, str(target)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    # Each wheel ships its own package only, typed.
    assert (target / "vzcore" / "py.typed").exists()
    assert (target / "vz_hdf5" / "py.typed").exists()
    for stray in ("plugins", "tests", "examples", "benchmarks"):
        assert not (target / stray).exists(), stray
