"""The Icechunk writer: a ManifestGroup tree as Zarr v3 arrays with virtual chunk references.

What it writes into the caller's writable Icechunk session (it never commits):

* a ``zarr.json`` group document per group, and per array a ``zarr.json`` array document,
  as planned by :func:`vzcore.store_plan.plan` (``zarr_format=3``);
* each virtual array's chunk references, with ``IcechunkStore.set_virtual_refs_arr`` from the
  manifest's flat numpy arrays, one call per checksum where it can (:mod:`vz_icechunk._refs`;
  missing chunks are skipped and read as ``fill_value``; inline chunks, bytes held in the
  manifest, are stored as real chunks);
* loaded (numpy) variables as real Zarr data, one chunk per array (compressed when it pays,
  :func:`vzcore.store_plan.in_memory_chunk`; an append keeps the repository's codecs).

With ``record_sources=True`` each file's references carry its scan-time ETag, or else its
modification time rounded *up* to the second (Icechunk compares whole seconds), as the
checksum: Icechunk then refuses to read a chunk whose file changed after the scan.

``append_dim=`` adds a batch along an existing dimension (see :meth:`IcechunkWriter.write`).

Everything that can be checked (names, attributes, metadata, containers, append
compatibility) is checked before the first byte is written. A failure later leaves the
session dirty: discard it (``session.discard_changes()`` or just drop it); the repository's
committed snapshots are untouched. No xarray import here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from vzcore.errors import CombineError, OptionError, VZError, WriteError
from vzcore.group import ManifestGroup
from vzcore.manifests import ChunkManifest, ManifestArray
from vzcore.manifests.zarr_v3 import chunk_key, group_metadata_v3
from vzcore.store_plan import check_name, plan
from vzcore.types import Writer

from vz_icechunk._refs import checksum_of, needs_icechunk_check, write_refs
from vz_icechunk._times import is_time, reencode_times
from vz_icechunk.containers import encode_location, missing_prefixes, recipe

if TYPE_CHECKING:
    import icechunk

__all__ = ["IcechunkWriter", "checksum_of"]

Mode = Literal["w-", "w"]


# -- the plan ------------------------------------------------------------------------------


@dataclass
class _Array:
    path: str
    """Zarr path inside the store (no leading ``/``)."""
    name: str
    dims: tuple[str, ...]
    attrs: dict[str, Any]
    doc: dict[str, Any] | None = None
    """``zarr.json`` of a virtual array."""
    manifest: ChunkManifest | None = None
    chunk_shape: tuple[int, ...] = ()
    values: np.ndarray | None = None
    """Values of a loaded variable (then ``doc`` is None)."""
    array: ManifestArray | None = None
    """The virtual array itself (an append reads a virtual append coordinate's values)."""
    # filled by the append plan
    offset: tuple[int, ...] | None = None
    """Where the batch starts, in chunks (virtual) or elements (loaded); None: new array."""
    skip: bool = False
    """An append leaves this array as it is (no append dimension; checked equal)."""


@dataclass
class _Plan:
    groups: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    arrays: list[_Array] = field(default_factory=list)

    def urls(self) -> set[str]:
        out: set[str] = set()
        for a in self.arrays:
            if a.manifest is not None and not a.skip:
                out.update(a.manifest.paths)
        return out


def _plan(tree: ManifestGroup, prefix: str, allow_float64_decoding: bool = False) -> _Plan:
    """Plan the arrays and groups of ``tree`` (:func:`vzcore.store_plan.plan` checks them)."""
    store = plan(tree, 3, prefix=prefix, allow_float64_decoding=allow_float64_decoding)
    out = _Plan(groups=[(g.path, g.documents["zarr.json"]) for g in store.groups])
    for a in store.arrays:
        if a.values is not None:  # loaded: written through zarr, as real data
            out.arrays.append(
                _Array(a.path, a.name, a.dims, a.attrs, doc=a.document, values=a.values)
            )
        else:
            out.arrays.append(
                _Array(
                    a.path,
                    a.name,
                    a.dims,
                    a.attrs,
                    doc=a.document,
                    manifest=a.manifest,
                    chunk_shape=a.metadata.chunk_shape,
                    array=a.array,
                )
            )
    return out


# -- store access --------------------------------------------------------------------------


class _Store:
    """Synchronous helpers over an IcechunkStore (zarr's async Store API)."""

    def __init__(self, store: icechunk.IcechunkStore) -> None:
        from zarr.core.buffer import default_buffer_prototype

        self.store = store
        self.proto = default_buffer_prototype()

    def run(self, coro: Any) -> Any:
        from zarr.core.sync import sync

        return sync(coro)

    def get_json(self, key: str) -> dict[str, Any] | None:
        buf = self.run(self.store.get(key, self.proto))
        if buf is None:
            return None
        out: dict[str, Any] = json.loads(buf.to_bytes())
        return out

    def set_many(self, items: Mapping[str, bytes]) -> None:
        import asyncio

        async def put() -> None:
            await asyncio.gather(
                *(self.store.set(k, self.proto.buffer.from_bytes(v)) for k, v in items.items())
            )

        if items:
            self.run(put())

    def list_dir(self, prefix: str) -> list[str]:
        async def ls() -> list[str]:
            return [k async for k in self.store.list_dir(prefix)]

        out: list[str] = self.run(ls())
        return out

    def delete_dir(self, prefix: str) -> None:
        self.run(self.store.delete_dir(prefix))


def _dumps(doc: Mapping[str, Any], where: str) -> bytes:
    try:
        return json.dumps(doc, allow_nan=False, separators=(",", ":")).encode()
    except ValueError as err:
        raise WriteError(
            f"Cannot write {where}: an attribute is NaN or infinite, which is not valid JSON, "
            "and Icechunk stores strict JSON metadata; replace or drop that attribute first."
        ) from err


# -- append --------------------------------------------------------------------------------


def _comparable(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("shape", "attributes")}


def _old_values_dtype(st: _Store, path: str) -> np.dtype[Any]:
    import zarr

    dt = zarr.open_array(st.store, path=path, mode="r").dtype
    return np.dtype(dt.to_native_dtype() if hasattr(dt, "to_native_dtype") else dt)


def _plan_append(plan: _Plan, st: _Store, append_dim: str, prefix: str) -> None:
    """Check that the batch lines up with the repository; set offsets and new documents."""
    import zarr

    where_root = f"group {prefix!r}" if prefix else "the root group"
    if st.get_json(f"{prefix}/zarr.json" if prefix else "zarr.json") is None:
        raise WriteError(
            f"Cannot append along {append_dim!r}: {where_root} does not exist in this session; "
            "write the first batch without append_dim."
        )
    batch_paths = {a.path for a in plan.arrays}
    for gpath, _ in plan.groups:
        if st.get_json(f"{gpath}/zarr.json" if gpath else "zarr.json") is None:
            raise WriteError(
                f"Cannot append: group {gpath!r} of the batch is not in the repository; the "
                "batch must have the repository's groups and variables."
            )
        group = zarr.open_group(st.store, path=gpath or "/", mode="r")
        for name, arr in group.arrays():
            path = f"{gpath}/{name}" if gpath else name
            dims = getattr(arr.metadata, "dimension_names", None) or ()  # v3 arrays have them
            if path not in batch_paths and append_dim in dims:
                raise WriteError(
                    f"Cannot append along {append_dim!r}: the repository's variable {path!r} "
                    "has that dimension but the batch lacks it, so it would be left shorter; "
                    "add it to the batch or drop it from the repository first."
                )
    if not any(append_dim in a.dims for a in plan.arrays):
        raise WriteError(
            f"Cannot append along {append_dim!r}: no variable of the batch has that dimension; "
            f"its dimensions are {sorted({d for a in plan.arrays for d in a.dims})}."
        )
    for a in plan.arrays:
        _plan_append_array(a, st, append_dim)
    for a in plan.arrays:
        if a.name == append_dim and a.dims == (append_dim,):
            if a.values is not None:
                _check_order(a, a.values, st, append_dim, sorted(plan.urls()))
            elif a.array is not None:
                new = _virtual_coordinate_values(a, st, append_dim)
                _check_order(a, new, st, append_dim, sorted(plan.urls()))


def _show_coord(value: Any, attrs: Mapping[str, Any]) -> str:
    """Show a coordinate value as stored, with its date when it is a CF time."""
    shown = f"{value!r}"
    if is_time(attrs):
        try:
            import cftime

            date = cftime.num2date(
                value, str(attrs["units"]), str(attrs.get("calendar", "standard"))
            )
            shown = f"{date} ({value!r} {attrs['units']})"
        except (ImportError, ValueError, TypeError, OverflowError):  # show the number only
            pass
    return shown


def _virtual_coordinate_values(a: _Array, st: _Store, append_dim: str) -> np.ndarray:
    """Read the batch's virtual append coordinate from its files, as stored (not CF-decoded).

    Its encoding equals the repository's (dtype, codecs and fill value by
    :func:`_plan_append_array`; times' units and calendar too), so the stored numbers
    compare directly with the repository's, except a ``scale_factor``/``add_offset`` that
    differs, which is refused here: one Zarr array decodes with one set of attributes.
    """
    from vzcore.manifests.loading import load_values

    assert a.array is not None
    old_attrs = (st.get_json(f"{a.path}/zarr.json") or {}).get("attributes", {})
    for key in ("scale_factor", "add_offset"):
        if old_attrs.get(key) != a.attrs.get(key):
            raise WriteError(
                f"Cannot append variable {a.path!r}: its {key} is {a.attrs.get(key)!r} in the "
                f"batch but {old_attrs.get(key)!r} in the repository, and virtual chunks "
                "cannot be re-encoded; load it (loadable_variables=[...]) so that it is "
                "re-encoded. Nothing was written."
            )
    try:
        return load_values(a.array)
    except (VZError, OSError) as err:
        raise WriteError(
            f"Cannot append along {append_dim!r}: the batch's {append_dim!r} coordinate is "
            f"virtual, and reading its values to check them against the repository's failed "
            f"({type(err).__name__}: {err}). Open the batch with {append_dim!r} loaded (it is "
            "by default: loadable_variables=None or a list that includes it). Nothing was "
            "written."
        ) from err


def _committed_ends(st: _Store, path: str, append_dim: str) -> tuple[Any, Any] | None:
    """First and last committed values of the append coordinate (reads at most 2 chunks)."""
    import zarr

    old = zarr.open_array(st.store, path=path, mode="r")
    if old.shape[0] == 0:
        return None
    try:
        return np.asarray(old[0]).item(), np.asarray(old[-1]).item()
    except Exception as err:  # icechunk refuses a virtual chunk (container, auth, file gone)
        raise WriteError(
            f"Cannot append along {append_dim!r}: reading the repository's {append_dim!r} "
            f"values (virtual chunks) to check the batch's order against them failed "
            f"({type(err).__name__}: {err}). Open the repository with access to its virtual "
            "chunks (authorize_virtual_chunk_access=vz_icechunk.authorize_for(ds)). Nothing "
            "was written."
        ) from err


def _check_order(
    a: _Array, values: np.ndarray, st: _Store, append_dim: str, urls: list[str]
) -> None:
    """Refuse a batch whose coordinate overlaps the committed one or runs the other way.

    ``values`` are in the repository's encoding, so numbers compare directly.
    """
    new = np.asarray(values)
    if new.size == 0 or new.dtype.kind not in "iufcmM":
        return
    ends = _committed_ends(st, a.path, append_dim)
    if ends is None:
        return
    first_old, last_old = ends
    old_doc = st.get_json(f"{a.path}/zarr.json") or {}
    n_old = old_doc.get("shape", [0])[0]
    attrs = old_doc.get("attributes", {})
    steps = np.diff(new)
    if n_old > 1 and first_old != last_old:
        ascending = last_old > first_old
    else:
        ascending = not (steps.size and bool((steps < 0).all()))
    batch = (
        f"the batch ({len(urls)} file(s): {urls[0]!r}{' …' if len(urls) > 1 else ''})"
        if urls
        else "the batch"
    )
    where = f"along {append_dim!r}"
    if steps.size and not (bool((steps > 0).all()) if ascending else bool((steps < 0).all())):
        at = int(np.argmax(steps <= 0 if ascending else steps >= 0))
        raise CombineError(
            f"Cannot append {batch} {where}: its own {append_dim!r} values are not strictly "
            f"{'increasing' if ascending else 'decreasing'} like the repository's "
            f"({_show_coord(new[at].item(), attrs)} is followed by "
            f"{_show_coord(new[at + 1].item(), attrs)}); the combined axis would repeat or "
            "go back. Append each file once, in order. Nothing was written."
        )
    start = new[0].item()
    if (start <= last_old) if ascending else (start >= last_old):
        overlap = int(np.count_nonzero(new <= last_old if ascending else new >= last_old))
        raise CombineError(
            f"Cannot append {batch} {where}: it starts at {_show_coord(start, attrs)}, but "
            f"the repository already holds {append_dim!r} up to "
            f"{_show_coord(last_old, attrs)}, so {overlap} of its {new.size} steps overlap "
            f"or go back (already appended?). Append only the steps after "
            f"{_show_coord(last_old, attrs)}. Nothing was written."
        )


def _plan_append_array(a: _Array, st: _Store, append_dim: str) -> None:
    assert a.doc is not None
    old = st.get_json(f"{a.path}/zarr.json")
    where = f"variable {a.path!r}"
    if old is None or old.get("node_type") != "array":
        raise WriteError(
            f"Cannot append {where}: the repository has no such array; the batch must hold "
            "the same variables as the repository."
        )
    old_dims = tuple(old.get("dimension_names") or ())
    if old_dims != a.dims:
        raise WriteError(
            f"Cannot append {where}: its dimensions are {a.dims} in the batch but "
            f"{old_dims} in the repository."
        )
    shape = tuple(a.doc["shape"])
    old_shape = tuple(old["shape"])
    axis = a.dims.index(append_dim) if append_dim in a.dims else None
    for i, d in enumerate(a.dims):
        if i != axis and shape[i] != old_shape[i]:
            raise WriteError(
                f"Cannot append {where}: dimension {d!r} has length {shape[i]} in the batch "
                f"but {old_shape[i]} in the repository; only {append_dim!r} may grow."
            )
    old_attrs = old.get("attributes", {})
    if a.manifest is not None:
        mine, theirs = _comparable(a.doc), _comparable(old)
        if mine != theirs:
            diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            details = "; ".join(f"{k}: {theirs.get(k)!r} vs {mine.get(k)!r}" for k in diff)
            raise WriteError(
                f"Cannot append {where}: its encoding differs from the repository's "
                f"(repository vs batch: {details}). A Zarr array has one encoding: write "
                "the batch to its own group or repository."
            )
        if (
            axis is not None
            and is_time(a.attrs)
            and (
                (old_attrs.get("units"), old_attrs.get("calendar"))
                != (a.attrs.get("units"), a.attrs.get("calendar"))
            )
        ):
            raise WriteError(
                f"Cannot append {where}: it holds times in units {a.attrs.get('units')!r} "
                f"(calendar {a.attrs.get('calendar')!r}) but the repository's are "
                f"{old_attrs.get('units')!r} (calendar {old_attrs.get('calendar')!r}), and "
                "virtual chunks cannot "
                "be re-encoded; load it (loadable_variables=[...]) so that it is re-encoded."
            )
    if axis is not None:
        from vz_icechunk._append_encoding import check_append_encoding

        check_append_encoding(
            a.path,
            append_dim,
            a.doc.get("attributes", {}),
            old_attrs,
            a.manifest.paths if a.manifest is not None else None,
            times_reencoded=a.manifest is None and (is_time(a.attrs) or is_time(old_attrs)),
        )
    if axis is None:
        a.skip = True
        _check_static(a, st, where)
        return
    length = old_shape[axis]
    new_shape = [length + shape[i] if i == axis else s for i, s in enumerate(old_shape)]
    if a.manifest is not None:
        c = a.chunk_shape[axis]
        if length % c:
            raise WriteError(
                f"Cannot append {where} along {append_dim!r}: the repository holds {length} "
                f"steps, not a multiple of the chunk size {c}, so the batch's chunks would "
                "not tile the chunk grid. Append batches whose lengths are multiples of the "
                "chunk size, or rewrite the repository."
            )
        a.offset = tuple(length // c if i == axis else 0 for i in range(len(a.dims)))
    else:
        assert a.values is not None
        a.offset = tuple(length if i == axis else 0 for i in range(len(a.dims)))
        old_dtype = _old_values_dtype(st, a.path)
        if is_time(a.attrs) or is_time(old_attrs):
            a.values = reencode_times(a.values, a.attrs, old_attrs, old_dtype, where)
        elif a.values.dtype != old_dtype:
            cast = a.values.astype(old_dtype) if old_dtype.kind != "O" else a.values
            if old_dtype.kind == "O" or not np.array_equal(
                cast, a.values, equal_nan=a.values.dtype.kind in "fc"
            ):
                raise WriteError(
                    f"Cannot append {where}: the batch holds {a.values.dtype} values, the "
                    f"repository {old_dtype}, and they do not convert exactly."
                )
            a.values = cast
    a.doc = {**old, "shape": new_shape}


def _check_static(a: _Array, st: _Store, where: str) -> None:
    """Check that an array without the append dimension equals the repository's."""
    import zarr

    if a.values is None:
        return  # virtual: same encoding and shape checked; references stay the repository's
    old = np.asarray(zarr.open_array(st.store, path=a.path, mode="r")[...])
    new = a.values
    same = old.shape == new.shape and (
        old.tolist() == new.tolist()
        if new.dtype.kind == "O"
        else np.array_equal(old, new, equal_nan=new.dtype.kind in "fc")
    )
    if not same:
        raise WriteError(
            f"Cannot append {where}: it does not have the append dimension and its values "
            "differ from the repository's; the batch must share the repository's other "
            "coordinates."
        )


# -- writing -------------------------------------------------------------------------------


def _write_inline(st: _Store, a: _Array) -> None:
    """Store the manifest's inline chunks (bytes held in it) as real chunks."""
    m = a.manifest
    assert m is not None
    grid = m.grid_shape
    shift = a.offset or (0,) * len(grid)
    items = {}
    for flat_index, raw in m.inline.items():
        pos = [int(i) for i in np.unravel_index(flat_index, grid)] if grid else []
        at = tuple(i + s for i, s in zip(pos, shift, strict=True))
        items[f"{a.path}/{chunk_key(at)}"] = raw
    st.set_many(items)


def _write_loaded(st: _Store, a: _Array) -> None:
    """Write loaded values through zarr into the array whose document is already stored."""
    import zarr

    values = a.values
    assert values is not None
    if not values.size:
        return
    arr = zarr.open_array(st.store, path=a.path, mode="r+")
    if values.ndim == 0:
        arr[()] = values
        return
    start = a.offset or (0,) * values.ndim
    arr[tuple(slice(o, o + s) for o, s in zip(start, values.shape, strict=True))] = values


class IcechunkWriter(Writer):
    """Writes a virtual dataset tree into an Icechunk session as Zarr v3 (virtual) arrays.

    Examples
    --------
    >>> IcechunkWriter().write(group, session)  # doctest: +SKIP
    >>> session.commit("add virtual dataset")  # doctest: +SKIP
    """

    name: ClassVar[str] = "icechunk"
    """The writer's name, as registered."""

    def write(
        self,
        tree: ManifestGroup,
        target: Any,  # icechunk.Session or icechunk.IcechunkStore
        /,
        *,
        group: str | None = None,
        append_dim: str | None = None,
        mode: Mode = "w-",
        record_sources: bool = True,
        allow_float64_decoding: bool = False,
    ) -> None:
        """Write ``tree`` into a writable Icechunk session; the caller commits.

        Parameters
        ----------
        tree
            Root of the virtual dataset tree. Virtual variables become virtual chunk
            references; loaded variables are written as real Zarr data.
        target
            A writable ``icechunk.Session`` or its ``IcechunkStore``. The repository's config
            must have a virtual chunk container for every referenced URL prefix (see
            :func:`vz_icechunk.containers_for`).
        group
            Path of the group inside the repository to write the tree's root to (parents
            are created); None for the repository's root.
        append_dim
            Append the tree along this existing dimension instead of creating arrays: every
            array with the dimension grows, its new chunk references are placed after the
            existing ones, and loaded coordinates are appended (times re-encoded with the
            repository's units, calendar and dtype). The batch must line up: same
            variables, dimensions, dtypes, codecs, chunk shapes and fill values, equal values
            along the other dimensions, and the repository's length along ``append_dim`` a
            multiple of each virtual array's chunk size.
        mode
            ``"w-"`` (default): WriteError when ``group`` already holds arrays or groups;
            ``"w"``: delete what it holds first. Ignored with ``append_dim``.
        record_sources
            Store each file's scan-time ETag (else modification time) as the checksum of its
            references, so Icechunk refuses to read chunks of a file that changed since.
        allow_float64_decoding
            True: write packed variables decoding to float64 (see :func:`vzcore.store_plan.plan`).

        Raises
        ------
        vzcore.errors.OptionError
            ``mode`` is neither ``"w"`` nor ``"w-"``.
        vzcore.errors.WriteError
            The session is read-only; the target group exists (``mode="w-"``); a URL has
            no virtual chunk container (the message gives the lines to add one); the batch
            does not line up for an append; or something cannot be written as Zarr v3. Errors
            found before writing leave the session unchanged; after an error while writing,
            discard the session (``session.discard_changes()``).
        """
        import icechunk

        if mode not in ("w", "w-"):
            raise OptionError(
                "writer 'icechunk'", "mode", mode, "pass 'w-' (fail if the group holds data) or 'w'"
            )
        if isinstance(target, icechunk.Session):
            session, store = target, target.store
        elif isinstance(target, icechunk.IcechunkStore):
            session, store = target.session, target
        else:
            raise WriteError(
                f"Cannot write to a {type(target).__name__}: the icechunk writer takes a "
                "writable icechunk.Session (repo.writable_session('main')) or its .store."
            )
        if session.read_only:
            raise WriteError(
                "Cannot write: the Icechunk session is read-only; open one with "
                "repo.writable_session(branch)."
            )
        prefix = "/".join(p for p in (group or "").strip("/").split("/") if p)
        for part in prefix.split("/") if prefix else ():
            check_name(part, "group", 3)
        plan = _plan(tree, prefix, allow_float64_decoding)
        st = _Store(store)

        # Containers: every referenced URL needs one, else Icechunk would refuse the refs.
        config = session.config
        configured = [c.url_prefix for c in (config.virtual_chunk_containers or {}).values()]
        locations = {u: encode_location(u) for u in plan.urls()}
        missing = missing_prefixes(sorted(set(locations.values())), configured)
        if missing:
            listed = ", ".join(f"{p!r} (e.g. {us[0]!r})" for p, us in missing.items())
            raise WriteError(
                f"Cannot write: {sum(map(len, missing.values()))} referenced file(s) are under no "
                f"virtual chunk container of this repository: {listed}. Icechunk stores and "
                "reads virtual chunks only under a declared, authorized URL prefix. Reopen "
                "the repository with containers for them, then open a new writable session:\n\n"
                + recipe(missing)
                + "\n\nor let vz_icechunk build them: for c in vz_icechunk.containers_for(ds): "
                "config.set_virtual_chunk_container(c), and "
                "authorize_virtual_chunk_access=vz_icechunk.authorize_for(ds)."
            )

        if append_dim is not None:
            import zarr

            # The repository's arrays may have rectilinear chunk grids (uneven files), which
            # zarr 3.4 reads only behind its experimental flag (vzcore.manifests.grid).
            with zarr.config.set({"array.rectilinear_chunks": True}):
                _plan_append(plan, st, append_dim, prefix)
        else:
            key = f"{prefix}/zarr.json" if prefix else "zarr.json"
            existing = st.get_json(key)
            if (
                existing is not None
                and (existing.get("node_type") == "array" or st.list_dir(prefix) != ["zarr.json"])
                and mode == "w-"
            ):
                where = f"group {prefix!r}" if prefix else "the repository's root"
                raise WriteError(
                    f"Cannot write: {where} already holds data; pass mode='w' to replace "
                    f"it, append_dim=... to append, or group=... to write elsewhere."
                )
        try:
            self._write(plan, st, prefix, append_dim, mode, locations, record_sources)
        except VZError:
            raise
        except Exception as err:  # icechunk/zarr failures mid-write: report ours
            raise WriteError(
                f"Writing to the Icechunk session failed ({type(err).__name__}: {err}); the "
                "session holds a partial write: discard it (session.discard_changes()). "
                "Committed snapshots are unchanged."
            ) from err

    def _write(
        self,
        plan: _Plan,
        st: _Store,
        prefix: str,
        append_dim: str | None,
        mode: Mode,
        locations: Mapping[str, str],
        record_sources: bool,
    ) -> None:
        append = append_dim is not None
        # Serialise every document first: nothing is touched if one cannot be written.
        docs: dict[str, bytes] = {}
        if not append:
            parts = prefix.split("/") if prefix else []
            for i in range(len(parts)):
                parent = "/".join(parts[:i])
                key = f"{parent}/zarr.json" if parent else "zarr.json"
                if st.get_json(key) is None:
                    docs[key] = _dumps(group_metadata_v3({}), f"group {parent!r}")
            for gpath, doc in plan.groups:
                key = f"{gpath}/zarr.json" if gpath else "zarr.json"
                docs[key] = _dumps(doc, f"group {gpath!r}")
        for a in plan.arrays:
            if a.doc is not None and not a.skip:
                docs[f"{a.path}/zarr.json"] = _dumps(a.doc, f"variable {a.path!r}")
        if not append and mode == "w":
            key = f"{prefix}/zarr.json" if prefix else "zarr.json"
            if st.get_json(key) is not None:
                st.delete_dir(prefix)
        st.set_many(docs)
        validate = needs_icechunk_check(locations.values())
        for a in plan.arrays:
            if a.skip:
                continue
            if a.manifest is not None:
                write_refs(
                    st.store, a.path, a.manifest, a.offset, locations, record_sources, validate
                )
                _write_inline(st, a)
            else:
                _write_loaded(st, a)
