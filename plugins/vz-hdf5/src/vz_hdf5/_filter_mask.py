"""Chunks that HDF5 stored with some optional filters skipped (a non-zero filter mask).

HDF5 runs every chunk through the dataset's filter pipeline. An *optional* filter that
fails on a chunk (deflate and LZF as h5py and netCDF-C set them, on a chunk they cannot
shrink) is skipped for that chunk only, and the chunk's filter mask says so (bit ``i``:
filter ``i`` not applied). References carry no per-chunk mask, so such a variable gets one
:class:`vz_hdf5.codecs.HDF5FilterMask` codec wrapping its pipeline, which tells the chunks
apart by their stored length. That is exact when every stored length belongs to chunks of
one mask only; a variable where a chunk could be mistaken for one with another mask (same
stored length) is refused, as is one with more distinct skipped lengths than
:data:`MAX_SKIPPED_LENGTHS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from vzcore.errors import UnsupportedFeatureError

from vz_hdf5._filters import FILTER_NAMES, codecs_for_pipeline

if TYPE_CHECKING:
    from vzcore.manifests import CodecConfig

__all__ = ["MAX_SKIPPED_LENGTHS", "filter_mask_codecs"]

MAX_SKIPPED_LENGTHS = 64
"""Most ``[stored length, mask]`` pairs one codec configuration lists."""

_HINT = "rewrite the dataset (h5repack) or load it"


def _names(filters: list[tuple[int, int, tuple[int, ...], str]], mask: int) -> str:
    picked = [
        FILTER_NAMES.get(f[0]) or f[3] or str(f[0])
        for i, f in enumerate(filters)
        if mask & (1 << i)
    ]
    return "+".join(picked) or "none"


def filter_mask_codecs(
    filters: list[tuple[int, int, tuple[int, ...], str]],
    codecs: tuple[CodecConfig, ...],
    dtype: np.dtype[Any],
    chunk_elements: int,
    masks: np.ndarray,
    lengths: np.ndarray,
    positions: np.ndarray,
    url: str,
    variable: str,
) -> tuple[CodecConfig, ...]:
    """Return the codec pipeline of a chunked dataset some of whose chunks skip filters.

    Parameters
    ----------
    filters
        The HDF5 pipeline, ``(filter id, flags, client data, name)`` per filter.
    codecs
        ``codecs_for_pipeline(filters, ...)``: what decodes chunks with a mask of 0.
    dtype, chunk_elements
        The element type and elements per chunk (the decoded chunk size).
    masks, lengths, positions
        Per allocated chunk: filter mask, stored length, element offsets (for messages).
    url, variable
        For error messages.

    Returns
    -------
    tuple of dict
        ``codecs`` unchanged when no chunk skips a filter of the pipeline, else one
        ``vz_hdf5_filter_mask`` configuration.

    Raises
    ------
    UnsupportedFeatureError
        When a stored length does not tell the chunks apart, or more than
        :data:`MAX_SKIPPED_LENGTHS` lengths would need listing.
    """
    masks = masks.astype(np.uint64) & np.uint64((1 << len(filters)) - 1)
    masked = masks != 0
    if not masked.any():
        return codecs
    pairs = np.unique(np.stack([lengths[masked], masks[masked]], axis=1), axis=0)
    ulen, first, counts = np.unique(pairs[:, 0], return_index=True, return_counts=True)
    if (counts > 1).any():
        length = int(ulen[np.flatnonzero(counts > 1)[0]])
        both = pairs[pairs[:, 0] == length, 1].tolist()
        raise UnsupportedFeatureError(
            url,
            variable,
            f"chunks of {length} stored bytes with different filters skipped "
            f"({' and '.join(_names(filters, int(m)) for m in both)}), which references "
            "without HDF5's per-chunk filter mask cannot tell apart",
            _HINT,
        )
    clash = np.flatnonzero(~masked & np.isin(lengths, ulen))
    if clash.size:
        i = int(clash[0])
        length = int(lengths[i])
        mask = int(pairs[first[np.searchsorted(ulen, length)], 1])
        raise UnsupportedFeatureError(
            url,
            variable,
            f"the chunk at {positions[i].tolist()} went through every filter yet has the "
            f"stored length ({length} bytes) of chunks stored with {_names(filters, mask)} "
            "skipped, so references without HDF5's per-chunk filter mask cannot tell them apart",
            _HINT,
        )
    if len(pairs) > MAX_SKIPPED_LENGTHS:
        raise UnsupportedFeatureError(
            url,
            variable,
            f"chunks stored with filters skipped at {len(pairs)} different stored lengths "
            f"(vz-hdf5 lists at most {MAX_SKIPPED_LENGTHS} per variable)",
            _HINT,
        )
    # Bits of the HDF5 mask are filters; the codec's bits are codecs (one filter may map
    # to several codecs, e.g. bitshuffle with LZ4).
    bits = [len(codecs_for_pipeline([f], dtype, url, variable, chunk_elements)) for f in filters]
    if sum(bits) != len(codecs):  # pragma: no cover - codecs_for_pipeline maps filter by filter
        raise UnsupportedFeatureError(url, variable, "filters skipped in some chunks", _HINT)
    starts = np.cumsum([0, *bits])

    def codec_mask(mask: int) -> int:
        out = 0
        for i in range(len(filters)):
            if mask & (1 << i):
                out |= ((1 << bits[i]) - 1) << int(starts[i])
        return out

    return (
        {
            "id": "vz_hdf5_filter_mask",
            "filters": [dict(c) for c in codecs],
            "size": int(chunk_elements * dtype.itemsize),
            "skipped": [[int(length), codec_mask(int(mask))] for length, mask in pairs.tolist()],
        },
    )
