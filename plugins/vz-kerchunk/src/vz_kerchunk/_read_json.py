"""Loading kerchunk JSON references (spec versions 0 and 1) into metadata and columns.

* **Version 0**: the whole document is the flat ``{key: value}`` mapping.
* **Version 1**: ``{"version": 1, "templates": {...}, "gen": [...], "refs": {...}}``.
  ``templates`` are expanded in URLs (``{{name}}``, as fsspec's simple templates); ``gen``
  entries are expanded with jinja2's sandbox, exactly as fsspec does with
  ``simple_templates=False`` (jinja2 must be installed then). A document without
  ``version`` but with a ``refs`` mapping is read as version 1, as kerchunk's own tools do.

Values: a metadata document (JSON text, or an object), a chunk reference ``[url, offset,
length]``, a whole-file reference ``[url]``, or inline chunk bytes (``"base64:..."`` or
plain text, encoded as UTF-8 like fsspec does). A top-level ``"vzcore"`` entry carries the
source files' identity (:class:`vzcore.manifests.SourceInfo`).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import math
import operator
from collections.abc import Mapping
from typing import Any

import numpy as np
from vzcore.errors import CorruptFileError, UnsupportedFeatureError, VZError
from vzcore.io import open_source

from vz_kerchunk._columns import INLINE, META_NAMES, WHOLE_FILE, ChunkColumns, ChunkKeys

__all__ = ["JsonRefs", "load_json_refs"]

MAX_GENERATED = 50_000_000
"""Most references that ``gen`` entries may expand to (a guard against hostile input)."""


_META_SUFFIXES = tuple(sorted(META_NAMES))


def is_meta_key(key: str) -> bool:
    """Return True when ``key`` names a metadata document."""
    return key.endswith(_META_SUFFIXES) and key.rpartition("/")[2] in META_NAMES


class JsonRefs:
    """A loaded kerchunk JSON reference document."""

    def __init__(
        self,
        url: str,
        refs: dict[str, Any],
        templates: Mapping[str, str],
        sources: Any,
    ) -> None:
        self.url = url
        self.refs = refs
        self.templates = templates
        self.sources = sources
        self.docs: dict[str, Any] = {
            k: v for k, v in refs.items() if k.endswith(_META_SUFFIXES) and is_meta_key(k)
        }
        self._n_meta_keys = len(self.docs)
        zmeta = self.docs.get(".zmetadata")
        if zmeta is not None:
            # Consolidated metadata fills in documents that are not stored on their own.
            consolidated = _parse_doc(zmeta, url, ".zmetadata")
            inner = consolidated.get("metadata")
            if not isinstance(inner, dict):
                raise CorruptFileError(url, "'.zmetadata' has no 'metadata' object")
            for k, v in inner.items():
                if isinstance(k, str) and is_meta_key(k):
                    self.docs.setdefault(k, v)

    def array_columns(
        self, path: str, grid_shape: tuple[int, ...], chunk_keys: ChunkKeys
    ) -> ChunkColumns:
        """Return the chunk references of the array at ``path`` (see ChunkColumns)."""
        keys = chunk_keys.table(path, grid_shape).tolist()
        fast = self._plain_references(keys)
        if fast is not None:
            return fast
        n = len(keys)
        codes = [-1] * n
        offsets = [0] * n
        lengths = [0] * n
        inline: dict[int, bytes] = {}
        urls: dict[str, int] = {}
        refs = self.refs
        for i, key in enumerate(keys):
            v = refs.get(key)
            if v is None:
                continue
            if type(v) is list:
                if len(v) == 3:
                    u, o, ln = v
                    if (
                        type(o) is not int
                        or type(ln) is not int
                        or o < 0
                        or ln < 0
                        or o >= 2**63
                        or ln >= 2**63
                    ):
                        raise CorruptFileError(
                            self.url,
                            f"key {key!r}: offset and length must be non-negative integers, "
                            f"got {o!r} and {ln!r}",
                        )
                    offsets[i] = o
                    lengths[i] = ln
                elif len(v) == 1:
                    u = v[0]
                    lengths[i] = WHOLE_FILE
                else:
                    raise CorruptFileError(
                        self.url,
                        f"key {key!r}: a reference is [url, offset, length] or [url], got {v!r}",
                    )
                if type(u) is not str:
                    raise CorruptFileError(self.url, f"key {key!r}: the URL {u!r} is not text")
                code = urls.get(u)
                if code is None:
                    code = urls[u] = len(urls)
                codes[i] = code
            elif type(v) is str:
                inline[i] = _inline_bytes(v, self.url, key)
                codes[i] = INLINE
            else:
                raise CorruptFileError(
                    self.url,
                    f"key {key!r}: a chunk entry must be a reference list or inline data "
                    f"(text), got a {type(v).__name__}",
                )
        return ChunkColumns(
            list(urls),
            np.array(codes, dtype=np.int64),
            np.array(offsets, dtype=np.int64),
            np.array(lengths, dtype=np.int64),
            inline,
        )

    def _plain_references(self, keys: list[str]) -> ChunkColumns | None:
        """Columns without a Python loop per chunk, when every entry is ``[url, off, len]``.

        Returns None for anything else (inline data, whole-file references, malformed
        entries): the general loop then handles, or reports, each entry.
        """
        n = len(keys)
        vals = list(map(self.refs.get, keys))
        present = np.fromiter(
            map(operator.is_not, vals, itertools.repeat(None)), dtype=bool, count=n
        )
        stored = [v for v in vals if v is not None]
        if not stored:
            return None
        if set(map(type, stored)) != {list} or set(map(len, stored)) != {3}:
            return None
        urls, offs, lens = zip(*stored, strict=True)
        if set(map(type, urls)) != {str}:
            return None
        o = np.array(offs)
        ln = np.array(lens)
        if o.dtype != np.int64 or ln.dtype != np.int64 or o.min() < 0 or ln.min() < 0:
            return None
        table = dict.fromkeys(urls)
        for i, u in enumerate(table):
            table[u] = i
        codes = np.full(n, -1, dtype=np.int64)
        codes[present] = np.fromiter(map(table.__getitem__, urls), dtype=np.int64, count=len(urls))
        offsets = np.zeros(n, dtype=np.int64)
        lengths = np.zeros(n, dtype=np.int64)
        offsets[present] = o
        lengths[present] = ln
        return ChunkColumns(list(table), codes, offsets, lengths, {})

    def unclaimed_keys(self, prefix: str, claimed_keys: set[str]) -> list[str]:
        """Return chunk keys under ``prefix`` that belong to no array."""
        return [
            k
            for k in self.refs
            if (not prefix or k.startswith(prefix)) and not is_meta_key(k) and k not in claimed_keys
        ]

    def count_chunk_keys(self, prefix: str) -> int | None:
        """Return how many non-metadata keys lie under ``prefix``."""
        if not prefix:
            return len(self.refs) - self._n_meta_keys
        return sum(1 for k in self.refs if k.startswith(prefix) and not is_meta_key(k))


def _inline_bytes(value: str, url: str, key: str) -> bytes:
    if value.startswith("base64:"):
        try:
            return base64.b64decode(value[7:], validate=True)
        except (binascii.Error, ValueError) as err:
            raise CorruptFileError(url, f"key {key!r}: invalid base64 inline data ({err})") from err
    return value.encode("utf-8", "surrogatepass")


def _parse_doc(value: Any, url: str, key: str) -> dict[str, Any]:
    """Return a metadata document as a dict (it may be stored as JSON text or an object)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError) as err:
            raise CorruptFileError(url, f"key {key!r} is not valid JSON ({err})") from err
    if not isinstance(value, dict):
        raise CorruptFileError(
            url, f"key {key!r} must hold a JSON object, got {type(value).__name__}"
        )
    return value


