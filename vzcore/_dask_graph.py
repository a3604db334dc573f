"""Turning dask arrays built by xarray back into ManifestArrays, without reading data.

``xr.open_mfdataset`` always wraps backend arrays in dask, and combining adds structural
tasks on top (getters, aliases, ``broadcast_to``, ``getitem``, ``concatenate``). When the
graph contains only such structure over ManifestArrays, it can be replayed symbolically:
each task is applied to ManifestArrays (which implement those operations on chunk
references) and the blocks are joined into one ManifestArray. Any task that computes on
values raises :class:`~vzcore.errors.NotVirtualizableError` naming the operation.
"""

from __future__ import annotations

import contextlib
import operator
from typing import Any

import numpy as np

from vzcore.errors import CombineError, NotVirtualizableError, VirtualArrayValuesError
from vzcore.manifests import ManifestArray

__all__ = ["dask_to_manifest_array", "is_dask_array", "manifest_leaves", "unwrap_duck_array"]


def is_dask_array(obj: Any) -> bool:
    """Return True for a dask array (without importing dask when it is not loaded)."""
    return type(obj).__module__.startswith("dask.") and hasattr(obj, "__dask_graph__")


def _is_xarray_wrapper(obj: Any) -> bool:
    """Return True for xarray's lazy indexing adapters (all offer ``get_duck_array``)."""
    return type(obj).__module__.startswith("xarray.") and hasattr(obj, "get_duck_array")


def unwrap_duck_array(obj: Any) -> Any:
    """Strip xarray's lazy-indexing wrappers, applying their indexers to the inner array."""
    while _is_xarray_wrapper(obj):
        inner = obj.get_duck_array()
        if inner is obj:  # pragma: no cover - defensive against self-returning wrappers
            break
        obj = inner
    return obj


def _structural_funcs() -> dict[Any, str]:
    import dask.array.chunk as dchunk
    import dask.array.core as dcore

    funcs: dict[Any, str] = {
        dcore.getter: "getter",
        dcore.getter_nofancy: "getter",
        dcore.getter_inline: "getter",
        operator.getitem: "getitem",
        dchunk.getitem: "getitem",
        np.broadcast_to: "call",
        np.expand_dims: "call",
        np.concatenate: "call",
        np.stack: "call",
        np.transpose: "call",
        dcore.concatenate3: "concatenate3",
        list: "call",
        tuple: "call",
        dict: "call",
    }
    identity = getattr(dcore, "_identity", None)
    if identity is not None:  # pragma: no branch
        funcs[identity] = "call"
    return funcs


class _Replay:
    """Evaluates the keys of a dask graph with ManifestArrays at the leaves."""

    def __init__(self, graph: dict[Any, Any], name: str) -> None:
        from dask._task_spec import convert_legacy_graph

        self.graph = convert_legacy_graph(graph)
        self.funcs = _structural_funcs()
        self.cache: dict[Any, Any] = {}
        self.name = name

    def key(self, key: Any) -> Any:
        if key in self.cache:
            return self.cache[key]
        value = self.node(self.graph[key])
        self.cache[key] = value
        return value

    def node(self, node: Any) -> Any:
        from dask._task_spec import Alias, DataNode, Task, TaskRef

        if isinstance(node, TaskRef):
            return self.key(node.key)
        if isinstance(node, Alias):
            return self.key(node.target)
        if isinstance(node, DataNode):
            return node.value
        if isinstance(node, Task):
            return self.task(node)
        if isinstance(node, list | tuple):
            return type(node)(self.node(n) for n in node)
        return node

    def _cast(self, task: Any) -> ManifestArray | None:
        """Replay xarray's cast of virtual chunks to a common dtype where it changes no value.

        Otherwise explain it: files of different dtypes meeting in a concat (None: the
        source is not virtual, and the caller says so).
        """
        source = self.node(task.args[0]) if task.args else None
        if not isinstance(source, ManifestArray):
            return None
        target = task.kwargs.get("astype_dtype", task.kwargs.get("dtype"))
        if target is not None:
            with contextlib.suppress(VirtualArrayValuesError):
                return source.astype(target)
        to = "a common dtype" if target is None else np.dtype(target).str
        raise CombineError(
            f"variable {self.name!r}: its files do not share one dtype, and xarray casts "
            f"{source._describe()} from {source.dtype.str} to {to} "
            "to concatenate them, which needs the values. Virtual chunks can only be joined "
            "when dtype, chunk shape, codecs and fill value agree; load the variable "
            "(loadable_variables=[...]) or combine these files separately."
        )

    def task(self, task: Any) -> Any:
        func = task.func
        kind = self.funcs.get(func)
        if kind is None:
            fname = getattr(func, "__name__", repr(func))
            if fname == "astype":
                cast = self._cast(task)
                if cast is not None:
                    return cast
            raise NotVirtualizableError(
                f"variable {self.name!r} is a dask array that computes on values (task "
                f"{fname!r}); only structure (selecting whole chunks, concatenating, "
                "broadcasting) can be written as references. Write the virtual dataset "
                "before computing on it, or load this variable."
            )
        args = [self.node(a) for a in task.args]
        kwargs = {k: self.node(v) for k, v in task.kwargs.items()}
        if kind == "getter":
            array, index = args[0], args[1]
            return unwrap_duck_array(array)[index]
        if kind == "getitem":
            return args[0][args[1]]
        if kind == "concatenate3":
            return _block(args[0])
        return func(*args, **kwargs)


