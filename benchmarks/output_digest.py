"""One digest per file of everything ``vzcore.open_virtual_dataset`` returns, to compare trees.

Speed work must not change outputs. Run this with one source tree, then with another, on
the same list of files, and compare the two JSON files: every digest must be equal.

```
python benchmarks/output_digest.py FILE_LIST OUT.json [--compare OTHER.json]
```

``FILE_LIST`` holds one path per line. Each file is opened with ``open_virtual_dataset``'s
defaults and digested (SHA-1 of a canonical JSON form) over: the dataset's attributes,
encoding, coordinate names and indexes (type and recorded source); per variable its type,
dims, attributes, encoding (with the stored values remembered for writers), and either its
manifest (paths, offsets, lengths, inline bytes) and array metadata (shape, dtype, chunks,
fill value, codecs, dimension names, CF encoding) or, for a loaded variable, its dtype and
values. A file that is refused gives the digest of its error's type and message. Paths of
the source tree that is running (its ``vzcore`` and plugin packages) are replaced by
placeholders in messages, so trees at different places compare equal. Warnings are
ignored (they are not part of the digest).

``--compare`` prints how many digests match the other run's and lists the files that
differ; the exit status is 1 when any differs or a file is in one run only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import vzcore
from vzcore.manifests import ManifestArray


def _tree_roots() -> list[tuple[str, str]]:
    """Return ``(path, placeholder)`` pairs of the running tree's package directories.

    The package directories themselves (``.../vzcore``, ``.../vz_hdf5``), not the
    repository: the files being digested may sit inside the repository too.
    """
    import importlib
    import pkgutil

    roots = [(str(Path(vzcore.__file__).resolve().parent), "<vzcore>")]
    for info in pkgutil.iter_modules():
        if info.name.startswith("vz_"):
            module = importlib.import_module(info.name)
            where = getattr(module, "__file__", None)
            if where:
                roots.append((str(Path(where).resolve().parent), f"<{info.name}>"))
    return roots


def _strip(text: str, roots: list[tuple[str, str]]) -> str:
    for path, placeholder in roots:
        text = text.replace(path, placeholder)
    return text


def _canon(value: Any) -> Any:
    """Return ``value`` in a JSON form that keeps its types and exact values."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            payload = repr(value.tolist()).encode()
        else:
            payload = np.ascontiguousarray(value).tobytes()
        return ["nd", value.dtype.str, list(value.shape), hashlib.sha1(payload).hexdigest()]
    if isinstance(value, np.generic):
        return ["np", type(value).__name__, repr(value)]
    if isinstance(value, dict):
        return {str(k): _canon(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canon(v) for v in value]
    if isinstance(value, str | int | float | bool | bytes) or value is None:
        return [type(value).__name__, repr(value)]
    if isinstance(value, np.dtype):
        return ["dtype", value.str]
    return [type(value).__name__, repr(value)[:2000]]


def describe(path: str, roots: list[tuple[str, str]]) -> dict[str, Any]:
    """Return the canonical description of ``open_virtual_dataset(path)`` (or its error)."""
    try:
        ds = vzcore.open_virtual_dataset(path)
    except Exception as err:  # noqa: BLE001  # the error is part of the output
        return {"error": [type(err).__name__, _strip(str(err), roots)]}
    out: dict[str, Any] = {
        "attrs": _canon(dict(ds.attrs)),
        "coords": sorted(map(str, ds.coords)),
        "indexes": {
            str(k): [type(i).__name__, getattr(i, "source", None)] for k, i in ds.xindexes.items()
        },
        "encoding": _canon(dict(ds.encoding)),
        "vars": {},
    }
    for name, var in ds.variables.items():
        encoding = dict(var.encoding)
        piece = encoding.pop("_vz_stored_values", None)
        stored = None
        if piece is not None:
            stored = _canon(
                {"name": piece.name, "key": piece.key, "raw": piece.raw, "decoded": piece.decoded}
            )
        entry: dict[str, Any] = {
            "type": type(var).__name__,
            "dims": list(var.dims),
            "attrs": _canon(dict(var.attrs)),
            "encoding": _canon(encoding),
            "stored": stored,
        }
        data = var.data
        if isinstance(data, ManifestArray):
            meta, manifest = data.metadata, data.manifest
            entry["metadata"] = _canon(
                {
                    "shape": meta.shape,
                    "dtype": meta.dtype,
                    "chunks": meta.chunk_shape,
                    "fill": meta.fill_value,
                    "codecs": meta.codecs,
                    "dims": meta.dimension_names,
                    "extra": meta.extra,
                    "edges": meta.chunk_edges,
                    "encoding": repr(meta.encoding),
                }
            )
            entry["manifest"] = _canon(
                {
                    "paths": list(manifest.paths),
                    "path_index": manifest.path_index,
                    "offsets": manifest.offsets,
                    "lengths": manifest.lengths,
                    "inline": {
                        str(k): hashlib.sha1(v).hexdigest() for k, v in manifest.inline.items()
                    },
                }
            )
        else:
            entry["values"] = _canon(np.asarray(var.values))
            entry["dtype"] = var.dtype.str
        out["vars"][str(name)] = entry
    return out


def digest(path: str, roots: list[tuple[str, str]]) -> tuple[str, bool]:
    """Return the SHA-1 of :func:`describe`'s canonical JSON, and whether the file was refused."""
    described = describe(path, roots)
    text = json.dumps(described, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest(), "error" in described


def compare(mine: dict[str, str], other: dict[str, str]) -> int:
    """Print how many digests agree; return 1 when any differs or is missing, else 0."""
    differ = sorted(p for p in mine.keys() & other.keys() if mine[p] != other[p])
    alone = sorted(mine.keys() ^ other.keys())
    print(f"{len(mine.keys() & other.keys()) - len(differ)} equal, {len(differ)} differ")
    for p in differ:
        print(f"  differs: {p}")
    for p in alone:
        print(f"  in one run only: {p}")
    return 1 if differ or alone else 0


def main(argv: list[str] | None = None) -> int:
    """Digest every file of the list, write the JSON and optionally compare."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file_list", help="a text file with one path per line")
    parser.add_argument("out", help="where to write {path: digest} as JSON")
    parser.add_argument("--compare", help="another run's JSON to compare with")
    args = parser.parse_args(argv)
    print(f"vzcore from {vzcore.__file__}", file=sys.stderr)
    warnings.simplefilter("ignore")
    roots = _tree_roots()
    paths = [line.strip() for line in Path(args.file_list).read_text().splitlines()]
    result: dict[str, str] = {}
    refused = 0
    for path in filter(None, paths):
        result[path], failed = digest(path, roots)
        refused += failed
    Path(args.out).write_text(json.dumps(result, indent=0, sort_keys=True))
    print(f"{len(result)} files digested: {len(result) - refused} opened, {refused} refused")
    if args.compare:
        return compare(result, json.loads(Path(args.compare).read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
