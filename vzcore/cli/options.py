"""Options and helpers shared by the ``vz`` commands: storage options, formats, output."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from vzcore.errors import VZError

__all__ = [
    "add_allow_argument",
    "add_common",
    "add_decoding_argument",
    "add_output_arguments",
    "add_reader_option_argument",
    "emit_json",
    "human_bytes",
    "is_remote",
    "output_format",
    "parse_reader_options",
    "parse_storage_options",
    "path_size",
]

FORMATS = ("json", "parquet", "icechunk")


class UsageError(VZError, ValueError):
    """A command-line argument that cannot work (exit code 2)."""


def add_output_arguments(
    parser: argparse.ArgumentParser,
    zarr_help: str = "zarr metadata of kerchunk outputs (default 2)",
) -> None:
    """Add ``--format``, ``--zarr-format`` and ``--mode``, shared by the writing commands."""
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="output format (default: from OUT's extension)",
    )
    parser.add_argument("--zarr-format", type=int, choices=(2, 3), default=None, help=zarr_help)
    parser.add_argument(
        "--mode",
        choices=("w", "w-"),
        default="w-",
        help="w- (default) refuses to replace OUT; w replaces it",
    )
    add_decoding_argument(parser)


def add_decoding_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--allow-float64-decoding`` (packed float32 variables decode as float64)."""
    parser.add_argument(
        "--allow-float64-decoding",
        action="store_true",
        help="write packed variables with float32 scale_factor/add_offset, which xarray "
        "then decodes to float64 instead of float32 (refused by default)",
    )


def add_refs_argument(parser: argparse.ArgumentParser, dest: str, metavar: str = "REFS") -> None:
    """Add the positional argument naming existing kerchunk references (JSON or Parquet)."""
    parser.add_argument(dest, metavar=metavar, help="kerchunk references (JSON or Parquet)")


def add_allow_argument(
    parser: argparse.ArgumentParser,
    help: str = "URL prefix the references may point into, repeatable",
) -> None:
    """Add ``--allow PREFIX`` (repeatable), for the commands that read existing references."""
    parser.add_argument("--allow", action="append", default=None, metavar="PREFIX", help=help)


def add_common(parser: argparse.ArgumentParser) -> None:
    """Add the options every command takes: verbosity, --debug, --storage-option."""
    group = parser.add_argument_group("common options")
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only results and errors (no progress bar, no warnings)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log more on stderr (-v: info, -vv: debug, with vzcore.io requests)",
    )
    group.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    group.add_argument(
        "--storage-option",
        "-S",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="storage_option",
        help="fsspec option for remote URLs, repeatable; VALUE is parsed as "
        "JSON when it can be (true, 3, {...}); a dotted KEY nests "
        "(client_kwargs.region_name=us-east-1)",
    )


def add_reader_option_argument(parser: argparse.ArgumentParser, what: str = "reader") -> None:
    """Add ``--reader-option KEY=VALUE`` (``-R``, repeatable): options of the reader."""
    parser.add_argument(
        "--reader-option",
        "-R",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="reader_option",
        help=f"option of the {what}, repeatable (-R allow_pickle=true); VALUE is parsed as "
        "JSON when it can be, a dotted KEY nests",
    )


def parse_reader_options(items: list[str]) -> dict[str, Any] | None:
    """Turn ``--reader-option KEY=VALUE`` strings into ``reader_options`` (None when empty)."""
    return _parse_key_values(items, "--reader-option", "-R allow_pickle=true")


def parse_storage_options(items: list[str]) -> dict[str, Any] | None:
    """Turn ``KEY=VALUE`` strings into an fsspec ``storage_options`` dict (None when empty)."""
    return _parse_key_values(
        items, "--storage-option", "-S anon=true or -S endpoint_url=http://127.0.0.1:9000"
    )


def _parse_key_values(items: list[str], flag: str, example: str) -> dict[str, Any] | None:
    """Turn ``KEY=VALUE`` strings into a dict: VALUE as JSON when it parses, dotted KEYs nest."""
    if not items:
        return None
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} {item!r} is not KEY=VALUE; e.g. {example}")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        *parents, last = key.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise UsageError(f"{flag} {item!r}: {p!r} is already a value")
        node[last] = value
    return out


def is_remote(target: str) -> bool:
    """Return True for a URL that is not a local path (``s3://``, ``https://``, ...)."""
    return "://" in target and not target.startswith("file://")


def output_format(target: str, given: str | None) -> str:
    """Return the output format: ``given``, else guessed from the target's extension."""
    if given is not None:
        return given
    name = target.rstrip("/").lower()
    if name.endswith((".json", ".json.gz")):
        return "json"
    if name.endswith((".parq", ".parquet")):
        return "parquet"
    if name.endswith(".icechunk"):
        return "icechunk"
    raise UsageError(
        f"cannot tell the output format of {target!r} from its name; pass --format "
        "json|parquet|icechunk or name it *.json, *.parq/*.parquet or *.icechunk"
    )


def path_size(target: str, storage_options: dict[str, Any] | None = None) -> int:
    """Return the size in bytes of a file, or of everything under a directory."""
    if not is_remote(target):
        path = target.removeprefix("file://")
        if os.path.isdir(path):
            return sum(
                os.path.getsize(os.path.join(root, f))
                for root, _, files in os.walk(path)
                for f in files
            )
        return os.path.getsize(path) if os.path.exists(path) else 0
    import fsspec

    fs, path = fsspec.core.url_to_fs(target, **(storage_options or {}))
    return int(fs.du(path, total=True))


def human_bytes(n: float) -> str:
    """Return ``n`` bytes as a short human-readable size (``1.2 MB``)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"  # pragma: no cover - unreachable


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout."""
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
