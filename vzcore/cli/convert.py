"""Convert references between kerchunk JSON, Parquet, zarr v2/v3 metadata and Icechunk.

Examples::

    vz convert refs.json refs.parq
    vz convert refs.json refs-v3.json --zarr-format 3
    vz convert refs.parq repo.icechunk

The references are copied as they are: no source file is read again.
"""

from __future__ import annotations

import argparse
import time

from vzcore.cli.options import (
    add_allow_argument,
    add_output_arguments,
    add_reader_option_argument,
    add_refs_argument,
    output_format,
    parse_reader_options,
    parse_storage_options,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``convert`` arguments."""
    add_refs_argument(parser, "source", "IN")
    parser.add_argument("output", metavar="OUT", help="where to write")
    add_output_arguments(parser)
    add_allow_argument(parser)
    add_reader_option_argument(parser, "kerchunk reader (allow_pickle=true, ...)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    """Read IN, write OUT."""
    from vzcore.cli.outputs import read_refs
    from vzcore.cli.scan import write_and_report

    t0 = time.perf_counter()
    so = parse_storage_options(args.storage_option)
    fmt = output_format(args.output, args.format)
    group = read_refs(args.source, so, args.allow, parse_reader_options(args.reader_option))
    return write_and_report(args, group, fmt, so, t0, f"vz convert {args.source}")
