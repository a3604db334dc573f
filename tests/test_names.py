"""Array and group names are validated before they become paths."""

from __future__ import annotations

import numpy as np
import pytest

from vzcore.errors import UnsupportedFeatureError, VZError, WriteError
from vzcore.group import ManifestGroup, Variable
from vzcore.names import name_problem, validate_name, validate_tree

UNSAFE = ["", ".", "..", "/etc", "a/b", "../x", "a\\b", "x\x00y", "tab\there", "del\x7f", 5]
SAFE = ["temp", "a.b", "..a", "a..", ".hidden", "näme", "with space", "x-y_z", "phony_dim_0"]


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_names(name):
    assert name_problem(name) is not None
    with pytest.raises(WriteError, match="Unsafe variable name"):
        validate_name(name, "variable", WriteError)


@pytest.mark.parametrize("name", SAFE)
def test_safe_names(name):
    assert name_problem(name) is None
    validate_name(name, "variable")


def test_validate_tree_names_the_file_and_group():
    child = ManifestGroup(variables={"..": Variable(("x",), np.zeros(2))})
    tree = ManifestGroup(groups={"ok": child})
    with pytest.raises(
        UnsupportedFeatureError,
        match=r"'/ok/\.\.' in 'file:///a.nc'.*"
        r"variable name '\.\.'",
    ) as info:
        validate_tree(tree, "file:///a.nc")
    assert isinstance(info.value, VZError)
    with pytest.raises(UnsupportedFeatureError, match="group name '/abs'"):
        validate_tree(ManifestGroup(groups={"/abs": ManifestGroup()}), "file:///a.nc")
    validate_tree(ManifestGroup(variables={"a": Variable(("x",), np.zeros(2))}), "u")


def _problem_by_characters(name):
    """name_problem's control-character rule as the per-character walk (the reference)."""
    bad = next((c for c in name if ord(c) < 32 or ord(c) == 127), None)
    return None if bad is None else f"names must not contain control characters (found {bad!r})"


def test_control_characters_short_path_equals_the_walk():
    from vzcore.names import name_problem

    names = ["air", "a b", "é", "x\u00a0y", "x\u2028y", "tab\there", "del\x7f", "c1\x85"]
    names += ["\x1f", "ok~", "zero\x00", "emoji😀", "a\u200bb", "\U000e0001", "~!@#$%^&*()"]
    names += [chr(i) + "x" for i in range(160) if chr(i) not in "/\\."]
    for name in names:
        assert name_problem(name) == _problem_by_characters(name), repr(name)
