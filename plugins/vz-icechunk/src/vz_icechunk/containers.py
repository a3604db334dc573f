"""Virtual chunk containers: which URL prefixes an Icechunk repository may reference.

Icechunk stores a virtual chunk only when its URL starts with the ``url_prefix`` of a
:class:`icechunk.VirtualChunkContainer` declared in the repository's config, and reads it
only when the repository was opened with ``authorize_virtual_chunk_access`` for that prefix.
This module derives both from the references themselves, so users need no boilerplate::

    config = icechunk.RepositoryConfig.default()
    for c in vz_icechunk.containers_for(vds):
        config.set_virtual_chunk_container(c)
    repo = icechunk.Repository.create(storage, config, vz_icechunk.authorize_for(vds))

Prefixes are one directory per local directory (``file:///data/2024/``) and one bucket per
object store (``s3://bucket/``, ``gs://bucket/``, ``az://container/``); HTTP sources get
``https://host/``. A prefix that another prefix already covers is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from vzcore.errors import WriteError

if TYPE_CHECKING:
    import icechunk

__all__ = [
    "authorize_for",
    "containers_for",
    "encode_location",
    "missing_prefixes",
    "recipe",
    "referenced_urls",
    "url_prefixes",
]

_OBJECT_SCHEMES = {
    "s3": "s3",
    "s3a": "s3",
    "gs": "gcs",
    "gcs": "gcs",
    "az": "azure",
    "abfs": "azure",
}


def referenced_urls(source: Any) -> list[str]:
    """Return the sorted unique URLs that ``source``'s virtual chunks point into.

    Parameters
    ----------
    source
        A :class:`vzcore.ManifestGroup`, an xarray Dataset or DataTree of virtual variables
        (anything with ``.virtualize.to_group()``), or an iterable of URLs.
    """
    from vzcore.group import ManifestGroup
    from vzcore.manifests import ManifestArray

    if isinstance(source, str):
        return [source]
    if not isinstance(source, ManifestGroup) and hasattr(source, "virtualize"):
        source = source.virtualize.to_group()
    if isinstance(source, ManifestGroup):
        urls: set[str] = set()
        for _, g in source.walk():
            for var in g.variables.values():
                if isinstance(var.data, ManifestArray):
                    urls.update(var.data.manifest.paths)
        return sorted(urls)
    return sorted({str(u) for u in source})


_PATH_SAFE = "/!$&'()*+,;=:@"
"""Characters a URL path keeps as they are (RFC 3986 ``pchar`` and ``/``, less ``%``)."""

_NEEDS_QUOTING = re.compile(r"[^A-Za-z0-9_.~/!$&'()*+,;=:@-]").search
"""Finds a character :func:`urllib.parse.quote` would escape (besides ``_PATH_SAFE``)."""


def encode_location(url: str) -> str:
    """Return ``url`` as Icechunk reads a virtual chunk location: its path percent-encoded.

    Icechunk parses locations as URLs, so ``?`` and ``#`` would start a query or fragment
    and a literal ``%`` an escape, and it normalises spaces and non-ASCII characters to
    ``%XX``; encoding them here makes locations and container prefixes match exactly.

    Examples
    --------
    >>> encode_location("file:///data/a b#1?%.nc")
    'file:///data/a%20b%231%3F%25.nc'
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, path = rest.partition("/")
    if not _NEEDS_QUOTING(path):
        return url
    return f"{scheme}://{netloc}{slash}{quote(path, safe=_PATH_SAFE)}"