def parse_doc(value: Any, url: str, key: str) -> dict[str, Any]:
    """Public alias of the metadata-document parser (shared with the Parquet loader)."""
    return _parse_doc(value, url, key)


def _expand_gen(gens: Any, templates: Mapping[str, str], url: str) -> dict[str, Any]:
    """Expand spec-v1 ``gen`` entries into ``{key: [url, offset, length] | [url]}``."""
    if not isinstance(gens, list):
        raise CorruptFileError(url, f"'gen' must be a list, got {type(gens).__name__}")
    if not gens:
        return {}
    try:
        import jinja2.sandbox
    except ImportError as err:
        raise UnsupportedFeatureError(
            url,
            None,
            "'gen' reference generators without jinja2",
            "install jinja2 (pip install jinja2), which renders them as fsspec does",
        ) from err
    env = jinja2.sandbox.SandboxedEnvironment()
    out: dict[str, Any] = {}
    for n, gen in enumerate(gens):
        where = f"gen[{n}]"
        if not isinstance(gen, dict) or not isinstance(gen.get("dimensions"), dict):
            raise CorruptFileError(url, f"{where} needs 'key', 'url' and 'dimensions'")
        has_off, has_len = "offset" in gen, "length" in gen
        if has_off != has_len:
            raise CorruptFileError(url, f"{where} needs both 'offset' and 'length', or neither")
        axes: dict[str, Any] = {}
        for name, spec in gen["dimensions"].items():
            if isinstance(spec, list):
                axes[name] = spec
            elif (
                isinstance(spec, dict)
                and all(type(spec.get(k, 0)) is int for k in ("start", "stop", "step"))
                and "stop" in spec
                and spec.get("step", 1) != 0
            ):
                axes[name] = range(spec.get("start", 0), spec["stop"], spec.get("step", 1))
            else:
                raise CorruptFileError(url, f"{where}: dimension {name!r} is malformed: {spec!r}")
        total = math.prod(len(a) for a in axes.values())
        if total + len(out) > MAX_GENERATED:
            raise UnsupportedFeatureError(
                url,
                None,
                f"'gen' entries expanding to {total} references",
                f"more than {MAX_GENERATED} generated references are refused",
            )
        try:
            key_t = env.from_string(str(gen["key"]))
            url_t = env.from_string(str(gen["url"]))
            off_t = env.from_string(str(gen["offset"])) if has_off else None
            len_t = env.from_string(str(gen["length"])) if has_len else None
            for values in itertools.product(*axes.values()):
                ctx = {**templates, **dict(zip(axes, values, strict=True))}
                key = key_t.render(**ctx)
                target = url_t.render(**ctx)
                if off_t is not None and len_t is not None:
                    out[key] = [target, int(off_t.render(**ctx)), int(len_t.render(**ctx))]
                else:
                    out[key] = [target]
        except KeyError as err:
            raise CorruptFileError(url, f"{where} lacks {err}") from err
        except (jinja2.TemplateError, ValueError, TypeError) as err:
            raise CorruptFileError(url, f"{where} cannot be rendered: {err}") from err
    return out


