"""Scan files, combine them with xarray's rules and write references.

Examples::

    vz scan 'data/day*.nc' -o combined.json
    vz scan 'data/*.nc' -o combined.parq --parallel processes
    vz scan 's3://bucket/data/*.nc' -S anon=true -o refs.json --zarr-format 3
    vz scan data/*.nc -o repo.icechunk --format icechunk

Prints a summary line (files, variables, chunk references, bytes referenced, output size,
time); --json prints it as JSON.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from vzcore.cli.inputs import expand_inputs
from vzcore.cli.options import (
    add_output_arguments,
    add_reader_option_argument,
    emit_json,
    human_bytes,
    output_format,
    parse_reader_options,
    parse_storage_options,
    path_size,
)
from vzcore.cli.outputs import write_group
from vzcore.cli.stats import Stats


def add_combine_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that mirror ``open_virtual_mfdataset`` (shared with ``append``)."""
    parser.add_argument(
        "--combine",
        choices=("by_coords", "nested"),
        default="by_coords",
        help="order files by coordinate values (default) or as given",
    )
    parser.add_argument(
        "--concat-dim",
        action="append",
        default=None,
        metavar="DIM",
        help="dimension to concatenate along with --combine nested",
    )
    parser.add_argument(
        "--parallel",
        choices=("threads", "processes", "dask"),
        default=None,
        help="scan files in parallel (default: one after another)",
    )
    parser.add_argument(
        "--errors",
        choices=("raise", "warn", "skip"),
        default="raise",
        help="a file that cannot be scanned: fail (default), or leave it out "
        "with (warn) or without (skip) a warning",
    )
    parser.add_argument(
        "--loadable",
        action="append",
        default=None,
        metavar="VAR",
        help="variable to load into the output as real data, repeatable "
        "(default: the 1-D dimension coordinates, their CF bounds and the scalar variables)",
    )
    parser.add_argument(
        "--drop",
        action="append",
        default=None,
        metavar="VAR",
        help="variable to leave out, repeatable",
    )
    parser.add_argument("--group", default=None, help="group inside the files (HDF5/netCDF4)")
    parser.add_argument(
        "--reader", default=None, help="reader name (default: chosen by each file's magic bytes)"
    )
    add_reader_option_argument(parser, "files' reader (keyed by reader: -R hdf5.KEY=VALUE)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``scan`` arguments."""
    parser.add_argument(
        "inputs", nargs="+", metavar="PATH_OR_GLOB", help="files, globs or URLs (quote globs)"
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="output: refs.json, refs.parq, or a directory with --format icechunk",
    )
    add_output_arguments(parser, "zarr metadata of kerchunk outputs (default 2; Icechunk is 3)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_combine_arguments(parser)


def open_kwargs(args: argparse.Namespace, so: dict[str, Any] | None) -> dict[str, Any]:
    """Return the ``open_virtual_mfdataset`` keyword arguments the options ask for."""
    kwargs: dict[str, Any] = {
        "combine": args.combine,
        "parallel": args.parallel or False,
        "errors": args.errors,
        "progress": False if args.quiet or args.json else "auto",
        "storage_options": so,
    }
    if args.concat_dim:
        kwargs["concat_dim"] = (
            args.concat_dim[0] if len(args.concat_dim) == 1 else (args.concat_dim)
        )
    optional = {
        "loadable_variables": args.loadable,
        "drop_variables": args.drop,
        "group": args.group,
        "reader": args.reader,
        "reader_options": parse_reader_options(args.reader_option),
    }
    kwargs.update({k: v for k, v in optional.items() if v is not None})
    return kwargs


def summary_line(stats: Stats, out: str, out_bytes: int, seconds: float) -> str:
    """Return the one-line summary of a scan or append."""
    return (
        f"{len(stats.sources)} file(s), {stats.variables} variable(s) ({stats.virtual} "
        f"virtual, {stats.loaded} loaded), {stats.chunk_refs} chunk reference(s), "
        f"{human_bytes(stats.bytes_referenced)} referenced -> {out} "
        f"({human_bytes(out_bytes)}) in {seconds:.2f} s"
    )


def report(
    stats: Stats,
    out: str,
    fmt: str,
    so: dict[str, Any] | None,
    t0: float,
    as_json: bool,
    **extra: Any,
) -> None:
    """Print the summary of a written output."""
    size = path_size(out, so)
    seconds = time.perf_counter() - t0
    if as_json:
        emit_json(
            {
                **stats.to_dict(),
                "output": out,
                "format": fmt,
                "output_bytes": size,
                "seconds": round(seconds, 3),
                **extra,
            }
        )
    else:
        print(summary_line(stats, out, size, seconds))


def write_and_report(
    args: argparse.Namespace,
    group: Any,
    fmt: str,
    so: dict[str, Any] | None,
    t0: float,
    message: str,
    **extra: Any,
) -> int:
    """Write ``group`` to OUT (``--mode``, ``--zarr-format``), print the summary, return 0."""
    write_group(
        group,
        args.output,
        fmt,
        mode=args.mode,
        zarr_format=args.zarr_format,
        storage_options=so,
        message=message,
        allow_float64_decoding=args.allow_float64_decoding,
    )
    report(Stats.of(group), args.output, fmt, so, t0, args.json, **extra)
    return 0


def run(args: argparse.Namespace) -> int:
    """Scan, combine, write, summarise."""
    import vzcore

    t0 = time.perf_counter()
    so = parse_storage_options(args.storage_option)
    fmt = output_format(args.output, args.format)
    files = expand_inputs(args.inputs, so)
    vds = vzcore.open_virtual_mfdataset(files, **open_kwargs(args, so))
    skipped = list(vds.encoding.get("skipped_files", []))
    message = f"vz scan: {len(files)} file(s)"
    group = vds.virtualize.to_group()
    return write_and_report(args, group, fmt, so, t0, message, skipped_files=skipped)
