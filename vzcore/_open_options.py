"""The options of opening a file as a virtual dataset, defined once.

:class:`OpenOptions` is the one definition of what ``open_virtual_dataset``,
``open_virtual_datatree``, ``open_virtual_mfdataset`` (for every file) and the xarray engine
``virtualizarr`` (``xr.open_dataset`` / ``xr.open_datatree`` / ``xr.open_mfdataset``) accept:
each entry point builds one and hands it on, so an option cannot be accepted by one entry
point and dropped by another (``tests/integration/test_open_options.py`` checks every
signature against the fields here).

Reader options
--------------
``reader_options`` go to the reader's ``read``. With a single reader they may be flat
(``{"load_unsupported": True}``). When one call involves several readers (e.g.
``open_virtual_mfdataset`` over existing references and new netCDF files), key them by
reader name: ``{"kerchunk": {"allowed_prefixes": [...]}, "hdf5": {...}}``; each reader
receives only its own entry. A mapping whose keys are all reader names is read as
keyed; options given flat go to every reader, which is only right when one reader is
involved (a reader refuses options it does not know, naming the valid ones).

``drop_variables``
------------------
A reader whose ``read`` declares a keyword ``drop_variables`` receives it (and never parses
those variables, so an unsupported variable can be left out); for other readers the core
drops them after reading (docs/plugins/hooks.md).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from vzcore._to_xarray import DecodeOptions

if TYPE_CHECKING:
    from xarray.coders import CFDatetimeCoder, CFTimedeltaCoder

__all__ = ["OpenOptions", "reader_keywords"]


def _names(value: Iterable[str] | str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    out = tuple(value)
    if not all(isinstance(v, str) for v in out):
        raise TypeError(f"expected variable names (str), got {list(out)!r}")
    return out


@dataclass(frozen=True)
class OpenOptions:
    """Everything that opening one file as a virtual dataset (or DataTree) accepts.

    The field names, defaults and meanings are those of :func:`vzcore.open_virtual_dataset`.
    """

    reader: str | None = None
    """Reader name; None sniffs the file's magic bytes."""
    group: str | None = None
    """Group inside the file; None for the root."""
    loadable_variables: Iterable[str] | None = None
    """Variables to read into memory and CF-decode; None: the 1-D dimension coordinates.
    Stored as a tuple."""
    drop_variables: Iterable[str] | str | None = None
    """Variables to leave out (never parsed by readers that declare ``drop_variables``).
    Stored as a tuple."""
    storage_options: dict[str, Any] | None = None
    """fsspec options for remote URLs."""
    reader_options: dict[str, Any] | None = None
    """Options of the reader(s), flat or keyed by reader name (module docstring)."""
    mask_and_scale: bool = True
    """CF masking and scaling of loaded variables."""
    decode_times: bool | CFDatetimeCoder | None = None
    """CF time decoding of loaded variables (None: True; or an xarray CFDatetimeCoder)."""
    concat_characters: bool = True
    """Join character arrays of loaded variables into strings."""
    decode_coords: bool | str = True
    """Turn variables named in ``coordinates`` attributes into coordinates."""
    use_cftime: bool | None = None
    """As in :func:`xarray.open_dataset`, for loaded variables."""
    decode_timedelta: bool | CFTimedeltaCoder | None = None
    """As in :func:`xarray.open_dataset`, for loaded variables."""
    _reader_names: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "loadable_variables", _names(self.loadable_variables))
        object.__setattr__(self, "drop_variables", _names(self.drop_variables))
        if self.reader_options is not None and not isinstance(self.reader_options, Mapping):
            raise TypeError(
                f"reader_options must be a dict, got {type(self.reader_options).__name__}"
            )

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Return the option names, in signature order."""
        return tuple(f.name for f in fields(cls) if not f.name.startswith("_"))

    @property
    def decode(self) -> DecodeOptions:
        """The decoder flags, applied to loaded variables."""
        return DecodeOptions(
            mask_and_scale=self.mask_and_scale,
            decode_times=True if self.decode_times is None else self.decode_times,
            concat_characters=self.concat_characters,
            decode_coords=self.decode_coords,
            use_cftime=self.use_cftime,
            decode_timedelta=self.decode_timedelta,
        )

    def options_for(self, reader: str) -> dict[str, Any]:
        """Return the reader options meant for ``reader`` (see the module docstring)."""
        given = dict(self.reader_options or {})
        if given and is_keyed(given):
            entry = given.get(reader) or {}
            if not isinstance(entry, Mapping):
                raise TypeError(
                    f"reader_options[{reader!r}] must be a dict of that reader's options, got "
                    f"{type(entry).__name__}"
                )
            return dict(entry)
        return given


def is_keyed(reader_options: Mapping[str, Any]) -> bool:
    """Return True when every key names a reader (installed or first-party) with a dict."""
    from vzcore import plugins
    from vzcore._known_plugins import KNOWN_READERS

    readers = {spec.name for spec in plugins.readers()} | set(KNOWN_READERS)
    return all(k in readers and isinstance(v, Mapping) for k, v in reader_options.items())


def reader_keywords(read: Any) -> frozenset[str]:
    """Return the keyword parameters a reader's ``read`` declares by name (not ``**``)."""
    try:
        params = inspect.signature(read).parameters.values()
    except (TypeError, ValueError):  # builtins or C callables: assume nothing
        return frozenset()
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return frozenset(p.name for p in params if p.kind in kinds)
