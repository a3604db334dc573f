"""List the installed plugins with their versions, readers, writers and commands."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``plugins`` arguments."""
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    """Print the plugins."""
    from dataclasses import asdict

    import vzcore
    from vzcore.cli.options import emit_json

    infos = vzcore.list_plugins()
    if args.json:
        emit_json([asdict(i) for i in infos])
        return 0
    if not infos:
        print("no plugins installed: pip install vz-hdf5 vz-kerchunk")
    for i in infos:
        parts = [
            f"readers: {', '.join(i.readers)}" if i.readers else "",
            f"writers: {', '.join(i.writers)}" if i.writers else "",
        ]
        what = "; ".join(p for p in parts if p) or "no readers or writers"
        print(f"{i.name:<12} {i.distribution} {i.version}  {what}")
    return 0
