"""Translation of HDF5 filter pipelines into numcodecs codec configurations.

HDF5 applies a dataset's filters to each chunk in pipeline order when writing, which is
the *encoding* order that :class:`vzcore.ArrayMetadata` expects. Each filter is mapped to
a codec that zarr can decode byte for byte; a filter without such a codec raises
:class:`~vzcore.errors.UnsupportedFeatureError` naming the filter id and name.

Codec ids starting with ``imagecodecs_`` come from the ``imagecodecs`` package, whose
codecs must be registered with numcodecs (``imagecodecs.numcodecs.register_codecs()``)
in every process that decodes them; this module registers the ones it emits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vzcore.errors import UnsupportedFeatureError

if TYPE_CHECKING:
    import numpy as np
    from vzcore.manifests import CodecConfig

__all__ = ["FILTER_NAMES", "codecs_for_pipeline", "hdf5_plugin_source"]

FILTER_NAMES: dict[int, str] = {
    1: "deflate",
    2: "shuffle",
    3: "fletcher32",
    4: "szip",
    5: "nbit",
    6: "scaleoffset",
    257: "hzip",
    258: "fpzip",
    305: "LZO",
    307: "bzip2",
    32000: "LZF",
    32001: "blosc",
    32002: "MAFISC",
    32003: "snappy",
    32004: "lz4",
    32005: "APAX",
    32006: "CBF",
    32007: "JPEG-XR",
    32008: "bitshuffle",
    32009: "SPDP",
    32010: "LPC-Rice",
    32011: "CCSDS-123",
    32012: "JPEG-LS",
    32013: "zfp",
    32014: "fpzip",
    32015: "zstd",
    32016: "B3D",
    32017: "SZ",
    32018: "FCIDECOMP",
    32019: "JPEG",
    32020: "VBZ",
    32021: "FAPEC",
    32022: "BitGroom",
    32023: "GBR",
    32024: "SZ3",
    32025: "Delta-Rice",
    32026: "blosc2",
    32027: "FLAC",
    32028: "sperr",
}
"""Names of the predefined and registered HDF5 filters, for messages."""

_BLOSC_CNAMES = {0: "blosclz", 1: "lz4", 2: "lz4hc", 3: "snappy", 4: "zlib", 5: "zstd"}


def _register_imagecodecs(codec_name: str) -> None:
    """Register one imagecodecs codec class with numcodecs (idempotent)."""
    import imagecodecs.numcodecs as icn

    icn.register_codec(getattr(icn, codec_name))  # type: ignore[attr-defined]  # not in __all__


def _need_imagecodecs(url: str, variable: str, feature: str) -> None:
    try:
        import imagecodecs  # noqa: F401  # availability check only
    except ImportError as err:
        raise UnsupportedFeatureError(
            url,
            variable,
            feature,
            "its decoder comes from imagecodecs: pip install 'vz-hdf5[codecs]'",
        ) from err


def _chunk_bytes(cd: tuple[int, ...], index: int, dtype: np.dtype[Any], chunk_elements: int) -> int:
    """Return the decoded chunk size a filter recorded in ``cd[index]``, else the chunk size."""
    if len(cd) > index and cd[index] > 0:
        return int(cd[index])
    return int(chunk_elements * dtype.itemsize)


_SO_TYPES = {0: "dscale", 2: "int"}


def scaleoffset_config(cd: tuple[int, ...], url: str, variable: str, feature: str) -> CodecConfig:
    """Return the ``vz_hdf5_scaleoffset`` configuration for a scale-offset filter's ``cd``.

    ``cd`` after HDF5's set-local step: scale type, scale factor, elements per chunk, class
    (0 integer, 1 float), size, sign, byte order (0 little, 1 big), fill value defined,
    then the fill value's bytes (native little-endian order, 4 per value).
    """
    if len(cd) < 8:
        raise UnsupportedFeatureError(
            url, variable, feature, f"unexpected scale-offset parameters {list(cd)}"
        )
    scale_type, factor, count, cls, size, sign, order, filavail = (int(c) for c in cd[:8])
    if factor >= 2**31:  # stored as unsigned; HDF5 reads it back as a C int
        factor -= 2**32
    kind = "f" if cls == 1 else ("i" if sign else "u")
    if cls not in (0, 1) or size not in (1, 2, 4, 8) or (cls == 1 and size not in (4, 8)):
        raise UnsupportedFeatureError(
            url, variable, feature, f"scale-offset on an element type of class {cls}, size {size}"
        )
    if scale_type not in _SO_TYPES or (scale_type == 0) != (cls == 1):
        raise UnsupportedFeatureError(
            url,
            variable,
            feature,
            f"scale type {scale_type} (HDF5 itself decodes only D-scaling of floats and "
            "integer scaling)",
        )
    fill = None
    if filavail == 1:
        raw = b"".join(int(c).to_bytes(4, "little") for c in cd[8:])
        if len(raw) < size:
            raise UnsupportedFeatureError(
                url, variable, feature, f"unexpected scale-offset parameters {list(cd)}"
            )
        fill = raw[:size].hex()
    return {
        "id": "vz_hdf5_scaleoffset",
        "dtype": ("<" if order == 0 else ">") + kind + str(size) if size > 1 else "|" + kind + "1",
        "count": count,
        "scale_type": _SO_TYPES[scale_type],
        "scale_factor": factor if scale_type == 0 else max(factor, 0),
        "fill_value": fill,
    }


def codecs_for_pipeline(
    filters: list[tuple[int, int, tuple[int, ...], str]],
    dtype: np.dtype[Any],
    url: str,
    variable: str,
    chunk_elements: int = 0,
) -> tuple[CodecConfig, ...]:
    """Map an HDF5 filter pipeline to numcodecs configurations, in encoding order.

    Parameters
    ----------
    filters
        ``(filter id, flags, client data values, name)`` per filter, in pipeline order
        (as ``PropDCID.get_filter`` returns them).
    dtype
        The dataset's element type (shuffle and bitshuffle work on its item size).
    url, variable
        For error messages.
    chunk_elements
        Number of elements in one chunk (some filters' formats depend on it).

    Returns
    -------
    tuple of dict
        One numcodecs configuration per filter.

    Raises
    ------
    UnsupportedFeatureError
        For a filter that no registered codec decodes exactly.
    """
    out: list[CodecConfig] = []
    for code, _flags, cd, hname in filters:
        name = FILTER_NAMES.get(code) or hname or "unknown"
        feature = f"HDF5 filter {code} ({name})"
        if code == 1:
            out.append({"id": "zlib", "level": int(cd[0]) if cd else 4})
        elif code == 2:
            out.append({"id": "shuffle", "elementsize": int(dtype.itemsize)})
        elif code == 3:
            out.append({"id": "fletcher32"})
        elif code == 307:
            out.append({"id": "bz2", "level": int(cd[0]) if cd else 9})
        elif code == 32015:
            out.append({"id": "zstd", "level": int(cd[0]) if cd else 0})
        elif code == 32001:
            # cd: filter version, blosc version, typesize, chunk bytes, clevel, shuffle, compressor
            out.append(
                {
                    "id": "blosc",
                    "cname": _BLOSC_CNAMES.get(int(cd[6]) if len(cd) > 6 else 0, "blosclz"),
                    "clevel": int(cd[4]) if len(cd) > 4 else 5,
                    "shuffle": int(cd[5]) if len(cd) > 5 else 1,
                    "blocksize": 0,
                }
            )
        elif code == 32000:
            # h5py's LZF filter stores a bare LZF stream; cd[2] is the decoded chunk size
            _need_imagecodecs(url, variable, feature)
            out.append({"id": "vz_hdf5_lzf", "size": _chunk_bytes(cd, 2, dtype, chunk_elements)})
        elif code == 305:
            # PyTables' LZO: stream, Adler-32 and decoded length (cd: level, version, type)
            _need_imagecodecs(url, variable, feature)
            out.append({"id": "vz_hdf5_lzo", "size": int(chunk_elements * dtype.itemsize)})
        elif code == 32026:
            # cd: filter version, blosc2 version, typesize, chunk bytes, clevel, ...
            _need_imagecodecs(url, variable, feature)
            out.append({"id": "vz_hdf5_blosc2", "size": _chunk_bytes(cd, 3, dtype, chunk_elements)})
        elif code == 6:
            out.append(scaleoffset_config(cd, url, variable, feature))
        elif code == 32004:
            _need_imagecodecs(url, variable, feature)
            _register_imagecodecs("Lz4h5")
            out.append({"id": "imagecodecs_lz4h5"})
        elif code == 4:
            # cd after H5Z set_local: options mask, pixels per block, bits per pixel,
            # pixels per scanline. The HDF5 szip filter prefixes the uncompressed size.
            if len(cd) < 4:
                raise UnsupportedFeatureError(
                    url, variable, feature, f"unexpected szip parameters {list(cd)}"
                )
            _need_imagecodecs(url, variable, feature)
            _register_imagecodecs("Szip")
            out.append(
                {
                    "id": "imagecodecs_szip",
                    "options_mask": int(cd[0]),
                    "pixels_per_block": int(cd[1]),
                    "bits_per_pixel": int(cd[2]),
                    "pixels_per_scanline": int(cd[3]),
                    "header": True,
                }
            )
        elif code == 32008:
            # cd: major, minor, element size, block size, compression (0 none, 2 lz4, 3 zstd)
            compression = int(cd[4]) if len(cd) > 4 else 0
            itemsize = int(cd[2]) if len(cd) > 2 else int(dtype.itemsize)
            blocksize = int(cd[3]) if len(cd) > 3 else 0
            _need_imagecodecs(url, variable, feature)
            _register_imagecodecs("Bitshuffle")
            out.append(
                {"id": "imagecodecs_bitshuffle", "itemsize": itemsize, "blocksize": blocksize}
            )
            if compression == 2 and chunk_elements and chunk_elements % 8 == 0:
                # The LZ4 variant writes the HDF5-LZ4 container (sizes header, then
                # length-prefixed LZ4 blocks) around bitshuffled blocks; with a whole
                # number of 8-element groups nothing is left over outside the blocks.
                _register_imagecodecs("Lz4h5")
                out.append({"id": "imagecodecs_lz4h5"})
            elif compression != 0:
                raise UnsupportedFeatureError(
                    url,
                    variable,
                    f"{feature} with {'lz4' if compression == 2 else 'zstd'} compression",
                    "no numcodecs/imagecodecs codec decodes this bitshuffle chunk format"
                    + (
                        f" (chunks of {chunk_elements} elements, not a multiple of 8)"
                        if compression == 2
                        else ""
                    ),
                )
        elif code == 5:
            raise UnsupportedFeatureError(
                url,
                variable,
                feature,
                "no numcodecs/imagecodecs codec decodes HDF5's "
                "n-bit packing filter; rewrite the "
                "variable without it (e.g. h5repack -f NONE) or load it",
            )
        else:
            raise UnsupportedFeatureError(
                url,
                variable,
                feature,
                "no codec that zarr can decode is known for this filter; rewrite the "
                "variable with deflate/zstd/blosc (h5repack), or load it with "
                "reader_options={'load_unsupported': True}, for which h5py needs "
                + hdf5_plugin_source(code),
            )
    return tuple(out)


HDF5PLUGIN_FILTERS = frozenset(
    {307, 32001, 32004, 32008, 32013, 32015, 32017, 32018, 32024, 32026, 32028}
)
"""HDF5 filters whose HDF5 plugins the ``hdf5plugin`` package provides."""


def hdf5_plugin_source(code: int) -> str:
    """Say what makes HDF5 filter ``code`` available to h5py (HDF5 itself), for messages."""
    if code in HDF5PLUGIN_FILTERS:
        return "the hdf5plugin package: pip install hdf5plugin, and import hdf5plugin first"
    if code == 32000:
        return "h5py itself (it registers LZF)"
    return (
        f"the HDF5 plugin of filter {code} (https://github.com/HDFGroup/hdf5_plugins) in a "
        "directory named by HDF5_PLUGIN_PATH"
    )
