"""Compact form of a virtual dataset: what travels between processes and cluster workers.

A scanned file's :class:`xarray.Dataset` pickles with its pandas indexes, xarray wrappers and
index objects. :class:`CompactDataset` keeps only what rebuilds it exactly: per variable its
dimensions, data (a :class:`~vzcore.manifests.ManifestArray`, whose manifest is a few numpy
buffers, or a numpy array of loaded values), attributes and encoding, plus which coordinates
carry an index. Pickled with protocol 5 (dask.distributed does so), the numpy buffers travel
out of band, without copies.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import xarray as xr

__all__ = ["CompactDataset", "expand", "to_compact"]


@dataclass(frozen=True)
class CompactDataset:
    """A virtual dataset as plain fields (see the module docstring)."""

    variables: dict[Hashable, tuple[tuple[Hashable, ...], Any, dict[str, Any], dict[str, Any]]]
    """``name: (dims, data, attrs, encoding)`` in the dataset's order."""
    coord_names: tuple[Hashable, ...]
    """Names of the coordinate variables."""
    indexed: tuple[Hashable, ...]
    """Coordinates that carry a (default, pandas) index."""
    attrs: dict[str, Any]
    """Dataset attributes."""
    encoding: dict[str, Any]
    """Dataset encoding."""


def to_compact(ds: xr.Dataset) -> CompactDataset:
    """Return the compact form of ``ds`` (no copy of any array)."""
    from vzcore._dask_graph import unwrap_duck_array

    variables = {}
    for name, var in ds.variables.items():
        data = unwrap_duck_array(var._data)  # the ManifestArray or numpy array itself
        if not hasattr(data, "shape") or type(data).__module__.startswith("xarray"):
            data = var.values
        variables[name] = (var.dims, data, dict(var.attrs), dict(var.encoding))
    return CompactDataset(
        variables=variables,
        coord_names=tuple(ds.coords),
        indexed=tuple(ds.xindexes),
        attrs=dict(ds.attrs),
        encoding=dict(ds.encoding),
    )


def expand(compact: CompactDataset) -> xr.Dataset:
    """Rebuild the dataset :func:`to_compact` was given, its variables in the same order.

    The order matters beyond looks: combining datasets whose variables differ (xarray
    merges them) keeps the order in which they come, so the cluster and process-pool paths
    equal the serial one only when every rebuilt dataset keeps its file's order.
    """
    from vzcore._to_xarray import _plain_numpy
    from vzcore.manifests import ManifestArray

    # fastpath for data xarray stores unchanged: skips its duck-array probe, which imports
    # dask.array (0.1-2 s) in a process that has not imported it yet.
    made = {
        name: xr.Variable(
            dims,
            data,
            attrs,
            encoding,
            fastpath=isinstance(data, ManifestArray) or _plain_numpy(data),
        )
        for name, (dims, data, attrs, encoding) in compact.variables.items()
    }
    coords = {n: made[n] for n in compact.coord_names}
    data_vars = {n: v for n, v in made.items() if n not in coords}
    dimension_coords = {n for n, v in coords.items() if v.dims == (n,)}
    if dimension_coords == set(compact.indexed):  # xarray's defaults give the same indexes
        ds = xr.Dataset(data_vars, coords=coords, attrs=compact.attrs)
    else:  # virtual dimension coordinates have no index (never build one from them)
        ds = xr.Dataset(data_vars, coords=xr.Coordinates(coords, indexes={}), attrs=compact.attrs)
        for name in compact.indexed:
            ds = ds.set_xindex([name])
    ds.encoding = dict(compact.encoding)
    order = list(compact.variables)
    if list(ds.variables) != order:  # the constructor puts data variables before coordinates
        ds = ds[order]  # the same variables (no copies), attributes and encoding
    return ds
