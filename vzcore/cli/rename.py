"""Re-point references to a new URL prefix, e.g. after uploading the files.

Example::

    vz rename local.json --from file:///scratch/run42/ --to s3://bucket/run42/ -o s3.json

Only paths that start with --from change; the command says how many did.
"""

from __future__ import annotations

import argparse
import time

from vzcore.cli.options import (
    UsageError,
    add_allow_argument,
    add_output_arguments,
    add_refs_argument,
    output_format,
    parse_storage_options,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``rename`` arguments."""
    add_refs_argument(parser, "source")
    parser.add_argument(
        "--from",
        dest="old",
        required=True,
        metavar="PREFIX",
        help="prefix to replace (a local directory becomes file:///...)",
    )
    parser.add_argument(
        "--to", dest="new", required=True, metavar="PREFIX", help="replacement prefix"
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="where to write")
    add_output_arguments(parser)
    add_allow_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def _as_url(prefix: str) -> str:
    if "://" in prefix:
        return prefix
    import os

    from vzcore._urls import to_url

    url = to_url(prefix)
    return url + "/" if prefix.endswith(os.sep) and not url.endswith("/") else url


def run(args: argparse.Namespace) -> int:
    """Read, rename, write."""
    from vzcore.cli.outputs import read_refs
    from vzcore.cli.scan import write_and_report

    t0 = time.perf_counter()
    so = parse_storage_options(args.storage_option)
    fmt = output_format(args.output, args.format)
    old, new = _as_url(args.old), args.new
    group = read_refs(args.source, so, args.allow)
    paths = group.referenced_paths()
    changed = [p for p in paths if p.startswith(old)]
    if not changed:
        shown = ", ".join(repr(p) for p in paths[:3])
        raise UsageError(
            f"no reference starts with {old!r}; the references point to {shown}"
            f"{' ...' if len(paths) > 3 else ''}"
        )
    renamed = group.rename_paths(lambda p: new + p[len(old) :] if p.startswith(old) else p)
    message = f"vz rename {old} -> {new}"
    return write_and_report(args, renamed, fmt, so, t0, message, renamed_files=len(changed))