def _block(nested: Any) -> Any:
    """Join a nested list of blocks (dask's block layout) into one array."""
    if not isinstance(nested, list):
        return nested
    parts = [_block(p) for p in nested]
    if len(parts) == 1:
        return parts[0]
    depth = 0
    probe: Any = nested
    while isinstance(probe, list):
        depth += 1
        probe = probe[0]
    ndim = probe.ndim
    return np.concatenate(parts, axis=ndim - depth)


def _holds_manifest(obj: Any) -> bool:
    """Return True when ``obj`` is, or wraps through xarray adapters, a ManifestArray."""
    while _is_xarray_wrapper(obj) and hasattr(obj, "array"):
        obj = obj.array
    return isinstance(obj, ManifestArray)


def _leaf(obj: Any) -> ManifestArray | None:
    while _is_xarray_wrapper(obj) and hasattr(obj, "array"):
        obj = obj.array
    return obj if isinstance(obj, ManifestArray) else None


def manifest_leaves(array: Any) -> list[ManifestArray]:
    """Return the ManifestArrays a dask array's graph starts from (one per source file).

    These are the arrays the engine returned, before any getter, so each still carries the
    encoding (source file, variable, CF attributes) of the file it came from.
    """
    from dask._task_spec import DataNode, convert_legacy_graph

    seen: dict[int, ManifestArray] = {}
    for node in convert_legacy_graph(dict(array.__dask_graph__())).values():
        if isinstance(node, DataNode):
            leaf = _leaf(node.value)
            if leaf is not None:
                seen.setdefault(id(leaf), leaf)
    return list(seen.values())


def dask_to_manifest_array(array: Any, name: str = "") -> ManifestArray | np.ndarray:
    """Rebuild the array a structural dask graph describes.

    Returns a ManifestArray when the leaves are ManifestArrays. A graph with no virtual
    leaves holds ordinary data and is computed into numpy. Graphs that compute on virtual
    values raise :class:`~vzcore.errors.NotVirtualizableError`.
    """
    from dask._task_spec import DataNode

    replay = _Replay(dict(array.__dask_graph__()), name)
    if not any(isinstance(n, DataNode) and _holds_manifest(n.value) for n in replay.graph.values()):
        return np.asarray(array.compute())
    keys = array.__dask_keys__()
    try:
        blocks = _map_keys(replay, keys)
        result = _block(blocks)
    except CombineError as err:
        if str(err).startswith(f"variable {name!r}"):
            raise
        raise CombineError(f"variable {name!r}: {err}") from err
    except (VirtualArrayValuesError, IndexError) as err:  # IndexError: partial chunks
        raise NotVirtualizableError(
            f"variable {name!r} mixes virtual chunks with in-memory values or selects "
            f"partial chunks, which references cannot express: {err}"
        ) from err
    if not isinstance(result, ManifestArray):
        raise NotVirtualizableError(
            f"variable {name!r}: its dask graph did not reduce to chunk references"
        )
    return result


def _map_keys(replay: _Replay, keys: Any) -> Any:
    if isinstance(keys, list):
        return [_map_keys(replay, k) for k in keys]
    return replay.key(keys)
