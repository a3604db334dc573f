"""Which URLs a reference file may point at, and which names it may use.

A kerchunk reference file is data that names other data: opening one written by someone
else must not make vzcore read arbitrary local files (``file:///etc/passwd``) or reach
internal services (``http://169.254.169.254/``, the cloud metadata endpoint). Every URL a
reference holds is therefore resolved (templates expanded, relative paths joined to the
reference file's location, ``.`` and ``..`` removed, symlinks resolved for local files) and
checked against a :class:`UrlPolicy` *before* anything is read, and every array and group
name is validated before it is used as a path.

Default policy (both options replace their default when given):

* ``allowed_protocols``: URLs of these protocols are followed anywhere. Default:
  ``s3``, ``gs``/``gcs``, ``az``/``abfs``/``abfss`` and ``https``, plus the protocol of the
  reference file itself when it is one of ``http``, ``s3``, ... (never ``file``, ``memory``,
  ``reference``, ``ssh``, ...). For ``http(s)`` allowed this way, hosts that name the
  machine itself or a private network (``localhost``, loopback, private, link-local and
  reserved IP literals) are refused.
* ``allowed_prefixes``: URLs under these prefixes are followed whatever their protocol or
  host. Default: the directory that holds the reference file (``file:///work/refs/`` for
  ``/work/refs/combined.json``). So local data outside that directory tree needs e.g.
  ``allowed_prefixes=["file:///data/"]``. A prefix matches at a ``/`` boundary only:
  ``s3://bucket/data`` allows ``s3://bucket/data/x.nc`` but not ``s3://bucket/database``.
  The prefix ``"*"`` (:data:`ANY_URL`) allows every URL: for references you trust, and
  what :func:`vzcore.verify` uses for references it checks (it stats files and decodes
  byte ranges, and returns no data to anyone).

Codecs are checked too: an array whose codecs deserialise Python objects
(:data:`UNSAFE_CODECS`, numcodecs' ``pickle``) would run code the references' author
chose when vzcore loads it (coordinates are loaded by default, and ``verify(deep=True)``
decodes every chunk). Such arrays raise :class:`vzcore.errors.UnsafeCodecError` unless the
reader is given ``allow_pickle=True`` (this is not widened by :func:`vzcore.verify`).
"""

from __future__ import annotations

import ipaddress
import os
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from vzcore.errors import CorruptFileError, OptionError, UnsafeCodecError, VZError

__all__ = [
    "ANY_URL",
    "DATA_PROTOCOLS",
    "DEFAULT_PROTOCOLS",
    "UNSAFE_CODECS",
    "ReferenceNotAllowedError",
    "UrlPolicy",
    "check_codecs",
    "check_node_path",
    "resolve_url",
]

DEFAULT_PROTOCOLS = frozenset({"s3", "gs", "gcs", "az", "abfs", "abfss", "https"})
"""Protocols followed anywhere by default (object stores and HTTPS)."""

DATA_PROTOCOLS = DEFAULT_PROTOCOLS | {"http", "s3a", "adl", "oci", "ocilake", "hf"}
"""Remote protocols that hold data: the reference file's own protocol joins the default
set when it is one of these."""

ANY_URL = "*"
"""The ``allowed_prefixes`` entry that allows every URL (trusted references only)."""

UNSAFE_CODECS = frozenset({"pickle"})
"""numcodecs ids whose decoding deserialises Python objects: unpickling runs code the data
names. (``json2``, ``msgpack2``, ``vlen-*`` and ``categorize`` build only plain values.)"""

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ReferenceNotAllowedError(VZError, PermissionError):
    """A reference points at a URL that the reader's policy does not allow.

    Parameters
    ----------
    refs
        The reference file.
    variable
        The array holding the reference.
    url
        The refused URL (after resolving it).
    reason
        Why it is refused.
    """

    def __init__(self, refs: str, variable: str, url: str, reason: str) -> None:
        self.refs = refs
        self.variable = variable
        self.url = url
        self.reason = reason
        super().__init__(
            f"Refusing reference of variable {variable!r} in {refs!r} to {url!r}: {reason}. "
            "If you trust these references, allow it with reader_options="
            f"{{'allowed_prefixes': [{_suggest_prefix(url)!r}, ...]}} (or "
            "'allowed_protocols'); see the vz-kerchunk README, 'Safety'."
        )

    def __reduce__(self) -> tuple[type, tuple[str, str, str, str]]:
        return type(self), (self.refs, self.variable, self.url, self.reason)


