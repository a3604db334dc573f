"""Plan kerchunk references whose metadata is Zarr format 3 (``zarr.json`` documents).

:func:`vz_kerchunk.refs.build_store_refs` calls :func:`build_store_refs_v3` for
``zarr_format=3``; the result is the same :class:`~vz_kerchunk.refs.StoreRefs` plan, so the
JSON (and Parquet) writers serialise it unchanged. zarr-python 3 then opens the references
natively as Zarr v3: no v2 to v3 metadata translation, no ``.zarray``.

Conventions (the documents come from :mod:`vzcore.manifests.zarr_v3`):

* **Documents.** ``zarr.json`` per group and array, parents first. The root's ``zarr.json``
  carries zarr-python's inline ``consolidated_metadata`` (every node below it, by path),
  so ``xr.open_zarr(..., consolidated=True)`` and ``zarr.open_group(use_consolidated=True)``
  read one document. Array attributes hold the CF attributes (``_FillValue`` in the form
  xarray reads for format 3); dimension names are the ``dimension_names`` field.
* **Fill value.** ``fill_value`` is the source's own fill value (what missing chunks read as
  in the source), so missing chunks are simply left out: zarr returns ``fill_value`` for
  them, and xarray does not mask a format 3 ``fill_value``. No fill chunks are ever stored.
* **Keys.** ``<path>/zarr.json``; chunks ``<path>/c/i/j`` (the ``default`` chunk key
  encoding), a scalar's only chunk ``<path>/c``. ``build_store_refs_v3(...,
  chunk_key_encoding="v2")`` writes ``<path>/i.j`` keys instead (``<path>/0`` for a scalar),
  for containers whose readers parse v2-style keys (fsspec's Parquet ``LazyReferenceMapper``).
* **In-memory variables** become one inline chunk holding the whole array, raw bytes in
  the array's byte order (``bytes`` codec), strings through ``vlen-utf8`` / ``vlen-bytes``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from vzcore.errors import WriteError
from vzcore.manifests import ManifestArray
from vzcore.manifests.zarr_compat import check_array_document
from vzcore.manifests.zarr_v3 import ChunkKeyEncoding, array_metadata_v3, group_metadata_v3

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from vzcore.group import ManifestGroup, Variable

    from vz_kerchunk.refs import ArrayRefs, StoreRefs

__all__ = ["build_store_refs_v3", "chunk_key_table_v3"]

def chunk_key_table_v3(
    grid_shape: tuple[int, ...], prefix: str = "", encoding: ChunkKeyEncoding = "default"
) -> NDArray[Any]:
    """Return the zarr v3 keys of every chunk, flat in C order.

    Examples
    --------
    >>> chunk_key_table_v3((2, 2), "t/").tolist()
    ['t/c/0/0', 't/c/0/1', 't/c/1/0', 't/c/1/1']
    >>> chunk_key_table_v3((), "s/").tolist()
    ['s/c']
    >>> chunk_key_table_v3((1, 2), "t/", "v2").tolist()
    ['t/0.0', 't/0.1']
    """
    from numpy.dtypes import StringDType

    from vz_kerchunk.refs import chunk_key_table

    if encoding == "v2":
        return chunk_key_table(grid_shape, prefix, sep=".")
    if not grid_shape:
        return np.array([f"{prefix}c"], dtype=StringDType())
    return chunk_key_table(grid_shape, f"{prefix}c/", sep="/")


def _array_refs_v3(path: str, var: Variable, encoding: ChunkKeyEncoding) -> ArrayRefs:
    from vz_kerchunk.refs import ArrayRefs, _in_memory

    data = var.data
    if isinstance(data, ManifestArray):
        meta, manifest = data.metadata, data.manifest
    elif isinstance(data, np.ndarray):
        meta, manifest = _in_memory(path, data)
    else:
        raise WriteError(
            f"Cannot write variable {path!r}: its data is a {type(data).__name__}, neither a "
            "ManifestArray nor a numpy array; load it or make it virtual first."
        )
    doc = array_metadata_v3(meta, var.attrs, var.dims, name=path, chunk_key_encoding=encoding)
    check_array_document(doc, 3, path)
    return ArrayRefs(path=path, zarray={}, zattrs={}, manifest=manifest, zarr_json=doc)


def _walk_v3(
    group: ManifestGroup,
    prefix: str,
    out: StoreRefs,
    docs: dict[str, Any],
    encoding: ChunkKeyEncoding,
) -> None:
    from vz_kerchunk.refs import _check_name

    where = f"group {prefix!r}" if prefix else "the root group"
    try:
        group.dims  # noqa: B018  # validates that dimension lengths agree
    except ValueError as err:
        raise WriteError(f"Cannot write {where}: {err}; fix the dataset first.") from err
    base = f"{prefix}/" if prefix else ""
    out.metadata[f"{base}zarr.json"] = group_metadata_v3(group.attrs)
    if prefix:
        # zarr-python's consolidated form of a child group (its members are listed flat at
        # the root).
        docs[prefix] = group_metadata_v3(group.attrs, consolidated={})
    for name, var in group.variables.items():
        _check_name(name, "variable")
        if name == "zarr.json" or name in group.groups:
            raise WriteError(
                f"Cannot write {where}: {name!r} is "
                + ("a reserved zarr v3 name" if name == "zarr.json" else "both a variable and "
                   "a child group")
                + "; rename it."
            )
        arr = _array_refs_v3(f"{base}{name}", var, encoding)
        assert arr.zarr_json is not None
        out.metadata[f"{arr.path}/zarr.json"] = arr.zarr_json
        docs[arr.path] = arr.zarr_json
        out.arrays.append(arr)
    for name, child in group.groups.items():
        _check_name(name, "group")
        _walk_v3(child, f"{base}{name}", out, docs, encoding)


def build_store_refs_v3(
    group: ManifestGroup, *, chunk_key_encoding: ChunkKeyEncoding = "default"
) -> StoreRefs:
    """Plan the zarr format 3 reference store of a ManifestGroup tree.

    Parameters
    ----------
    group
        The root of the tree to write.
    chunk_key_encoding
        ``"default"`` (``c/i/j`` keys) or ``"v2"`` (``i.j`` keys).

    Returns
    -------
    StoreRefs
        ``zarr.json`` documents (the root's with consolidated metadata) and per-array
        chunk references; ``zarr_format`` is 3.

    Raises
    ------
    vzcore.errors.WriteError
        A name, attribute, codec, dtype or fill value has no zarr v3 form (the message
        says which).
    """
    from vz_kerchunk.refs import StoreRefs

    out = StoreRefs(zarr_format=3)
    docs: dict[str, Any] = {}
    _walk_v3(group, "", out, docs, chunk_key_encoding)
    out.metadata["zarr.json"] = group_metadata_v3(group.attrs, consolidated=docs)
    return out
