"""Register the ``.virtualize`` accessor as soon as xarray is imported, without importing it.

``import vzcore`` must stay fast (xarray and pandas take ~0.4 s to import), yet ``ds.virtualize``
must exist in every flow where vzcore and xarray are both imported, whichever comes first:

* xarray already imported: :func:`install` imports :mod:`vzcore.accessor` at once (cheap);
* otherwise a one-shot meta path finder (:pep:`451`) wraps xarray's loader, and
  registers the accessor right after ``xarray/__init__.py`` has finished executing.

VirtualiZarr registers a deprecated ``.virtualize`` of its own. When ``virtualizarr.accessor``
is not imported yet, a second one-shot finder wraps its loader the same way: it runs the
module with xarray's warning about replacing vzcore's accessor silenced, then registers
vzcore's again (see :mod:`vzcore._virtualizarr_compat`). When it is already imported,
vzcore's registration simply replaces VirtualiZarr's.

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
    from collections.abc import Callable, Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

__all__ = ["install"]

_XARRAY = "xarray"
_VIRTUALIZARR_ACCESSOR = "virtualizarr.accessor"  # its module name, as vzcore._virtualizarr_compat


def _register() -> None:
    try:
        import vzcore.accessor  # registers ``.virtualize`` on import

        vzcore.accessor.register()  # again when imported before: a no-op unless replaced
    except Exception as err:  # noqa: BLE001  # never break ``import xarray`` for the user
        warnings.warn(
            f"vzcore could not register the .virtualize accessor: {err!r}; "
            "import vzcore.accessor explicitly to see the full error",
            RuntimeWarning,
            stacklevel=3,
        )


def _after_xarray(run: Callable[[], None]) -> None:
    run()
    _register()


def _around_virtualizarr_accessor(run: Callable[[], None]) -> None:
    """Run ``virtualizarr.accessor`` quietly over vzcore's accessor, then take the name back."""
    with contextlib.ExitStack() as stack:
        try:
            from vzcore._virtualizarr_compat import virtualizarr_override_expected

            stack.enter_context(virtualizarr_override_expected())
        except Exception:  # noqa: BLE001, S110  # never break ``import virtualizarr``: let it warn
            pass
        run()
    _register()


class _Loader:
    """Delegates to the module's own loader, run inside the finder's ``around``."""

    def __init__(self, inner: Any, finder: _Finder) -> None:
        self._inner = inner
        self._finder = finder

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._inner.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        def run() -> None:
            self._inner.exec_module(module)
            module.__loader__ = self._inner  # look like a normal import from now on
            if module.__spec__ is not None:
                module.__spec__.loader = self._inner
            self._finder.remove()

        self._finder.around(run)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # resource readers etc.


class _Finder:
    """Finds nothing itself; wraps the loader of the spec the other finders return.

    Parameters
    ----------
    target
        The module whose execution to wrap.
    around
        Called with a function that executes the module (and removes this finder).
    """

    def __init__(self, target: str, around: Callable[[Callable[[], None]], None]) -> None:
        self.target = target
        self.around = around
        self._busy = threading.local()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != self.target or getattr(self._busy, "on", False):
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


def _hook(target: str, around: Callable[[Callable[[], None]], None]) -> None:
    if not any(isinstance(f, _Finder) and f.target == target for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder(target, around))


def install() -> None:
    """Make ``.virtualize`` vzcore's now (xarray loaded) or when xarray gets imported.

    Also when VirtualiZarr, which registers a deprecated ``.virtualize``, is imported later.
    """
    if _VIRTUALIZARR_ACCESSOR not in sys.modules:
        _hook(_VIRTUALIZARR_ACCESSOR, _around_virtualizarr_accessor)
    if _XARRAY in sys.modules:
        _register()
    else:
        _hook(_XARRAY, _after_xarray)
