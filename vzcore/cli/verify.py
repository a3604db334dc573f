"""Check that references still match the files they point into.

Exit code 0 when every reference holds, 1 when any problem is found (each is listed), 2
when the references cannot be read or an argument is wrong: fit for cron and CI.
--deep also fetches and decodes every chunk.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict

from vzcore.cli.options import (
    add_allow_argument,
    add_reader_option_argument,
    add_refs_argument,
    emit_json,
    parse_reader_options,
    parse_storage_options,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``verify`` arguments."""
    add_refs_argument(parser, "target")
    parser.add_argument(
        "--deep",
        action="store_true",
        help="also fetch and decode every chunk (reads all referenced bytes)",
    )
    add_allow_argument(parser)
    add_reader_option_argument(parser, "kerchunk reader (allow_pickle=true, ...)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    """Verify and print the report."""
    import vzcore
    from vzcore.cli.outputs import read_refs

    so = parse_storage_options(args.storage_option)
    group = read_refs(args.target, so, args.allow, parse_reader_options(args.reader_option))
    report = vzcore.verify(group, deep=args.deep, storage_options=so)
    if args.json:
        emit_json({"ok": report.ok, **asdict(report)})
    else:
        print(report)
    return 0 if report.ok else 1
