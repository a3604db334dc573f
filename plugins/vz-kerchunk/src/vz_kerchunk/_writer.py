"""The kerchunk JSON writer: a ManifestGroup tree as a kerchunk reference file (spec version 1).

Output layout::

    {"version": 1,
     "templates": {"u0": "file:///data/a.nc", ...},        # only with templates=True
     "refs": {".zgroup": "{...}", ".zattrs": "{...}", ".zmetadata": "{...}",
              "var/.zarray": "{...}", "var/.zattrs": "{...}",
              "var/0.0": ["file:///data/a.nc", 4096, 1000],  # virtual chunk: [url, offset, length]
              "coord/0": "base64:...",                    # inline chunk (in-memory data)
              "group/.zgroup": "{...}", "group/var/...": ...}}

Metadata documents are JSON strings, as kerchunk writes them. This module only serializes
the store plan of :func:`vzcore.store_plan.plan` (zarr v2 conventions for codecs, fill
values and keys: :mod:`vzcore.manifests.zarr_v2`; zarr v3: :mod:`vzcore.manifests.zarr_v3`).
The file opens with ``fsspec.filesystem("reference", fo=path)`` and with
``xr.open_dataset(path, engine="kerchunk")``; consolidated metadata (``.zmetadata``) is
always written so that xarray's zarr engine opens it without a warning.

The JSON text is produced in blocks straight from the manifests' numpy arrays
(:mod:`vz_kerchunk._json_rows`: no Python object per chunk), never as one big dict, so
writing a million references takes a fraction of a second and memory stays bounded.
No xarray import here.

URLs are spelled out in every reference by default, as kerchunk writes them: fsspec's
``ReferenceFileSystem`` expands ``{{uK}}`` templates one reference at a time when it opens
the file (a ``str.format`` with every template as a keyword, per reference, and xarray's zarr
engine opens the file twice), which costs more than parsing the longer URLs saves. Measured
(fsspec 2026.9, zarr 3.4, CPU time of ``xr.open_dataset`` on the reference mapper): 103,680
chunks of one file open in 0.60 s with one template against 0.33 s spelled out (kerchunk's
own file: 0.34 s); 8,000 chunks of 1,000 files in 0.115 s with 1,000 templates against
0.036 s. ``templates=True`` halves such a file (e.g. 7.8 -> 3.7 MB) for users who need it
small more than fast to open.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from vzcore.errors import OptionError, WriteError
from vzcore.io import WriteMode, atomic_binary_file
from vzcore.manifests.chunk_keys import key_pattern
from vzcore.store_plan import ArrayPlan, MissingChunks, StorePlan, iter_missing, plan
from vzcore.types import Writer

from vz_kerchunk._json_rows import reference_rows

if TYPE_CHECKING:
    from vzcore.group import ManifestGroup

__all__ = ["KerchunkWriter", "choose_templates", "refs_dict"]

MAX_JSON_REFERENCES = 1_000_000
"""Chunk references above which a JSON (or dict) output is refused unless asked for.

