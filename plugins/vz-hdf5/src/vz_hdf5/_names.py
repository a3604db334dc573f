"""Decoding HDF5 link and attribute names, which the file format stores as bytes.

HDF5 stores names as bytes with a character-set flag that writers do not always honour:
files exist whose names are not valid UTF-8 (Latin-1 names written by older tools).
netCDF-C keeps such names as bytes, h5py returns them as ``bytes`` instead of ``str`` and
netCDF4-python fails with ``UnicodeDecodeError``. vzcore's names become store keys, which
must be text, so a name is decoded as UTF-8 and, when that fails, as Latin-1: every byte
maps to one character, no byte is lost (``name.encode("latin-1")`` gives the stored bytes
back), and the result is a valid ``str`` that JSON, zarr and Icechunk accept. String
*values* of attributes are not decoded here: vzcore decodes every reader's attribute text
by one policy (:mod:`vzcore.manifests.attributes`).
"""

from __future__ import annotations

from typing import Any

from vzcore.errors import UnsupportedFeatureError

__all__ = ["as_link_error", "decode_name", "object_path"]


def as_link_error(err: UnsupportedFeatureError) -> UnsupportedFeatureError:
    """Return ``err`` about the external link it names, saying "link '/x'".

    What an external link that cannot be followed leads to (a dataset or a group) is not
    known, so the message may not call it a variable.
    """
    if err.kind == "link":
        return err
    link = UnsupportedFeatureError(err.url, err.variable, err.feature, err.hint, kind="link")
    link.__cause__ = err.__cause__
    return link


def decode_name(name: str | bytes) -> str:
    """Return ``name`` as text: UTF-8, or Latin-1 when the bytes are not valid UTF-8."""
    if isinstance(name, str):
        return name
    try:
        return name.decode("utf-8")
    except UnicodeDecodeError:
        return name.decode("latin-1")


def object_path(obj: Any) -> str:
    """Return the path of an h5py object (``"/group/var"``), decoded by :func:`decode_name`.

    h5py's ``obj.name`` is ``bytes`` for a path that is not valid UTF-8; this is always text.
    """
    import h5py

    raw = h5py.h5i.get_name(obj.id)
    return decode_name(raw) if raw is not None else ""
