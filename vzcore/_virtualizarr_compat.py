"""Sharing ``.virtualize`` with VirtualiZarr, which registers a deprecated accessor of that name.

VirtualiZarr 2.x registers ``.vz`` and, for compatibility, a deprecated ``.virtualize`` on
Dataset and DataTree (``virtualizarr.accessor.DeprecatedVirtualiZarr{Dataset,DataTree}Accessor``).
Whichever package registers last would own ``ds.virtualize``, and xarray warns about the
override. vzcore keeps the name in every import order (:mod:`vzcore._accessor_hook`
re-registers it right after ``virtualizarr.accessor`` runs), silences xarray's warning for
this one known override only, and hands datasets that hold only VirtualiZarr's own
ManifestArrays to VirtualiZarr's deprecated accessor, so its users keep working.

Nothing here imports VirtualiZarr; xarray is imported only where it is already loaded.
"""

from __future__ import annotations

import contextlib
import re
import sys
import warnings
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import xarray as xr

__all__ = [
    "ACCESSOR_NAME",
    "VIRTUALIZARR_ACCESSOR_MODULE",
    "overrides_virtualizarr",
    "peer_accessor",
    "quiet_override",
    "virtualizarr_override_expected",
]

ACCESSOR_NAME = "virtualize"
VIRTUALIZARR_ACCESSOR_MODULE = "virtualizarr.accessor"
_VZCORE_ACCESSOR_MODULE = "vzcore.accessor"
_WRAPPER_DEPTH = 16  # xarray's lazy-indexing wrappers nest a few deep


def _module_of(obj: object) -> str:
    return str(getattr(obj, "__module__", "") or "")


def _registered(target: type) -> object:
    """Return the accessor class registered as ``target.virtualize`` (None when none is)."""
    return getattr(target, ACCESSOR_NAME, None)  # the class itself, via _CachedAccessor


@contextlib.contextmanager
def quiet_override(target: type, accessor_module: str) -> Iterator[None]:
    """Silence xarray's AccessorRegistrationWarning for one registration of ``.virtualize``.

    Only the warning for an accessor class of ``accessor_module`` registered under
    ``virtualize`` on ``target`` is ignored; every other clash still warns.
    """
    from xarray.core.extensions import AccessorRegistrationWarning

    message = (
        rf"registration of accessor <class '{re.escape(accessor_module)}\.\w+'> under name "
        rf"'{ACCESSOR_NAME}' for type {re.escape(repr(target))} "
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message, AccessorRegistrationWarning)
        yield


@contextlib.contextmanager
def virtualizarr_override_expected() -> Iterator[None]:
    """Run ``virtualizarr.accessor`` without xarray warning that it replaced vzcore's accessor.

    A registration over another package's ``.virtualize`` still warns.
    """
    import xarray as xr  # what virtualizarr.accessor imports first anyway

    with contextlib.ExitStack() as stack:
        for target in (xr.Dataset, xr.DataTree):
            if _module_of(_registered(target)) == _VZCORE_ACCESSOR_MODULE:
                stack.enter_context(quiet_override(target, VIRTUALIZARR_ACCESSOR_MODULE))
        yield


def overrides_virtualizarr(target: type) -> bool:
    """Return True when ``target.virtualize`` is VirtualiZarr's (deprecated) accessor."""
    return _module_of(_registered(target)) == VIRTUALIZARR_ACCESSOR_MODULE


def _array_module(var: xr.Variable) -> str:
    """Return the module of the array behind ``var`` (xarray's wrappers peeled, nothing read)."""
    obj: object = var._data
    for _ in range(_WRAPPER_DEPTH):
        module = _module_of(type(obj))
        inner = getattr(obj, "array", None)
        if not module.startswith("xarray.") or inner is None:
            return module
        obj = inner
    return ""


def _holds_only_virtualizarr_arrays(datasets: Iterable[Iterable[xr.Variable]]) -> bool:
    """Return True when some array is VirtualiZarr's and none is vzcore's."""
    theirs = False
    for variables in datasets:
        for var in variables:
            module = _array_module(var)
            if module.startswith("vzcore."):
                return False
            theirs = theirs or module.startswith("virtualizarr.")
    return theirs


def peer_accessor(
    kind: Literal["Dataset", "DataTree"], datasets: Iterable[Iterable[xr.Variable]]
) -> type | None:
    """Return VirtualiZarr's deprecated accessor class when it should serve these variables.

    Parameters
    ----------
    kind
        ``"Dataset"`` or ``"DataTree"``: which accessor class.
    datasets
        The variables of the dataset (or of each node of the tree).

    Returns
    -------
    type or None
        ``virtualizarr.accessor.DeprecatedVirtualiZarr{kind}Accessor`` when VirtualiZarr is
        imported and the variables hold its ManifestArrays but none of vzcore's; None
        otherwise (vzcore's accessor serves them).
    """
    module = sys.modules.get(VIRTUALIZARR_ACCESSOR_MODULE)
    if module is None:  # no VirtualiZarr array can exist without it
        return None
    cls = getattr(module, f"DeprecatedVirtualiZarr{kind}Accessor", None)
    if not isinstance(cls, type) or not _holds_only_virtualizarr_arrays(datasets):
        return None
    return cls
