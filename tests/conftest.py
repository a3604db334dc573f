"""Shared fixtures for core tests: no format library is imported here."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vzcore.testing.fixtures import vz_http, vz_s3, vz_s3_session  # noqa: F401 (fixtures)

TOY_SRC = Path(__file__).parent / "toy_plugin"


def pip_install(target: Path, *sources: Path) -> None:
    """Build and install ``sources`` with pip into ``target`` (no dependencies, no isolation)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            *map(str, sources),
        ],
        check=True,
    )


def plugins_on_path(
    site: Path, monkeypatch: pytest.MonkeyPatch, theirs: Callable[[str], bool]
) -> Iterator[Path]:
    """Put ``site`` on sys.path for plugin discovery; yield it; then forget its modules.

    ``theirs(module_name)`` says which imported modules came from ``site``: they are
    removed from ``sys.modules`` afterwards, and the plugins are discovered again.
    """
    import vzcore

    monkeypatch.syspath_prepend(str(site))
    vzcore.refresh_plugins()
    yield site
    monkeypatch.undo()
    for mod in [m for m in sys.modules if theirs(m)]:
        del sys.modules[mod]
    vzcore.refresh_plugins()


@pytest.fixture(scope="session")
def toy_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the toy third-party plugin distribution with pip into a private directory."""
    target = tmp_path_factory.mktemp("toy-site")
    build = tmp_path_factory.mktemp("toy-build")
    src = build / "toy_plugin"
    # Build from a copy so the source tree stays clean.
    subprocess.run(["cp", "-r", str(TOY_SRC), str(src)], check=True)
    pip_install(target, src)
    return target


@pytest.fixture
def toy_installed(toy_site: Path, monkeypatch: pytest.MonkeyPatch):
    """Make the installed toy plugin visible to entry-point discovery for one test."""
    yield from plugins_on_path(
        toy_site, monkeypatch, lambda m: m == "vz_toy" or m.startswith("vz_toy.")
    )
