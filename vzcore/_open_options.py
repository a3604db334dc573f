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

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, TypedDict

from vzcore._to_xarray import DecodeOptions

if TYPE_CHECKING:
    from xarray.coders import CFDatetimeCoder, CFTimedeltaCoder

__all__ = ["OpenKwargs", "OpenOptions", "reader_keywords", "takes_open_options"]


def _names(value: Iterable[str] | str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    out = tuple(value)
    if not all(isinstance(v, str) for v in out):
        raise TypeError(f"expected variable names (str), got {list(out)!r}")
    return out


class OpenKwargs(TypedDict, total=False):
    """The options as keyword arguments: ``**options: Unpack[OpenKwargs]`` (PEP 692).

    Type checkers and IDEs read the keys and types from here; the defaults are the fields of
    :class:`OpenOptions`, and :func:`takes_open_options` puts the descriptions below into the
    docstring of every function that takes them.

    Parameters
    ----------
    reader
        Reader name (``"hdf5"``, ``"netcdf3"``, ``"tiff"``, ``"kerchunk"``, ...); None
        picks one by the file's magic bytes.
    group
        Group inside the file (HDF5/netCDF4, references); None for the root.
    loadable_variables
        Variables to read into memory and CF-decode; None means the 1-D dimension
        coordinates, which ``combine="by_coords"`` needs, their CF ``bounds`` variables, and
        the scalar (0-d) variables, which xarray's default combine broadcasts (that needs
        their values). Any subset may be given, ``[]`` included: a dimension coordinate
        left out stays virtual, a coordinate without an index, and is written like any
        virtual variable. Loaded variables are written as real data by writers.
    drop_variables
        Variables to leave out. A reader that declares ``drop_variables`` (vz-hdf5,
        vz-netcdf3, vz-tiff, vz-kerchunk) never parses them, so a variable that cannot be
        virtualized can be dropped; other readers' results are filtered afterwards.
    storage_options
        fsspec options for remote URLs (``s3://``, ``https://``, ...), used for the
        file, its loadable variables and stat calls.
    reader_options
        Options of the reader's ``read`` (see each reader's documentation), either flat,
        ``{"load_unsupported": True}``, or keyed by reader name,
        ``{"kerchunk": {"allowed_prefixes": [...]}, "hdf5": {...}}``: each reader then
        receives only its own entry. Key them when files of different formats are opened
        together (references plus new files in ``open_virtual_mfdataset``).
    mask_and_scale
        Apply ``_FillValue``/``missing_value`` masking and ``scale_factor``/``add_offset``
        to loaded variables (default True). Virtual variables always keep their encoding
        attributes, which whoever reads the written references applies.
    decode_times
        Decode CF times of loaded variables (None or True: decode; False: keep numbers;
        or an :class:`xarray.coders.CFDatetimeCoder`, e.g. ``CFDatetimeCoder(use_cftime=True)``).
    concat_characters
        Join the last dimension of character arrays of loaded variables into strings
        (default True).
    decode_coords
        Turn variables named in ``coordinates`` attributes (of variables and of the
        file) into coordinates (True, default) or keep them as data variables (False).
        ``"coordinates"`` means True; ``"all"`` is accepted and, unlike xarray, does not
        yet also follow ``grid_mapping``/``bounds``.
    use_cftime
        Decode loaded times to ``cftime`` objects (True), to ``datetime64`` (False), or
        choose by calendar and range (None), as in :func:`xarray.open_dataset`.
    decode_timedelta
        Decode loaded variables with time-like units into ``timedelta64`` (True,
        False, an :class:`xarray.coders.CFTimedeltaCoder`, or None: xarray's default).
    """

    reader: str | None
    group: str | None
    loadable_variables: Iterable[str] | None
    drop_variables: Iterable[str] | str | None
    storage_options: dict[str, Any] | None
    reader_options: dict[str, Any] | None
    mask_and_scale: bool
    decode_times: bool | CFDatetimeCoder | None
    concat_characters: bool
    decode_coords: bool | str
    use_cftime: bool | None
    decode_timedelta: bool | CFTimedeltaCoder | None


@dataclass(frozen=True)
class OpenOptions:
    """Everything that opening one file as a virtual dataset (or DataTree) accepts.

    The field names and types are those of :class:`OpenKwargs` (where they are described),
    with their defaults; ``loadable_variables`` and ``drop_variables`` are stored as tuples.
    """

    reader: str | None = None
    group: str | None = None
    loadable_variables: Iterable[str] | None = None
    drop_variables: Iterable[str] | str | None = None
    storage_options: dict[str, Any] | None = None
    reader_options: dict[str, Any] | None = None
    mask_and_scale: bool = True
    decode_times: bool | CFDatetimeCoder | None = None  # None: True
    concat_characters: bool = True
    decode_coords: bool | str = True
    use_cftime: bool | None = None
    decode_timedelta: bool | CFTimedeltaCoder | None = None
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

    @classmethod
    def given_to(cls, caller: str, options: OpenKwargs) -> OpenOptions:
        """Return the options given as keywords to ``caller``, refusing others as Python does.

        ``caller`` names the function in the TypeError, as a signature of explicit keywords
        would.
        """
        for name in options:
            if name not in cls.names():
                raise TypeError(f"{caller}() got an unexpected keyword argument {name!r}")
        return cls(**options)

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


def takes_open_options[F: Callable[..., Any]](func: F) -> F:
    """Give ``func(..., **options: Unpack[OpenKwargs])`` the options' signature and documentation.

    Type checkers and IDEs read the keys and types of :class:`OpenKwargs`; at run time
    (``help``, ``inspect.signature``, the documentation site, xarray) ``**options`` stands as
    the keyword-only parameters of :class:`OpenOptions` with their defaults, and a
    ``**options`` entry in the docstring's Parameters section is replaced by their
    descriptions. Returns ``func`` itself (no wrapper).
    """
    signature = inspect.signature(func)
    kept = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    options = [
        inspect.Parameter(
            f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=f.type
        )
        for f in fields(OpenOptions)
        if not f.name.startswith("_")
    ]
    # inspect.signature reads __signature__, which mypy does not know on a Callable
    func.__signature__ = signature.replace(parameters=[*kept, *options])  # type: ignore[attr-defined]
    func.__doc__ = _with_option_docs(func.__doc__ or "")
    return func


def _with_option_docs(doc: str) -> str:
    """Return ``doc`` with its ``**options`` parameter entry replaced by the options' entries."""
    lines = inspect.cleandoc(doc).splitlines()
    if "**options" not in lines:
        return doc
    start = lines.index("**options")
    end = start + 1
    while end < len(lines) and (not lines[end] or lines[end][0].isspace()):
        end += 1
    while lines[end - 1] == "":  # keep the blank line before the next section
        end -= 1
    entries = inspect.cleandoc(OpenKwargs.__doc__ or "").split("----------\n", 1)[1]
    return "\n".join([*lines[:start], *entries.splitlines(), *lines[end:]])


def is_keyed(reader_options: Mapping[str, Any]) -> bool:
    """Return True when every key names a reader (installed or first-party) with a dict."""
    if not reader_options:  # (all() of nothing: no reader registry to look at)
        return True
    from vzcore import plugins
    from vzcore._known_plugins import KNOWN_READERS

    readers = {spec.name for spec in plugins.readers()} | set(KNOWN_READERS)
    return all(k in readers and isinstance(v, Mapping) for k, v in reader_options.items())


def reader_keywords(read: Any) -> frozenset[str]:
    """Return the keyword parameters a reader's ``read`` declares by name (not ``**``).

    Cached per function (a reader class's ``read`` is one function for the whole run).
    """
    try:
        return _reader_keywords(read)
    except TypeError:  # an unhashable callable: asked each time
        return _reader_keywords.__wrapped__(read)


@functools.lru_cache(maxsize=256)
def _reader_keywords(read: Any) -> frozenset[str]:
    try:
        params = inspect.signature(read).parameters.values()
    except (TypeError, ValueError):  # builtins or C callables: assume nothing
        return frozenset()
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return frozenset(p.name for p in params if p.kind in kinds)