def _prefix(url: str) -> str:
    """Return the container prefix of an *encoded* location (see :func:`encode_location`).

    For local files: the file's directory, cut above the first directory whose name needed
    percent-encoding (Icechunk 2.3 stores references under an escaped prefix but then finds
    no container for them when reading; locations themselves may hold escapes).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file" or not scheme:
        dirs = (parts.path if scheme else url).split("/")[1:-1]
        kept = []
        for d in dirs:
            if "%" in d:
                break
            kept.append(d)
        return "file:///" + "".join(f"{d}/" for d in kept)
    if scheme in _OBJECT_SCHEMES or scheme in ("http", "https"):
        return f"{scheme}://{parts.netloc}/"
    raise WriteError(
        f"Cannot reference {url!r} from Icechunk: scheme {scheme!r} has no virtual chunk "
        "container type; Icechunk reads file://, s3://, gs://, az:// and http(s):// URLs."
    )


def url_prefixes(source: Any) -> list[str]:
    """Return the container URL prefixes covering every URL of ``source`` (see module doc).

    Examples
    --------
    >>> url_prefixes(["file:///data/a/x.nc", "file:///data/a/b/y.nc", "s3://bkt/k/z.nc"])
    ['file:///data/a/', 's3://bkt/']
    """
    prefixes = sorted({_prefix(encode_location(u)) for u in referenced_urls(source)})
    out: list[str] = []
    for p in prefixes:  # sorted: a covering prefix comes before what it covers
        if not any(p.startswith(q) for q in out):
            out.append(p)
    return out


def _store_config(prefix: str, options: Mapping[str, Any]) -> Any:
    import icechunk

    scheme = urlsplit(prefix).scheme
    kind = _OBJECT_SCHEMES.get(scheme, scheme)
    if kind == "file":
        return icechunk.local_filesystem_store(unquote(urlsplit(prefix).path))
    if kind == "s3":
        return icechunk.s3_store(**options)
    if kind == "gcs":
        return icechunk.gcs_store(**options)
    if kind == "azure":
        from icechunk.storage import azure_store  # not re-exported at the top level

        return azure_store(**options)
    return icechunk.http_store()  # the object-store options do not apply to HTTP


def containers_for(source: Any, **store_options: Any) -> list[icechunk.VirtualChunkContainer]:
    """Return the virtual chunk containers a repository needs to hold ``source``'s chunks.

    Parameters
    ----------
    source
        A ManifestGroup, a virtual Dataset or DataTree, or an iterable of URLs.
    **store_options
        Passed to the object store factory (``icechunk.s3_store(region=..., endpoint_url=...,
        allow_http=..., force_path_style=...)``, ``gcs_store``, ``azure_store``); unused
        for local files and HTTP.

    Examples
    --------
    >>> config = icechunk.RepositoryConfig.default()  # doctest: +SKIP
    >>> for c in containers_for(vds):  # doctest: +SKIP
    ...     config.set_virtual_chunk_container(c)
    """
    import icechunk

    return [
        icechunk.VirtualChunkContainer(p, _store_config(p, store_options))
        for p in url_prefixes(source)
    ]


def authorize_for(source: Any, credentials: Any = None) -> dict[str, Any]:
    """Return ``authorize_virtual_chunk_access`` for the containers of ``source``.

    Parameters
    ----------
    source
        A ManifestGroup, a virtual Dataset or DataTree, an iterable of URLs, or the
        containers returned by :func:`containers_for`.
    credentials
        For object-store prefixes: one credential object for all of them (e.g.
        ``icechunk.s3_static_credentials(...)``), or a mapping of prefix to credentials.
        None uses credentials from the environment (``s3_from_env_credentials()``, ...).
        Local and HTTP prefixes need none.
    """
    import icechunk
    from icechunk import credentials as ic_credentials

    if (
        isinstance(source, list | tuple)
        and source
        and all(isinstance(c, icechunk.VirtualChunkContainer) for c in source)
    ):
        prefixes = [c.url_prefix for c in source]
    else:
        prefixes = url_prefixes(source)
    chosen: dict[str, Any] = {}
    for p in prefixes:
        kind = _OBJECT_SCHEMES.get(urlsplit(p).scheme, urlsplit(p).scheme)
        if kind == "file":
            chosen[p] = ic_credentials.LocalFileSystemAccess
        elif kind in ("http", "https"):
            chosen[p] = ic_credentials.HttpAccess
        elif isinstance(credentials, Mapping):
            chosen[p] = credentials[p]
        elif credentials is not None:
            chosen[p] = credentials
        else:
            chosen[p] = {
                "s3": icechunk.s3_from_env_credentials,
                "gcs": icechunk.gcs_from_env_credentials,
                "azure": icechunk.azure_from_env_credentials,
            }[kind]()
    return icechunk.containers_credentials(chosen)


def missing_prefixes(urls: Iterable[str], configured: Iterable[str]) -> dict[str, list[str]]:
    """Return ``{needed prefix: [urls]}`` for encoded locations no configured prefix covers."""
    have = list(configured)
    out: dict[str, list[str]] = {}
    for url in urls:
        if not any(url.startswith(p) for p in have):
            out.setdefault(_prefix(url), []).append(url)
    return out


def recipe(prefixes: Iterable[str]) -> str:
    """Return the Python lines that declare and authorize containers for ``prefixes``."""
    lines = ["config = icechunk.RepositoryConfig.default()"]
    auth = []
    for p in prefixes:
        kind = _OBJECT_SCHEMES.get(urlsplit(p).scheme, urlsplit(p).scheme)
        if kind == "file":
            store = f"icechunk.local_filesystem_store({unquote(urlsplit(p).path)!r})"
            cred = "icechunk.credentials.LocalFileSystemAccess"
        elif kind in ("http", "https"):
            store, cred = "icechunk.http_store()", "icechunk.credentials.HttpAccess"
        else:
            store = {
                "s3": "icechunk.s3_store(region=...)",
                "gcs": "icechunk.gcs_store()",
                "azure": "icechunk.azure_store(account=...)",
            }[kind]
            cred = {
                "s3": "icechunk.s3_from_env_credentials()",
                "gcs": "icechunk.gcs_from_env_credentials()",
                "azure": "icechunk.azure_from_env_credentials()",
            }[kind]
        lines.append(
            f"config.set_virtual_chunk_container(icechunk.VirtualChunkContainer({p!r}, {store}))"
        )
        auth.append(f"{p!r}: {cred}")
    lines.append(
        "repo = icechunk.Repository.open(storage, config=config, "
        + "authorize_virtual_chunk_access=icechunk.containers_credentials({"
        + ", ".join(auth)
        + "}))"
    )
    lines.append("repo.save_config()  # keep the containers in the repository")
    return "\n".join(lines)
