"""Fuzzing readers: damaged copies of real files must raise only VZError subclasses.

A reader plugin's tests build damaged variants of a real sample file (truncations, byte
mutations) and hand them to :func:`open_cases`, which opens every case with
:func:`vzcore.open_virtual_dataset` **in a child process**, each case under a time bound
(``faulthandler.dump_traceback_later(..., exit=True)``: it fires even while a C library
holds the interpreter). The parent gets one :class:`Outcome` per case: the dataset
opened, a VZError came out, another exception *leaked*, or the case hung or crashed the
process (both reported with the child's stderr, so the traceback shows where).

Example, in a plugin's tests::

    from vzcore.testing.fuzz import mutations, open_cases, truncations

    def test_fuzz(tmp_path):
        data = write_sample(tmp_path / "a.myf").read_bytes()
        cases = [*truncations(data, 20), *mutations(data, 200, seed=1)]
        outcomes = open_cases(cases, tmp_path / "cases", suffix=".myf")
        assert [o for o in outcomes if o.kind in ("leak", "hang")] == []
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Outcome", "mutations", "open_cases", "truncations"]


@dataclass(frozen=True)
class Outcome:
    """What opening one damaged case did."""

    case: str
    """The case's name (also its file name without suffix)."""
    kind: str
    """``"ok"``, ``"vzerror"``, ``"leak"`` (a non-VZError exception) or ``"hang"``."""
    error_type: str = ""
    """Class name of the exception, when one came out."""
    message: str = ""
    """The exception's message (or the child's stderr for a hang or crash)."""
    url: str = ""
    """The case file's URL as vzcore saw it."""


def truncations(data: bytes, n: int) -> Iterator[tuple[str, bytes]]:
    """Yield ``n`` prefixes of ``data`` cut at evenly spaced fractions (never the whole)."""
    size = len(data)
    for i in range(n):
        cut = int(size * i / n)
        yield f"cut-{cut}", data[:cut]


def mutations(
    data: bytes, n: int, *, seed: int, max_bytes: int = 8, start: int = 0, stop: int | None = None
) -> Iterator[tuple[str, bytes]]:
    """Yield ``n`` copies of ``data`` with 1..``max_bytes`` random bytes overwritten.

    Positions are drawn from ``[start, stop)`` (the whole file by default); a quarter of
    the cases overwrite an aligned 4- or 8-byte word with an extreme value (0, all ones,
    a huge or a negative number) instead, the values that break sizes and offsets.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    stop = len(data) if stop is None else min(stop, len(data))
    extremes = [b"\x00", b"\xff", b"\x7f", b"\x80"]
    for i in range(n):
        buf = bytearray(data)
        if rng.random() < 0.25:
            width = int(rng.choice([4, 8]))
            pos = int(rng.integers(start, max(start + 1, stop - width))) & ~(width - 1)
            fill = extremes[int(rng.integers(0, len(extremes)))]
            word = fill * width
            if fill == b"\x7f":
                word = b"\xff" * (width - 1) + b"\x7f"  # little-endian huge positive
            buf[pos : pos + width] = word
        else:
            for _ in range(int(rng.integers(1, max_bytes + 1))):
                buf[int(rng.integers(start, stop))] = int(rng.integers(0, 256))
        yield f"mut-{seed}-{i}", bytes(buf)


_CHILD = r"""
import faulthandler, json, sys, traceback
from pathlib import Path
import vzcore
from vzcore._urls import to_url
from vzcore.errors import VZError

directory, reader, limit = Path(sys.argv[1]), sys.argv[2] or None, float(sys.argv[3])
for path in sorted(directory.iterdir()):
    print(json.dumps({"start": path.stem}), flush=True)
    faulthandler.dump_traceback_later(limit, exit=True)
    out = {"case": path.stem, "url": to_url(path)}
    try:
        vzcore.open_virtual_dataset(path, reader=reader)
        out["kind"] = "ok"
    except VZError as err:
        out.update(kind="vzerror", error_type=type(err).__name__, message=str(err))
    except Exception as err:  # the point of the exercise: anything else is a leak
        out.update(kind="leak", error_type=type(err).__name__,
                   message=f"{err}\n{traceback.format_exc(limit=-6)}")
    faulthandler.cancel_dump_traceback_later()
    print(json.dumps(out), flush=True)
"""


def open_cases(
    cases: Sequence[tuple[str, bytes]] | Iterator[tuple[str, bytes]],
    directory: str | os.PathLike[str],
    *,
    suffix: str,
    reader: str | None = None,
    case_timeout: float = 10.0,
) -> list[Outcome]:
    """Write ``cases`` into ``directory`` and open each in a child process.

    Parameters
    ----------
    cases
        ``(name, bytes)`` pairs; names must be unique and usable as file names.
    directory
        An empty (or new) directory for the case files.
    suffix
        File extension for the cases (``".nc"``, ``".tif"``).
    reader
        Reader name to force; None lets vzcore sniff each file.
    case_timeout
        Seconds one case may take before it counts as a hang.

    Returns
    -------
    list of Outcome
        One per case, in name order. After a hang or crash the child is restarted on the
        remaining cases.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    names = []
    for name, data in cases:
        (root / f"{name}{suffix}").write_bytes(data)
        names.append(name)
    outcomes: dict[str, Outcome] = {}
    while True:
        todo = sorted(p for p in root.iterdir() if p.stem not in outcomes)
        if not todo:
            break
        run_dir = root.parent / f"{root.name}-run{len(outcomes)}"
        run_dir.mkdir()
        for p in todo:
            p.rename(run_dir / p.name)
        proc = subprocess.run(
            [
                sys.executable,
                "-W",
                "error",
                "-c",
                _CHILD,
                str(run_dir),
                reader or "",
                str(case_timeout),
            ],
            capture_output=True,
            text=True,
            timeout=case_timeout * len(todo) + 60,
            check=False,
        )
        started = None
        for line in proc.stdout.splitlines():
            rec = json.loads(line)
            if "start" in rec:
                started = rec["start"]
                continue
            started = None
            outcomes[rec["case"]] = Outcome(
                rec["case"],
                rec["kind"],
                rec.get("error_type", ""),
                rec.get("message", ""),
                rec.get("url", ""),
            )
        for p in run_dir.iterdir():
            p.rename(root / p.name)
        run_dir.rmdir()
        if started is not None:  # hung (faulthandler exited) or crashed in this case
            outcomes[started] = Outcome(
                started, "hang", f"exit status {proc.returncode}", proc.stderr[-4000:]
            )
        elif proc.returncode != 0:
            raise RuntimeError(f"fuzz child failed outside any case:\n{proc.stderr[-4000:]}")
    return [outcomes[n] for n in sorted(names)]
