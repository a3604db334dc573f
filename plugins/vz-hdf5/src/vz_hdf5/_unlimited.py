"""Unlimited dimensions whose variables have different lengths, read as netCDF-C reads them.

In a netCDF-4 file each variable along an unlimited dimension is its own extendable HDF5
dataset, so one may hold fewer records than another (a variable written for the first
record only). netCDF-C gives the dimension the largest length of its variables and reads
the records a shorter variable lacks as its fill value; netCDF4-python and xarray's
netcdf4/h5netcdf engines show every such variable at the full length. :func:`pad_unlimited`
does the same for virtual arrays: the missing records become missing chunks, which
readers of the output see as the variable's fill value (``ArrayMetadata.fill_value``, the
HDF5 fill value that netCDF-C sets), instead of an xarray "conflicting sizes for dimension"
error.

The records beyond a dataset's extent read as its HDF5 fill value only when HDF5 writes
fill values: a dataset written without them (netCDF ``NC_NOFILL``, HDF5 fill time
"never") reads them as netCDF's default fill with netCDF-C, as the HDF5 fill value with
h5netcdf, and its last chunk holds whatever bytes were there. :func:`pad_unlimited`
names such variables instead of padding them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from vzcore.group import Variable
from vzcore.manifests import ChunkManifest, ManifestArray

__all__ = ["pad_unlimited"]


def pad_unlimited(
    variables: dict[str, Variable],
    maxshapes: Mapping[str, tuple[int | None, ...] | None],
    writes_no_fill: Callable[[str], bool] = lambda name: False,
) -> list[str]:
    """Extend, in place, virtual variables that are short along an unlimited dimension.

    Parameters
    ----------
    variables
        The variables of one group, by name.
    maxshapes
        Each variable's HDF5 ``maxshape`` (``None`` entries are unlimited axes).
    writes_no_fill
        Whether a variable's dataset was written without fill values (HDF5 fill time
        "never"); asked only of the variables to pad.

    Returns
    -------
    list of str
        The short variables that cannot be padded (written without fill values): they are
        removed from ``variables`` and the caller reports them.
    """
    refused: list[str] = []
    if not any(m is not None and None in m for m in maxshapes.values()):
        return refused  # (no unlimited axis: nothing to pad, as the loops below find)
    lengths: dict[str, int] = {}
    for v in variables.values():
        for d, n in zip(v.dims, v.data.shape, strict=False):
            lengths[d] = max(lengths.get(d, 0), int(n))
    for name, v in variables.items():
        data = v.data
        maxshape = maxshapes.get(name)
        if not isinstance(data, ManifestArray) or maxshape is None:
            continue
        meta, manifest = data.metadata, data.manifest
        shape = list(meta.shape)
        for axis, d in enumerate(v.dims):
            if axis >= len(maxshape) or maxshape[axis] is not None or shape[axis] >= lengths[d]:
                continue
            chunk = meta.chunk_shape[axis]
            grid = list(manifest.grid_shape)
            extra = math.ceil(lengths[d] / chunk) - grid[axis]
            if extra > 0:
                grid[axis] = extra
                manifest = ChunkManifest.concatenate(
                    [manifest, ChunkManifest.empty(tuple(grid))], axis
                )
            shape[axis] = lengths[d]
        if tuple(shape) != meta.shape and writes_no_fill(name):
            refused.append(name)
        elif tuple(shape) != meta.shape:
            variables[name] = Variable(
                v.dims, ManifestArray(meta.replace(shape=tuple(shape)), manifest), v.attrs
            )
    for name in refused:
        del variables[name]
    return refused