def _loads(raw: bytes) -> Any:
    """Parse JSON, with ujson when it is installed (kerchunk depends on it): ~1.6x faster.

    Anything ujson refuses (huge integers, odd encodings) is parsed again by the standard
    library, whose verdict (and error message) counts.
    """
    try:
        import ujson
    except ImportError:
        return json.loads(raw)
    try:
        return ujson.loads(raw)
    except (ValueError, OverflowError, TypeError, RecursionError):
        return json.loads(raw)


def load_json_refs(url: str, storage_options: dict[str, Any] | None = None) -> JsonRefs:
    """Read and parse a kerchunk JSON reference file (``.gz``/``.zst``... decompressed).

    Raises
    ------
    vzcore.errors.CorruptFileError
        Invalid JSON or a document that is not kerchunk references.
    vzcore.errors.UnsupportedFeatureError
        An unknown spec version, jinja templates or ``gen`` without jinja2.
    """
    from fsspec.compression import compr
    from fsspec.utils import infer_compression

    compression = infer_compression(url)  # .gz, .bz2, ... (as fsspec.open's "infer")
    with open_source(url, storage_options) as source:
        if compression is None:
            raw = source.read_all()
        else:
            try:
                with compr[compression](source.file, mode="rb") as f:
                    raw = f.read()
            except VZError:
                raise
            except (OSError, EOFError, ValueError) as err:  # truncated or invalid streams
                raise CorruptFileError(url, f"decompressing the references failed: {err}") from err
    try:
        doc = _loads(raw)
    except (ValueError, RecursionError) as err:
        raise CorruptFileError(url, f"it is not valid JSON ({err})") from err
    if not isinstance(doc, dict):
        raise CorruptFileError(
            url, f"the top level must be a JSON object, got {type(doc).__name__}"
        )
    version = doc.get("version")
    sources = None
    if version is None and not isinstance(doc.get("refs"), dict):
        # Spec version 0: the flat mapping (vzcore's own entry aside).
        refs = {k: v for k, v in doc.items() if k != "vzcore"}
        sources = doc.get("vzcore")
        templates: dict[str, str] = {}
    else:
        if version is not None and (type(version) is not int or version != 1):
            raise UnsupportedFeatureError(
                url,
                None,
                f"kerchunk reference spec version {version!r}",
                "only versions 0 and 1 exist; upgrade vz-kerchunk if a newer one was released",
            )
        refs = doc.get("refs", {})
        if not isinstance(refs, dict):
            raise CorruptFileError(url, f"'refs' must be a JSON object, got {type(refs).__name__}")
        templates = doc.get("templates") or {}
        if not isinstance(templates, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in templates.items()
        ):
            raise CorruptFileError(url, "'templates' must map names to URL strings")
        for name, value in templates.items():
            if "{{" in value:
                raise UnsupportedFeatureError(
                    url,
                    None,
                    f"jinja template function {name!r} in 'templates'",
                    "expand the references with fsspec and write them out again",
                )
        if "gen" in doc:
            generated = _expand_gen(doc["gen"], templates, url)
            refs = {**refs, **generated}  # as fsspec: generated keys win
        sources = doc.get("vzcore")
    for k in refs:
        if not isinstance(k, str):  # pragma: no cover - JSON keys are always text
            raise CorruptFileError(url, f"key {k!r} is not text")
    return JsonRefs(url, refs, templates, sources)
