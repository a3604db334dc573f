"""atomic_directory: an output directory appears complete or not at all."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vzcore import _atomic as atomic
from vzcore.errors import WriteError
from vzcore.io import atomic_directory


def _fill(d: Path, text: str) -> None:
    (d / "sub").mkdir()
    (d / "a.txt").write_text(text)
    (d / "sub" / "b.txt").write_text(text * 2)


def _read(d: Path) -> dict[str, str]:
    return {str(p.relative_to(d)): p.read_text() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(params=["renameat2", "fallback"])
def rename(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "fallback":
        monkeypatch.setattr(atomic, "_renameat2", lambda src, dst, flags: False)
    else:
        calls: list[int] = []
        real = atomic._renameat2

        def spy(src: Path, dst: Path, flags: int) -> bool:
            calls.append(flags)
            return real(src, dst, flags)

        monkeypatch.setattr(atomic, "_renameat2", spy)
        yield "renameat2"
        if sys.platform.startswith("linux"):
            assert calls, "renameat2 was never tried"
        return
    yield "fallback"


def test_creates_then_refuses_then_replaces(tmp_path, rename):
    target = tmp_path / "out"
    with atomic_directory(target) as d:
        assert d.parent == tmp_path
        assert d.name.startswith(".out.")
        assert not target.exists()
        _fill(d, "one")
    assert _read(target) == {"a.txt": "one", "sub/b.txt": "oneone"}
    with pytest.raises(WriteError, match="already exists and mode='w-'"), atomic_directory(target):
        pytest.fail("must not get here")  # pragma: no cover
    with atomic_directory(f"file://{target}", mode="w") as d:
        _fill(d, "two")
    assert _read(target) == {"a.txt": "two", "sub/b.txt": "twotwo"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_exception_leaves_previous_output_and_no_temporary(tmp_path, rename):
    target = tmp_path / "out"
    with atomic_directory(target) as d:
        _fill(d, "old")
    for exc in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exc)), atomic_directory(target, mode="w") as d:  # noqa: PT012
            _fill(d, "new")
            raise exc
        assert _read(target) == {"a.txt": "old", "sub/b.txt": "oldold"}
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_target_created_meanwhile_is_not_clobbered(tmp_path, rename):
    target = tmp_path / "out"
    with (  # noqa: PT012
        pytest.raises(WriteError, match="created by someone else"),
        atomic_directory(target) as d,
    ):
        _fill(d, "mine")
        target.mkdir()  # an empty directory: plain os.rename would replace it
    assert list(target.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_refuses_files_unrelated_directories_and_missing_parents(tmp_path):
    (tmp_path / "file").write_text("x")
    with (
        pytest.raises(WriteError, match="not a directory"),
        atomic_directory(tmp_path / "file", mode="w"),
    ):
        pass  # pragma: no cover
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "precious.nc").write_text("x")
    with (
        pytest.raises(WriteError, match="does not look like"),
        atomic_directory(
            tmp_path / "data", mode="w", replaceable=lambda p: (p / "marker").exists()
        ),
    ):
        pass  # pragma: no cover
    assert (tmp_path / "data" / "precious.nc").read_text() == "x"
    with (
        pytest.raises(WriteError, match="does not exist"),
        atomic_directory(tmp_path / "nope" / "out"),
    ):
        pass  # pragma: no cover
    with (
        pytest.raises(ValueError, match="mode must be"),
        atomic_directory(
            tmp_path / "o",
            mode="a",  # type: ignore[arg-type]  # invalid on purpose
        ),
    ):
        pass  # pragma: no cover
    with pytest.raises(WriteError, match="remote targets"), atomic_directory("s3://b/out"):
        pass  # pragma: no cover
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "file"]