def _suggest_prefix(url: str) -> str:
    head, sep, _ = url.rpartition("/")
    return head + sep if sep and "://" in head + sep and not head.endswith(":/") else url


def protocol_of(url: str) -> str:
    """Return the protocol of ``url`` (``"file"`` for a plain path)."""
    m = _SCHEME.match(url)
    return m.group(1).lower() if m else "file"


def _norm_path(path: str) -> str:
    """``posixpath.normpath`` that keeps a trailing slash and never yields ``"."``."""
    out = posixpath.normpath(path) if path else path
    if out.startswith("//"):
        out = "/" + out.lstrip("/")
    if path.endswith("/") and not out.endswith("/"):
        out += "/"
    return out


def normalize_url(url: str) -> str:
    """Return ``url`` with ``.``/``..`` segments removed (and, for local files, resolved).

    Local paths become ``file:///abs/path`` with symlinks resolved (as vzcore writes them).
    """
    proto = protocol_of(url)
    if proto == "file":
        path = url.removeprefix("file://")
        if not path.startswith("/"):
            raise ValueError("a local file URL must hold an absolute path")
        return "file://" + os.path.realpath(path)
    head = url[: len(proto) + 3]
    rest = url[len(proto) + 3 :]
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    rest, tail = rest[:cut], rest[cut:]
    host, slash, path = rest.partition("/")
    if path:
        path = _norm_path(path)
        if path == ".." or path.startswith("../"):
            raise ValueError("the URL's '..' segments climb above its root")
        if path in (".", "./"):
            path = ""
    return f"{head}{host}{slash}{path}{tail}"


def resolve_url(raw: str, base: str) -> str:
    """Resolve a URL found in references against the reference file's URL ``base``.

    Absolute URLs are kept (normalised); absolute paths become ``file://`` URLs; relative
    paths are joined to ``base``'s directory.

    Raises
    ------
    ValueError
        For an empty URL or one holding control characters.
    """
    if not raw:
        raise ValueError("empty URL")
    if _CONTROL.search(raw):
        raise ValueError("the URL holds control characters")
    if _SCHEME.match(raw):
        return normalize_url(raw)
    if raw.startswith("/"):
        return normalize_url("file://" + raw)
    directory = base.rstrip("/").rpartition("/")[0]
    return normalize_url(f"{directory}/{raw}")


def _is_private_host(host: str) -> bool:
    h = host.strip("[]").lower()
    if h in ("localhost", "localhost.localdomain") or h.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(h)
    except ValueError:
        # Numeric spellings that resolvers accept but ipaddress does not (2130706433,
        # 0x7f.1, 0177.0.0.1) are refused too: no public data host is named that way.
        return re.fullmatch(r"(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}\.?", h) is not None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def _under(url: str, prefix: str) -> bool:
    if prefix.endswith("/"):
        return url.startswith(prefix)
    return url == prefix or url.startswith(prefix + "/")


