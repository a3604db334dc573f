"""The exceptions and warnings vzcore raises.

Every error derives from :class:`VZError` and from the builtin exception a caller would
naturally catch (``ValueError``, ``NotImplementedError``, ``OSError``, ``TypeError``).
Each exception formats its own message from structured fields, and every message says
*what* went wrong (the URL, variable or plugin, shown with ``!r``), *why*, and *what next*.
"""

from __future__ import annotations

import errno as _errno
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "CFDecodeError",
    "CombineError",
    "CorruptFileError",
    "DecodedDtypeError",
    "GroupNotFoundError",
    "NoReaderFoundError",
    "NoWriterFoundError",
    "NotVirtualizableError",
    "OptionError",
    "PluginLoadError",
    "RangeRequestsIgnoredError",
    "ShortReadError",
    "SourceAccessError",
    "SourceIsADirectoryError",
    "SourceNotFoundError",
    "SourcePermissionError",
    "UnknownOptionError",
    "UnsafeCodecError",
    "UnsupportedFeatureError",
    "UnsupportedFormatError",
    "UnsupportedPartsError",
    "VZAttributeTextWarning",
    "VZError",
    "VZOtherReadersWarning",
    "VZPluginLoadWarning",
    "VZSkippedFilesWarning",
    "VZSkippedPartsWarning",
    "VZWarning",
    "VirtualArrayValuesError",
    "WriteError",
]


