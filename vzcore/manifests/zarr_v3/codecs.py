"""Zarr v3 codecs: numcodecs configurations to v3 ``codecs`` lists and back.

:func:`v3_codecs` turns ``ArrayMetadata.codecs`` (encoding order) into a v3 pipeline of
array-to-array filters, one array-to-bytes codec and bytes-to-bytes codecs, using the
specification's codecs where they decode the same bytes and ``numcodecs.<id>`` otherwise;
:func:`codecs_from_v3` is its inverse and also returns the ``bytes`` codec's byte order.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from vzcore.errors import WriteError
from vzcore.manifests.codec_kinds import ARRAY_FILTERS, WITHOUT_V3_CODEC
from vzcore.manifests.zarr_v3._common import _config, _named, _where
from vzcore.manifests.zarr_v3.data_types import _ENDIAN_CHARS, _byte_order

if TYPE_CHECKING:
    from vzcore.manifests.metadata import ArrayMetadata, CodecConfig

__all__ = ["ARRAY_FILTERS", "BYTES_CODECS", "SERIALIZERS", "codecs_from_v3", "v3_codecs"]

SERIALIZERS = frozenset({"vlen-utf8", "vlen-bytes", "pcodec", "zfpy"})
"""numcodecs ids that take the place of the v3 ``bytes`` codec (array to bytes)."""


BYTES_CODECS = frozenset(
    {
        "zlib",
        "gzip",
        "bz2",
        "lzma",
        "lz4",
        "zstd",
        "blosc",
        "shuffle",
        "fletcher32",
        "crc32",
        "crc32c",
        "adler32",
        "jenkins_lookup3",
    }
)
"""numcodecs bytes-to-bytes codecs that zarr-python 3 decodes (built in or ``numcodecs.<id>``)."""

_BLOSC_SHUFFLE = {0: "noshuffle", 1: "shuffle", 2: "bitshuffle"}
_SHUFFLE_IDS = {name: code for code, name in _BLOSC_SHUFFLE.items()}


def _bytes_codec(meta: ArrayMetadata, name: str | None) -> dict[str, Any]:
    try:
        order = _byte_order(meta.dtype)
    except ValueError as err:
        raise WriteError(
            f"Cannot write {_where(name)} as zarr v3: compound dtype {meta.dtype} {err}, and "
            "the v3 bytes codec has one byte order; use zarr_format=2 or load the variable."
        ) from None
    if order is None:
        return {"name": "bytes"}
    return _named("bytes", {"endian": order})


def _bytes_to_bytes(config: Mapping[str, Any], meta: ArrayMetadata) -> dict[str, Any]:
    cid = config["id"]
    params = {k: v for k, v in config.items() if k != "id"}
    if cid == "gzip":
        return _named("gzip", {"level": int(params.get("level", 5))})
    if cid == "zstd":
        return _named(
            "zstd", {"level": int(params.get("level", 0)), "checksum": bool(params.get("checksum"))}
        )
    if cid == "crc32c" and not params:
        return _named("crc32c", {})
    if cid == "blosc":
        shuffle = int(params.get("shuffle", 1))
        if shuffle == -1:  # numcodecs AUTOSHUFFLE: bit shuffle for 1-byte items
            shuffle = 2 if meta.dtype.itemsize == 1 else 1
        return _named(
            "blosc",
            {
                "cname": params.get("cname", "lz4"),
                "clevel": int(params.get("clevel", 5)),
                "shuffle": _BLOSC_SHUFFLE.get(shuffle, "shuffle"),
                "typesize": max(1, int(meta.dtype.itemsize)) if meta.dtype.kind != "O" else 1,
                "blocksize": int(params.get("blocksize", 0)),
            },
        )
    return _named(f"numcodecs.{cid}", params)


@functools.cache
def _registered_kind(cid: str) -> str | None:
    """Return the kind of the zarr-python 3 codec registered as ``numcodecs.<cid>``.

    Plugins (vz-hdf5, vz-tiff) declare zarr v3 wrappers of their numcodecs codecs under
    the ``zarr.codecs`` entry-point group; None when no installed distribution does.
    """
    from importlib.metadata import entry_points

    found = entry_points(group="zarr.codecs", name=f"numcodecs.{cid}")
    if not found:
        return None
    try:
        cls = next(iter(found)).load()
        from zarr.abc.codec import ArrayArrayCodec, ArrayBytesCodec, BytesBytesCodec
    except Exception:  # noqa: BLE001  # a broken plugin counts as absent: the caller reports the codec
        return None
    for base, kind in (
        (BytesBytesCodec, "bytes-bytes"),
        (ArrayArrayCodec, "array-array"),
        (ArrayBytesCodec, "array-bytes"),
    ):
        if isinstance(cls, type) and issubclass(cls, base):
            return kind
    return None


def v3_codecs(meta: ArrayMetadata, *, name: str | None = None) -> list[dict[str, Any]]:
    """Return the zarr v3 ``codecs`` list that decodes chunks stored as ``meta`` says.

    Parameters
    ----------
    meta
        The array's metadata: ``codecs`` in encoding order and the dtype as stored.
    name
        The variable, for error messages.

    Raises
    ------
    vzcore.errors.WriteError
        For a codec with no zarr v3 equivalent, a pipeline v3 cannot express (an array
        filter after a bytes codec), or a compound dtype mixing byte orders.

    Examples
    --------
    >>> from vzcore.manifests import ArrayMetadata
    >>> meta = ArrayMetadata((4,), ">i4", (2,), codecs=({"id": "shuffle", "elementsize": 4},
    ...                                                   {"id": "zlib", "level": 4}))
    >>> [c["name"] for c in v3_codecs(meta)]
    ['bytes', 'numcodecs.shuffle', 'numcodecs.zlib']
    """
    filters: list[dict[str, Any]] = []
    serializer: dict[str, Any] | None = None
    compressors: list[dict[str, Any]] = []
    for config in meta.codecs:
        cid = str(config.get("id"))
        params = {k: v for k, v in config.items() if k != "id"}
        if cid in ARRAY_FILTERS and cid not in WITHOUT_V3_CODEC:
            if serializer is not None or compressors:
                raise WriteError(
                    f"Cannot write {_where(name)} as zarr v3: array filter {cid!r} comes after "
                    f"a bytes codec in {[c.get('id') for c in meta.codecs]}, which zarr v3 "
                    "pipelines cannot express; use zarr_format=2."
                )
            filters.append(_named(f"numcodecs.{cid}", params))
        elif cid in SERIALIZERS:
            if serializer is not None or compressors:
                raise WriteError(
                    f"Cannot write {_where(name)} as zarr v3: codec {cid!r} turns an array into "
                    "bytes but is not the first such codec in "
                    f"{[c.get('id') for c in meta.codecs]}; use zarr_format=2."
                )
            if cid in ("vlen-utf8", "vlen-bytes") and meta.dtype.kind != "O":
                raise WriteError(
                    f"Cannot write {_where(name)} as zarr v3: codec {cid!r} needs an object "
                    f"dtype, not {meta.dtype}."
                )
            serializer = (
                _named(cid, {})
                if cid in ("vlen-utf8", "vlen-bytes")
                else _named(f"numcodecs.{cid}", params)
            )
        elif cid in BYTES_CODECS:
            if serializer is None:
                serializer = _bytes_codec(meta, name)
            compressors.append(_bytes_to_bytes(config, meta))
        elif (kind := _registered_kind(cid)) is not None:
            if kind == "bytes-bytes":
                if serializer is None:
                    serializer = _bytes_codec(meta, name)
                compressors.append(_named(f"numcodecs.{cid}", params))
            elif kind == "array-array" and serializer is None and not compressors:
                filters.append(_named(f"numcodecs.{cid}", params))
            else:
                raise WriteError(
                    f"Cannot write {_where(name)} as zarr v3: codec {cid!r} ({kind}) cannot "
                    f"take its place in {[c.get('id') for c in meta.codecs]}; use zarr_format=2."
                )
        else:
            hint = (
                "it comes from imagecodecs, whose codecs zarr-python 3 does not load by itself"
                if cid.startswith("imagecodecs_")
                else "zarr-python 3 has no codec for it"
            )
            raise WriteError(
                f"Cannot write {_where(name)} as zarr v3: codec {cid!r} has no zarr v3 "
                f"equivalent ({hint}); write zarr_format=2 references (readers register the "
                "numcodecs codec), or load the variable."
            )
    if serializer is None:
        if meta.dtype.kind == "O":
            raise WriteError(
                f"Cannot write {_where(name)} as zarr v3: an object array needs a vlen-utf8 or "
                f"vlen-bytes codec, and its codecs are {list(meta.codecs)}."
            )
        serializer = _bytes_codec(meta, name)
    return [*filters, serializer, *compressors]


# -- the inverse: v3 codecs back into numcodecs configurations ----------------------------


def codecs_from_v3(
    codecs: Any, *, data_type: Any = None
) -> tuple[tuple[CodecConfig, ...], str | None]:
    """Return the numcodecs pipeline (encoding order) and byte order of a v3 ``codecs`` list.

    The inverse of :func:`v3_codecs`: ``bytes`` gives the byte order (``"little"``,
    ``"big"``, or None when it has no ``endian``) and no codec; ``numcodecs.<id>`` gives
    ``{"id": <id>, **configuration}``; the specification's ``gzip``, ``zstd``, ``blosc`` and
    ``crc32c`` give numcodecs' ``gzip``, ``zstd`` (``checksum`` only when true), ``blosc``
    (``shuffle`` as a number, ``typesize`` dropped: numcodecs takes it from the data) and
    ``crc32c``; ``vlen-utf8``/``vlen-bytes`` stay themselves; a ``transpose`` that keeps
    the axis order is dropped.

    Parameters
    ----------
    codecs
        The document's ``codecs`` field.
    data_type
        The document's ``data_type``, to check that object types have their codec.

    Raises
    ------
    ValueError, TypeError
        A malformed list (no array-to-bytes codec, codecs in an impossible order, ...).
    NotImplementedError
        A codec the manifests cannot hold (sharding, a real transpose, unknown names).

    Examples
    --------
    >>> codecs_from_v3([{"name": "bytes", "configuration": {"endian": "big"}},
    ...                 {"name": "numcodecs.zlib", "configuration": {"level": 4}}])
    (({'id': 'zlib', 'level': 4},), 'big')
    """
    if not isinstance(codecs, list) or not codecs:
        raise ValueError(f"'codecs' must be a non-empty list, got {codecs!r}")
    out: list[CodecConfig] = []
    endian: str | None = None
    stage = 0  # 0: array -> array, 1: array -> bytes seen, then bytes -> bytes
    serializer: str | None = None
    for item in codecs:
        name, conf = _config(item, "codec")
        conf.pop("id", None)
        if name.startswith("numcodecs."):
            cid = name[len("numcodecs.") :]
            if not cid:
                raise ValueError(f"codec name {name!r} names no numcodecs codec")
            kind = 0 if cid in ARRAY_FILTERS else 1 if cid in SERIALIZERS else 2
            config: CodecConfig | None = {"id": cid, **conf}
        elif name == "bytes":
            kind, config = 1, None
            endian = conf.get("endian")
            if endian is not None and endian not in _ENDIAN_CHARS:
                raise ValueError(f"the 'bytes' codec has endian {endian!r}")
        elif name in ("vlen-utf8", "vlen-bytes"):
            kind, config = 1, {"id": name}
        elif name == "transpose":
            order = conf.get("order")
            if not isinstance(order, list) or not all(type(i) is int for i in order):
                raise ValueError(f"the 'transpose' codec needs an 'order' list, got {order!r}")
            if order != list(range(len(order))):
                raise NotImplementedError(
                    f"codec 'transpose' with order {order}",
                    "chunks stored in another axis order cannot be referenced as they are",
                )
            kind, config = 0, None
        elif name == "gzip":
            kind, config = 2, {"id": "gzip", "level": int(conf.get("level", 5))}
        elif name == "zstd":
            kind, config = 2, {"id": "zstd", "level": int(conf.get("level", 0))}
            if conf.get("checksum"):
                config["checksum"] = True
        elif name == "crc32c":
            kind, config = 2, {"id": "crc32c"}
        elif name == "blosc":
            shuffle = conf.get("shuffle", "noshuffle")
            if shuffle not in _SHUFFLE_IDS:
                raise ValueError(f"the 'blosc' codec has shuffle {shuffle!r}")
            kind, config = (
                2,
                {
                    "id": "blosc",
                    "cname": conf.get("cname", "lz4"),
                    "clevel": int(conf.get("clevel", 5)),
                    "shuffle": _SHUFFLE_IDS[shuffle],
                    "blocksize": int(conf.get("blocksize", 0)),
                },
            )
        elif name == "sharding_indexed":
            raise NotImplementedError(
                "codec 'sharding_indexed' (sharded chunks)",
                "reference the inner chunks of each shard instead",
            )
        else:
            raise NotImplementedError(
                f"codec {name!r}",
                "it is neither a zarr v3 core codec nor a 'numcodecs.<id>' codec",
            )
        if kind < stage or (kind == 1 and stage == 1 and serializer is not None):
            raise ValueError(
                f"codec {name!r} comes after "
                + ("an array-to-bytes codec" if stage == 1 else "bytes-to-bytes codecs")
                + "; zarr v3 pipelines are array-to-array, one array-to-bytes, bytes-to-bytes"
            )
        if kind == 1:
            serializer = name
        if kind == 2 and serializer is None:
            raise ValueError(f"codec {name!r} comes before any array-to-bytes codec ('bytes')")
        stage = max(stage, kind)
        if config is not None:
            out.append(config)
    if serializer is None:
        raise ValueError("'codecs' has no array-to-bytes codec ('bytes', 'vlen-utf8', ...)")
    if data_type is not None:
        want = {
            "string": "vlen-utf8",
            "variable_length_bytes": "vlen-bytes",
            "bytes": "vlen-bytes",
        }.get(data_type if isinstance(data_type, str) else "")
        if want is not None and serializer != want:
            raise ValueError(
                f"data type {data_type!r} needs the {want!r} codec, not {serializer!r}"
            )
        if want is None and serializer in ("vlen-utf8", "vlen-bytes"):
            raise ValueError(f"codec {serializer!r} on data type {data_type!r}")
    return tuple(out), endian
