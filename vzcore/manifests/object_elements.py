"""Variable-length (object dtype) virtual arrays whose single elements can be read.

xarray reads the first element of every object array it wraps in dask, to learn whether it
holds ``cftime`` dates (``xarray.core.common._contains_cftime_datetimes``, called for each
file by ``xr.open_mfdataset`` and by ``xr.open_dataset(..., chunks=...)``). A
:class:`~vzcore.manifests.ManifestArray` holds no values and cannot answer; an
:class:`ObjectElementArray` reads the chunk holding the element, with the storage options
the dataset was opened with, and returns its value. Every other operation is the
ManifestArray's own (chunk-aligned indexing, concatenation, ...), and what they return is a
plain ManifestArray.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vzcore.manifests.array import ManifestArray
from vzcore.manifests.loading import load_values

__all__ = ["ObjectElementArray"]


class ObjectElementArray(ManifestArray):
    """A ManifestArray of object dtype that reads an element when indexed by integers alone.

    Parameters
    ----------
    array
        The virtual array (variable-length strings, bytes or sequences).
    storage_options
        fsspec options to read its files with.
    name
        The variable's name, for messages.
    """

    __slots__ = ("_name", "_storage_options")

    def __init__(
        self,
        array: ManifestArray,
        storage_options: dict[str, Any] | None = None,
        name: str = "",
    ) -> None:
        super().__init__(array.metadata, array.manifest)
        self._storage_options = storage_options
        self._name = name

    def __getitem__(self, key: Any) -> Any:
        """Read one element (a key of one integer per axis); else select whole chunks."""
        index = tuple(k for k in (key if isinstance(key, tuple) else (key,)) if k is not Ellipsis)
        if len(index) != self.ndim or not all(isinstance(k, int | np.integer) for k in index):
            return super().__getitem__(key)  # (xarray appends "..." to ask for a 0-d array)
        at: list[int] = []
        block: list[slice] = []
        edges = self.metadata.chunk_edges
        for axis, (k, size, chunk) in enumerate(
            zip(index, self.shape, self.chunk_shape, strict=True)
        ):
            i = int(k) + size if k < 0 else int(k)
            if not 0 <= i < size:
                raise IndexError(f"index {int(k)} out of bounds for axis {axis} of size {size}")
            axis_edges = edges[axis] if edges is not None else None
            if axis_edges is not None:
                bounds = np.cumsum(np.array([0, *axis_edges], dtype=np.int64))
                g = int(np.searchsorted(bounds, i, side="right")) - 1
                start, stop = int(bounds[g]), min(int(bounds[g + 1]), size)
            else:
                start = i - i % chunk
                stop = min(start + chunk, size)
            block.append(slice(start, stop))
            at.append(i - start)
        chunk_array = ManifestArray.__getitem__(self, tuple(block))
        values = load_values(chunk_array, self._storage_options, name=self._name)
        return np.asarray(values[tuple(at)], dtype=object)
