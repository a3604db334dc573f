"""Validating array and group names before they become paths.

Writers turn names into store keys and file paths (``group/var/.zarray``, ``var/0.0``); a
name read from a hostile file or reference set (``".."``, ``"/etc"``, ``"a/../../b"``,
backslashes, control characters) must never reach them. :func:`name_problem` says what is
wrong with a name; :func:`validate_name` raises the caller's error type, and
:func:`validate_tree` checks every variable and group name of a ManifestGroup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vzcore.errors import UnsupportedFeatureError, VZError

if TYPE_CHECKING:
    from vzcore.group import ManifestGroup

__all__ = ["name_problem", "validate_name", "validate_tree"]


def name_problem(name: object) -> str | None:
    """Return why ``name`` cannot be used as an array or group name, or None when it can."""
    if not isinstance(name, str):
        return f"names must be strings, got {type(name).__name__}"
    if not name:
        return "names must not be empty"
    if name in (".", ".."):
        return "'.' and '..' are path steps, not names"
    if "/" in name:
        return "names must not contain '/' (absolute or nested paths)"
    if "\\" in name:
        return "names must not contain '\\', which zarr reads as a path separator"
    if name.isascii() and name.isprintable():  # (ASCII without controls: nothing to find)
        return None
    bad = next((c for c in name if ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        return f"names must not contain control characters (found {bad!r})"
    return None


def validate_name(name: object, where: str, error: type[VZError] = VZError) -> None:
    """Raise ``error`` when ``name`` is not a safe array or group name.

    Parameters
    ----------
    name
        The name to check.
    where
        What it names, for the message (``"variable in group 'a'"``).
    error
        The exception class to raise (``WriteError`` in writers); it is called with the
        message as its only argument.
    """
    problem = name_problem(name)
    if problem is not None:
        raise error(f"Unsafe {where} name {name!r}: {problem}; rename it before writing")


def validate_tree(group: ManifestGroup, url: str) -> None:
    """Raise UnsupportedFeatureError naming ``url`` for the first unsafe name in ``group``'s tree.

    Such names are valid in the file (HDF5 names may hold a backslash) but cannot become
    zarr keys: the file is not corrupt, the name is unsupported.
    """
    for path, g in group.walk():
        for kind, names in (("variable", g.variables), ("group", g.groups)):
            for name in names:
                problem = name_problem(name)
                if problem is not None:
                    full = f"/{path}/{name}" if path else f"/{name}"
                    hint = (
                        f"leave it out with drop_variables=[{name!r}]" if kind == "variable" else ""
                    )
                    raise UnsupportedFeatureError(
                        url, full, f"{kind} name {name!r}: {problem}", hint, kind=kind
                    )