Every reader of kerchunk JSON (fsspec's ``ReferenceFileSystem``, kerchunk) parses the whole
file into a Python dict before the first read: about 230 bytes of memory and 2-3 µs per
reference, so 10^6 references cost each reader ~230 MB and seconds before any data, and
10^7 references several GB. Parquet references (read record by record) and Icechunk
(manifests split and loaded on demand) stay usable at that size."""

_OWNER = "writer 'kerchunk'"
_BLOCK = 1 << 14
"""Chunk references formatted per block of JSON text. Small enough that each block's
temporaries (~1.5 MB) are reused from one block to the next: blocks of 65,536 took fresh pages
from the kernel every time (3,300-5,400 page faults per 103,680 references, more than half of
the formatting time); 16,384 takes none."""


def _template_ref(name: str) -> str:
    return "{{" + name + "}}"


def choose_templates(counts: dict[str, int]) -> dict[str, str]:
    """Pick URL templates that shrink the output: ``{url: template name}``.

    A URL referenced ``n`` times becomes a template (``"u0"``, ``"u1"``, ..., the most used
    first) when ``n * (len(url) - len("{{uK}}"))`` exceeds the template's own definition.
    No templates at all when a URL contains ``"{{"``, which fsspec would try to expand.

    Parameters
    ----------
    counts
        Number of chunk references to each URL.
    """
    if any("{{" in url for url in counts):
        return {}
    chosen: dict[str, str] = {}
    for url, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        name = f"u{len(chosen)}"
        size = len(json.dumps(url))
        short = len(_template_ref(name)) + 2
        definition = len(json.dumps(name)) + 1 + size + 1
        if n * (size - short) > definition:
            chosen[url] = name
    return chosen


def _metadata_strings(store: StorePlan) -> dict[str, str]:
    docs = {k: json.dumps(v, separators=(",", ":")) for k, v in store.metadata.items()}
    # .zmetadata right after the root documents, as zarr writes it.
    out: dict[str, str] = {}
    for k, v in docs.items():
        out[k] = v
        if k == ".zattrs" and store.zarr_format == 2:
            out[".zmetadata"] = json.dumps(store.consolidated(), separators=(",", ":"))
    return out


def _b64(raw: bytes) -> str:
    return "base64:" + base64.b64encode(raw).decode("ascii")


def _array_entries_json(arr: ArrayPlan, url_tokens: dict[str, str]) -> Iterator[bytes]:
    """Yield JSON text (ASCII bytes) of one array's chunk entries in blocks, each led by ","."""
    m = arr.manifest
    prefix = json.dumps(f"{arr.path}/")[1:-1]
    pi = m.path_index.ravel()
    tokens = [url_tokens[p] for p in m.paths]
    real = np.flatnonzero(pi < len(m.paths))
    offsets = m.offsets.ravel()
    lengths = m.lengths.ravel()
    pattern = key_pattern(arr.key_encoding)
    for start in range(0, real.size, _BLOCK):
        sel = real[start : start + _BLOCK]
        yield reference_rows(
            prefix, pattern, m.grid_shape, sel, tokens, pi[sel], offsets[sel], lengths[sel]
        )
    if not m.inline and arr.fill_chunk is None:
        return
    keys = arr.keys(prefix)
    if m.inline:
        inline = "".join(f',"{keys[i]}":"{_b64(raw)}"' for i, raw in sorted(m.inline.items()))
        yield inline.encode("ascii")
    if arr.fill_chunk is not None:
        fill = _b64(arr.fill_chunk)
        missing = np.fromiter(iter_missing(arr), dtype=np.intp)
        for start in range(0, missing.size, _BLOCK):
            block = keys[missing[start : start + _BLOCK]].tolist()
            yield "".join(f',"{k}":"{fill}"' for k in block).encode("ascii")


def _array_entries_dict(arr: ArrayPlan, url_tokens: dict[str, str]) -> dict[str, Any]:
    m = arr.manifest
    keys = arr.keys()
    pi = m.path_index.ravel()
    tokens = [url_tokens[p] for p in m.paths]
    real = np.flatnonzero(pi < len(m.paths))
    out: dict[str, Any] = dict(
        zip(
            keys[real].tolist(),
            [
                [tokens[p], o, n]
                for p, o, n in zip(
                    pi[real].tolist(),
                    m.offsets.ravel()[real].tolist(),
                    m.lengths.ravel()[real].tolist(),
                    strict=True,
                )
            ],
            strict=True,
        )
    )
    for i, raw in sorted(m.inline.items()):
        out[str(keys[i])] = _b64(raw)
    if arr.fill_chunk is not None:
        fill = _b64(arr.fill_chunk)
        missing = np.fromiter(iter_missing(arr), dtype=np.intp)
        out.update(dict.fromkeys(keys[missing].tolist(), fill))
    return out


def _url_tokens(store: StorePlan, templates: dict[str, str], quoted: bool) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for arr in store.arrays:
        for url in arr.manifest.paths:
            if url not in tokens:
                raw = _template_ref(templates[url]) if url in templates else url
                tokens[url] = json.dumps(raw) if quoted else raw
    return tokens


def refs_dict(store: StorePlan, *, templates: bool = False) -> dict[str, Any]:
    """Return the kerchunk reference dict (spec version 1) of a planned store.

    Parameters
    ----------
    store
        The plan made by :func:`vzcore.store_plan.plan`.
    templates
        Replace repeated URLs by ``{{uK}}`` templates where it shrinks the output (smaller,
        slower for fsspec to open; see the module docstring). Default: URLs spelled out.
    """
    chosen = choose_templates(store.url_counts()) if templates else {}
    tokens = _url_tokens(store, chosen, quoted=False)
    refs: dict[str, Any] = dict(_metadata_strings(store))
    for arr in store.arrays:
        refs.update(_array_entries_dict(arr, tokens))
    out: dict[str, Any] = {"version": 1}
    if chosen:
        out["templates"] = {name: url for url, name in chosen.items()}
    if store.sources:
        out["vzcore"] = store.sources_json()
    out["refs"] = refs
    return out


def iter_json(store: StorePlan, *, templates: bool = False) -> Iterator[str]:
    """Yield the JSON text of the reference file in pieces.

    Parsed, the text equals :func:`refs_dict` of the same store.
    """
    for piece in iter_json_bytes(store, templates=templates):
        yield piece.decode("ascii")


def iter_json_bytes(store: StorePlan, *, templates: bool = False) -> Iterator[bytes]:
    """Yield the JSON text of the reference file in pieces, as ASCII bytes.

    What :func:`iter_json` yields, encoded: every string in it is JSON-escaped to ASCII, and
    the reference rows are built as bytes, so the file is written without a text layer.
    """
    chosen = choose_templates(store.url_counts()) if templates else {}
    tokens = _url_tokens(store, chosen, quoted=True)
    yield b'{"version":1'
    if chosen:
        yield b',"templates":' + json.dumps(
            {name: url for url, name in chosen.items()}, separators=(",", ":")
        ).encode("ascii")
    if store.sources:
        sources = json.dumps(store.sources_json(), separators=(",", ":"))
        yield b',"vzcore":' + sources.encode("ascii")
    yield b',"refs":{'
    # Metadata first: there is always at least ".zgroup", so every later piece starts with ",".
    metadata = _metadata_strings(store).items()
    yield ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in metadata).encode("ascii")
    for arr in store.arrays:
        yield from _array_entries_json(arr, tokens)
    yield b"}}"


