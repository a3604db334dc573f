"""One version source: vzcore/__init__.py, read by every distribution of this repository."""

from __future__ import annotations

import importlib
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

import vzcore

ROOT = Path(__file__).parents[1]
PROJECTS = [ROOT, *sorted(p.parent for p in (ROOT / "plugins").glob("vz-*/pyproject.toml"))]


def _pyproject(project: Path) -> dict:
    return tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_every_pyproject_reads_the_version_from_vzcore(project: Path) -> None:
    doc = _pyproject(project)
    assert "version" not in doc["project"], "a static version: use dynamic = ['version']"
    assert "version" in doc["project"]["dynamic"]
    source = project / doc["tool"]["hatch"]["version"]["path"]
    assert source.resolve() == (ROOT / "vzcore" / "__init__.py").resolve()


@pytest.mark.parametrize("project", PROJECTS[1:], ids=lambda p: p.name)
def test_pins_on_our_distributions_admit_this_version(project: Path) -> None:
    packaging_requirements = pytest.importorskip("packaging.requirements")
    ours = {p.name if p != ROOT else "vzcore" for p in PROJECTS}
    pins = [
        packaging_requirements.Requirement(r)
        for r in _pyproject(project)["project"]["dependencies"]
    ]
    pins = [r for r in pins if r.name in ours]
    assert any(r.name == "vzcore" for r in pins), "every plugin depends on vzcore"
    for req in pins:
        assert req.specifier.contains(vzcore.__version__), (project.name, str(req))


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_installed_distributions_report_vzcore_version(project: Path) -> None:
    name = _pyproject(project)["project"]["name"]
    try:
        installed = version(name)
    except PackageNotFoundError:
        pytest.skip(f"{name} is not installed")
    assert installed == vzcore.__version__
    module = importlib.import_module(name.replace("-", "_"))
    assert module.__version__ == vzcore.__version__


def test_no_version_literal_left_in_the_sources() -> None:
    literal = f'__version__ = "{vzcore.__version__}"'
    hits = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "plugins").glob("vz-*/src/*/__init__.py")
        if literal in p.read_text(encoding="utf-8")
    ]
    assert hits == []
