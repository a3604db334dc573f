"""Draw the benchmark charts of the docs from ``benchmarks/results/*.json`` (the newest file).

    python docs/scripts/benchmark_charts.py [RESULTS.json] [-o docs/assets/benchmarks]

Writes one SVG per figure and ``summary.md``, a table of the same numbers that
``docs/benchmarks.md`` includes. Runs on every ``mkdocs build`` through
``docs/scripts/mkdocs_hooks.py``. Needs matplotlib (in the ``docs`` dependency group).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
OUT = ROOT / "docs" / "assets" / "benchmarks"
TOOLS = ("vzcore", "virtualizarr", "kerchunk")
COLORS = {"vzcore": "#3f51b5", "virtualizarr": "#ff9800", "kerchunk": "#9e9e9e"}


def newest_results() -> Path:
    """Return the newest results file (names are dates)."""
    files = sorted(RESULTS.glob("*.json"))
    if not files:
        raise SystemExit(f"no benchmark results in {RESULTS}")
    return files[-1]


def _grouped_bars(
    data: dict[str, Any],
    inputs: list[str],
    names: dict[str, str],
    key: str,
    scale: float,
    ylabel: str,
    title: str,
    path: Path,
    log: bool = False,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.4))
    width = 0.8 / len(TOOLS)
    for i, tool in enumerate(TOOLS):
        values = [(data[inp].get(tool) or {}).get(key) for inp in inputs]
        xs = [j + (i - (len(TOOLS) - 1) / 2) * width for j in range(len(inputs))]
        heights = [v * scale if isinstance(v, int | float) else 0 for v in values]
        bars = ax.bar(xs, heights, width, label=tool, color=COLORS[tool])
        for bar, v in zip(bars, values, strict=True):
            if not isinstance(v, int | float):
                ax.annotate(
                    "n/a", (bar.get_x() + width / 2, 0), ha="center", va="bottom", fontsize=7
                )
    ax.set_xticks(range(len(inputs)), [names[i] for i in inputs], fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


def _fmt(v: Any, scale: float = 1.0, digits: int = 2) -> str:
    return f"{v * scale:.{digits}f}" if isinstance(v, int | float) else "n/a"


def main(argv: Sequence[str] | None = None) -> int:
    """Draw the charts; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, default=None)
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args(argv)
    path = args.results or newest_results()
    doc = json.loads(path.read_text())
    data = doc["pipelines"]
    inputs = [k for k in doc["inputs"] if k in data]
    names = {k: doc["inputs"][k]["name"] for k in inputs}
    args.output.mkdir(parents=True, exist_ok=True)
    _grouped_bars(
        data,
        inputs,
        names,
        "whole",
        1.0,
        "seconds (lower is better)",
        "Scan, combine and write JSON: whole process",
        args.output / "whole.svg",
        log=True,
    )
    _grouped_bars(
        data,
        inputs,
        names,
        "hwm_kib",
        1 / 1024,
        "MiB (lower is better)",
        "Peak memory (RSS high-water mark)",
        args.output / "memory.svg",
        log=True,
    )
    rows = [
        "| input | tool | whole process (s) | scan (s) | write JSON (s) | peak RSS (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for inp in inputs:
        for tool in TOOLS:
            r = data[inp].get(tool) or {}
            rows.append(
                f"| {names[inp]} | {tool} | {_fmt(r.get('whole'))} | {_fmt(r.get('scan'))} | "
                f"{_fmt(r.get('write_json'))} | {_fmt(r.get('hwm_kib'), 1 / 1024, 0)} |"
            )
    m = doc.get("machine", {})
    rows.append("")
    rows.append(
        f"Measured {doc.get('date', '?')[:10]} on {m.get('cpus', '?')} CPUs ({m.get('cpu', '?')}), "
        f"Python {m.get('python', '?')}; from `benchmarks/results/{path.name}`."
    )
    (args.output / "summary.md").write_text("\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
