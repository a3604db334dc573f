"""Describe a source file or existing references.

Lists every variable (dimensions, shape, dtype, chunk shape, codecs, chunk count) and the
referenced files (count, total bytes). For a source file it also says what a scan would
keep virtual, what it would load (the 1-D dimension coordinates, their bounds and scalars by default) and which
variables the reader cannot represent (unsupported).
"""

from __future__ import annotations

import argparse
from typing import Any

from vzcore.cli.options import add_allow_argument, emit_json, human_bytes, parse_storage_options

_REF_SUFFIXES = (".json", ".json.gz", ".parq", ".parquet")
_MAX_UNSUPPORTED = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``info`` arguments."""
    parser.add_argument(
        "target",
        metavar="FILE_OR_REFS",
        help="a source file (netCDF, HDF5, TIFF, ...) or kerchunk references",
    )
    parser.add_argument("--group", default=None, help="group inside a source file")
    add_allow_argument(
        parser,
        "URL prefix that references may point into (default: their "
        "own directory and object stores), repeatable",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def _is_refs(target: str) -> bool:
    import os

    name = target.rstrip("/").lower()
    local = target.removeprefix("file://")
    return name.endswith(_REF_SUFFIXES) or os.path.exists(os.path.join(local, ".zmetadata"))


def _scan_source(
    target: str, group: str | None, so: dict[str, Any] | None
) -> tuple[Any, list[dict[str, str]]]:
    """Read a source file; variables the reader refuses are listed and left out."""
    from vzcore.api import read_group
    from vzcore.errors import UnsupportedFeatureError

    unsupported: list[dict[str, str]] = []
    drop: list[str] = []  # as the reader names them (HDF5: "/path/name")
    while True:
        try:
            tree = read_group(
                target,
                group=group,
                storage_options=so,
                reader_options={"drop_variables": drop} if drop else None,
            )
            return tree, unsupported
        except UnsupportedFeatureError as err:
            if err.variable is None or err.variable in drop or len(drop) >= _MAX_UNSUPPORTED:
                raise
            drop.append(err.variable)
            unsupported.append({"name": err.variable.lstrip("/"), "reason": err.feature})


def _default_loaded(tree: Any) -> set[str]:
    """Names a scan loads by default: 1-D variables named like their dimension."""
    return {
        f"{p}/{n}" if p else n
        for p, g in tree.walk()
        for n, v in g.variables.items()
        if len(v.dims) == 1 and v.dims[0] == n
    }


def run(args: argparse.Namespace) -> int:
    """Print the description."""
    from vzcore.cli.outputs import read_refs
    from vzcore.cli.stats import Stats, variable_rows

    so = parse_storage_options(args.storage_option)
    refs = _is_refs(args.target)
    unsupported: list[dict[str, str]]
    if refs:
        tree, unsupported = read_refs(args.target, so, args.allow), []
    else:
        tree, unsupported = _scan_source(args.target, args.group, so)
    rows = variable_rows(tree)
    if not refs:
        loaded = _default_loaded(tree)
        for row in rows:
            if row["state"] == "virtual" and row["name"] in loaded:
                row["state"] = "loaded"  # read into the output by a default scan
    stats = Stats.of(tree)
    kind = "references" if refs else "source"
    if args.json:
        emit_json(
            {
                "target": args.target,
                "kind": kind,
                "variables": rows,
                "unsupported": unsupported,
                "sources": stats.sources,
                "source_bytes": stats.source_bytes,
                "totals": stats.to_dict(),
            }
        )
        return 0
    print(f"{args.target} ({kind}): {len(rows)} variable(s)")
    for row in rows:
        chunks = ""
        if row["chunks"] is not None:
            codecs = ", ".join(row["codecs"]) or "none"
            chunks = (
                f" chunks {tuple(row['chunk_shape'])} x{row['chunks']}"
                f" ({row['chunk_refs']} referenced, {row['inline_chunks']} inline, "
                f"{row['missing_chunks']} missing) codecs [{codecs}]"
            )
        print(
            f"  {row['name']}({', '.join(row['dims'])}) {row['dtype']} "
            f"{tuple(row['shape'])} {row['state']}{chunks}"
        )
    for u in unsupported:
        print(f"  {u['name']}: unsupported ({u['reason']})")
    total = "unknown size" if stats.source_bytes is None else human_bytes(stats.source_bytes)
    print(
        f"sources: {len(stats.sources)} file(s), {total}; {stats.chunk_refs} chunk "
        f"reference(s), {human_bytes(stats.bytes_referenced)} referenced"
    )
    return 0