def _check_size(store: StorePlan, max_references: int | None, what: str) -> None:
    """Refuse a reference set too large for a JSON file (see MAX_JSON_REFERENCES)."""
    if max_references is None:
        return
    if isinstance(max_references, bool) or not isinstance(max_references, int):
        raise OptionError(_OWNER, "max_references", max_references, "pass an int or None")
    n = store.nchunks
    if n > max_references:
        raise WriteError(
            f"Cannot write {what}: {n:,} chunk references exceed max_references="
            f"{max_references:,}. Every reader loads a JSON reference file whole (about 230 "
            f"bytes of memory per reference, {n * 230 / 2**20:,.0f} MiB here) before reading "
            "any data. Write Parquet references instead (format='parquet', pip install "
            "vz-parquet), which are read record by record, or an Icechunk repository "
            "(ds.virtualize.to_icechunk(...), pip install vz-icechunk); or pass "
            "max_references=None to write the JSON anyway."
        )


class KerchunkWriter(Writer):
    """Writes a virtual dataset tree as kerchunk JSON references (zarr format 2 metadata).

    Examples
    --------
    >>> refs = KerchunkWriter().write(group, None, format="dict")  # doctest: +SKIP
    >>> KerchunkWriter().write(group, "combined.json")  # doctest: +SKIP
    """

    name: ClassVar[str] = "kerchunk"
    """The writer's name, as registered (``format="json"`` and ``"dict"`` are its outputs)."""

    def write(
        self,
        group: ManifestGroup,
        target: str | os.PathLike[str] | None = None,
        *,
        format: str = "json",  # the accessor's option name; validated below
        mode: WriteMode = "w-",
        templates: bool = False,
        zarr_format: Literal[2, 3] = 2,
        missing_chunks: MissingChunks = "fill",
        record_sources: bool = True,
        max_references: int | None = MAX_JSON_REFERENCES,
        allow_float64_decoding: bool = False,
    ) -> dict[str, Any] | None:
        """Write ``group`` and its descendants as kerchunk references.

        Parameters
        ----------
        group
            Root of the tree. Virtual variables become chunk references; in-memory
            variables are written as real data, inline (see :mod:`vzcore.store_plan`).
        target
            Local path or ``file://`` URL of the JSON file; None with ``format="dict"``.
        format
            ``"json"`` writes the file; ``"dict"`` returns the references instead.
        mode
            ``"w-"`` (default) refuses to replace an existing file; ``"w"`` replaces it.
            Either way the file is replaced atomically.
        templates
            Replace repeated URLs by ``{{u0}}``-style templates where that shrinks the
            output: about half the size for one file's many chunks, but fsspec expands every
            template reference when it opens the file, so it opens slower (2x for 100,000
            chunks; see the module docstring). Default False: every URL spelled out, as
            kerchunk writes them.
        zarr_format
            2 (default): ``.zarray``/``.zattrs`` metadata, as kerchunk writes it. 3:
            ``zarr.json`` documents that zarr-python 3 opens natively as Zarr v3 (see
            :mod:`vzcore.manifests.zarr_v3`; open with ``zarr_format=3``).
        missing_chunks
            ``"fill"`` (default): when a virtual array's missing chunks would read back
            differently from the source, store an encoded fill chunk for each;
            ``"error"``: raise WriteError instead.
        record_sources
            Store each source file's size, modification time and ETag, as recorded when it
            was scanned, under the top-level key ``"vzcore"`` (``{"sources": {url: {...}}}``),
            which fsspec and kerchunk ignore; :func:`vzcore.verify` and vzcore's kerchunk
            reader use it to detect files that changed since.
        max_references
            Refuse (WriteError) to write more chunk references than this (default
            1,000,000; see :data:`MAX_JSON_REFERENCES`): every reader loads a JSON reference
            file whole. None writes any size.
        allow_float64_decoding
            True: write packed variables decoding to float64 (see :func:`vzcore.store_plan.plan`).

        Returns
        -------
        dict or None
            The reference dict for ``format="dict"``, else None.

        Raises
        ------
        vzcore.errors.OptionError
            An option of the wrong type or value.
        vzcore.errors.WriteError
            The target exists (``mode="w-"``), cannot be written, or something in the tree
            cannot be represented; an existing target is then left as it was.
        """
        if zarr_format not in (2, 3):
            raise OptionError(_OWNER, "zarr_format", zarr_format, "pass 2 or 3")
        if format == "dict":
            if target is not None:
                raise OptionError(
                    _OWNER,
                    "format",
                    format,
                    "it returns the references and writes nothing; pass target=None, or "
                    "format='json' to write a file.",
                )
            planned = plan(
                group,
                zarr_format,
                missing_chunks=missing_chunks,
                allow_float64_decoding=allow_float64_decoding,
            )
            _check_size(planned, max_references, "a reference dict")
            if not record_sources:
                planned = dataclasses.replace(planned, sources={})
            return refs_dict(planned, templates=templates)
        if format != "json":
            hint = " (the 'parquet' writer, pip install vz-parquet)" if format == "parquet" else ""
            raise OptionError(_OWNER, "format", format, f"pass 'json' or 'dict'{hint}")
        if target is None:
            raise ValueError("format='json' needs a target path; use format='dict' for a dict")
        if mode not in ("w", "w-"):
            raise OptionError(_OWNER, "mode", mode, "pass 'w-' (fail if it exists) or 'w'")
        # Plan first: a tree that cannot be written fails before any file is touched.
        store = plan(
            group,
            zarr_format,
            missing_chunks=missing_chunks,
            allow_float64_decoding=allow_float64_decoding,
        )
        _check_size(store, max_references, f"JSON references {os.fspath(target)!r}")
        if not record_sources:
            store = dataclasses.replace(store, sources={})
        with atomic_binary_file(target, mode) as f:
            for piece in iter_json_bytes(store, templates=templates):
                f.write(piece)
        return None
