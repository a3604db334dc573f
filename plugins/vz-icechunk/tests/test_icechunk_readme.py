"""The README's recipe and daily-update example run as written (paths substituted)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import assert_same, open_originals, write_sample_files

README = Path(__file__).resolve().parents[1] / "README.md"
# Spelled out, so the comparison holds whatever core's combine defaults are.
OPTIONS = (
    'combine="by_coords", data_vars="minimal", coords="minimal", compat="override", '
    'combine_attrs="override"'
)


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_recipe_and_append(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "data"
    d.mkdir()
    files = write_sample_files(d, n_files=4)
    monkeypatch.chdir(tmp_path)
    recipe, append = _blocks()[:2]
    # The first batch is the first two files; the "next day" appends the other two.
    recipe = recipe.replace('"/data/day*.nc"', repr([str(f) for f in files[:2]]))
    recipe = recipe.replace('combine="by_coords"', OPTIONS)
    append = append.replace('"/data/2024-06-02*.nc"', repr([str(f) for f in files[2:]]))
    append = append.replace('combine="by_coords"', OPTIONS)
    namespace: dict[str, object] = {}
    exec(recipe, namespace)  # noqa: S102 - the documented example, as a user runs it
    assert_same(namespace["ds"].load(), open_originals(files[:2]))  # type: ignore[attr-defined]
    exec(append, namespace)  # noqa: S102
    import xarray as xr

    repo = namespace["repo"]
    got = xr.open_zarr(repo.readonly_session("main").store, consolidated=False).load()  # type: ignore[attr-defined]
    assert_same(got, open_originals(files))
