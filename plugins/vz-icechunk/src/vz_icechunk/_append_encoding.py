"""Appending needs the repository's CF decoding attributes to fit the batch.

A variable appended along ``append_dim`` becomes more chunks of the *same* Zarr array,
which has one set of attributes: the repository's ``scale_factor``, ``add_offset``,
``_FillValue``, ``missing_value``, ``units``, ``calendar``, ... then decode the batch's
chunks too. Virtual chunks cannot be re-encoded, and loaded values are written as the batch
encoded them, so a batch whose attributes differ would read back silently wrong (10x off,
fill values read as data, days read as hours). This module compares them, before anything
is written, by the rules every other concatenation of virtual arrays follows
(:class:`vzcore.manifests.encoding.SourceEncoding`). The one exception: loaded times are
re-encoded into the repository's ``units`` and ``calendar`` by the writer.

Codecs: an append keeps the codecs the repository's array already has. A virtual batch's
data type, codecs, fill value and chunk grid must equal the repository's (the writer
compares the array documents: virtual chunks cannot be re-encoded). A loaded batch is
written through zarr into the repository's array, under that array's document, so its
values are encoded with the repository's codecs whichever vzcore wrote it: a loaded
coordinate stored raw by an earlier version stays raw, a compressed one
(:data:`vzcore.store_plan.INLINE_CODECS`) stays compressed, even where the batch alone
would be stored the other way (``tests/test_icechunk_append_codecs.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vzcore.errors import CombineError
from vzcore.manifests.encoding import SourceEncoding

__all__ = ["check_append_encoding"]


def check_append_encoding(
    path: str,
    append_dim: str,
    batch_attrs: Mapping[str, Any],
    committed_attrs: Mapping[str, Any],
    batch_files: Sequence[str] | None,
    *,
    times_reencoded: bool = False,
) -> None:
    """Refuse a virtual batch whose CF encoding attributes differ from the committed array's.

    Parameters
    ----------
    path
        The array's path in the repository.
    append_dim
        The dimension appended along.
    batch_attrs
        The batch's attributes, in the JSON form the writer stores (``zarr.json``).
    committed_attrs
        The repository's attributes of the same array (its ``zarr.json``).
    batch_files
        The files a virtual batch's chunks come from (for the message); None for a
        loaded variable.
    times_reencoded
        The writer re-encodes the batch's values into the repository's ``units`` and
        ``calendar`` (loaded times): those two may differ.

    Raises
    ------
    vzcore.errors.CombineError
        Naming the variable, each attribute that differs and both values.
    """
    diffs = SourceEncoding.from_attrs(committed_attrs).differences(
        SourceEncoding.from_attrs(batch_attrs)
    )
    if times_reencoded:
        diffs = [d for d in diffs if d[0] not in ("units", "calendar")]
    if not diffs:
        return
    files = sorted(batch_files or ())
    batch = (
        f"the batch ({len(files)} file(s): {files[0]!r}{' …' if len(files) > 1 else ''})"
        if files
        else "the batch"
    )
    details = "; ".join(
        f"{k} is {new} in the batch but {old} in the repository" for k, old, new in diffs
    )
    how = (
        "virtual chunks cannot be re-encoded"
        if batch_files is not None
        else "the batch's loaded values are encoded with the batch's attributes"
    )
    raise CombineError(
        f"Cannot append variable {path!r} of {batch} along {append_dim!r}: {details}. "
        f"One Zarr array decodes all its chunks with one set of attributes and {how}, so "
        "the batch's values would read back wrong. Write the batch to its own group or "
        "repository. Nothing was written."
    )
