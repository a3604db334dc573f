"""The ``kerchunk`` reader: existing kerchunk references back into a ManifestGroup.

Reads kerchunk JSON (spec versions 0 and 1, see :mod:`vz_kerchunk._read_json`) and
kerchunk Parquet reference directories (:mod:`vz_kerchunk._read_parquet`) with zarr
format 2 metadata or Zarr v3 ``zarr.json`` documents (:mod:`vz_kerchunk._read_zarr3_metadata`), and
returns the tree of virtual arrays they describe, so references can be combined with newly
scanned files, converted to another format, or re-pointed with ``rename_paths``.

Inverse of the writer's zarr format 2 conventions (:mod:`vzcore.manifests.zarr_v2`):

* ``filters`` + ``compressor`` become ``ArrayMetadata.codecs`` in encoding order
  (:func:`~vzcore.manifests.zarr_v2.codecs_from_v2`).
* A non-null ``fill_value`` becomes ``ArrayMetadata.fill_value`` (what missing chunks
  read as) **and** the CF ``_FillValue`` attribute, as xarray's zarr backend reads zarr
  format 2; a null one leaves the attributes alone (missing chunks read as zero). So
  writing what was read gives back the same ``.zarray``/``.zattrs``.
* ``_ARRAY_DIMENSIONS`` becomes the variable's dimension names.
* Chunk entries become manifest entries: ``[url, offset, length]`` references, inline
  bytes (``base64:`` or text), whole-file ``[url]`` references (length = the file's size,
  looked up once per file).

Every URL is resolved (templates, relative paths against the references' own location)
and checked against the reader's URL policy before anything else happens, and every array
and group name is validated (:mod:`vz_kerchunk._safety`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
from vzcore.errors import (
    CorruptFileError,
    GroupNotFoundError,
    OptionError,
    UnsupportedFeatureError,
)
from vzcore.group import ManifestGroup, Variable
from vzcore.io import source_errors
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray
from vzcore.manifests.zarr_v2 import codecs_from_v2, decode_fill_value
from vzcore.types import Reader

from vz_kerchunk._columns import MISSING, WHOLE_FILE, ChunkColumns, ChunkKeys, RefStore
from vz_kerchunk._read_json import parse_doc
from vz_kerchunk._safety import (
    ReferenceNotAllowedError,
    UrlPolicy,
    check_codecs,
    check_node_path,
    resolve_url,
    unquoted_has_dotdot,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["ArraySpec", "KerchunkReader", "Nodes", "metadata_format"]

_FILL_ATTR = "_FillValue"
_DIMS_ATTR = "_ARRAY_DIMENSIONS"
_OPTIONS = ("allowed_protocols", "allowed_prefixes")

MAX_CHUNKS = 100_000_000
"""Most chunks (stored or not) one array may have: its grid is built in memory."""


class KerchunkReader(Reader):
    """Reads kerchunk references (JSON spec v0/v1, or a Parquet directory) as virtual arrays.

    Examples
    --------
    >>> group = KerchunkReader().read("file:///data/refs.json")  # doctest: +SKIP
    """

    name: ClassVar[str] = "kerchunk"
    """The reader's name, as registered."""
    scans_sources: ClassVar[bool] = False
    """The references point at files scanned earlier: their source info is what the
    references recorded then (``"vzcore": {"sources": ...}``), never the files' state now,
    which would hide a change (and cost one request per remote file)."""

    @classmethod
    def sniff(cls, head: bytes, url: str) -> bool:
        """Return True for a JSON object (or an empty head: a Parquet reference directory)."""
        return not head or head.lstrip()[:1] == b"{"

    def read(
        self,
        url: str,
        *,
        group: str | None = None,
        storage_options: dict[str, Any] | None = None,
        allowed_protocols: Iterable[str] | None = None,
        allowed_prefixes: Iterable[str] | str | None = None,
        drop_variables: Iterable[str] | str | None = None,
        allow_pickle: bool = False,
    ) -> ManifestGroup:
        """Return the tree of virtual arrays the references at ``url`` describe.

        Parameters
        ----------
        url
            A kerchunk JSON file (optionally compressed, e.g. ``.json.gz``) or a kerchunk
            Parquet reference directory, as an absolute URL.
        group
            Path of the group to return (``"a/b"``); None for the root.
        storage_options
            fsspec options to read the references (and to look up the size of files
            referenced whole).
        allowed_protocols
            Protocols followed anywhere. Default: object stores and ``https`` (public hosts
            only), plus the references' own protocol when it is a remote data protocol.
        allowed_prefixes
            URL prefixes followed whatever their protocol or host. Default: the directory
            that holds the references.
        drop_variables
            Arrays to leave out, by name (in any group) or by path (``"a/b/var"``); their
            metadata and chunk references are not parsed.
        allow_pickle
            Accept arrays whose codecs unpickle Python objects (numcodecs ``pickle``), which
            runs code the references' author chose: only for references you trust.

        Raises
        ------
        ReferenceNotAllowedError
            A reference points outside what the options allow (names variable and URL).
        vzcore.errors.UnsafeCodecError
            An array's codec unpickles objects and ``allow_pickle`` is False.
        vzcore.errors.CorruptFileError
            Malformed references (the message names the file and key).
        vzcore.errors.UnsupportedFeatureError
            Something the manifests cannot hold (Fortran order, sharding, ...).
        vzcore.errors.GroupNotFoundError
            ``group`` is not in the references.
        vzcore.errors.OptionError
            ``allowed_protocols`` or ``allowed_prefixes`` is not a list of protocols or URLs.
        """
        so = storage_options or {}
        if not isinstance(allow_pickle, bool):
            raise OptionError(
                "reader 'kerchunk'", "allow_pickle", allow_pickle, "pass True or False"
            )
        policy = UrlPolicy.build(url, allowed_protocols, allowed_prefixes)
        store = _open_store(url, so)
        drop = {drop_variables} if isinstance(drop_variables, str) else set(drop_variables or ())
        builder = _Builder(store, policy, so, allow_pickle=allow_pickle)
        return builder.build(group, frozenset(d.strip("/") for d in drop))


