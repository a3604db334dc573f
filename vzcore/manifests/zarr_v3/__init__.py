"""Zarr format 3 metadata documents (``zarr.json``) for virtual arrays and groups.

This is the output data model that every Zarr v3 writer shares (kerchunk references with
v3 metadata, Icechunk): plain JSON dicts, built without importing zarr, that zarr-python 3
reads natively (no v2 to v3 translation, no extra codec registration).

Conventions
-----------
* **Codecs.** :func:`v3_codecs` turns ``ArrayMetadata.codecs`` (numcodecs configurations in
  encoding order) into a v3 pipeline: array-to-array filters, then one array-to-bytes codec
  (``bytes`` with the dtype's byte order, ``vlen-utf8`` / ``vlen-bytes`` for
  variable-length strings, or a numcodecs serializer such as ``pcodec``), then the
  bytes-to-bytes codecs. Codecs of the v3 specification are used where one decodes the
  same bytes (``gzip``, ``zstd``, ``blosc``, ``crc32c``); every other numcodecs codec keeps
  its configuration under the name ``numcodecs.<id>``, which zarr-python 3 registers
  itself. Note that v3 ``gzip`` is the gzip container: numcodecs ``zlib`` (HDF5 deflate)
  is ``numcodecs.zlib``, not ``gzip``. Codecs without a zarr v3 codec (``imagecodecs_*``,
  ``categorize``, ``vlen-array``, ``json2``, ...) raise :class:`~vzcore.errors.WriteError`.
* **Data types.** Numbers and ``bool`` by name (``int16``, ``float32``, ...), the byte
  order going to the ``bytes`` codec. zarr-python's extension types cover the rest:
  ``numpy.datetime64`` / ``numpy.timedelta64``, ``null_terminated_bytes`` (numpy ``S``),
  ``raw_bytes`` (``V``), ``fixed_length_utf32`` (``U``), ``string`` (object arrays through
  ``vlen-utf8``), ``variable_length_bytes`` (``vlen-bytes``) and ``struct`` (compound
  types whose fields are packed, in offset order, of one byte order).
* **Fill value.** Zarr v3 requires one, and xarray does *not* treat a format 3 array's
  ``fill_value`` as ``_FillValue``. So ``fill_value`` is what missing chunks read as
  (``ArrayMetadata.fill_value``, the source's own fill value, else zero / ``""``), encoded
  as the v3 specification says (``"NaN"``, ``"Infinity"``, ``[re, im]``, base64 bytes,
  ...). The CF ``_FillValue`` attribute stays in ``attributes`` for xarray's CF decoding,
  in the form xarray's zarr backend expects for format 3 (floats as base64 of a
  little-endian float64, ...; see :func:`encode_fill_value_attribute`).
* **Chunk keys.** The ``default`` chunk key encoding with separator ``"/"`` (``c/0/1``;
  a scalar's only chunk is ``c``), which is the specification's default and what
  zarr-python and Icechunk write. ``chunk_key_encoding="v2"`` gives ``0.1`` keys (``0``
  for a scalar) for outputs whose readers parse v2-style keys (fsspec's Parquet
  ``LazyReferenceMapper`` does).

Reading back
------------
:func:`array_metadata_from_v3` (with :func:`numpy_dtype_from_v3`, :func:`codecs_from_v3`,
:func:`decode_fill_value_v3`, :func:`decode_fill_value_attribute` and
:func:`chunk_key_encoding_from_v3`) inverts these conventions for readers of ``zarr.json``
documents, so that ``array_metadata_v3(*array_metadata_from_v3(doc))`` is ``doc`` again,
and also reads what zarr-python 3 writes. A ``fill_value`` equal to the dtype's zero (or
``""``) becomes ``ArrayMetadata.fill_value = None``, which means the same thing.
"""

from vzcore.manifests.zarr_v3.codecs import codecs_from_v3, v3_codecs
from vzcore.manifests.zarr_v3.data_types import numpy_dtype_from_v3, v3_data_type
from vzcore.manifests.zarr_v3.documents import (
    ChunkKeyEncoding,
    array_metadata_from_v3,
    array_metadata_v3,
    chunk_key,
    chunk_key_encoding_from_v3,
    group_attributes_from_v3,
    group_metadata_v3,
)
from vzcore.manifests.zarr_v3.fill_values import (
    decode_fill_value_attribute,
    decode_fill_value_v3,
    encode_fill_value_attribute,
    encode_fill_value_v3,
    storage_fill_value,
)

__all__ = [
    "ChunkKeyEncoding",
    "array_metadata_from_v3",
    "array_metadata_v3",
    "chunk_key",
    "chunk_key_encoding_from_v3",
    "codecs_from_v3",
    "decode_fill_value_attribute",
    "decode_fill_value_v3",
    "encode_fill_value_attribute",
    "encode_fill_value_v3",
    "group_attributes_from_v3",
    "group_metadata_v3",
    "numpy_dtype_from_v3",
    "storage_fill_value",
    "v3_codecs",
    "v3_data_type",
]