class VZError(Exception):
    """Base class of every error raised by vzcore and its plugins."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses build their message from structured __init__ arguments, which the
        # default pickling (``cls(*self.args)``) does not replay: an error raised in a
        # worker process would break the pool instead of reaching the caller. Rebuild
        # from the message and the attributes instead.
        return (_rebuild_error, (type(self), self.args, self.__dict__))


def _rebuild_error(cls: type[VZError], args: tuple[Any, ...], state: dict[str, Any]) -> VZError:
    """Recreate a pickled :class:`VZError` without calling its ``__init__``."""
    err = cls.__new__(cls)
    err.args = args
    err.__dict__.update(state)
    return err


class UnsupportedFormatError(VZError, ValueError):
    """A file is not in a format that the chosen (or any installed) reader understands."""


class NoReaderFoundError(UnsupportedFormatError):
    """No installed reader recognises a file.

    Parameters
    ----------
    url
        The file that could not be matched.
    installed
        Names of the readers that are installed.
    hint
        Distribution that would handle the file, when the format is known and its reader
        is not installed.
    reason
        What is true about the file when no reader is missing (a directory, an empty file,
        bytes no reader recognises), with what to do next; None for the generic message.
    """

    def __init__(
        self,
        url: str,
        installed: Iterable[str],
        hint: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.url = url
        self.installed = tuple(installed)
        self.hint = hint
        self.reason = reason
        if hint is not None:
            next_step = f"install {hint} (pip install {hint})"
        elif reason is not None:
            next_step = reason
        else:
            next_step = (
                "pass reader=<name> to force one, or install a plugin for this format "
                f"(installed readers: {', '.join(self.installed) or 'none'})"
            )
        super().__init__(f"No reader for {url!r}: {next_step}")

    def __reduce__(self) -> tuple[type, tuple[str, tuple[str, ...], str | None, str | None]]:
        return type(self), (self.url, self.installed, self.hint, self.reason)


class GroupNotFoundError(VZError, KeyError):
    """A ``group=`` path does not exist in a file.

    Parameters
    ----------
    url
        The file.
    group
        The group that was asked for.
    available
        Groups the file does have.
    """

    def __init__(self, url: str, group: str, available: Iterable[str] = ()) -> None:
        self.url = url
        self.group = group
        self.available = tuple(available)
        choices = ", ".join(repr(g) for g in self.available) or "none"
        super().__init__(f"No group {group!r} in {url!r}; groups there: {choices}")

    def __str__(self) -> str:
        return str(self.args[0])  # KeyError would quote the message


class NoWriterFoundError(VZError, ValueError):
    """No installed writer produces the requested output format."""

    def __init__(self, name: str, installed: Iterable[str], hint: str | None = None) -> None:
        self.name = name
        self.installed = tuple(installed)
        self.hint = hint
        if hint is not None:
            next_step = f"install {hint} (pip install {hint})"
        else:
            next_step = f"installed writers: {', '.join(self.installed) or 'none'}"
        super().__init__(f"No writer for format {name!r}: {next_step}")


class UnsupportedFeatureError(VZError, NotImplementedError):
    """A variable uses a feature (filter, dtype, layout) that cannot be referenced virtually.

    Parameters
    ----------
    url
        The file holding the variable.
    variable
        The variable's name (path inside the file), or the group's when ``kind="group"``.
    feature
        What is unsupported, e.g. ``"filter 32001 (blosc)"``.
    hint
        What the user can do instead.
    kind
        What ``variable`` names: ``"variable"``, ``"group"`` or ``"link"`` (an external link
        whose target's kind is not known); the message says which.
    """

    def __init__(
        self,
        url: str,
        variable: str | None,
        feature: str,
        hint: str = "",
        *,
        kind: str = "variable",
    ) -> None:
        self.url = url
        self.variable = variable
        self.feature = feature
        self.hint = hint
        self.kind = kind
        where = f"{kind} {variable!r} in {url!r}" if variable else repr(url)
        msg = f"Cannot virtualize {where}: unsupported {feature}"
        if hint:
            msg += f"; {hint}"
        super().__init__(msg)


class UnsupportedPartsError(UnsupportedFeatureError):
    """Several parts (variables, images, attributes) of one file use unsupported features.

    Raised once per file, naming every part, so that a user learns everything that stands
    in the way at once, with the options that leave the parts out.

    Parameters
    ----------
    url
        The file.
    parts
        One :class:`UnsupportedFeatureError` per unsupported part.
    droppable
        Names that ``drop_variables=[...]`` accepts for the parts that are variables.
    skip_option
        The reader option that skips every unsupported part, as the user would type it.
    """

    def __init__(
        self,
        url: str,
        parts: Iterable[UnsupportedFeatureError],
        droppable: Iterable[str] = (),
        skip_option: str = "reader_options={'skip_unsupported': True}",
    ) -> None:
        self.parts = tuple(parts)
        self.droppable = tuple(droppable)
        self.skip_option = skip_option
        listing = "; ".join(
            (
                f"group {p.variable!r}: "
                if getattr(p, "kind", "") == "group"
                else f"{p.variable!r}: "
            )
            + p.feature
            if p.variable
            else p.feature
            for p in self.parts
        )
        remedies = []
        if self.droppable:
            remedies.append(f"leave them out with drop_variables={list(self.droppable)!r}")
        remedies.append(f"skip every unsupported part with {skip_option}")
        super().__init__(
            url,
            None,
            f"features in {len(self.parts)} parts: {listing}",
            ", or ".join(remedies),
        )


class UnsafeCodecError(VZError, PermissionError):
    """A variable's codec would deserialise objects from the file (e.g. ``pickle``).

    Unpickling runs code that the data names: reading references someone else wrote (or
    a chunk they control) must not do it unless the user says they trust the data.

    Parameters
    ----------
    url
        The file (references) holding the variable.
    variable
        The variable's path.
    codec
        The codec's id, e.g. ``"pickle"``.
    remedy
        What the user can do when they trust the data.
    """

    def __init__(self, url: str, variable: str | None, codec: str, remedy: str) -> None:
        self.url = url
        self.variable = variable
        self.codec = codec
        self.remedy = remedy
        where = f"variable {variable!r} in {url!r}" if variable else repr(url)
        super().__init__(
            f"Refusing to decode {where}: its codec {codec!r} unpickles Python objects, "
            f"which can run any code the data names; {remedy}"
        )


class CorruptFileError(VZError, OSError):
    """A file is truncated, corrupt or otherwise unreadable as its format."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"Cannot read {url!r}: {reason}; the file looks corrupt or truncated")


class ShortReadError(CorruptFileError):
    """Fewer (or more) bytes came back for a chunk than its reference says it holds.

    fsspec returns short reads past the end of a file silently (and obstore clamps the
    range), so vzcore checks every fetched chunk's length itself. A short read usually
    means the file was truncated or replaced after it was scanned.

    Parameters
    ----------
    url
        The file the chunk lives in.
    offset
        Byte offset of the chunk.
    expected
        Length recorded in the reference.
    actual
        Number of bytes actually read.
    """

    def __init__(self, url: str, offset: int, expected: int, actual: int) -> None:
        self.offset = offset
        self.expected = expected
        self.actual = actual
        super().__init__(
            url,
            f"the chunk at offset {offset} should be {expected} bytes but {actual} were read",
        )
        message = (
            f"Cannot read {url!r}: the chunk at offset {offset} should be {expected} bytes but "
            f"{actual} were read; the file changed or was truncated since it was scanned "
            "(vzcore.verify lists every stale reference; re-scan the file)"
        )
        self.args = (message,)


class SourceAccessError(VZError, OSError):
    """A source file cannot be opened or read: it is missing, forbidden, or a directory.

    Raised by :mod:`vzcore.io`'s opener for every reader alike (the one policy for the
    operating system's and the object store's answers); what the bytes mean is the
    reader's business (:class:`CorruptFileError`, :class:`UnsupportedFeatureError`).
    Each subclass is also the builtin exception a caller would catch
    (``FileNotFoundError``, ``PermissionError``, ``IsADirectoryError``).

    Parameters
    ----------
    url
        The file, as the caller named it.
    reason
        What is true of it; the subclass's own when None.
    remedy
        What to do next; the subclass's own when None.
    """

    default_reason: str = "it cannot be opened"
    default_remedy: str = "check the path or URL"
    errno_code: int | None = None

    def __init__(self, url: str, reason: str | None = None, remedy: str | None = None) -> None:
        self.url = url
        self.reason = self.default_reason if reason is None else reason
        self.remedy = self.default_remedy if remedy is None else remedy
        message = f"Cannot open {url!r}: {self.reason}"
        if self.remedy:
            message += f"; {self.remedy}"
        super().__init__(message)
        # The OSError fields, so code testing errno or filename sees what a builtin gives.
        self.errno = self.errno_code
        self.strerror = self.reason
        self.filename = url

    def __str__(self) -> str:
        return str(self.args[0])  # OSError would format errno, strerror and filename

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        return type(self), (self.url, self.reason, self.remedy)


class SourceNotFoundError(SourceAccessError, FileNotFoundError):
    """A source file does not exist (locally, or the server answered 404 Not Found)."""

    default_reason = "no such file"
    errno_code = _errno.ENOENT


class SourcePermissionError(SourceAccessError, PermissionError):
    """A source file may not be read (file permissions, or HTTP 401/403 from a server)."""

    default_reason = "permission denied"
    default_remedy = (
        "check the file's permissions, or for a remote file the credentials in storage_options"
    )
    errno_code = _errno.EACCES


class SourceIsADirectoryError(SourceAccessError, IsADirectoryError):
    """A source path names a directory where a reader needs a file."""

    default_reason = "it is a directory, not a file"
    default_remedy = "pass the path of a file"
    errno_code = _errno.EISDIR


class RangeRequestsIgnoredError(VZError, OSError):
    """A server answers ranged requests with the whole file (HTTP 200 instead of 206).

    References are byte ranges: readers of them (fsspec, zarr) fail on such a server, and
    scanning through it would read whole files for every small read.

    Parameters
    ----------
    url
        The file whose server ignored the ``Range`` header.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"The server of {url!r} ignores HTTP Range requests: it answered a request for "
            "part of the file with the whole file (status 200 instead of 206 Partial "
            "Content). References into the file would be unreadable (fsspec and zarr read "
            "them as byte ranges). Serve the files from a server that supports ranges "
            "(an object store, nginx, Apache; Python's 'http.server' does not), or download "
            "them and scan the local copies."
        )

    def __reduce__(self) -> tuple[type, tuple[str]]:
        return type(self), (self.url,)


class CFDecodeError(VZError, ValueError):
    """A loaded variable's values cannot be decoded with its CF attributes.

    Parameters
    ----------
    url
        The file the variable comes from.
    variable
        The variable's name.
    reason
        What the decoder said.
    """

    def __init__(self, url: str, variable: str, reason: str) -> None:
        self.url = url
        self.variable = variable
        self.reason = reason
        super().__init__(
            f"Cannot decode loaded variable {variable!r} of {url!r}: {reason}. Its stored values "
            "do not decode under its CF attributes (units, calendar, scale_factor, ...), or the "
            "file is damaged; pass decode_times=False, or leave the variable virtual "
            "(loadable_variables=[...] without it)"
        )


class CombineError(VZError, ValueError):
    """Virtual datasets (or arrays) cannot be combined because their layouts disagree."""


class NotVirtualizableError(VZError, TypeError):
    """A dataset variable is neither virtual nor plain in-memory data (e.g. a computed dask graph)."""


class VirtualArrayValuesError(VZError, TypeError):
    """An operation needs the values of a virtual array, which vzcore never reads implicitly."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        super().__init__(
            f"{operation} needs the values of a ManifestArray, which holds only chunk references. "
            "Load the variable instead (loadable_variables=[...] when opening), or write the virtual "
            "dataset out (ds.virtualize.to_kerchunk(...)) and open the result with xarray."
        )


