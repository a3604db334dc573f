"""Add new files to existing references or to an Icechunk repository.

Examples::

    vz append combined.json 'data/2024-06-0[2-3].nc' --dim time
    vz append repo.icechunk data/2024-06-02.nc --dim time

References (JSON/Parquet): the existing references are read, combined with the new files
with the checks of ``open_virtual_mfdataset`` (same codecs, chunk shapes, dtypes, CF
encodings, lengths along the other dimensions; no overlap; whole chunks) and written back
atomically. Icechunk: the new files are appended with ``to_icechunk(append_dim=DIM)`` and
committed; new data that does not come after the repository's along DIM is refused.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from vzcore.cli.options import (
    UsageError,
    add_allow_argument,
    add_decoding_argument,
    output_format,
    parse_storage_options,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``append`` arguments."""
    from vzcore.cli.scan import add_combine_arguments

    parser.add_argument(
        "target",
        metavar="TARGET",
        help="kerchunk references (JSON/Parquet) or an Icechunk repository",
    )
    parser.add_argument("inputs", nargs="+", metavar="PATH_OR_GLOB", help="new files")
    parser.add_argument("--dim", required=True, help="dimension to append along")
    add_allow_argument(
        parser,
        "URL prefix the existing references may point into, repeatable",
    )
    parser.add_argument(
        "--zarr-format",
        type=int,
        choices=(2, 3),
        default=None,
        help="zarr metadata of the rewritten references (default 2)",
    )
    add_decoding_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_combine_arguments(parser)


def _check_after(existing: Any, new: Any, dim: str, target: str) -> None:
    """Refuse new data whose coordinate along ``dim`` does not come after the existing."""
    import numpy as np

    if dim not in existing.coords or dim not in new.coords or existing.sizes.get(dim, 0) == 0:
        return
    try:
        last, first = np.asarray(existing[dim].values)[-1], np.asarray(new[dim].values)[0]
    except (TypeError, ValueError):  # virtual coordinates hold no values to compare
        return
    if not first > last:
        raise UsageError(
            f"the new files start at {dim}={first} but {target!r} already reaches "
            f"{dim}={last}; vz append adds data after the existing along {dim!r}"
        )


def _align_fill_values(existing: Any, new: Any) -> Any:
    """Give new virtual arrays the existing ones' storage fill value where it cannot matter.

    Kerchunk references of zarr format 2 may store no ``fill_value`` (null) where the source
    file has one; the value is only ever read for missing chunks, so a new array with no
    missing chunk takes the existing null instead of failing the combine. CF ``_FillValue``
    (an attribute) is compared as always.
    """
    from vzcore.manifests import ManifestArray

    for name, var in new.variables.items():
        old = existing.variables.get(name)
        data, old_data = var.data, None if old is None else old.data
        if not (isinstance(data, ManifestArray) and isinstance(old_data, ManifestArray)):
            continue
        if (
            old_data.metadata.fill_value is None
            and data.metadata.fill_value is not None
            and (not data.manifest.missing().any())
        ):
            md = data.metadata.replace(fill_value=None)
            new[name] = var.copy(data=ManifestArray(md, data.manifest))
    return new


def run(args: argparse.Namespace) -> int:
    """Combine and write back."""
    import vzcore
    from vzcore._combine import combine_virtual
    from vzcore.cli.inputs import expand_inputs
    from vzcore.cli.outputs import explain_refusal, is_icechunk_repo, refs_options, write_group
    from vzcore.cli.scan import open_kwargs, report
    from vzcore.cli.stats import Stats

    t0 = time.perf_counter()
    so = parse_storage_options(args.storage_option)
    files = expand_inputs(args.inputs, so)
    kwargs = open_kwargs(args, so)
    if args.combine == "nested":
        kwargs["concat_dim"] = args.dim
    new = vzcore.open_virtual_mfdataset(files, **kwargs)
    if args.dim not in new.dims:
        raise UsageError(
            f"the new files have no dimension {args.dim!r}; they have {sorted(map(str, new.dims))}"
        )
    if is_icechunk_repo(args.target):
        import icechunk
        import xarray as xr

        storage = icechunk.local_filesystem_storage(args.target.removeprefix("file://"))
        repo = icechunk.Repository.open(storage)
        old = xr.open_zarr(
            repo.readonly_session("main").store, consolidated=False, chunks=None, group=args.group
        )
        _check_after(old, new, args.dim, args.target)
        group = new.virtualize.to_group()
        write_group(
            group,
            args.target,
            "icechunk",
            append_dim=args.dim,
            message=f"vz append: {len(files)} file(s) along {args.dim}",
            allow_float64_decoding=args.allow_float64_decoding,
        )
        report(
            Stats.of(group), args.target, "icechunk", so, t0, args.json, appended_files=len(files)
        )
        return 0

    fmt = output_format(args.target, None)
    if is_icechunk_repo(args.target) or not args.target:  # pragma: no cover - handled above
        raise UsageError(f"{args.target!r} is not references to append to")
    with explain_refusal(args.target):
        existing = vzcore.open_virtual_dataset(
            args.target,
            reader="kerchunk",
            storage_options=so,
            group=args.group,
            loadable_variables=args.loadable,
            drop_variables=args.drop,
            reader_options=refs_options(args.allow),
        )
    _check_after(existing, new, args.dim, args.target)
    new = _align_fill_values(existing, new)
    combined = combine_virtual(
        [existing, new],
        [args.target, files[0] if len(files) == 1 else f"{len(files)} new files"],
        combine=args.combine,
        nested=[existing, new],
        concat_dim=args.dim,
    )
    group = combined.virtualize.to_group()
    write_group(
        group,
        args.target,
        fmt,
        mode="w",
        zarr_format=args.zarr_format,
        storage_options=so,
        allow_float64_decoding=args.allow_float64_decoding,
    )
    report(Stats.of(group), args.target, fmt, so, t0, args.json, appended_files=len(files))
    return 0