@dataclass(frozen=True)
class UrlPolicy:
    """Which resolved URLs a reference may point at (see the module docstring)."""

    protocols: frozenset[str]
    """Protocols followed anywhere (``http(s)`` only to public hosts)."""
    prefixes: tuple[str, ...]
    """Normalised URL prefixes followed whatever their protocol or host."""

    @classmethod
    def build(
        cls,
        refs_url: str,
        allowed_protocols: Iterable[str] | None = None,
        allowed_prefixes: Iterable[str] | str | None = None,
    ) -> UrlPolicy:
        """Return the policy for references read from ``refs_url``.

        Raises
        ------
        vzcore.errors.OptionError
            For options of the wrong type or prefixes that are not URLs.
        """
        owner = "reader 'kerchunk'"
        if allowed_protocols is None:
            protocols = set(DEFAULT_PROTOCOLS)
            own = protocol_of(refs_url)
            if own in DATA_PROTOCOLS:
                protocols.add(own)
        else:
            if isinstance(allowed_protocols, str):
                raise OptionError(
                    owner,
                    "allowed_protocols",
                    allowed_protocols,
                    f"pass a list of protocol names, not a string: [{allowed_protocols!r}]",
                )
            protocols = set()
            for p in allowed_protocols:
                if not isinstance(p, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", p):
                    raise OptionError(
                        owner, "allowed_protocols", allowed_protocols, f"{p!r} is not a protocol"
                    )
                protocols.add(p.lower())
        if allowed_prefixes is None:
            prefixes: list[str] = [refs_url.rstrip("/").rpartition("/")[0] + "/"]
        else:
            items = [allowed_prefixes] if isinstance(allowed_prefixes, str) else allowed_prefixes
            prefixes = []
            for p in items:
                if not isinstance(p, str) or not p:
                    raise OptionError(
                        owner, "allowed_prefixes", allowed_prefixes, f"{p!r} is not a URL prefix"
                    )
                prefixes.append(p)
        normalized = []
        for p in prefixes:
            if p == ANY_URL:
                normalized.append(ANY_URL)
                continue
            try:
                n = resolve_url(p, "file:///") if not _SCHEME.match(p) else normalize_url(p)
            except ValueError as err:
                raise OptionError(
                    owner, "allowed_prefixes", allowed_prefixes, f"{p!r} is not a URL: {err}"
                ) from err
            if p.endswith("/") and not n.endswith("/"):
                n += "/"
            normalized.append(n)
        return cls(frozenset(protocols), tuple(normalized))

    def refusal(self, url: str) -> str | None:
        """Return why the resolved ``url`` is refused, or None when it is allowed."""
        if ANY_URL in self.prefixes or any(_under(url, p) for p in self.prefixes):
            return None
        proto = protocol_of(url)
        if proto not in self.protocols:
            where = ", ".join(repr(p) for p in self.prefixes) or "none"
            allowed = ", ".join(sorted(self.protocols)) or "none"
            return (
                f"protocol {proto!r} is not allowed (allowed protocols: {allowed}) and the "
                f"URL is outside the allowed prefixes ({where})"
            )
        if proto in ("http", "https"):
            host = urlsplit(url).hostname or ""
            if _is_private_host(host):
                return (
                    f"host {host!r} is this machine or a private network address, which is "
                    "only followed when an allowed prefix names it"
                )
        return None


_NAME_PROBLEMS = (
    (lambda s: s == "", "an empty path segment"),
    (lambda s: s in (".", ".."), "a '.' or '..' segment"),
    (lambda s: "\\" in s, "a backslash"),
    (lambda s: _CONTROL.search(s) is not None, "control characters"),
    (lambda s: s.startswith(".z"), "a segment starting with '.z' (reserved by zarr)"),
)


def check_node_path(path: str, refs: str, key: str) -> None:
    """Validate an array or group path found in references before it is used.

    Raises
    ------
    vzcore.errors.CorruptFileError
        For absolute paths, empty segments, ``.``/``..``, backslashes or control characters.
    """
    if path == "":
        return
    if path.startswith("/"):
        raise CorruptFileError(refs, f"key {key!r} names an absolute path {path!r}")
    for segment in path.split("/"):
        for test, what in _NAME_PROBLEMS:
            if test(segment):
                raise CorruptFileError(
                    refs, f"key {key!r}: the array/group name {path!r} holds {what}"
                )


def unquoted_has_dotdot(url: str) -> bool:
    """Return True when percent-decoding ``url``'s path reveals ``..``, ``.`` or a backslash."""
    path = urlsplit(url).path
    decoded = unquote(path)
    if decoded == path:
        return False
    return "\\" in decoded or any(s in (".", "..") for s in decoded.split("/"))


def check_codecs(
    codecs: Iterable[Mapping[str, object]], refs: str, variable: str, *, allow_pickle: bool
) -> None:
    """Refuse an array whose codecs deserialise objects, unless ``allow_pickle``.

    Raises
    ------
    vzcore.errors.UnsafeCodecError
        For a codec of :data:`UNSAFE_CODECS` (names the references, variable and codec).
    """
    if allow_pickle:
        return
    for config in codecs:
        cid = config.get("id")
        if cid in UNSAFE_CODECS:
            raise UnsafeCodecError(
                refs,
                variable,
                str(cid),
                "if you trust these references, allow it with reader_options="
                "{'allow_pickle': True} (numcodecs >= 0.17 also needs the environment "
                "variable NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE=1); or leave the variable out "
                f"with drop_variables=[{variable!r}]; see the vz-kerchunk README, 'Safety'",
            )