class OptionError(VZError, TypeError, ValueError):
    """An option given to a reader or a writer is of the wrong type or out of range.

    Both a ``TypeError`` and a ``ValueError`` (as numpy's ``AxisError`` is both a
    ``ValueError`` and an ``IndexError``): Python raises the one for a wrong keyword or type
    and the other for a wrong value, and code catching either keeps working. Readers and
    writers raise it for values; the core raises :class:`UnknownOptionError` for names.

    Parameters
    ----------
    owner
        Who takes the option, as in ``"reader 'hdf5'"`` or ``"writer 'parquet'"``.
    option
        The option's name.
    value
        The value given.
    expected
        What the option accepts, said so that the user can fix the call.
    """

    def __init__(self, owner: str, option: str, value: Any, expected: str) -> None:
        self.owner = owner
        self.option = option
        self.value = value
        self.expected = expected
        super().__init__(f"{owner} got an invalid option {option}={value!r}: {expected}")


class UnknownOptionError(OptionError):
    """A reader or writer was given options it does not take (checked by vzcore's core).

    Parameters
    ----------
    owner
        Who was given the options, as in ``"reader 'hdf5' (vz-hdf5)"``.
    unknown
        The names it does not take.
    valid
        The names it takes; the message suggests the closest one to each unknown name.
    """

    def __init__(self, owner: str, unknown: Iterable[str], valid: Iterable[str]) -> None:
        import difflib

        self.owner = owner
        self.unknown = tuple(sorted(unknown))
        self.valid = tuple(valid)
        names = ", ".join(repr(u) for u in self.unknown)
        close = {
            u: m[0] for u in self.unknown if (m := difflib.get_close_matches(u, self.valid, 1))
        }
        if len(self.unknown) == 1:
            guess = "".join(f"did you mean {m!r}?" for m in close.values())
        else:
            guess = "; ".join(f"did you mean {m!r} for {u!r}?" for u, m in close.items())
        takes = ", ".join(repr(v) for v in self.valid) or "none"
        plural = "s" if len(self.unknown) > 1 else ""
        VZError.__init__(
            self,
            f"{owner} got unknown option{plural} {names}"
            + (f" ({guess})" if guess else "")
            + f"; its options are: {takes}",
        )


