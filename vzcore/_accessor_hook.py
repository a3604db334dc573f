"""Register the ``.virtualize`` accessor as soon as xarray is imported, without importing it.

``import vzcore`` must stay fast (xarray and pandas take ~0.4 s to import), yet ``ds.virtualize``
must exist in every flow where vzcore and xarray are both imported, whichever comes first:

* xarray already imported: :func:`install` imports :mod:`vzcore.accessor` at once (cheap);
* otherwise a one-shot meta path finder (:pep:`451`) wraps xarray's loader, and
  registers the accessor right after ``xarray/__init__.py`` has finished executing.

:mod:`vzcore.xarray_backend` (the ``engine="virtualizarr"`` entry point) imports the accessor
directly, so ``xr.open_mfdataset(..., engine="virtualizarr").virtualize`` works without
``import vzcore`` too.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import threading
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

__all__ = ["install"]

_TARGET = "xarray"


def _register() -> None:
    try:
        import vzcore.accessor  # noqa: F401  # registers ``.virtualize`` on import
    except Exception as err:  # noqa: BLE001  # never break ``import xarray`` for the user
        warnings.warn(
            f"vzcore could not register the .virtualize accessor: {err!r}; "
            "import vzcore.accessor explicitly to see the full error",
            RuntimeWarning,
            stacklevel=2,
        )


class _Loader:
    """Delegates to xarray's own loader, then registers the accessor."""

    def __init__(self, inner: Any, finder: _Finder) -> None:
        self._inner = inner
        self._finder = finder

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._inner.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        module.__loader__ = self._inner  # look like a normal import from now on
        if module.__spec__ is not None:
            module.__spec__.loader = self._inner
        self._finder.remove()
        _register()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # resource readers etc.


class _Finder:
    """Finds nothing itself; wraps the loader of the spec the other finders return."""

    def __init__(self) -> None:
        self._busy = threading.local()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != _TARGET or getattr(self._busy, "on", False):
            return None
        self._busy.on = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._busy.on = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        # A duck-typed loader (subclassing importlib.abc.Loader would cost an import).
        spec.loader = _Loader(spec.loader, self)  # type: ignore[assignment]
        return spec

    def remove(self) -> None:
        with contextlib.suppress(ValueError):  # already removed
            sys.meta_path.remove(self)


def install() -> None:
    """Make ``.virtualize`` available now (xarray loaded) or when xarray gets imported."""
    if _TARGET in sys.modules:
        _register()
        return
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
