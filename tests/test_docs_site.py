"""The documentation site builds with ``mkdocs build --strict`` and renders in a real browser.

The build runs in every ``./dev test`` (CI included), so a broken page, link or docstring
reference fails the suite. The browser check opens the start page and the API reference in
Debian's headless Chromium (skipped when it is not installed; ``.ci/run`` installs it) and
checks that they render and that every link on them resolves to a built file and anchor.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-q",
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert res.returncode == 0, f"mkdocs build --strict failed:\n{res.stdout}\n{res.stderr}"
    return out


def test_docs_build_strict_with_every_page(site: Path) -> None:
    for page in (
        "index.html",
        "getting-started/index.html",
        "user-guide/index.html",
        "cli/index.html",
        "migrating/index.html",
        "plugins/index.html",
        "plugins/hooks/index.html",
        "api/index.html",
        "benchmarks/index.html",
        "changelog/index.html",
        "architecture/index.html",
    ):
        assert (site / page).is_file(), page
    api = (site / "api" / "index.html").read_text()
    for name in (
        "open_virtual_mfdataset",
        "VerifyReport",
        "KerchunkWriter",
        "record_size",
        "IcechunkWriter",
        "append_dim",
        "CommandSpec",
    ):
        assert name in api, name
    bench = (site / "benchmarks" / "index.html").read_text()
    assert "whole.svg" in bench
    assert "virtualizarr" in bench
    assert (site / "assets" / "benchmarks" / "whole.svg").stat().st_size > 1000


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.h1: list[str] = []
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        if tag in ("link", "img", "script") and (a.get("href") or a.get("src")):
            self.links.append(str(a.get("href") or a.get("src")))
        self._in_h1 = tag == "h1" or self._in_h1

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._in_h1 and data.strip():
            self.h1.append(data.strip())


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("Chromium is not installed (apt-get install chromium)")


def _render(browser: str, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1200,900",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@functools.cache
def _ids(html_file: Path) -> set[str]:
    page = _Page()
    page.feed(html_file.read_text())
    return page.ids


@pytest.mark.parametrize(
    ("page", "title"), [("index.html", "vzcore"), ("api/index.html", "API reference")]
)
def test_pages_render_in_chromium_and_links_resolve(
    site: Path, tmp_path: Path, page: str, title: str
) -> None:
    browser = _chromium()
    target = site / page
    dom = _render(browser, target.as_uri(), "--dump-dom")
    assert dom.returncode == 0, dom.stderr
    parsed = _Page()
    parsed.feed(dom.stdout)
    assert title in parsed.h1, parsed.h1
    assert "md-nav" in dom.stdout  # the theme rendered its navigation

    shot = tmp_path / "page.png"
    res = _render(browser, target.as_uri(), f"--screenshot={shot}")
    assert res.returncode == 0, res.stderr
    assert shot.stat().st_size > 10_000

    checked = 0
    for href in parsed.links:
        parts = urlsplit(href)
        if parts.scheme in ("http", "https", "mailto", "data", "javascript"):
            continue
        if parts.scheme == "file":
            path = Path(unquote(parts.path))
        elif parts.path:
            path = (target.parent / unquote(parts.path)).resolve()
        else:
            path = target
        if path.is_dir():
            path = path / "index.html"
        assert path.is_file(), f"{page}: link {href!r} -> {path} does not exist"
        assert site in path.parents or path == site, f"{page}: {href!r} leaves the site"
        if parts.fragment and path.suffix == ".html":
            assert unquote(parts.fragment) in _ids(path), f"{page}: anchor {href!r} missing"
        checked += 1
    assert checked > 10