def _open_store(url: str, storage_options: dict[str, Any]) -> RefStore:
    from fsspec.core import url_to_fs

    try:
        fs, path = url_to_fs(url, **storage_options)
        with source_errors(url):  # (a server may refuse the question: HTTP 403)
            is_dir = fs.isdir(path)
    except (ValueError, ImportError) as err:
        raise CorruptFileError(url, f"cannot open it: {err}") from err
    if is_dir:
        from vz_kerchunk._read_parquet import load_parquet_refs

        return load_parquet_refs(url, storage_options)
    from vz_kerchunk._read_json import load_json_refs

    return load_json_refs(url, storage_options)


def _dtype(value: Any, url: str, key: str) -> np.dtype[Any]:
    def tuples(x: Any) -> Any:
        if isinstance(x, list):
            return tuple(tuples(v) for v in x)
        return x

    try:
        if isinstance(value, list):
            return np.dtype([tuples(f) for f in value])
        if not isinstance(value, str):
            raise TypeError(f"not a type string: {value!r}")
        return np.dtype(value)
    except (TypeError, ValueError, SyntaxError) as err:
        raise CorruptFileError(url, f"key {key!r}: invalid dtype {value!r} ({err})") from err


def _int_list(value: Any, url: str, key: str, what: str, minimum: int) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(type(v) is int and v >= minimum for v in value):
        raise CorruptFileError(
            url, f"key {key!r}: {what!r} must be a list of integers >= {minimum}, got {value!r}"
        )
    return tuple(value)


