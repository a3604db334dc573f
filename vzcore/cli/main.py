"""``vz``: parse arguments, run one command, turn errors into one line and an exit code.

Exit codes: 0 success; 1 ``vz verify`` found problems; 2 a usage or input error (a bad
argument, no file matched, a file that cannot be read, any :class:`~vzcore.errors.VZError`);
3 an unexpected error (a bug: run with ``--debug`` and report it); 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from vzcore.cli.options import add_common
from vzcore.cli.registry import CommandRegistry, CommandSpec

__all__ = ["main"]

BUILTIN = (
    CommandSpec("scan", "vzcore.cli.scan", "scan files, combine them and write references"),
    CommandSpec("info", "vzcore.cli.info", "describe a source file or existing references"),
    CommandSpec("verify", "vzcore.cli.verify", "check that references still match their files"),
    CommandSpec(
        "convert",
        "vzcore.cli.convert",
        "convert references between JSON, Parquet, zarr v3 and Icechunk",
    ),
    CommandSpec(
        "append",
        "vzcore.cli.append",
        "add new files to existing references or an Icechunk repository",
    ),
    CommandSpec("rename", "vzcore.cli.rename", "re-point references to a new URL prefix"),
    CommandSpec("plugins", "vzcore.cli.plugin_list", "list installed plugins and formats"),
)

_log = logging.getLogger("vzcore.cli")


def _commands() -> list[CommandSpec]:
    from vzcore import plugins

    registry = CommandRegistry()
    for spec in BUILTIN:
        registry.add(spec)
    plugins.register_commands(registry)
    return registry.values()


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    """Return the parser and the loaded command objects by name."""
    from vzcore import __version__

    parser = argparse.ArgumentParser(
        prog="vz",
        description="Virtual Zarr stores from archival files: scan netCDF/HDF5/TIFF files "
        "into kerchunk references or Icechunk, inspect, verify and maintain them.",
        epilog="Exit codes: 0 ok, 1 verify found problems, 2 usage or input error, "
        "3 unexpected error. Run 'vz COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"vz (vzcore) {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    loaded: dict[str, object] = {}
    for spec in _commands():
        command = spec.load_command()
        doc = (getattr(command, "__doc__", None) or spec.help).strip()
        p = sub.add_parser(
            spec.name,
            help=spec.help,
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(p)  # the command protocol (load_command returns Any)
        add_common(p)
        loaded[spec.name] = command
    return parser, loaded


def _setup_logging(args: argparse.Namespace) -> None:
    level = logging.WARNING
    if args.quiet:
        level = logging.ERROR
    elif args.verbose == 1:
        level = logging.INFO
    elif args.verbose >= 2:
        level = logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("vz: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if level < logging.WARNING and not args.verbose >= 2 else level)
    logging.getLogger("vzcore").setLevel(level)
    logging.captureWarnings(True)  # library warnings become one log line on stderr
    # Icechunk logs from Rust to stderr, read from ICECHUNK_LOG when it is imported: keep
    # its advice-level warnings out of normal runs (-v shows them, as for our own logs).
    os.environ.setdefault("ICECHUNK_LOG", {0: "error", 1: "warn"}.get(args.verbose, "info"))


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``vz`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    from vzcore.errors import VZError

    args = None
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("vzcore").level)
    try:
        parser, commands = build_parser()
        args = parser.parse_args(argv)
        _setup_logging(args)
        code = commands[args.command].run(args)  # type: ignore[attr-defined]  # protocol
        return 0 if code is None else int(code)
    except SystemExit as exc:  # argparse: --help, --version, usage errors (code 2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except KeyboardInterrupt:
        print("vz: interrupted", file=sys.stderr)
        return 130
    except (VZError, OSError, ValueError) as err:
        if args is not None and args.debug:
            raise
        what = "" if isinstance(err, VZError) else f"{type(err).__name__}: "
        name = f"vz {args.command}" if args is not None else "vz"
        print(
            f"{name}: error: {what}{_one_line(err)} (--debug shows the traceback)", file=sys.stderr
        )
        return 2
    except Exception as err:  # last resort: one line, not a traceback
        if args is not None and args.debug:
            raise
        print(
            f"vz: unexpected error: {type(err).__name__}: {_one_line(err)} (a bug: rerun "
            "with --debug and report the traceback)",
            file=sys.stderr,
        )
        return 3
    finally:  # leave the process as it was (main() also runs inside other programs)
        logging.captureWarnings(False)
        root.handlers[:], root.level = saved[0], saved[1]
        logging.getLogger("vzcore").setLevel(saved[2])
