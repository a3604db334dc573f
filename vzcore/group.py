"""ManifestGroup: the format-neutral tree that readers produce and writers consume.

A group holds named variables (each a :class:`Variable`: dimension names, data and
attributes), its own attributes and child groups. Variable data is either a
:class:`~vzcore.manifests.ManifestArray` (virtual: chunk references) or a numpy array
(loaded values, e.g. decoded-then-re-encoded coordinates, which writers store as real
data). Attributes are JSON-safe Python values. Nothing here depends on xarray.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vzcore.errors import WriteError
from vzcore.manifests import ManifestArray, SourceInfo

__all__ = ["ManifestGroup", "Variable", "values_to_write"]


def values_to_write(name: str, data: Any) -> np.ndarray:
    """Return a loaded variable's values as the plain numpy array a writer stores.

    A masked array without masked elements becomes its data; variable-width strings
    (numpy's ``StringDType``) become an object array of ``str``, which writers encode with
    ``vlen-utf8``.

    Raises
    ------
    vzcore.errors.WriteError
        When elements are masked: their values are undefined until filled.
    """
    if isinstance(data, np.ma.MaskedArray):
        if np.ma.getmaskarray(data).any():
            raise WriteError(
                f"Cannot write variable {name!r}: it is a masked array with masked elements; "
                "fill them (and set _FillValue) before writing."
            )
        data = data.filled()
    arr = np.asarray(data)
    if arr.dtype.kind == "T":
        arr = arr.astype(object)
    return arr


@dataclass
class Variable:
    """One named array of a group, with its dimension names and attributes."""

    dims: tuple[str, ...]
    """Dimension names, one per axis."""
    data: ManifestArray | np.ndarray
    """Chunk references, or values held in memory."""
    attrs: dict[str, Any] = field(default_factory=dict)
    """Attributes, CF encoding attributes (``_FillValue``, ``scale_factor``, ...) included."""

    def __post_init__(self) -> None:
        self.dims = tuple(self.dims)
        if len(self.dims) != self.data.ndim:
            raise ValueError(
                f"{len(self.dims)} dimension names {self.dims} for a {self.data.ndim}-d array"
            )

    @property
    def is_virtual(self) -> bool:
        """True when the data is a ManifestArray."""
        return isinstance(self.data, ManifestArray)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the data."""
        return tuple(self.data.shape)


@dataclass
class ManifestGroup:
    """A node of a virtual dataset tree."""

    variables: dict[str, Variable] = field(default_factory=dict)
    """Arrays of this group, by name."""
    attrs: dict[str, Any] = field(default_factory=dict)
    """Group attributes."""
    groups: dict[str, ManifestGroup] = field(default_factory=dict)
    """Child groups, by name."""

    @property
    def dims(self) -> dict[str, int]:
        """Sizes of the dimensions used by this group's variables."""
        sizes: dict[str, int] = {}
        for name, var in self.variables.items():
            for d, n in zip(var.dims, var.shape, strict=True):
                if sizes.setdefault(d, n) != n:
                    raise ValueError(
                        f"dimension {d!r} has length {sizes[d]} elsewhere but {n} in {name!r}"
                    )
        return sizes

    def walk(self, prefix: str = "") -> Iterator[tuple[str, ManifestGroup]]:
        """Yield ``(path, group)`` for this group and every descendant, parents first."""
        yield prefix, self
        for name, child in self.groups.items():
            yield from child.walk(f"{prefix}/{name}" if prefix else name)

    def rename_paths(self, func: Callable[[str], str]) -> ManifestGroup:
        """Return a copy whose virtual variables point to ``func(path)``."""
        return ManifestGroup(
            variables={
                k: Variable(
                    v.dims,
                    v.data.rename_paths(func) if isinstance(v.data, ManifestArray) else v.data,
                    dict(v.attrs),
                )
                for k, v in self.variables.items()
            },
            attrs=dict(self.attrs),
            groups={k: g.rename_paths(func) for k, g in self.groups.items()},
        )

    def sources(self) -> dict[str, SourceInfo]:
        """Return the scan-time identity of every source file of the tree, by path."""
        found: dict[str, SourceInfo] = {}
        for _, g in self.walk():
            for v in g.variables.values():
                if isinstance(v.data, ManifestArray):
                    for path, info in v.data.manifest.sources.items():
                        found.setdefault(path, info)
        return found

    def attach_sources(self, sources: dict[str, SourceInfo]) -> None:
        """Attach ``sources`` (keyed by path) to every virtual variable of the tree, in place."""
        for _, g in self.walk():
            for v in g.variables.values():
                if isinstance(v.data, ManifestArray) and any(
                    p in sources for p in v.data.manifest.paths
                ):
                    v.data = v.data.with_sources(sources)

    def referenced_paths(self) -> list[str]:
        """Return every path that a virtual variable of the tree points into, in order."""
        seen: dict[str, None] = {}
        for _, g in self.walk():
            for v in g.variables.values():
                if isinstance(v.data, ManifestArray):
                    seen.update(dict.fromkeys(v.data.manifest.paths))
        return list(seen)

    @property
    def nbytes(self) -> int:
        """Memory held by manifests and loaded arrays in the whole tree."""
        total = 0
        for _, g in self.walk():
            for v in g.variables.values():
                d = v.data
                total += d.manifest.nbytes if isinstance(d, ManifestArray) else d.nbytes
        return total