class WriteError(VZError, OSError):
    """An output could not be written; the target is left as it was."""


class DecodedDtypeError(WriteError):
    """Packed variables would CF-decode to another dtype from the store than from their files.

    xarray decodes a packed variable to the float type of its ``scale_factor`` and
    ``add_offset``; zarr stores attributes as JSON, where a ``float32`` becomes a plain
    number, so the store decodes to ``float64`` (see :mod:`vzcore.packed_dtypes`).

    Parameters
    ----------
    changed
        One :class:`vzcore.packed_dtypes.ChangedDecoding` per such array.
    option
        The writer option that accepts float64 decoding, as the user would type it.
    drop
        How the user leaves the variables out (default: ``vds.drop_vars([...])``).
    """

    def __init__(
        self,
        changed: Sequence[Any],
        option: str = "allow_float64_decoding=True",
        drop: str | None = None,
    ) -> None:
        self.changed = tuple(changed)
        self.variables = tuple(c.path for c in self.changed)
        self.option = option
        parts = []
        for c in self.changed:
            more = f" and {len(c.files) - 1} more" if len(c.files) > 1 else ""
            origin = f"file {c.files[0]!r}{more}" if c.files else "no file"
            if c.loaded:
                origin = f"loaded, {origin}"
            parts.append(
                f"{c.path!r} ({origin}; {c.attributes}): {c.source} from the source, "
                f"{c.store} from the store"
            )
        names = [p.rsplit("/", 1)[-1] for p in self.variables]
        drop = drop or f"vds.drop_vars({names!r}) before writing"
        super().__init__(
            f"Cannot write {len(parts)} packed variable{'s' if len(parts) > 1 else ''} "
            f"exactly: {'; '.join(parts)}. xarray decodes a packed variable to the type of "
            "its scale_factor/add_offset, and zarr keeps attributes as JSON numbers, which "
            "have no float32, so the decoded values would differ from the original's "
            f"(the raw values would not). Pass {option} to write anyway (xarray then "
            f"decodes them to float64), or leave them out ({drop})."
        )


class PluginLoadError(VZError, ImportError):
    """A plugin failed to load (raised instead of a warning when ``VZCORE_STRICT_PLUGINS=1``)."""


class VZWarning(UserWarning):
    """Base class of vzcore's warnings."""


class VZPluginLoadWarning(VZWarning):
    """A plugin could not be loaded and was skipped."""


class VZSkippedFilesWarning(VZWarning):
    """Files that could not be scanned were left out of a combined dataset."""


class VZSkippedPartsWarning(VZWarning):
    """Parts of a file that use unsupported features were left out (on request)."""


class VZOtherReadersWarning(VZWarning):
    """References that vzcore reads right but other clients (fsspec, zarr) would misread.

    :func:`vzcore.verify` reports these as problems: rewrite the references.
    """


class VZAttributeTextWarning(VZWarning, UnicodeWarning):
    """Text attributes whose bytes are not UTF-8 were read with U+FFFD, as xarray shows them.

    See :mod:`vzcore.manifests.attributes` for the policy.
    """
