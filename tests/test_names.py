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