def _codec(value: Any, url: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        raise CorruptFileError(url, f"key {key!r}: codec {value!r} has no 'id'")
    return value


@dataclass(frozen=True)
class ArraySpec:
    """What the metadata documents say about one array (format-neutral)."""

    meta: ArrayMetadata
    """Shape, dtype, chunking, codecs, fill value, dimension names."""
    attrs: dict[str, Any]
    """The variable's attributes, as the zarr v2 reading of the same array gives them."""
    dims: tuple[str, ...]
    """Dimension names."""
    keys: ChunkKeys
    """How its chunk keys are spelled."""


class Nodes(Protocol):
    """The arrays and groups that a store's metadata documents describe."""

    arrays: dict[str, Any]
    """Array documents by path, in document order."""
    groups: dict[str, Any]
    """Group documents by path (``""``: the root)."""
    order: list[tuple[str, str]]
    """``("array" | "group", path)`` in document order."""

    def group_attrs(self, path: str) -> dict[str, Any]:
        """Return the attributes of the group at ``path``."""
        ...

    def array(self, path: str) -> ArraySpec:
        """Return the metadata of the array at ``path``."""
        ...


def metadata_format(docs: dict[str, Any]) -> int:
    """Return 3 when the documents are ``zarr.json`` (zarr format 3), else 2."""
    return 3 if any(k.rpartition("/")[2] == "zarr.json" for k in docs) else 2


class _V2Nodes:
    """Zarr format 2 documents: ``.zgroup``, ``.zattrs``, ``.zarray``."""

    def __init__(self, docs: dict[str, Any], url: str) -> None:
        self.url = url
        self.arrays: dict[str, Any] = {}
        self.groups: dict[str, Any] = {"": {}}
        self.attrs: dict[str, Any] = {}
        self.order: list[tuple[str, str]] = []
        for key, value in docs.items():
            node, _, base = key.rpartition("/")
            if base == ".zmetadata":
                continue
            check_node_path(node, url, key)
            doc = parse_doc(value, url, key)
            if base == ".zarray":
                self.arrays[node] = doc
                self.order.append(("array", node))
            elif base == ".zgroup":
                self.groups[node] = doc
                self.order.append(("group", node))
            else:
                self.attrs[node] = doc
        for path, doc in self.groups.items():
            fmt = doc.get("zarr_format", 2)
            if fmt != 2:
                raise UnsupportedFeatureError(
                    url,
                    path or None,
                    f"zarr_format {fmt!r} in '.zgroup'",
                    "a '.zgroup' document is zarr format 2",
                    kind="group",
                )

    def group_attrs(self, path: str) -> dict[str, Any]:
        return dict(self.attrs.get(path, {}))

    def array(self, path: str) -> ArraySpec:
        zarray, zattrs = self.arrays[path], self.attrs.get(path, {})
        key = f"{path}/.zarray"
        url = self.url
        for field in ("shape", "chunks", "dtype"):
            if field not in zarray:
                raise CorruptFileError(url, f"key {key!r} lacks {field!r}")
        fmt = zarray.get("zarr_format", 2)
        if fmt != 2:
            raise UnsupportedFeatureError(
                url, path, f"zarr_format {fmt!r} in '.zarray'", "a '.zarray' is zarr format 2"
            )
        shape = _int_list(zarray["shape"], url, key, "shape", 0)
        chunks = _int_list(zarray["chunks"], url, key, "chunks", 1)
        if len(shape) != len(chunks):
            raise CorruptFileError(
                url, f"key {key!r}: shape {list(shape)} and chunks {list(chunks)} differ in length"
            )
        dtype = _dtype(zarray["dtype"], url, key)
        order = zarray.get("order", "C")
        if order != "C":
            raise UnsupportedFeatureError(
                url, path, f"array order {order!r}", "only C-order arrays can be virtual here"
            )
        sep = zarray.get("dimension_separator", ".")
        if sep not in (".", "/"):
            raise CorruptFileError(url, f"key {key!r}: dimension_separator {sep!r}")
        filters = zarray.get("filters")
        compressor = zarray.get("compressor")
        if filters is not None and not isinstance(filters, list):
            raise CorruptFileError(url, f"key {key!r}: 'filters' must be a list or null")
        codecs = codecs_from_v2(
            [_codec(f, url, key) for f in filters or ()],
            None if compressor is None else _codec(compressor, url, key),
        )
        try:
            fill = decode_fill_value(zarray.get("fill_value"), dtype)
        except (TypeError, ValueError, KeyError, IndexError, OverflowError) as err:
            raise CorruptFileError(
                url,
                f"key {key!r}: fill_value {zarray.get('fill_value')!r} is not a {dtype} "
                f"value ({err})",
            ) from err
        if not isinstance(zattrs, dict):  # pragma: no cover - parse_doc guarantees it
            raise CorruptFileError(url, f"key {path + '/.zattrs'!r} must be an object")
        attrs = dict(zattrs)
        dims = attrs.pop(_DIMS_ATTR, None)
        if dims is None:
            raise UnsupportedFeatureError(
                url,
                path,
                f"array without the {_DIMS_ATTR!r} attribute (no dimension names)",
                "xarray cannot open such zarr v2 arrays either; add dimension names to the "
                "references",
            )
        if (
            not isinstance(dims, list)
            or len(dims) != len(shape)
            or not all(isinstance(d, str) for d in dims)
        ):
            raise CorruptFileError(
                url,
                f"key {path + '/.zattrs'!r}: {_DIMS_ATTR} {dims!r} must list "
                f"{len(shape)} dimension names",
            )
        if fill is not None:
            attrs[_FILL_ATTR] = fill  # as xarray's zarr backend does for zarr format 2
        try:
            meta = ArrayMetadata(
                shape=shape,
                dtype=dtype,
                chunk_shape=chunks,
                fill_value=fill,
                codecs=codecs,
                dimension_names=tuple(dims),
            )
        except (TypeError, ValueError) as err:  # pragma: no cover - validated above
            raise CorruptFileError(url, f"key {key!r}: {err}") from err
        return ArraySpec(meta, attrs, tuple(dims), ChunkKeys(sep))


class _Builder:
    """Turns a loaded reference store into a ManifestGroup tree."""

    def __init__(
        self,
        store: RefStore,
        policy: UrlPolicy,
        storage_options: dict[str, Any],
        *,
        allow_pickle: bool = False,
    ):
        self.store = store
        self.url = store.url
        self.policy = policy
        self.allow_pickle = allow_pickle
        self.so = storage_options
        self._resolved: dict[str, str] = {}
        self._sizes: dict[str, int] = {}
        self.sources = self._sources()

    # -- structure -----------------------------------------------------------------------

    def _nodes(self) -> Nodes:
        docs = self.store.docs
        if metadata_format(docs) == 3:
            from vz_kerchunk._read_zarr3_metadata import V3Nodes

            return V3Nodes(docs, self.url)
        return _V2Nodes(docs, self.url)

    def build(self, group: str | None, drop: frozenset[str] = frozenset()) -> ManifestGroup:
        nodes = self._nodes()
        arrays, groups, order = nodes.arrays, nodes.groups, nodes.order
        for path in list(arrays) + list(groups):
            parts = path.split("/") if path else []
            for i in range(len(parts)):
                parent = "/".join(parts[:i])
                if parent in arrays:
                    raise CorruptFileError(self.url, f"{path!r} lies inside the array {parent!r}")
                if parent not in groups:
                    groups[parent] = {}
                    order.append(("group", parent))
        for path in arrays:
            if path in groups:
                raise CorruptFileError(self.url, f"{path!r} is both an array and a group")

        root = (group or "").strip("/")
        if root not in groups:
            raise GroupNotFoundError(self.url, group or "", sorted(g for g in groups if g))
        prefix = f"{root}/" if root else ""
        tree: dict[str, ManifestGroup] = {}

        def node_of(path: str) -> ManifestGroup:
            if path not in tree:
                tree[path] = ManifestGroup(attrs=nodes.group_attrs(path))
                if path != root:
                    parent = path.rpartition("/")[0] if "/" in path else ""
                    node_of(parent).groups[path.rpartition("/")[2]] = tree[path]
            return tree[path]

        node_of(root)
        claimed = 0
        key_tables: list[tuple[str, tuple[int, ...], ChunkKeys]] = []
        dropped: list[str] = []
        for kind, path in order:
            if path != root and not path.startswith(prefix):
                continue
            if kind == "group":
                node_of(path)
                continue
            parent, _, name = path.rpartition("/")
            if name in drop or path in drop:  # never parsed; its chunk keys are its own
                dropped.append(path + "/")
                claimed += self.store.count_chunk_keys(path + "/") or 0
                continue
            spec = nodes.array(path)
            var, n_stored = self._variable(path, spec)
            claimed += n_stored
            key_tables.append((path, spec.meta.grid_shape, spec.keys))
            node_of(parent).variables[name] = var
        self._check_unclaimed(prefix, claimed, key_tables, tuple(dropped))
        return tree[root]

    def _check_unclaimed(
        self,
        prefix: str,
        claimed: int,
        key_tables: list[tuple[str, tuple[int, ...], ChunkKeys]],
        dropped: tuple[str, ...] = (),
    ) -> None:
        total = self.store.count_chunk_keys(prefix)
        if total is None or total == claimed:
            return
        keys: set[str] = set()
        for path, grid, scheme in key_tables:
            keys.update(scheme.table(path, grid).tolist())
        stray = sorted(
            k for k in self.store.unclaimed_keys(prefix, keys) if not k.startswith(dropped)
        )
        if stray:
            shown = ", ".join(repr(k) for k in stray[:5])
            more = f" (+{len(stray) - 5} more)" if len(stray) > 5 else ""
            raise CorruptFileError(
                self.url,
                f"key(s) {shown}{more} are neither metadata nor a chunk of an array described "
                "by a '.zarray' or 'zarr.json' (outside its chunk grid, or its metadata is "
                "missing)",
            )

    # -- arrays --------------------------------------------------------------------------

    def _variable(self, path: str, spec: ArraySpec) -> tuple[Variable, int]:
        check_codecs(spec.meta.codecs, self.url, path, allow_pickle=self.allow_pickle)
        grid = spec.meta.grid_shape
        n = math.prod(grid)
        if n > MAX_CHUNKS:
            raise UnsupportedFeatureError(
                self.url,
                path,
                f"an array of {n} chunks (grid {list(grid)})",
                f"more than {MAX_CHUNKS:,} chunks per array are refused (a guard against "
                "hostile references, whose chunk grid would be built in memory)",
            )
        columns = self.store.array_columns(path, grid, spec.keys)
        manifest = self._manifest(path, columns, grid)
        n_stored = int(np.count_nonzero(columns.codes != MISSING))
        return Variable(spec.dims, ManifestArray(spec.meta, manifest), spec.attrs), n_stored

    # -- URLs ----------------------------------------------------------------------------

    def _expand(self, raw: str, variable: str) -> str:
        templates = self.store.templates
        if not templates or "{{" not in raw:
            return raw
        import re

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in templates:
                raise CorruptFileError(
                    self.url,
                    f"variable {variable!r}: URL {raw!r} uses undefined template {name!r}",
                )
            return templates[name]

        return re.sub(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", sub, raw)

    def _resolve(self, raw: str, variable: str) -> str:
        """Return the checked absolute URL of a raw reference URL."""
        done = self._resolved.get(raw)
        if done is not None:
            return done
        expanded = self._expand(raw, variable)
        try:
            resolved = resolve_url(expanded, self.url)
        except ValueError as err:
            raise CorruptFileError(
                self.url, f"variable {variable!r}: reference URL {raw!r} is invalid ({err})"
            ) from err
        if unquoted_has_dotdot(resolved):
            raise ReferenceNotAllowedError(
                self.url, variable, resolved, "its percent-encoded path climbs with '..'"
            )
        why = self.policy.refusal(resolved)
        if why is not None:
            raise ReferenceNotAllowedError(self.url, variable, resolved, why)
        self._resolved[raw] = resolved
        return resolved

    def _size(self, url: str, variable: str) -> int:
        size = self._sizes.get(url)
        if size is None:
            from fsspec.core import url_to_fs

            try:
                fs, path = url_to_fs(url, **self.so)
                size = int(fs.size(path))
            except Exception as err:  # any fsspec failure: the referenced file is not usable
                raise CorruptFileError(
                    self.url,
                    f"variable {variable!r} references the whole file {url!r}, whose size "
                    f"cannot be found ({type(err).__name__}: {err})",
                ) from err
            self._sizes[url] = size
        return size

    def _manifest(self, path: str, cols: ChunkColumns, grid: tuple[int, ...]) -> ChunkManifest:
        final: dict[str, int] = {}
        lut = np.empty(len(cols.urls), dtype=np.int64)
        for i, raw in enumerate(cols.urls):
            lut[i] = final.setdefault(self._resolve(raw, path), len(final))
        table = list(final)
        codes = cols.codes
        lengths = cols.lengths
        whole = lengths == WHOLE_FILE
        if whole.any():
            lengths = lengths.copy()
            sizes = np.array([self._size(u, path) for u in table], dtype=np.int64)
            # lut maps raw -> final; whole-file entries use the final URL's size
            lengths[whole] = sizes[lut[codes[whole]]]
        pi = codes.astype(np.int64)  # a copy; MISSING and INLINE are ChunkManifest's codes too
        real = codes >= 0
        pi[real] = lut[codes[real]]
        flat_inline = dict(cols.inline)
        shape = grid if grid else ()
        manifest = ChunkManifest.from_codes(
            table,
            pi.reshape(shape),
            cols.offsets.astype(np.uint64).reshape(shape),
            lengths.astype(np.uint64).reshape(shape),
            flat_inline,
        )
        if self.sources:
            manifest = manifest.with_sources({u: s for u, s in self.sources.items() if u in final})
        return manifest

    def _sources(self) -> dict[str, Any]:
        """Return the recorded source info by resolved URL (``"vzcore": {"sources": ...}``)."""
        entry = self.store.sources
        if entry is None:
            return {}
        from vzcore.manifests.sources import SourceInfo

        if not isinstance(entry, dict) or not isinstance(entry.get("sources", {}), dict):
            raise CorruptFileError(self.url, "the 'vzcore' entry must hold a 'sources' object")
        out: dict[str, Any] = {}
        for raw, info in entry.get("sources", {}).items():
            try:
                url = resolve_url(self._expand(raw, "<sources>"), self.url)
                out[url] = SourceInfo.from_json(info)
            except (TypeError, ValueError) as err:
                raise CorruptFileError(
                    self.url, f"'vzcore' sources entry {raw!r} is malformed ({err})"
                ) from err
        return out
