"""mkdocs hooks: draw the benchmark charts before every build (``hooks:`` in mkdocs.yml)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

_SCRIPT = Path(__file__).with_name("benchmark_charts.py")


def on_pre_build(config: Any, **kwargs: Any) -> None:
    """Regenerate ``docs/assets/benchmarks/`` from the newest ``benchmarks/results`` file."""
    spec = importlib.util.spec_from_file_location("benchmark_charts", _SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main([])
